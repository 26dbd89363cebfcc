#include "testing/aws/amp_front_door.h"

#include "common/strings.h"
#include "testing/azure/front_door.h"

namespace ebb::testing::aws {

Result<std::unique_ptr<AmpFrontDoor>> AmpFrontDoor::Start(AmpFrontDoorOptions options, const AwsAccount& account) {
  if (!azure::SplitUrl(options.upstream_url)) return InvalidConfig("AMP upstream is not a URL: " + options.upstream_url);
  IssuedCert tls = options.tls;
  std::unique_ptr<AmpFrontDoor> fd(new AmpFrontDoor(std::move(options), account));
  AmpFrontDoor* self = fd.get();
  auto server = azure::LoopbackServer::Start(tls, [self](httplib::Server& s) {
    auto handler = [self](const httplib::Request& req, httplib::Response& res) { self->Handle(req, res); };
    s.Get(R"(/.*)", handler);
    s.Post(R"(/.*)", handler);
  });
  if (!server.ok()) return server.status();
  fd->server_ = std::move(*server);
  return fd;
}

AmpFrontDoor::~AmpFrontDoor() {
  if (server_) server_->Stop();
}

std::string AmpFrontDoor::workspace_arn() const {
  return "arn:aws:aps:" + account_.options().region + ":" + account_.options().account_id + ":workspace/" +
         options_.workspace_id;
}

AmpCounters AmpFrontDoor::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void AmpFrontDoor::Count(int64_t AmpCounters::*field) {
  std::lock_guard lock(mu_);
  ++(counters_.*field);
}

void AmpFrontDoor::Handle(const httplib::Request& req, httplib::Response& res) {
  Count(&AmpCounters::requests);
  if (!req.has_header("Authorization")) Count(&AmpCounters::unsigned_requests);
  auto deny = [&](const Denial& d) {
    Count(d.status == 403 ? &AmpCounters::denied : &AmpCounters::not_found);
    res.status = d.status;
    res.set_header("x-amzn-ErrorType", d.code);
    res.set_content(AmpErrorJson(d), "application/json");
  };
  Denial denial;
  Result<Principal> who = account_.VerifySigV4(req, "aps", &denial);
  if (!who.ok()) return deny(denial);
  const std::string prefix = "/workspaces/" + options_.workspace_id;
  if (!StartsWith(req.path, prefix + "/") || !azure::IsPrometheusQueryPath(req.path.substr(prefix.size()))) {
    return deny(Denial{404, "ResourceNotFoundException", "Workspace not found or path not served: " + req.path});
  }
  if (!account_.CanQuery(*who, options_.workspace_id)) {
    return deny(Denial{403, "AccessDeniedException",
                       "User: " + who->arn + " is not authorized to perform: aps:QueryMetrics on resource: " +
                           workspace_arn() + " because no identity-based policy allows the aps:QueryMetrics action"});
  }
  Proxy(req.target.substr(prefix.size()), res);
}

// Forwards the Prometheus path and query; never the signing headers.
void AmpFrontDoor::Proxy(const std::string& target, httplib::Response& res) {
  std::string base = options_.upstream_url;
  while (EndsWith(base, "/")) base.pop_back();
  azure::FetchOptions fetch;
  fetch.timeout_seconds = 30;
  Result<azure::FetchResult> upstream = azure::HttpFetch(base + target, fetch);
  if (!upstream.ok()) {
    res.status = 502;
    res.set_content(R"({"message":"upstream Prometheus is unreachable"})", "application/json");
    return;
  }
  Count(&AmpCounters::proxied);
  res.status = upstream->status;
  auto type = upstream->headers.find("content-type");
  res.set_content(upstream->body, type == upstream->headers.end() ? "application/json" : type->second);
}

}  // namespace ebb::testing::aws
