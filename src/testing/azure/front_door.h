// PrometheusFrontDoor: an emulated Azure Managed Prometheus query endpoint.
// An HTTPS server that authenticates `Authorization: Bearer <jwt>` against
// the identity provider's public key (signature, audience, nbf/exp against
// its Clock), authorizes the token's app ("Monitoring Data Reader" on the
// workspace, looked up in the Registry) and proxies allowed Prometheus API
// requests to a real (or stub) Prometheus over plain HTTP on loopback.
//
// Answers (facts/azure-identity.md; exact Azure bodies are unpublished):
//   401 {"error":{"code":"AuthenticationFailed","message":...}} for a
//       missing ("Request does not contain an Authorization Header"),
//       malformed, badly signed, wrong-audience, expired or not-yet-valid token;
//   403 {"error":{"code":"InsufficientAccessError","message":...}} without the role;
//   otherwise the upstream's status and body.
//
//   auto fd = PrometheusFrontDoor::Start({.tls = cert, .upstream_url = prom,
//       .idp_public_key_pem = idp->signing_key().public_key_pem(),
//       .workspace_scope =
//       "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Monitor/accounts/w"}, registry,
//       clock).value();
//   fd->base_url();  // the trigger's serverAddress
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "testing/azure/jwt.h"
#include "testing/azure/loopback_server.h"
#include "testing/azure/registry.h"

namespace ebb::testing::azure {

inline constexpr char kPrometheusAudience[] = "https://prometheus.monitor.azure.com";
inline constexpr char kMissingAuthorizationMessage[] =
    "Request does not contain an Authorization Header";

struct FrontDoorOptions {
  // Server certificate (from the same TestCa as the other emulators).
  IssuedCert tls;
  // Base URL of the Prometheus to proxy to, e.g. "http://127.0.0.1:9090".
  std::string upstream_url;
  // The key the identity provider signs access tokens with.
  std::string idp_public_key_pem;
  // Required audience. Default: the public cloud's.
  std::string audience = kPrometheusAudience;
  // The Azure Monitor workspace's resource id: the scope the role must cover.
  std::string workspace_scope =
      "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ebb/providers/"
      "Microsoft.Monitor/accounts/ebb-workspace";
  std::string required_role = kMonitoringDataReader;
};

struct FrontDoorCounters {
  int64_t requests = 0;
  int64_t without_authorization = 0;  // no Authorization header at all
  int64_t unauthorized = 0;           // 401s (those above included)
  int64_t forbidden = 0;              // 403s
  int64_t proxied = 0;                // forwarded to the upstream
  int64_t not_found = 0;              // paths outside the query API
  int64_t upstream_errors = 0;        // upstream unreachable: 502
};

// Owns its HTTPS server. Thread-safe. `registry` and `clock` must outlive it.
class PrometheusFrontDoor {
 public:
  static Result<std::unique_ptr<PrometheusFrontDoor>> Start(FrontDoorOptions options,
                                                            const Registry& registry,
                                                            const Clock& clock);
  ~PrometheusFrontDoor();

  // "https://127.0.0.1:PORT", no trailing slash: the trigger's serverAddress.
  std::string base_url() const { return server_->base_url(); }
  FrontDoorCounters counters() const;
  void Stop() { server_->Stop(); }

 private:
  struct Denial {
    int status;
    std::string code;
    std::string message;
  };

  PrometheusFrontDoor(FrontDoorOptions options, const Registry& registry, const Clock& clock)
      : options_(std::move(options)), registry_(registry), clock_(clock) {}
  void Handle(const httplib::Request& req, httplib::Response& res);
  // nullopt when the request may pass.
  std::optional<Denial> Authorize(const httplib::Request& req) const;
  std::optional<Denial> CheckToken(const std::string& token, std::string* app_id) const;
  void Proxy(const httplib::Request& req, httplib::Response& res);
  void Count(int64_t FrontDoorCounters::*field);

  const FrontDoorOptions options_;
  const Registry& registry_;
  const Clock& clock_;
  std::unique_ptr<LoopbackServer> server_;
  mutable std::mutex mu_;
  FrontDoorCounters counters_;  // guarded by mu_
};

// True for the Prometheus HTTP API paths Azure Managed Prometheus serves:
// /api/v1/query, /api/v1/query_range, /api/v1/series, /api/v1/labels,
// /api/v1/label/<name>/values.
bool IsPrometheusQueryPath(const std::string& path);

}  // namespace ebb::testing::azure
