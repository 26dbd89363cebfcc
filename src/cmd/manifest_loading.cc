#include "cmd/manifest_loading.h"

#include <ostream>

#include "controller/object_validation.h"

namespace ebb::cmd {

LoadedManifests LoadAndValidate(const std::vector<std::string>& paths) {
  LoadedManifests out;
  out.set = api::LoadManifestSet(paths);
  out.errors = out.set.errors;
  out.warnings = out.set.warnings;
  api::Problems invalid = controller::TakeInvalid(out.set.scaled_objects);
  out.errors.insert(out.errors.end(), invalid.begin(), invalid.end());
  return out;
}

void PrintProblems(const LoadedManifests& loaded, std::ostream& err) {
  for (const api::Problem& p : loaded.warnings) err << "warning: " << p.ToString() << "\n";
  for (const api::Problem& p : loaded.errors) err << "error: " << p.ToString() << "\n";
}

}  // namespace ebb::cmd
