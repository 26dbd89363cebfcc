#include "controller/object_validation.h"

#include <utility>

#include "controller/trigger_factory.h"
#include "scaling/validate.h"

namespace ebb::controller {
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

api::Problems TakeInvalid(std::vector<api::ScaledObject>& objects) {
  api::Problems invalid;
  std::vector<api::ScaledObject> valid;
  valid.reserve(objects.size());
  for (api::ScaledObject& so : objects) {
    api::Problems problems = ValidateTriggers(so);
    Status engine = scaling::ValidateForEngine(so);
    if (!engine.ok()) problems.push_back(EngineProblem(so, engine.message()));
    if (problems.empty()) {
      valid.push_back(std::move(so));
      continue;
    }
    invalid.insert(invalid.end(), problems.begin(), problems.end());
  }
  objects = std::move(valid);
  return invalid;
}

}  // namespace ebb::controller
