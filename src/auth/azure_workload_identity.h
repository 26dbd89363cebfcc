// Azure Workload Identity (podIdentity.provider: azure-workload): resolving
// the identity from the pod environment and the TriggerAuthentication, and
// the token source that exchanges the projected service-account token for
// an Entra ID access token.
//
//   Result<AzureWorkloadIdentityConfig> cfg = ResolveAzureWorkloadConfig(
//       trigger_auth.spec.pod_identity.value(), AzureEnvironmentFromProcess(),
//       AzureIdentityOptions{.cloud = metadata["cloud"]});
//   auto source = std::make_shared<AzureWorkloadIdentitySource>(*cfg, clock);
//   cache.Get(source, client, ...);   // token_cache.h
//
// The exchange is exactly the one of facts/azure-identity.md:
//   POST {authority}{tenant}/oauth2/v2.0/token
//   Content-Type: application/x-www-form-urlencoded
//   grant_type=client_credentials&client_id=..&client_assertion_type=
//   urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=<file>&scope=..
// The token file is re-read for every exchange (kubelet rotates it).
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "api/trigger_authentication.h"
#include "auth/token_source.h"
#include "common/clock.h"
#include "common/secret.h"
#include "common/status.h"

namespace ebb::auth {

// Environment variables the workload identity webhook injects.
inline constexpr char kEnvAzureClientId[] = "AZURE_CLIENT_ID";
inline constexpr char kEnvAzureTenantId[] = "AZURE_TENANT_ID";
inline constexpr char kEnvAzureAuthorityHost[] = "AZURE_AUTHORITY_HOST";
inline constexpr char kEnvAzureFederatedTokenFile[] = "AZURE_FEDERATED_TOKEN_FILE";

// Variable name -> value. Passed in (not read inside) so tests control it.
using Environment = std::map<std::string, std::string>;

// The Azure identity variables of this process that are set and non-empty
// (the four above and AZURE_POD_IDENTITY_AUTHORITY_HOST, see imds_source.h).
Environment AzureEnvironmentFromProcess();

// What the trigger adds to the identity. Value type.
struct AzureIdentityOptions {
  // KEDA's "cloud" trigger metadata. Default "" (AzurePublicCloud).
  std::string cloud;
  // KEDA's azureManagedPrometheusResourceURL; REQUIRED when cloud is Private.
  std::string private_resource_url;
  // Permit an http:// authority host (local emulators only). Default false:
  // only https authorities, as the Azure SDKs require.
  bool allow_insecure_authority = false;
};

// A resolved identity. Value type.
struct AzureWorkloadIdentityConfig {
  std::string client_id;
  std::string tenant_id;
  std::string authority_host;  // always ends with '/'
  std::string token_file;
  std::string scope;           // "https://prometheus.monitor.azure.com/.default"
  bool allow_insecure_authority = false;
  // Timeout of one token exchange. Default 10 s.
  std::chrono::milliseconds timeout{10000};

  // "{authority_host}{tenant_id}/oauth2/v2.0/token".
  std::string TokenUrl() const;
};

// Resolves client id, tenant, authority host and token file from `env`
// (AZURE_*), overridden by identityId, identityTenantId and
// identityAuthorityHost of `pod_identity`; the authority defaults to the
// cloud's (public: https://login.microsoftonline.com/); the scope comes from
// the cloud (azure_scope.h). kInvalidConfig naming every missing variable
// (and the pod label and restart that make the webhook inject them), an
// authority that is not an https URL (unless allowed), a tenant that is not
// a GUID or domain name, or a bad cloud.
Result<AzureWorkloadIdentityConfig> ResolveAzureWorkloadConfig(const api::PodIdentity& pod_identity,
                                                               const Environment& env,
                                                               const AzureIdentityOptions& options);

// Checks that `host` is an absolute http(s) URL, https unless
// `allow_insecure`, without query; returns it with a trailing '/'.
// kInvalidConfig otherwise.
Result<std::string> NormalizeAuthorityHost(std::string_view host, bool allow_insecure);

// Reads the federated token file whole, trimming surrounding whitespace.
// kInvalidConfig naming the path when it is missing, unreadable, empty or
// larger than 1 MiB. Never caches.
Result<SecretString> ReadFederatedTokenFile(const std::string& path);

// Token source for one workload identity. Thread-safe (immutable after
// construction). `clock` must outlive the source and its exchanges.
class AzureWorkloadIdentitySource final : public TokenSource {
 public:
  AzureWorkloadIdentitySource(AzureWorkloadIdentityConfig config, const Clock& clock);

  // Reads the token file, POSTs the exchange, parses the answer; errors are
  // mapped by MapAadError (azure_aad_errors.h) or name the file.
  void Fetch(http::HttpClient& client, TokenCallback done) override;
  // "azure-workload|{authority}|{tenant}|{client id}|{scope}".
  std::string CacheKey() const override;
  // "Azure Workload Identity token (client id X, tenant Y, scope Z)".
  std::string Describe() const override;

  const AzureWorkloadIdentityConfig& config() const { return config_; }

 private:
  http::HttpRequest BuildRequest(const SecretString& assertion) const;

  const AzureWorkloadIdentityConfig config_;
  const Clock& clock_;
};

}  // namespace ebb::auth
