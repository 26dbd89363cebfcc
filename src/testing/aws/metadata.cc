#include "testing/aws/metadata.h"

#include <nlohmann/json.hpp>
#include <random>

#include "testing/azure/jwt.h"

namespace ebb::testing::aws {

namespace {

nlohmann::json CredentialsJson(const IssuedCredentials& c) {
  return {{"AccessKeyId", c.access_key_id},
          {"SecretAccessKey", c.secret_access_key},
          {"Token", c.session_token},
          {"Expiration", FormatRfc3339(c.expiration)}};
}

void Json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

}  // namespace

// --- EKS Pod Identity agent ---

Result<std::unique_ptr<PodIdentityAgent>> PodIdentityAgent::Start(AwsAccount& account, std::string issuer_key) {
  std::unique_ptr<PodIdentityAgent> agent(new PodIdentityAgent(account, std::move(issuer_key)));
  PodIdentityAgent* self = agent.get();
  auto server = azure::LoopbackServer::Start(std::nullopt, [self](httplib::Server& s) {
    s.Get("/v1/credentials", [self](const httplib::Request& req, httplib::Response& res) { self->Handle(req, res); });
  });
  if (!server.ok()) return server.status();
  agent->server_ = std::move(*server);
  return agent;
}

PodIdentityAgent::~PodIdentityAgent() {
  if (server_) server_->Stop();
}

void PodIdentityAgent::Handle(const httplib::Request& req, httplib::Response& res) {
  ++requests_;
  const std::string token = req.get_header_value("Authorization");
  if (token.empty()) return Json(res, 400, {{"code", "InvalidParameterException"}, {"message", "Service account token cannot be empty"}});
  Result<azure::DecodedJwt> jwt = azure::DecodeJwt(token);
  const int64_t now = static_cast<int64_t>(ToUnixSeconds(account_.clock().Now()));
  std::optional<int64_t> exp = jwt.ok() ? azure::NumericClaim(jwt->claims, "exp") : std::nullopt;
  if (!jwt.ok() || !azure::VerifyJwt(*jwt, issuer_key_).ok() || !exp || now >= *exp ||
      !azure::AudienceContains(jwt->claims, kPodIdentityAudience)) {
    return Json(res, 401, {{"code", "InvalidTokenException"}, {"message", "Service account token cannot be validated"}});
  }
  const std::string sub = azure::StringField(jwt->claims, "sub");
  std::optional<std::string> role = account_.PodIdentityRole(sub);
  if (!role) {
    return Json(res, 403, {{"code", "AccessDeniedException"},
                           {"message", "No Pod Identity Association found for " + sub}});
  }
  nlohmann::json body = CredentialsJson(account_.Issue(account_.RoleArn(*role), "eks-pod-identity"));
  body["AccountId"] = account_.options().account_id;
  Json(res, 200, body);
}

// --- IMDSv2 ---

Result<std::unique_ptr<Ec2Metadata>> Ec2Metadata::Start(AwsAccount& account) {
  std::unique_ptr<Ec2Metadata> imds(new Ec2Metadata(account));
  Ec2Metadata* self = imds.get();
  auto server = azure::LoopbackServer::Start(std::nullopt, [self](httplib::Server& s) { self->Routes(s); });
  if (!server.ok()) return server.status();
  imds->server_ = std::move(*server);
  return imds;
}

Ec2Metadata::~Ec2Metadata() {
  if (server_) server_->Stop();
}

bool Ec2Metadata::Authorized(const httplib::Request& req, httplib::Response& res) const {
  std::lock_guard lock(mu_);
  if (sessions_.count(req.get_header_value("X-aws-ec2-metadata-token"))) return true;
  res.status = 401;
  return false;
}

void Ec2Metadata::Routes(httplib::Server& s) {
  s.Put("/latest/api/token", [this](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("X-aws-ec2-metadata-token-ttl-seconds").empty()) {
      res.status = 400;
      return;
    }
    std::string token = "AQAEA" + std::to_string(std::random_device{}()) + "imdsv2";
    {
      std::lock_guard lock(mu_);
      sessions_.insert(token);
    }
    res.set_content(token, "text/plain");
  });
  s.Get(R"(/latest/meta-data/iam/security-credentials/(.*))", [this](const httplib::Request& req,
                                                                     httplib::Response& res) {
    if (!Authorized(req, res)) return;
    const std::string role = account_.InstanceProfileRole();
    const std::string asked = req.matches[1];
    if (role.empty() || (!asked.empty() && asked != role)) {
      res.status = 404;
      return;
    }
    if (asked.empty()) return res.set_content(role, "text/plain");
    ++credential_requests_;
    nlohmann::json body = CredentialsJson(account_.Issue(account_.RoleArn(role), "i-emulated"));
    body["Code"] = "Success";
    body["Type"] = "AWS-HMAC";
    body["LastUpdated"] = FormatRfc3339(account_.clock().Now());
    Json(res, 200, body);
  });
}

}  // namespace ebb::testing::aws
