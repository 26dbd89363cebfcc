// Resolving a trigger's authenticationRef into the parameters it provides
// (username, password, bearerToken, ca, cert, key, ...), from Secrets,
// ConfigMaps and the environment, as KEDA does.
//
// A reference that cannot be resolved is an error for that trigger, never
// a silently empty value: an empty password would turn into an
// unauthenticated request, the very failure ebb exists to prevent.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "api/lookup.h"
#include "common/secret.h"
#include "common/status.h"

namespace ebb::api {

struct ResolveOptions {
  // Namespace where ClusterTriggerAuthentication's Secrets and ConfigMaps
  // live (KEDA: the operator's namespace, KEDA_CLUSTER_OBJECT_NAMESPACE).
  // Default: "keda".
  std::string cluster_object_namespace = "keda";
  // Environment lookup for `env` references; default: the process
  // environment (standalone mode has no pod template to read).
  std::function<std::optional<std::string>(const std::string&)> getenv;
};

// The TriggerAuthentication or ClusterTriggerAuthentication `ref` names, for
// a ScaledObject in namespace `ns`. kNotFound naming the kind and name.
Result<const TriggerAuthentication*> FindAuthentication(const ObjectLookup& lookup,
                                                        const std::string& ns,
                                                        const AuthenticationRef& ref);

// Every parameter of `auth`, as KEDA resolves them: env, then ConfigMaps,
// then Secrets (a later source wins for the same parameter); each value
// trimmed of surrounding whitespace, and one empty after trimming left out
// (absent). kNotFound names the missing Secret, ConfigMap,
// key or variable and the spec field that refers to it; kInvalidConfig for
// a source ebb does not support.
Result<std::map<std::string, SecretString>> ResolveAuthParameters(
    const TriggerAuthentication& auth, const std::string& ns, const ObjectLookup& lookup,
    const ResolveOptions& options);

}  // namespace ebb::api
