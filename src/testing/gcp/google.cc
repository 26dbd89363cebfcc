#include "testing/gcp/google.h"

#include <nlohmann/json.hpp>
#include <random>

#include "auth/sigv4.h"
#include "common/strings.h"
#include "testing/azure/front_door.h"
#include "testing/azure/jwt.h"

namespace ebb::testing::gcp {

namespace {

constexpr char kJwtBearer[] = "urn:ietf:params:oauth:grant-type:jwt-bearer";
constexpr auto kTokenLifetime = std::chrono::seconds(3599);

void Json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void OAuthError(httplib::Response& res, const std::string& error, const std::string& description) {
  Json(res, 400, {{"error", error}, {"error_description", description}});
}

void GoogleApiError(httplib::Response& res, int code, const std::string& status, const std::string& message) {
  Json(res, code, {{"error", {{"code", code}, {"message", message}, {"status", status}}}});
}

std::map<std::string, std::string> Form(const std::string& body) {
  std::map<std::string, std::string> out;
  for (std::string item : Split(body, '&')) {
    std::replace(item.begin(), item.end(), '+', ' ');
    size_t eq = item.find('=');
    if (eq == std::string::npos) continue;
    out[auth::PercentDecode(item.substr(0, eq))] = auth::PercentDecode(item.substr(eq + 1));
  }
  return out;
}

bool ReadsMonitoring(const std::vector<std::string>& scopes) {
  for (const std::string& s : scopes) {
    if (s == "https://www.googleapis.com/auth/monitoring.read" || s == "https://www.googleapis.com/auth/monitoring" ||
        s == "https://www.googleapis.com/auth/cloud-platform") {
      return true;
    }
  }
  return false;
}

}  // namespace

// --- GoogleProject ---

std::string GoogleProject::ServiceAccountEmail(const std::string& name) const {
  return name + "@" + project_id_ + ".iam.gserviceaccount.com";
}

void GoogleProject::AddKey(const std::string& email, const std::string& kid, const std::string& pem) {
  std::lock_guard lock(mu_);
  keys_[email][kid] = pem;
}

void GoogleProject::DeleteKeys(const std::string& email) {
  std::lock_guard lock(mu_);
  keys_.erase(email);
}

std::optional<std::string> GoogleProject::PublicKey(const std::string& email, const std::string& kid) const {
  std::lock_guard lock(mu_);
  auto sa = keys_.find(email);
  if (sa == keys_.end()) return std::nullopt;
  auto key = sa->second.find(kid);
  if (key == sa->second.end()) return std::nullopt;
  return key->second;
}

void GoogleProject::Grant(const std::string& email, const std::string& role) {
  std::lock_guard lock(mu_);
  roles_.insert({email, role});
}

bool GoogleProject::HasRole(const std::string& email, const std::string& role) const {
  std::lock_guard lock(mu_);
  return roles_.count({email, role}) > 0;
}

void GoogleProject::SetMetadataServiceAccount(const std::string& email) {
  std::lock_guard lock(mu_);
  metadata_sa_ = email;
}

std::string GoogleProject::MetadataServiceAccount() const {
  std::lock_guard lock(mu_);
  return metadata_sa_;
}

std::string GoogleProject::IssueToken(const std::string& email, std::vector<std::string> scopes,
                                      std::chrono::seconds lifetime) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  std::string token = "ya29.emulated-" + std::to_string(rng()) + std::to_string(rng());
  std::lock_guard lock(mu_);
  tokens_[token] = Token{email, std::move(scopes), clock_.Now() + lifetime};
  return token;
}

std::optional<GoogleProject::Token> GoogleProject::FindToken(const std::string& token) const {
  std::lock_guard lock(mu_);
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> GoogleProject::IssuedTokens() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [t, info] : tokens_) out.push_back(t);
  return out;
}

// --- token endpoint ---

Result<std::unique_ptr<GoogleTokenEndpoint>> GoogleTokenEndpoint::Start(const IssuedCert& tls, GoogleProject& project) {
  std::unique_ptr<GoogleTokenEndpoint> ep(new GoogleTokenEndpoint(project));
  GoogleTokenEndpoint* self = ep.get();
  auto server = azure::LoopbackServer::Start(tls, [self](httplib::Server& s) {
    s.Post("/token", [self](const httplib::Request& req, httplib::Response& res) { self->Handle(req, res); });
  });
  if (!server.ok()) return server.status();
  ep->server_ = std::move(*server);
  return ep;
}

GoogleTokenEndpoint::~GoogleTokenEndpoint() {
  if (server_) server_->Stop();
}

void GoogleTokenEndpoint::Handle(const httplib::Request& req, httplib::Response& res) {
  ++requests_;
  std::map<std::string, std::string> form = Form(req.body);
  if (form["grant_type"] != kJwtBearer) return OAuthError(res, "unsupported_grant_type", "Invalid grant_type: " + form["grant_type"]);
  Result<azure::DecodedJwt> jwt = azure::DecodeJwt(form["assertion"]);
  if (!jwt.ok()) return OAuthError(res, "invalid_grant", "Invalid JWT: not a JWT");
  const std::string iss = azure::StringField(jwt->claims, "iss");
  std::optional<std::string> key = project_.PublicKey(iss, azure::StringField(jwt->header, "kid"));
  if (!key || !azure::VerifyJwt(*jwt, *key).ok()) return OAuthError(res, "invalid_grant", "Invalid JWT Signature.");
  if (azure::StringField(jwt->claims, "aud") != token_uri()) {
    return OAuthError(res, "invalid_grant", "Invalid JWT: Failed audience check.");
  }
  std::optional<int64_t> iat = azure::NumericClaim(jwt->claims, "iat");
  std::optional<int64_t> exp = azure::NumericClaim(jwt->claims, "exp");
  const int64_t now = static_cast<int64_t>(ToUnixSeconds(project_.clock().Now()));
  if (!iat || !exp || *exp - *iat > 3600 || now < *iat - 300 || now > *exp) {
    return OAuthError(res, "invalid_grant",
                      "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
                      "Check your iat and exp values in the JWT claim.");
  }
  std::vector<std::string> scopes = Split(azure::StringField(jwt->claims, "scope"), ' ');
  std::erase(scopes, "");
  if (scopes.empty()) return OAuthError(res, "invalid_scope", "Invalid OAuth scope or ID token audience provided.");
  std::string token = project_.IssueToken(iss, scopes, kTokenLifetime);
  Json(res, 200, {{"access_token", token}, {"expires_in", kTokenLifetime.count()}, {"token_type", "Bearer"}});
}

// --- metadata server ---

Result<std::unique_ptr<GceMetadataServer>> GceMetadataServer::Start(GoogleProject& project) {
  std::unique_ptr<GceMetadataServer> md(new GceMetadataServer(project));
  GceMetadataServer* self = md.get();
  auto server = azure::LoopbackServer::Start(std::nullopt, [self](httplib::Server& s) {
    s.Get(R"(/computeMetadata/v1/.*)", [self](const httplib::Request& req, httplib::Response& res) { self->Handle(req, res); });
  });
  if (!server.ok()) return server.status();
  md->server_ = std::move(*server);
  return md;
}

GceMetadataServer::~GceMetadataServer() {
  if (server_) server_->Stop();
}

void GceMetadataServer::Handle(const httplib::Request& req, httplib::Response& res) {
  res.set_header("Metadata-Flavor", "Google");
  if (req.get_header_value("Metadata-Flavor") != "Google") {
    res.status = 403;
    return res.set_content("Missing required header: Metadata-Flavor", "text/plain");
  }
  if (req.path != "/computeMetadata/v1/instance/service-accounts/default/token") {
    res.status = 404;
    return;
  }
  ++token_requests_;
  const std::string sa = project_.MetadataServiceAccount();
  if (sa.empty()) {
    res.status = 404;
    return res.set_content("Not Found: the Kubernetes service account is not bound to a Google service account",
                           "text/plain");
  }
  std::vector<std::string> scopes = Split(req.get_param_value("scopes"), ',');
  std::erase(scopes, "");
  if (scopes.empty()) scopes = {"https://www.googleapis.com/auth/cloud-platform"};
  std::string token = project_.IssueToken(sa, scopes, kTokenLifetime);
  Json(res, 200, {{"access_token", token}, {"expires_in", kTokenLifetime.count()}, {"token_type", "Bearer"}});
}

// --- GMP front door ---

Result<std::unique_ptr<GmpFrontDoor>> GmpFrontDoor::Start(const IssuedCert& tls, std::string upstream,
                                                          const GoogleProject& project) {
  std::unique_ptr<GmpFrontDoor> fd(new GmpFrontDoor(std::move(upstream), project));
  GmpFrontDoor* self = fd.get();
  auto server = azure::LoopbackServer::Start(tls, [self](httplib::Server& s) {
    auto handler = [self](const httplib::Request& req, httplib::Response& res) { self->Handle(req, res); };
    s.Get(R"(/.*)", handler);
    s.Post(R"(/.*)", handler);
  });
  if (!server.ok()) return server.status();
  fd->server_ = std::move(*server);
  return fd;
}

GmpFrontDoor::~GmpFrontDoor() {
  if (server_) server_->Stop();
}

std::string GmpFrontDoor::prometheus_url() const {
  return server_->base_url() + "/v1/projects/" + project_.project_id() + "/location/global/prometheus";
}

GmpCounters GmpFrontDoor::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void GmpFrontDoor::Count(int64_t GmpCounters::*field) {
  std::lock_guard lock(mu_);
  ++(counters_.*field);
}

void GmpFrontDoor::Handle(const httplib::Request& req, httplib::Response& res) {
  Count(&GmpCounters::requests);
  const std::string header = req.get_header_value("Authorization");
  if (header.empty()) Count(&GmpCounters::without_authorization);
  std::optional<GoogleProject::Token> token;
  if (StartsWith(header, "Bearer ")) token = project_.FindToken(header.substr(7));
  if (!token || project_.clock().Now() >= token->expires) {
    Count(&GmpCounters::unauthorized);
    return GoogleApiError(res, 401, "UNAUTHENTICATED",
                          "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                          "or other valid authentication credential.");
  }
  if (!ReadsMonitoring(token->scopes)) {
    Count(&GmpCounters::forbidden);
    return GoogleApiError(res, 403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.");
  }
  const std::string prefix = "/v1/projects/" + project_.project_id() + "/location/global/prometheus";
  if (!project_.HasRole(token->email, kMonitoringViewer) || !StartsWith(req.path, prefix + "/")) {
    Count(&GmpCounters::forbidden);
    return GoogleApiError(res, 403, "PERMISSION_DENIED",
                          "Permission monitoring.timeSeries.list denied (or the resource may not exist).");
  }
  if (!azure::IsPrometheusQueryPath(req.path.substr(prefix.size()))) return GoogleApiError(res, 404, "NOT_FOUND", "Not found");
  azure::FetchOptions fetch;
  fetch.timeout_seconds = 30;
  Result<azure::FetchResult> up = azure::HttpFetch(upstream_ + req.target.substr(prefix.size()), fetch);
  if (!up.ok()) return GoogleApiError(res, 502, "UNAVAILABLE", "upstream Prometheus is unreachable");
  Count(&GmpCounters::proxied);
  res.status = up->status;
  res.set_content(up->body, "application/json");
}

}  // namespace ebb::testing::gcp
