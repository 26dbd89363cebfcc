// Decoding of TriggerAuthentication, ClusterTriggerAuthentication, Secret
// and ConfigMap.
#include "api/decode.h"
#include "api/decoder.h"
#include "common/strings.h"

namespace ebb::api {

namespace {

using json = nlohmann::json;

void DecodePodIdentity(Decoder& d, const json& spec, std::optional<PodIdentity>* out) {
  const std::string p = "spec.podIdentity";
  const json* pi = d.Object(spec, "podIdentity", "spec");
  if (!pi) return;
  PodIdentity id;
  if (!d.String(*pi, "provider", p, &id.provider) || id.provider.empty()) {
    d.Error(p + ".provider", "is required");
  }
  d.String(*pi, "identityId", p, &id.identity_id);
  d.String(*pi, "identityTenantId", p, &id.identity_tenant_id);
  d.String(*pi, "identityAuthorityHost", p, &id.identity_authority_host);
  d.String(*pi, "roleArn", p, &id.role_arn);
  std::string owner;
  if (d.String(*pi, "identityOwner", p, &owner)) {
    if (owner == "keda" || owner == "operator") id.identity_owner = true;
    else if (owner == "workload" || owner == "pod") id.identity_owner = false;
    else d.Error(p + ".identityOwner", "\"" + owner + "\" is not keda or workload");
  }
  d.WarnUnknown(*pi, p, {"provider", "identityId", "identityTenantId", "identityAuthorityHost",
                         "roleArn", "identityOwner"});
  const std::string& pr = id.provider;
  if (pr == "azure") {
    d.Error(p + ".provider",
            "\"azure\" (AAD Pod Identity) is deprecated and not supported; use azure-workload "
            "(Azure Workload Identity) or azure-managed-identity (IMDS)");
  } else if (!pr.empty() && pr != kProviderNone && pr != kProviderAzureWorkload &&
             pr != kProviderAzureManagedIdentity && pr != kProviderAws && pr != kProviderAwsEks &&
             pr != kProviderGcp) {
    d.Error(p + ".provider", "\"" + pr +
                                 "\" is not one of none, azure-workload, "
                                 "azure-managed-identity, aws, aws-eks, gcp");
  }
  *out = id;
}

// Reads a list of {parameter, name, key} (secretTargetRef, configMapTargetRef).
template <typename Ref>
void DecodeRefs(Decoder& d, const json& spec, const std::string& field, std::vector<Ref>* out) {
  const json* list = d.Array(spec, field, "spec");
  if (!list) return;
  for (size_t i = 0; i < list->size(); ++i) {
    std::string p = Decoder::Index("spec." + field, i);
    const json& item = (*list)[i];
    Ref r;
    if (!d.String(item, "parameter", p, &r.parameter) || r.parameter.empty()) {
      d.Error(p + ".parameter", "is required");
    }
    if (!d.String(item, "name", p, &r.name) || r.name.empty()) d.Error(p + ".name", "is required");
    if (!d.String(item, "key", p, &r.key) || r.key.empty()) d.Error(p + ".key", "is required");
    d.WarnUnknown(item, p, {"parameter", "name", "key"});
    out->push_back(std::move(r));
  }
}

void DecodeEnv(Decoder& d, const json& spec, std::vector<EnvRef>* out) {
  const json* list = d.Array(spec, "env", "spec");
  if (!list) return;
  for (size_t i = 0; i < list->size(); ++i) {
    std::string p = Decoder::Index("spec.env", i);
    EnvRef r;
    if (!d.String((*list)[i], "parameter", p, &r.parameter) || r.parameter.empty()) {
      d.Error(p + ".parameter", "is required");
    }
    if (!d.String((*list)[i], "name", p, &r.name) || r.name.empty()) d.Error(p + ".name", "is required");
    d.String((*list)[i], "containerName", p, &r.container_name);
    d.WarnUnknown((*list)[i], p, {"parameter", "name", "containerName"});
    out->push_back(std::move(r));
  }
}

}  // namespace

std::optional<TriggerAuthentication> DecodeTriggerAuthentication(const Document& doc,
                                                                 bool cluster_scoped,
                                                                 Problems* errors,
                                                                 Problems* warnings) {
  std::string kind = cluster_scoped ? "ClusterTriggerAuthentication" : "TriggerAuthentication";
  Decoder d(doc, kind, "", errors, warnings);
  TriggerAuthentication ta;
  ta.cluster_scoped = cluster_scoped;
  ta.metadata = DecodeObjectMeta(d, doc.value, !cluster_scoped);
  const json* spec = d.Object(doc.value, "spec", "");
  if (!spec) {
    d.Error("spec", "is required");
    return std::nullopt;
  }
  DecodePodIdentity(d, *spec, &ta.spec.pod_identity);
  DecodeRefs(d, *spec, "secretTargetRef", &ta.spec.secret_target_ref);
  DecodeRefs(d, *spec, "configMapTargetRef", &ta.spec.config_map_target_ref);
  DecodeEnv(d, *spec, &ta.spec.env);
  for (const char* unsupported :
       {"hashiCorpVault", "azureKeyVault", "gcpSecretManager", "awsSecretManager", "awsSecretsManager",
        "bitwardenSecretManager"}) {
    if (spec->contains(unsupported)) {
      ta.spec.unsupported_sources.push_back(unsupported);
      d.Warn("spec." + std::string(unsupported),
             "is not supported by ebb yet; triggers using this authentication will fail "
             "instead of sending requests without it");
    }
  }
  d.WarnUnknown(*spec, "spec",
                {"podIdentity", "secretTargetRef", "configMapTargetRef", "env", "hashiCorpVault",
                 "azureKeyVault", "gcpSecretManager", "awsSecretManager", "awsSecretsManager",
                 "bitwardenSecretManager"});
  if (!d.ok()) return std::nullopt;
  return ta;
}

std::optional<SecretObject> DecodeSecret(const Document& doc, Problems* errors, Problems* warnings) {
  Decoder d(doc, "Secret", "", errors, warnings);
  SecretObject s;
  s.metadata = DecodeObjectMeta(d, doc.value, true);
  std::map<std::string, std::string> data;
  d.StringMap(doc.value, "data", "", &data);
  for (const auto& [k, v] : data) {
    std::optional<std::string> decoded = Base64Decode(v);
    if (!decoded) {
      // Never echo the value: it is a secret.
      d.Error("data." + k, "is not valid base64 (use stringData for plain text)");
      continue;
    }
    s.data[k] = SecretString(*decoded);
  }
  std::map<std::string, std::string> string_data;
  d.StringMap(doc.value, "stringData", "", &string_data);
  for (const auto& [k, v] : string_data) s.data[k] = SecretString(v);  // stringData wins, as in Kubernetes
  if (!d.ok()) return std::nullopt;
  return s;
}

std::optional<ConfigMapObject> DecodeConfigMap(const Document& doc, Problems* errors,
                                               Problems* warnings) {
  Decoder d(doc, "ConfigMap", "", errors, warnings);
  ConfigMapObject c;
  c.metadata = DecodeObjectMeta(d, doc.value, true);
  d.StringMap(doc.value, "data", "", &c.data);
  if (!d.ok()) return std::nullopt;
  return c;
}

}  // namespace ebb::api
