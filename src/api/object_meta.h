// ObjectMeta: the part of Kubernetes metadata ebb reads and keeps.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"

namespace ebb::api {

struct ObjectMeta {
  std::string name;
  std::string namespace_name = "default";  // "" for cluster-scoped objects
  std::string uid;
  std::string resource_version;
  int64_t generation = 0;
  std::optional<Time> creation_timestamp;
  std::optional<Time> deletion_timestamp;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> finalizers;

  // "namespace/name", or "name" when cluster-scoped.
  std::string Key() const { return namespace_name.empty() ? name : namespace_name + "/" + name; }
};

}  // namespace ebb::api
