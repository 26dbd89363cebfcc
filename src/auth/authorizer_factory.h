// Chooses and builds the Authorizer of one trigger from what its
// authenticationRef resolved to: nothing, static parameters with authModes,
// or a pod identity (Azure Workload Identity, Azure managed identity, AWS:
// aws_identity.h).
//
//   TriggerAuthInput in{.auth_modes = config.auth_modes, .authentication = ta,
//                       .params = params, .scope = config.AzureManagedPrometheusScope()};
//   Result<AuthorizerPtr> a = BuildAuthorizer(in, context);
//
// This is where "never an unauthenticated request when authentication is
// configured" is decided: every configured credential is either applied or
// the trigger fails with a message naming what to fix.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/trigger_authentication.h"
#include "auth/authorizer.h"
#include "auth/aws_sts.h"
#include "auth/azure_workload_identity.h"
#include "auth/token_cache.h"
#include "common/clock.h"
#include "common/secret.h"
#include "common/status.h"

namespace ebb::auth {

// Shared by every trigger of a process. The cache and clock must outlive
// the Authorizers built with them.
struct AuthorizerContext {
  std::shared_ptr<TokenCache> token_cache;  // REQUIRED for pod identities
  const Clock* clock = nullptr;             // REQUIRED for pod identities
  Environment azure_env;                    // Default: empty (use AzureEnvironmentFromProcess())
  // Allow http:// token authorities and bearer tokens over plain http
  // (local emulators only). Default false.
  bool allow_insecure = false;
  // IMDS endpoint override (ebb's --imds-endpoint). Default "".
  std::string imds_endpoint;
  // Hosts, besides the Azure managed-Prometheus domains, that tokens of
  // ebb's own identities may be sent to (ebb's --token-destination, each
  // checked by ValidateDestinationPattern). Default none.
  std::vector<std::string> token_destinations;
  // ebb's AWS_* variables (AwsEnvironmentFromProcess()): the only source of
  // STS, EKS Pod Identity and IMDS endpoints. Default: empty.
  AwsEnvironment aws_env;
  // GOOGLE_APPLICATION_CREDENTIALS, GCE_METADATA_HOST (GcpEnvironmentFromProcess()).
  Environment gcp_env;
};

// What one trigger brings.
struct TriggerAuthInput {
  std::vector<std::string> auth_modes;              // the trigger's metadata.authModes
  const api::TriggerAuthentication* authentication = nullptr;  // nullptr: no authenticationRef
  std::map<std::string, SecretString> params;       // resolved parameters of `authentication`
  std::string cloud;                                // metadata.cloud ("" = AzurePublicCloud)
  std::string private_resource_url;                 // metadata.azureManagedPrometheusResourceURL
  std::string aws_region;                           // metadata.awsRegion ("" = none)
};

// kInvalidConfig with the fix: authModes without authenticationRef, a
// TriggerAuthentication that provides nothing, pod identity combined with
// authModes, unsupported providers, missing parameters or variables, a
// namespaced TriggerAuthentication that tries to route a credential
// (CheckTenantRouting).
// Where a credential is sent is decided by the operator's configuration
// (flags, environment, ClusterTriggerAuthentication), never by a namespace
// tenant. kInvalidConfig naming the field and the fix when a namespaced
// TriggerAuthentication sets podIdentity.identityAuthorityHost (the token
// exchange would POST the operator's service-account token there). KEDA
// ignores the field; ebb refuses it so that the manifest's author learns it
// has no effect. Ok for a ClusterTriggerAuthentication.
Status CheckTenantRouting(const api::TriggerAuthentication& authentication);

Result<AuthorizerPtr> BuildAuthorizer(const TriggerAuthInput& input, const AuthorizerContext& context);

}  // namespace ebb::auth
