#include "testing/azure/imds.h"

#include "common/strings.h"

namespace ebb::testing::azure {

namespace {

nlohmann::json ImdsError(const std::string& error, const std::string& description) {
  return {{"error", error}, {"error_description", description}};
}

int64_t Seconds(Time t) { return static_cast<int64_t>(ToUnixSeconds(t)); }

}  // namespace

Result<std::unique_ptr<Imds>> Imds::Start(ImdsOptions options, const IdentityProvider& idp,
                                          Registry& registry) {
  if (options.identities.empty()) return InvalidConfig("IMDS needs at least one identity");
  for (ManagedIdentity& mi : options.identities) {
    std::optional<Application> known = registry.FindByClientOrObjectId(mi.client_id);
    if (!known) {
      Application app;
      app.client_id = mi.client_id;
      app.tenant_id = mi.tenant_id;
      app.object_id = mi.object_id;
      app.display_name = "managed identity";
      registry.AddApplication(std::move(app));
      known = registry.FindByClientOrObjectId(mi.client_id);
    }
    mi.object_id = known->object_id;
  }
  std::unique_ptr<Imds> imds(new Imds(std::move(options), idp, registry));
  Imds* self = imds.get();
  Result<std::unique_ptr<LoopbackServer>> server =
      LoopbackServer::Start(std::nullopt, [self](httplib::Server& s) {
        s.Get("/metadata/identity/oauth2/token",
              [self](const httplib::Request& req, httplib::Response& res) {
                self->HandleToken(req, res);
              });
      });
  if (!server.ok()) return server.status();
  imds->server_ = std::move(*server);
  return imds;
}

Imds::~Imds() {
  if (server_) server_->Stop();
}

ImdsCounters Imds::counters() const {
  return ImdsCounters{requests_, successes_, missing_header_, failures_};
}

void Imds::HandleToken(const httplib::Request& req, httplib::Response& res) {
  ++requests_;
  auto [status, body] = Answer(req);
  if (status == 200) {
    ++successes_;
  } else {
    ++failures_;
  }
  res.status = status;
  res.set_content(body.dump(), "application/json; charset=utf-8");
}

std::pair<int, nlohmann::json> Imds::Answer(const httplib::Request& req) {
  if (ToLower(req.get_header_value("Metadata")) != "true") {
    ++missing_header_;
    return {400, ImdsError("invalid_request", "Required metadata header not specified")};
  }
  if (FirstParam(req, "api-version").empty()) {
    return {400, ImdsError("invalid_request", "Required query variable 'api-version' is missing")};
  }
  std::string resource = FirstParam(req, "resource");
  if (resource.empty()) {
    return {400, ImdsError("invalid_request", "Required query variable 'resource' is missing")};
  }
  // IMDS takes a v1 resource; a v2 scope is a client bug worth surfacing.
  if (EndsWith(resource, "/.default")) {
    return {400, ImdsError("invalid_resource", "AADSTS500011: The resource principal named " +
                                                   resource + " was not found in the tenant.")};
  }
  const ManagedIdentity* mi = SelectIdentity(req);
  if (!mi) return {400, ImdsError("invalid_request", "Identity not found")};
  std::optional<Application> app = registry_.FindByClientOrObjectId(mi->client_id);
  if (!app) return {400, ImdsError("invalid_request", "Identity not found")};
  Result<IssuedAccessToken> token = idp_.IssueAccessToken(*app, resource);
  if (!token.ok()) return {500, ImdsError("unknown_error", "token signing failed")};
  std::string expires_in = std::to_string(token->expires_in);
  return {200,
          {{"access_token", token->token},
           {"client_id", mi->client_id},
           {"expires_in", expires_in},
           {"expires_on", std::to_string(Seconds(token->expires_at))},
           {"ext_expires_in", expires_in},
           {"not_before", std::to_string(Seconds(token->issued_at))},
           {"resource", resource},
           {"token_type", "Bearer"}}};
}

const ManagedIdentity* Imds::SelectIdentity(const httplib::Request& req) const {
  std::string client_id = FirstParam(req, "client_id");
  std::string object_id = FirstParam(req, "object_id");
  std::string res_id = FirstParam(req, "msi_res_id");
  if (client_id.empty() && object_id.empty() && res_id.empty()) return &options_.identities[0];
  for (const ManagedIdentity& mi : options_.identities) {
    if (!client_id.empty() && mi.client_id == client_id) return &mi;
    if (!object_id.empty() && mi.object_id == object_id) return &mi;
    if (!res_id.empty() && ToLower(mi.msi_res_id) == ToLower(res_id)) return &mi;
  }
  return nullptr;
}

}  // namespace ebb::testing::azure
