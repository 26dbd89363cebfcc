#include "cmd/manifest_loading.h"

#include <ostream>

#include "controller/trigger_factory.h"
#include "scaling/validate.h"

namespace ebb::cmd {

namespace {

// ValidateForEngine's messages read "spec.field: what"; keep the field
// separate so the problem can carry its line.
api::Problem EngineProblem(const api::ScaledObject& so, const std::string& message) {
  size_t colon = message.find(": ");
  if (message.rfind("spec.", 0) == 0 && colon != std::string::npos) {
    return so.source.At("ScaledObject", so.metadata.Key(), message.substr(0, colon),
                        message.substr(colon + 2));
  }
  return so.source.At("ScaledObject", so.metadata.Key(), "", message);
}

}  // namespace

LoadedManifests LoadAndValidate(const std::vector<std::string>& paths) {
  LoadedManifests out;
  out.set = api::LoadManifestSet(paths);
  out.errors = out.set.errors;
  out.warnings = out.set.warnings;
  std::vector<api::ScaledObject> valid;
  for (api::ScaledObject& so : out.set.scaled_objects) {
    api::Problems problems = controller::ValidateTriggers(so);
    Status engine = scaling::ValidateForEngine(so);
    if (!engine.ok()) problems.push_back(EngineProblem(so, engine.message()));
    if (problems.empty()) {
      valid.push_back(std::move(so));
      continue;
    }
    out.errors.insert(out.errors.end(), problems.begin(), problems.end());
  }
  out.set.scaled_objects = std::move(valid);
  return out;
}

void PrintProblems(const LoadedManifests& loaded, std::ostream& err) {
  for (const api::Problem& p : loaded.warnings) err << "warning: " << p.ToString() << "\n";
  for (const api::Problem& p : loaded.errors) err << "error: " << p.ToString() << "\n";
}

}  // namespace ebb::cmd
