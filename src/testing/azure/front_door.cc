#include "testing/azure/front_door.h"

#include <regex>

#include "common/strings.h"

namespace ebb::testing::azure {

namespace {

std::string ErrorJson(const std::string& code, const std::string& message) {
  return nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump();
}

std::string TimeText(int64_t seconds) { return FormatRfc3339(FromUnixSeconds(seconds)); }

}  // namespace

bool IsPrometheusQueryPath(const std::string& path) {
  static const std::regex kPaths(R"(/api/v1/(query|query_range|series|labels|label/[^/]+/values))");
  return std::regex_match(path, kPaths);
}

Result<std::unique_ptr<PrometheusFrontDoor>> PrometheusFrontDoor::Start(FrontDoorOptions options,
                                                                        const Registry& registry,
                                                                        const Clock& clock) {
  if (!SplitUrl(options.upstream_url)) {
    return InvalidConfig("front door upstream is not a URL: " + options.upstream_url);
  }
  IssuedCert tls = options.tls;
  std::unique_ptr<PrometheusFrontDoor> fd(
      new PrometheusFrontDoor(std::move(options), registry, clock));
  PrometheusFrontDoor* self = fd.get();
  Result<std::unique_ptr<LoopbackServer>> server =
      LoopbackServer::Start(tls, [self](httplib::Server& s) {
        auto handler = [self](const httplib::Request& req, httplib::Response& res) {
          self->Handle(req, res);
        };
        s.Get(R"(/.*)", handler);
        s.Post(R"(/.*)", handler);
      });
  if (!server.ok()) return server.status();
  fd->server_ = std::move(*server);
  return fd;
}

PrometheusFrontDoor::~PrometheusFrontDoor() {
  if (server_) server_->Stop();
}

FrontDoorCounters PrometheusFrontDoor::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void PrometheusFrontDoor::Count(int64_t FrontDoorCounters::*field) {
  std::lock_guard lock(mu_);
  ++(counters_.*field);
}

void PrometheusFrontDoor::Handle(const httplib::Request& req, httplib::Response& res) {
  Count(&FrontDoorCounters::requests);
  if (!req.has_header("Authorization")) Count(&FrontDoorCounters::without_authorization);
  if (std::optional<Denial> denial = Authorize(req)) {
    Count(denial->status == 401 ? &FrontDoorCounters::unauthorized : &FrontDoorCounters::forbidden);
    res.status = denial->status;
    res.set_content(ErrorJson(denial->code, denial->message), "application/json");
    return;
  }
  if (!IsPrometheusQueryPath(req.path)) {
    Count(&FrontDoorCounters::not_found);
    res.status = 404;
    res.set_content(ErrorJson("NotFound", "Path " + req.path + " is not served"),
                    "application/json");
    return;
  }
  Proxy(req, res);
}

std::optional<PrometheusFrontDoor::Denial> PrometheusFrontDoor::Authorize(
    const httplib::Request& req) const {
  if (!req.has_header("Authorization")) {
    return Denial{401, "AuthenticationFailed", kMissingAuthorizationMessage};
  }
  std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "bearer ";
  if (header.size() <= kBearer.size() || ToLower(header.substr(0, kBearer.size())) != kBearer) {
    return Denial{401, "AuthenticationFailed", "Authorization header is not a Bearer token"};
  }
  std::string app_id;
  if (std::optional<Denial> denial = CheckToken(header.substr(kBearer.size()), &app_id)) {
    return denial;
  }
  if (!registry_.HasRole(app_id, options_.required_role, options_.workspace_scope)) {
    return Denial{403, "InsufficientAccessError",
                  "The identity '" + app_id + "' does not have the '" + options_.required_role +
                      "' role on " + options_.workspace_scope};
  }
  return std::nullopt;
}

std::optional<PrometheusFrontDoor::Denial> PrometheusFrontDoor::CheckToken(
    const std::string& token, std::string* app_id) const {
  auto unauthorized = [](std::string message) {
    return Denial{401, "AuthenticationFailed", std::move(message)};
  };
  Result<DecodedJwt> jwt = DecodeJwt(std::string(Trim(token)));
  if (!jwt.ok()) return unauthorized("Invalid token: " + jwt.status().message());
  if (!VerifyJwt(*jwt, options_.idp_public_key_pem).ok()) {
    return unauthorized("Invalid token: signature validation failed");
  }
  if (!AudienceContains(jwt->claims, options_.audience)) {
    return unauthorized("Invalid token: wrong audience \"" + AudienceText(jwt->claims) +
                        "\", expected \"" + options_.audience + "\"");
  }
  int64_t now = static_cast<int64_t>(ToUnixSeconds(clock_.Now()));
  std::optional<int64_t> exp = NumericClaim(jwt->claims, "exp");
  if (!exp) return unauthorized("Invalid token: no exp claim");
  if (now >= *exp) return unauthorized("Invalid token: expired at " + TimeText(*exp));
  std::optional<int64_t> nbf = NumericClaim(jwt->claims, "nbf");
  if (nbf && now < *nbf) return unauthorized("Invalid token: not valid before " + TimeText(*nbf));
  *app_id = StringField(jwt->claims, "appid");
  if (app_id->empty()) *app_id = StringField(jwt->claims, "oid");
  return std::nullopt;
}

// Forwards the request target (path and query) unchanged, and a form
// POST's body; never the Authorization header.
void PrometheusFrontDoor::Proxy(const httplib::Request& req, httplib::Response& res) {
  std::string base = options_.upstream_url;
  while (EndsWith(base, "/")) base.pop_back();
  FetchOptions fetch;
  fetch.method = req.method;
  fetch.body = req.body;
  std::string content_type = req.get_header_value("Content-Type");
  if (!content_type.empty()) fetch.content_type = content_type;
  fetch.timeout_seconds = 30;
  Result<FetchResult> upstream = HttpFetch(base + req.target, fetch);
  if (!upstream.ok()) {
    Count(&FrontDoorCounters::upstream_errors);
    res.status = 502;
    res.set_content(ErrorJson("BadGateway", "upstream Prometheus is unreachable"),
                    "application/json");
    return;
  }
  Count(&FrontDoorCounters::proxied);
  res.status = upstream->status;
  auto type = upstream->headers.find("content-type");
  res.set_content(upstream->body,
                  type == upstream->headers.end() ? "application/json" : type->second);
}

}  // namespace ebb::testing::azure
