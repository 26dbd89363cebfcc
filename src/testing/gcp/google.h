// Google emulators for Google Cloud Managed Service for Prometheus, written
// to facts/aws-gcp.md ("Google"), sharing one GoogleProject model:
//
// GoogleTokenEndpoint (HTTPS) -- POST /token, grant_type
//   urn:ietf:params:oauth:grant-type:jwt-bearer: the assertion must be RS256
//   signed by a registered key of its "iss" service account (kid), aud = this
//   endpoint's URL, exp - iat <= 3600 and now inside [iat - 5 min, exp];
//   "scope" non-empty. 200 {"access_token":"ya29...","expires_in",
//   "token_type":"Bearer"}; 400 invalid_grant "Invalid JWT Signature." /
//   "Invalid JWT: Token must be a short-lived token (60 minutes) and in a
//   reasonable timeframe. ..."; 400 invalid_scope.
// GceMetadataServer (http) -- GET /computeMetadata/v1/instance/
//   service-accounts/default/token[?scopes=a,b] with "Metadata-Flavor:
//   Google" (403 without); 404 when the Kubernetes service account is not
//   bound to a Google service account (GKE Workload Identity); every answer
//   carries "Metadata-Flavor: Google".
// GmpFrontDoor (HTTPS) -- /v1/projects/P/location/global/prometheus/api/v1/...:
//   401 UNAUTHENTICATED without a valid token; 403 PERMISSION_DENIED
//   without the monitoring.read (or monitoring, cloud-platform) scope or
//   roles/monitoring.viewer on the project; proxies to a real Prometheus.
//   Counts requests without Authorization.
#pragma once

#include <httplib.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "testing/azure/loopback_server.h"
#include "testing/pki/test_pki.h"

namespace ebb::testing::gcp {

inline constexpr char kMonitoringViewer[] = "roles/monitoring.viewer";

// What the emulated Google Cloud project knows. Thread-safe.
class GoogleProject {
 public:
  GoogleProject(const Clock& clock, std::string project_id = "ebb-proj") : clock_(clock), project_id_(std::move(project_id)) {}

  const std::string& project_id() const { return project_id_; }
  const Clock& clock() const { return clock_; }
  std::string ServiceAccountEmail(const std::string& name) const;

  // A key for `email` (kid -> public key PEM).
  void AddKey(const std::string& email, const std::string& kid, const std::string& public_key_pem);
  void DeleteKeys(const std::string& email);
  std::optional<std::string> PublicKey(const std::string& email, const std::string& kid) const;
  void Grant(const std::string& email, const std::string& role);
  bool HasRole(const std::string& email, const std::string& role) const;
  // GKE Workload Identity: the Google service account the metadata server
  // serves ("" = not bound).
  void SetMetadataServiceAccount(const std::string& email);
  std::string MetadataServiceAccount() const;

  struct Token {
    std::string email;
    std::vector<std::string> scopes;
    Time expires;
  };
  // A fresh opaque access token for `email`.
  std::string IssueToken(const std::string& email, std::vector<std::string> scopes, std::chrono::seconds lifetime);
  std::optional<Token> FindToken(const std::string& token) const;
  std::vector<std::string> IssuedTokens() const;

 private:
  const Clock& clock_;
  const std::string project_id_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, std::string>> keys_;  // email -> kid -> PEM
  std::set<std::pair<std::string, std::string>> roles_;             // (email, role)
  std::string metadata_sa_;
  std::map<std::string, Token> tokens_;
};

// Owns its server. Thread-safe. `project` must outlive it.
class GoogleTokenEndpoint {
 public:
  static Result<std::unique_ptr<GoogleTokenEndpoint>> Start(const IssuedCert& tls, GoogleProject& project);
  ~GoogleTokenEndpoint();
  // "https://127.0.0.1:PORT/token": the key file's token_uri.
  std::string token_uri() const { return server_->base_url() + "/token"; }
  int64_t requests() const { return requests_; }
  void Stop() { server_->Stop(); }

 private:
  explicit GoogleTokenEndpoint(GoogleProject& project) : project_(project) {}
  void Handle(const httplib::Request& req, httplib::Response& res);
  GoogleProject& project_;
  std::unique_ptr<azure::LoopbackServer> server_;
  std::atomic<int64_t> requests_{0};
};

// Owns its server. Thread-safe. `project` must outlive it.
class GceMetadataServer {
 public:
  static Result<std::unique_ptr<GceMetadataServer>> Start(GoogleProject& project);
  ~GceMetadataServer();
  // "127.0.0.1:PORT": GCE_METADATA_HOST.
  std::string host() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  int64_t token_requests() const { return token_requests_; }
  void Stop() { server_->Stop(); }

 private:
  explicit GceMetadataServer(GoogleProject& project) : project_(project) {}
  void Handle(const httplib::Request& req, httplib::Response& res);
  GoogleProject& project_;
  std::unique_ptr<azure::LoopbackServer> server_;
  std::atomic<int64_t> token_requests_{0};
};

struct GmpCounters {
  int64_t requests = 0;
  int64_t without_authorization = 0;
  int64_t unauthorized = 0;
  int64_t forbidden = 0;
  int64_t proxied = 0;
};

// Owns its server. Thread-safe. `project` must outlive it.
class GmpFrontDoor {
 public:
  static Result<std::unique_ptr<GmpFrontDoor>> Start(const IssuedCert& tls, std::string upstream_url,
                                                     const GoogleProject& project);
  ~GmpFrontDoor();
  // ".../v1/projects/P/location/global/prometheus": the trigger's serverAddress.
  std::string prometheus_url() const;
  GmpCounters counters() const;
  void Stop() { server_->Stop(); }

 private:
  GmpFrontDoor(std::string upstream, const GoogleProject& project) : upstream_(std::move(upstream)), project_(project) {}
  void Handle(const httplib::Request& req, httplib::Response& res);
  void Count(int64_t GmpCounters::*field);
  const std::string upstream_;
  const GoogleProject& project_;
  std::unique_ptr<azure::LoopbackServer> server_;
  mutable std::mutex mu_;
  GmpCounters counters_;  // guarded by mu_
};

}  // namespace ebb::testing::gcp
