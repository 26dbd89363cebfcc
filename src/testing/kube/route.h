// Internal to the fake API server: a request path taken apart.
#pragma once

#include <optional>
#include <string>

#include "testing/kube/fake_apiserver.h"

namespace ebb::testing::kube {

struct FakeApiServer::Route {
  std::string group;
  std::string version;
  std::string ns;  // "" for cluster scope or all namespaces
  std::string resource;
  std::string name;
  std::string subresource;  // "", "status", "scale"
  const ResourceType* rt = nullptr;
};

// nullopt when the path is not a resource path (discovery, unknown).
std::optional<FakeApiServer::Route> ParseRoute(const std::string& path);

}  // namespace ebb::testing::kube
