// TriggerAuthentication and ClusterTriggerAuthentication
// (keda.sh/v1alpha1), and the Secret and ConfigMap manifests they refer to.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/object_meta.h"
#include "common/secret.h"

namespace ebb::api {

// podIdentity.provider values ebb understands. "azure-managed-identity" is
// ebb's own (IMDS); KEDA's deprecated "azure" (AAD Pod Identity) is not.
inline constexpr char kProviderNone[] = "none";
inline constexpr char kProviderAzureWorkload[] = "azure-workload";
inline constexpr char kProviderAzureManagedIdentity[] = "azure-managed-identity";
inline constexpr char kProviderAws[] = "aws";
inline constexpr char kProviderAwsEks[] = "aws-eks";
inline constexpr char kProviderGcp[] = "gcp";

struct PodIdentity {
  std::string provider;
  std::string identity_id;              // Azure client id override
  std::string identity_tenant_id;       // Azure tenant override
  std::string identity_authority_host;  // Azure authority override: honoured only in a ClusterTriggerAuthentication (auth::CheckTenantRouting)
  std::string role_arn;                 // AWS
  std::optional<bool> identity_owner;   // AWS: "pod" | "keda" mapped to true when keda
};

struct SecretTargetRef {
  std::string parameter;
  std::string name;
  std::string key;
};

struct ConfigMapTargetRef {
  std::string parameter;
  std::string name;
  std::string key;
};

struct EnvRef {
  std::string parameter;
  std::string name;
  std::string container_name;
};

struct TriggerAuthenticationSpec {
  std::optional<PodIdentity> pod_identity;
  std::vector<SecretTargetRef> secret_target_ref;
  std::vector<ConfigMapTargetRef> config_map_target_ref;
  std::vector<EnvRef> env;
  // Sources ebb does not support yet (hashiCorpVault, azureKeyVault,
  // gcpSecretManager, awsSecretManager): names of those present, so a
  // trigger using them fails with a clear error instead of sending nothing.
  std::vector<std::string> unsupported_sources;
};

struct TriggerAuthentication {
  ObjectMeta metadata;  // namespace_name is "" for the cluster-scoped kind
  bool cluster_scoped = false;
  TriggerAuthenticationSpec spec;

  std::string KindName() const {
    return cluster_scoped ? "ClusterTriggerAuthentication" : "TriggerAuthentication";
  }
};

struct SecretObject {
  ObjectMeta metadata;
  std::map<std::string, SecretString> data;  // decoded: base64 `data` merged with `stringData`
};

struct ConfigMapObject {
  ObjectMeta metadata;
  std::map<std::string, std::string> data;
};

}  // namespace ebb::api
