// IdentityProvider: an emulated Microsoft Entra ID (Azure AD) v2 token
// endpoint over TLS, `POST /{tenant}/oauth2/v2.0/token`, for the client
// credentials grant with a federated JWT client assertion (Azure Workload
// Identity), held to shared/facts/azure-identity.md.
//
// It validates the request for real, in this order, and answers each
// failure with the AADSTS code, `error` and HTTP status of the facts
// (invalid_client: 401; every other error: 400):
//   tenant known (90002), grant_type (900144 missing, 70003 unsupported),
//   client_id present (900144), scope `<resource>/.default` (900144
//   missing, 70011 malformed), client known in the tenant (700016),
//   resource known when a list is configured (500011), assertion or secret
//   present (7000218; a secret is always wrong here: 7000215),
//   client_assertion_type (900144 missing, 70002 other), JWT well formed (50027),
//   issuer registered on the app (700211), issuer discovery + JWKS
//   fetched over HTTPS from the issuer itself (90061), signature (50027),
//   nbf/exp against the injected Clock (700024), subject registered for
//   that issuer (700213), issuer+subject+audience all in one credential
//   (70021, naming all three).
// On success it signs an RS256 access token with its own key: aud = the
// resource (scope without "/.default"), iss = https://sts.windows.net/{tid}/,
// tid, appid, oid, sub, iat, nbf, exp.
//
//   Registry registry; ...
//   auto idp = IdentityProvider::Start({.tls = cert, .issuer_ca_pem = ca.cert_pem()},
//                                      registry, clock).value();
//   idp->authority_url();  // "https://127.0.0.1:PORT/" -> AZURE_AUTHORITY_HOST
//
// Never logs assertions or access tokens.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "testing/azure/jwt.h"
#include "testing/azure/loopback_server.h"
#include "testing/azure/registry.h"

namespace ebb::testing::azure {

inline constexpr char kJwtBearerAssertionType[] =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// Faults, applied per request. Shares are deterministic, not random: with
// share s, request n fails when floor(n*s) > floor((n-1)*s), so exactly
// one request in 1/s fails (s = 0.25: the 4th, 8th, ...).
struct FaultInjection {
  // Added before answering each token request. Default: none.
  std::chrono::milliseconds latency{0};
  // Share of token requests answered `server_error_status` with a
  // temporarily_unavailable / AADSTS90033 body, before any validation.
  double server_error_share = 0;
  int server_error_status = 503;
  // Share of otherwise valid exchanges answered AADSTS700213 instead (the
  // transient failure seen in the field: 22 of 1021).
  double transient_700213_share = 0;
};

struct IdentityProviderOptions {
  // Server certificate (from the same TestCa as the other emulators).
  IssuedCert tls;
  // Signs access tokens; a fresh key when absent.
  std::optional<RsaSigningKey> signing_key;
  // CA trusted when fetching an issuer's discovery document and JWKS.
  std::string issuer_ca_pem;
  // Lifetime of access tokens. Default 3600 s. expires_in reports one
  // second less (3599, as Entra does); refresh_in (half the lifetime) is
  // added when the lifetime is 2 h or more.
  std::chrono::seconds access_token_lifetime{3600};
  // How long a fetched JWKS is reused (per issuer). 0: fetch on every
  // exchange. A kid not in the cached JWKS triggers one refetch.
  std::chrono::seconds jwks_cache_ttl{300};
  // Leeway on the assertion's nbf/exp. Default 0 (Entra's own leeway is
  // not published).
  std::chrono::seconds clock_skew{0};
  // When non-empty, the only resources tokens can be requested for
  // (others: AADSTS500011). Default: any resource.
  std::vector<std::string> resources;
  FaultInjection faults;
};

struct IdentityProviderCounters {
  int64_t requests = 0;  // every request to the token endpoint
  int64_t successes = 0;
  int64_t failures = 0;                     // every non-200 answer, injected ones included
  std::map<int, int64_t> failures_by_code;  // AADSTS code -> count
  int64_t injected_server_errors = 0;
  int64_t injected_700213 = 0;
  int64_t jwks_fetches = 0;  // discovery+JWKS round trips to issuers
};

// An access token issued by the emulator.
struct IssuedAccessToken {
  std::string token;
  Time issued_at;
  Time expires_at;
  int64_t expires_in = 0;  // what the reply reports (lifetime - 1 s)
};

// One AADSTS failure: what goes into the error body.
struct AadError {
  int code = 0;             // 70021
  std::string error;        // "invalid_request"
  std::string description;  // without the "AADSTSnnnnn: " prefix
  int http_status = 400;
};

// Owns its HTTPS server. Thread-safe. `registry` and `clock` must outlive it.
class IdentityProvider {
 public:
  static Result<std::unique_ptr<IdentityProvider>> Start(IdentityProviderOptions options,
                                                         const Registry& registry,
                                                         const Clock& clock);
  ~IdentityProvider();

  // "https://127.0.0.1:PORT/" with a trailing slash, as AZURE_AUTHORITY_HOST.
  std::string authority_url() const { return server_->base_url() + "/"; }
  std::string token_url(const std::string& tenant_id) const {
    return authority_url() + tenant_id + "/oauth2/v2.0/token";
  }
  const RsaSigningKey& signing_key() const { return key_; }

  // Signs an access token for `app` and `resource` (no "/.default"), with
  // the configured lifetime. IMDS uses it too.
  Result<IssuedAccessToken> IssueAccessToken(const Application& app,
                                             const std::string& resource) const;

  void SetFaults(const FaultInjection& faults);
  void SetAccessTokenLifetime(std::chrono::seconds lifetime);
  IdentityProviderCounters counters() const;
  void Stop() { server_->Stop(); }

 private:
  struct Reply {
    int status = 200;
    std::string body;
  };
  struct CachedJwks {
    nlohmann::json jwks;
    Time fetched_at;
  };

  IdentityProvider(IdentityProviderOptions options, RsaSigningKey key, const Registry& registry,
                   const Clock& clock);
  void HandleToken(const httplib::Request& req, httplib::Response& res);
  Reply Exchange(const std::string& tenant, const httplib::Request& req);
  std::optional<AadError> CheckRequest(const std::string& tenant, const httplib::Request& req,
                                       std::optional<Application>* app) const;
  static std::optional<AadError> CheckParameters(const httplib::Request& req);
  std::optional<AadError> CheckResource(const std::string& tenant,
                                        const std::string& resource) const;
  static std::optional<AadError> CheckCredentialType(const httplib::Request& req,
                                                     const std::string& client_id);
  std::optional<AadError> CheckAssertion(const Application& app, const std::string& assertion);
  std::optional<AadError> CheckSignature(const std::string& issuer, const DecodedJwt& jwt);
  Result<nlohmann::json> FetchJwks(const std::string& issuer);
  std::optional<AadError> CheckTimeRange(const DecodedJwt& jwt) const;
  Reply Success(const Application& app, const std::string& resource);
  Reply Failure(const AadError& error, const std::string& correlation_id);
  bool Fires(double share, int64_t* counter);  // REQUIRES: mu_ held
  // The status of an injected 5xx for this request, if one is due.
  std::optional<int> DrawServerError();
  bool DrawTransient700213();

  const IdentityProviderOptions options_;
  const RsaSigningKey key_;
  const Registry& registry_;
  const Clock& clock_;
  std::unique_ptr<LoopbackServer> server_;

  mutable std::mutex mu_;
  FaultInjection faults_;                         // guarded by mu_
  std::chrono::seconds lifetime_;                 // guarded by mu_
  IdentityProviderCounters counters_;             // guarded by mu_
  int64_t server_error_draws_ = 0;                // guarded by mu_
  int64_t transient_draws_ = 0;                   // guarded by mu_
  std::map<std::string, CachedJwks> jwks_cache_;  // guarded by mu_
};

// "AADSTS70021: <description>\r\nTrace ID: ...\r\nCorrelation ID: ...\r\nTimestamp: ..."
// body with error, error_description, error_codes, timestamp, trace_id,
// correlation_id, error_uri (the Entra v2 error shape).
nlohmann::json AadErrorBody(const AadError& error, Time now, const std::string& trace_id,
                            const std::string& correlation_id);

// Entra's timestamp format: "2026-11-26 05:32:13Z".
std::string AadTimestamp(Time t);

}  // namespace ebb::testing::azure
