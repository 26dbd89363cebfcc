// Azure managed identity through the Instance Metadata Service
// (podIdentity.provider: azure-managed-identity, ebb's own provider name):
// for VMs and for AKS node identities, without the workload identity
// webhook.
//
//   GET http://169.254.169.254/metadata/identity/oauth2/token
//       ?api-version=2018-02-01&resource=https%3A%2F%2Fprometheus.monitor.azure.com[&client_id=..]
//   Metadata: true
//
//   Result<ImdsConfig> cfg = ResolveImdsConfig(pod_identity, AzureEnvironmentFromProcess(), {});
//   auto source = std::make_shared<ImdsTokenSource>(*cfg, clock);
//
// The IMDS host is overridable (emulators, Azure Stack): ImdsOptions::
// endpoint_override first, then AZURE_POD_IDENTITY_AUTHORITY_HOST -- the
// variable the Azure SDKs for .NET (MSAL), JavaScript, Python and Go read
// for the same purpose. IMDS_ENDPOINT is deliberately NOT read: MSAL uses it
// together with IDENTITY_ENDPOINT for Azure Arc, a different protocol.
// The IMDS endpoint is link-local plain http by design, so http is allowed.
#pragma once

#include <chrono>
#include <string>

#include "api/trigger_authentication.h"
#include "auth/azure_workload_identity.h"
#include "auth/token_source.h"
#include "common/clock.h"
#include "common/status.h"

namespace ebb::auth {

inline constexpr char kEnvImdsHost[] = "AZURE_POD_IDENTITY_AUTHORITY_HOST";
inline constexpr char kDefaultImdsEndpoint[] = "http://169.254.169.254";
inline constexpr char kImdsApiVersion[] = "2018-02-01";

// Value type.
struct ImdsConfig {
  // Scheme, host, optional port and path prefix; no trailing slash.
  // Default http://169.254.169.254.
  std::string endpoint = kDefaultImdsEndpoint;
  // Resource, not scope: "https://prometheus.monitor.azure.com".
  std::string resource;
  // Client id of a user-assigned identity; "" for the system-assigned one.
  std::string client_id;
  // Timeout of one request. Default 10 s.
  std::chrono::milliseconds timeout{10000};

  // "{endpoint}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=..[&client_id=..]".
  std::string TokenUrl() const;
};

// What the trigger and ebb's flags add. Value type.
struct ImdsOptions {
  std::string cloud;                 // as AzureIdentityOptions::cloud
  std::string private_resource_url;  // as AzureIdentityOptions::private_resource_url
  std::string endpoint_override;     // ebb option; wins over the variable. Default "".
};

// client_id from identityId (else AZURE_CLIENT_ID when set, else
// system-assigned), resource from the cloud, endpoint as described above.
// kInvalidConfig for a bad cloud or an endpoint that is not an http(s) URL.
Result<ImdsConfig> ResolveImdsConfig(const api::PodIdentity& pod_identity, const Environment& env,
                                     const ImdsOptions& options);

// Thread-safe (immutable). `clock` must outlive the source and its requests.
class ImdsTokenSource final : public TokenSource {
 public:
  ImdsTokenSource(ImdsConfig config, const Clock& clock);

  // Errors: transport failures, 404, 410, 429 and 5xx are kUnavailable (the
  // cache retries with backoff); 400 "Identity not found" and other 400s
  // are kInvalidConfig saying which identity to assign; others
  // kUnauthenticated.
  void Fetch(http::HttpClient& client, TokenCallback done) override;
  // "azure-imds|{endpoint}|{client id}|{resource}".
  std::string CacheKey() const override;
  // "Azure managed identity token from IMDS (client id X, resource R)";
  // "system-assigned" when there is no client id.
  std::string Describe() const override;

  const ImdsConfig& config() const { return config_; }

 private:
  const ImdsConfig config_;
  const Clock& clock_;
};

}  // namespace ebb::auth
