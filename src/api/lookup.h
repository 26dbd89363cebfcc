// ObjectLookup: where TriggerAuthentications, Secrets and ConfigMaps are
// found. In `ebb run`/`query` it is the set of manifest files
// (ManifestSet); in the operator, the informer caches of the API server.
#pragma once

#include <string>

#include "api/scaled_object.h"
#include "api/trigger_authentication.h"

namespace ebb::api {

// Implementations say whether they are thread-safe.
class ObjectLookup {
 public:
  virtual ~ObjectLookup() = default;
  // nullptr when absent. Pointers stay valid until the lookup changes.
  virtual const TriggerAuthentication* FindTriggerAuthentication(const std::string& ns,
                                                                 const std::string& name) const = 0;
  virtual const TriggerAuthentication* FindClusterTriggerAuthentication(
      const std::string& name) const = 0;
  virtual const SecretObject* FindSecret(const std::string& ns, const std::string& name) const = 0;
  virtual const ConfigMapObject* FindConfigMap(const std::string& ns,
                                               const std::string& name) const = 0;
};

}  // namespace ebb::api
