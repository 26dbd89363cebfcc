// Loading and validating manifests for the commands that read files
// (query, simulate, run, doctor): the ManifestSet plus every problem the
// api, trigger and engine validations find.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "api/manifest_set.h"

namespace ebb::cmd {

struct LoadedManifests {
  api::ManifestSet set;
  api::Problems errors;    // file, api, trigger metadata and engine problems
  api::Problems warnings;
};

// Reads `paths` and validates every ScaledObject fully; invalid
// ScaledObjects are removed from `set.scaled_objects` and reported.
LoadedManifests LoadAndValidate(const std::vector<std::string>& paths);

// Prints "error: <problem>" / "warning: <problem>" lines.
void PrintProblems(const LoadedManifests& loaded, std::ostream& err);

}  // namespace ebb::cmd
