// Building the Authorizer of a Google Cloud Managed Service for Prometheus
// trigger from what its TriggerAuthentication says (KEDA's forms):
//
//   podIdentity: {provider: gcp}      Application Default Credentials of ebb's own
//                                     environment: GOOGLE_APPLICATION_CREDENTIALS (a
//                                     service-account key file), else the metadata
//                                     server (GKE Workload Identity; GCE_METADATA_HOST)
//   parameter GoogleApplicationCredentials   the key JSON itself (from a Secret)
//
// Tokens (scope monitoring.read) come from the one TokenCache and go only to
// monitoring.googleapis.com and the operator's --token-destination hosts.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auth/authorizer.h"
#include "auth/azure_workload_identity.h"
#include "auth/token_cache.h"
#include "common/clock.h"
#include "common/secret.h"

namespace ebb::auth {

inline constexpr char kParamGoogleApplicationCredentials[] = "GoogleApplicationCredentials";

// GOOGLE_APPLICATION_CREDENTIALS and GCE_METADATA_HOST when set in this process.
Environment GcpEnvironmentFromProcess();

// What the process and the trigger bring. The cache and clock must outlive
// the Authorizers built.
struct GcpIdentityInput {
  std::shared_ptr<TokenCache> cache;      // REQUIRED
  const Clock* clock = nullptr;           // REQUIRED
  Environment env;                        // GcpEnvironmentFromProcess()
  bool allow_insecure = false;            // http:// token endpoints and targets (emulators only)
  std::vector<std::string> destinations;  // --token-destination hosts
  std::string who;                        // "TriggerAuthentication ns/name", for messages
};

// The authorizer for podIdentity gcp. kInvalidConfig naming the file or
// variable when GOOGLE_APPLICATION_CREDENTIALS is unreadable or not a
// service-account key.
Result<AuthorizerPtr> GcpPodIdentityAuthorizer(const GcpIdentityInput& in);

// The authorizer for the GoogleApplicationCredentials parameter.
Result<AuthorizerPtr> GcpKeyParamAuthorizer(const SecretString& key_json, const GcpIdentityInput& in);

}  // namespace ebb::auth
