#include "testing/azure/oidc_issuer.h"

namespace ebb::testing::azure {

namespace {

int64_t Seconds(Time t) { return static_cast<int64_t>(ToUnixSeconds(t)); }

}  // namespace

Result<std::unique_ptr<OidcIssuer>> OidcIssuer::Start(OidcIssuerOptions options,
                                                      const Clock& clock) {
  std::optional<RsaSigningKey> key = std::move(options.signing_key);
  if (!key) {
    Result<RsaSigningKey> generated = RsaSigningKey::Generate();
    if (!generated.ok()) return generated.status();
    key = std::move(*generated);
  }
  std::unique_ptr<OidcIssuer> issuer(new OidcIssuer(std::move(*key), clock));
  OidcIssuer* self = issuer.get();
  Result<std::unique_ptr<LoopbackServer>> server =
      LoopbackServer::Start(options.tls, [self](httplib::Server& s) { self->Routes(s); });
  if (!server.ok()) return server.status();
  issuer->server_ = std::move(*server);
  return issuer;
}

void OidcIssuer::Routes(httplib::Server& server) {
  auto serve = [this](nlohmann::json (OidcIssuer::*body)() const) {
    return [this, body](const httplib::Request&, httplib::Response& res) {
      ++requests_;
      if (!serving_) {
        res.status = 503;
        res.set_content("issuer unavailable", "text/plain");
        return;
      }
      res.set_content((this->*body)().dump(), "application/json");
    };
  };
  server.Get("/.well-known/openid-configuration", serve(&OidcIssuer::Discovery));
  server.Get("/openid/v1/jwks", serve(&OidcIssuer::Jwks));
}

nlohmann::json OidcIssuer::Discovery() const {
  // The same fields a Kubernetes API server publishes.
  return {{"issuer", issuer_url()},
          {"jwks_uri", jwks_url()},
          {"response_types_supported", {"id_token"}},
          {"subject_types_supported", {"public"}},
          {"id_token_signing_alg_values_supported", {"RS256"}}};
}

nlohmann::json OidcIssuer::Jwks() const { return {{"keys", {key_.Jwk()}}}; }

Result<std::string> OidcIssuer::IssueServiceAccountToken(
    const ServiceAccountTokenRequest& request) const {
  Time iat = request.issued_at.value_or(clock_.Now());
  Time nbf = request.not_before.value_or(iat);
  Time exp = request.expires_at.value_or(iat + request.lifetime);
  nlohmann::json claims = {
      {"aud", request.audiences},
      {"iss", request.issuer.value_or(issuer_url())},
      {"sub", request.subject.value_or("system:serviceaccount:" + request.ns + ":" +
                                       request.service_account)},
      {"iat", Seconds(iat)},
      {"nbf", Seconds(nbf)},
      {"exp", Seconds(exp)},
      {"kubernetes.io",
       {{"namespace", request.ns},
        {"serviceaccount", {{"name", request.service_account}, {"uid", RandomUuid()}}}}}};
  // Kubernetes' header carries alg and kid only.
  return SignJwt(key_, claims, nlohmann::json::object());
}

Status OidcIssuer::WriteTokenFile(const std::string& path,
                                  const ServiceAccountTokenRequest& request) const {
  Result<std::string> token = IssueServiceAccountToken(request);
  if (!token.ok()) return token.status();
  return WriteFileAtomically(path, *token);
}

}  // namespace ebb::testing::azure
