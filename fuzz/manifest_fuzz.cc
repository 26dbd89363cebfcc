// Fuzz target: manifest files (YAML or JSON) through parsing, decoding of
// every kind ebb reads, validation of the ScaledObjects, ProcessPools, and
// the text and JSON renderings of the problems found.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "api/document.h"
#include "api/manifest_set.h"
#include "controller/object_validation.h"
#include "targets/process_pool_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  ebb::Result<std::vector<ebb::api::Document>> docs = ebb::api::ParseDocuments(text, "fuzz.yaml");
  if (!docs.ok()) return 0;
  ebb::api::ManifestSet set = ebb::api::BuildManifestSet(std::move(*docs), {});
  ebb::api::Problems invalid = ebb::controller::TakeInvalid(set.scaled_objects);
  ebb::targets::DecodeProcessPools(set, &set.errors, &set.warnings);
  nlohmann::json out = nlohmann::json::array();
  for (const auto* list : {&set.errors, &set.warnings, &invalid}) {
    for (const ebb::api::Problem& p : *list) out.push_back(p.ToString());
  }
  for (const auto& so : set.scaled_objects) out.push_back(so.metadata.Key());
  (void)out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return 0;
}
