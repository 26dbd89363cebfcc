#include "api/resolve.h"

#include <cstdlib>

#include "common/strings.h"

namespace ebb::api {

namespace {

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

std::string Field(const std::string& list, size_t i) {
  return "spec." + list + "[" + std::to_string(i) + "]";
}

Status ResolveSecrets(const TriggerAuthentication& auth, const std::string& ns,
                      const ObjectLookup& lookup, std::map<std::string, SecretString>* out) {
  for (size_t i = 0; i < auth.spec.secret_target_ref.size(); ++i) {
    const SecretTargetRef& ref = auth.spec.secret_target_ref[i];
    const SecretObject* secret = lookup.FindSecret(ns, ref.name);
    if (!secret) {
      return NotFound(Field("secretTargetRef", i) + ": Secret " + ns + "/" + ref.name +
                      " not found (parameter " + ref.parameter + ")");
    }
    auto it = secret->data.find(ref.key);
    if (it == secret->data.end()) {
      return NotFound(Field("secretTargetRef", i) + ": Secret " + ns + "/" + ref.name +
                      " has no key \"" + ref.key + "\" (parameter " + ref.parameter + ")");
    }
    (*out)[ref.parameter] = it->second;
  }
  return Status::Ok();
}

Status ResolveConfigMaps(const TriggerAuthentication& auth, const std::string& ns,
                         const ObjectLookup& lookup, std::map<std::string, SecretString>* out) {
  for (size_t i = 0; i < auth.spec.config_map_target_ref.size(); ++i) {
    const ConfigMapTargetRef& ref = auth.spec.config_map_target_ref[i];
    const ConfigMapObject* cm = lookup.FindConfigMap(ns, ref.name);
    if (!cm) {
      return NotFound(Field("configMapTargetRef", i) + ": ConfigMap " + ns + "/" + ref.name +
                      " not found (parameter " + ref.parameter + ")");
    }
    auto it = cm->data.find(ref.key);
    if (it == cm->data.end()) {
      return NotFound(Field("configMapTargetRef", i) + ": ConfigMap " + ns + "/" + ref.name +
                      " has no key \"" + ref.key + "\" (parameter " + ref.parameter + ")");
    }
    (*out)[ref.parameter] = SecretString(it->second);
  }
  return Status::Ok();
}

Status ResolveEnv(const TriggerAuthentication& auth, const ResolveOptions& options,
                  std::map<std::string, SecretString>* out) {
  auto getenv = options.getenv ? options.getenv : ProcessEnv;
  for (size_t i = 0; i < auth.spec.env.size(); ++i) {
    const EnvRef& ref = auth.spec.env[i];
    std::optional<std::string> v = getenv(ref.name);
    if (!v) {
      return NotFound(Field("env", i) + ": environment variable " + ref.name +
                      " is not set (parameter " + ref.parameter + ")");
    }
    (*out)[ref.parameter] = SecretString(*v);
  }
  return Status::Ok();
}

// KEDA trims surrounding whitespace from every parameter it reads and treats
// a value that is empty after trimming as absent: a Secret written with
// `echo` (trailing newline) works there, so it must work here.
std::map<std::string, SecretString> TrimParameters(std::map<std::string, SecretString> params) {
  std::map<std::string, SecretString> out;
  for (auto& [name, value] : params) {
    std::string_view trimmed = Trim(value.Reveal());
    if (trimmed.empty()) continue;
    out.emplace(name, trimmed.size() == value.Reveal().size() ? std::move(value) : SecretString(std::string(trimmed)));
  }
  return out;
}

}  // namespace

Result<const TriggerAuthentication*> FindAuthentication(const ObjectLookup& lookup,
                                                        const std::string& ns,
                                                        const AuthenticationRef& ref) {
  bool cluster = ref.kind == "ClusterTriggerAuthentication";
  const TriggerAuthentication* auth = cluster ? lookup.FindClusterTriggerAuthentication(ref.name)
                                              : lookup.FindTriggerAuthentication(ns, ref.name);
  if (auth) return auth;
  std::string what = cluster ? "ClusterTriggerAuthentication " + ref.name
                             : "TriggerAuthentication " + ns + "/" + ref.name;
  return NotFound(what + " not found; create it or fix authenticationRef.name" +
                  (cluster ? "" : " (it must be in the ScaledObject's namespace)"));
}

Result<std::map<std::string, SecretString>> ResolveAuthParameters(
    const TriggerAuthentication& auth, const std::string& ns, const ObjectLookup& lookup,
    const ResolveOptions& options) {
  if (!auth.spec.unsupported_sources.empty()) {
    return InvalidConfig(auth.KindName() + " " + auth.metadata.Key() + ": spec." +
                         auth.spec.unsupported_sources.front() +
                         " is not supported by ebb yet; use secretTargetRef, "
                         "configMapTargetRef, env or podIdentity");
  }
  std::string object_ns = auth.cluster_scoped ? options.cluster_object_namespace : ns;
  std::map<std::string, SecretString> params;
  // KEDA's order: env, then configMapTargetRef, then secretTargetRef; a
  // later source overwrites an earlier one for the same parameter.
  Status s = ResolveEnv(auth, options, &params);
  if (s.ok()) s = ResolveConfigMaps(auth, object_ns, lookup, &params);
  if (s.ok()) s = ResolveSecrets(auth, object_ns, lookup, &params);
  if (!s.ok()) return s.WithContext(auth.KindName() + " " + auth.metadata.Key());
  return TrimParameters(std::move(params));
}

}  // namespace ebb::api
