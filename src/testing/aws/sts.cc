#include "testing/aws/sts.h"

#include <algorithm>

#include "auth/sigv4.h"
#include "common/strings.h"
#include "testing/azure/jwt.h"

namespace ebb::testing::aws {

namespace {

Status Refuse(Denial* out, int status, std::string code, std::string message) {
  *out = Denial{status, std::move(code), std::move(message)};
  return Unauthenticated(out->message);
}

std::string Field(const std::map<std::string, std::string>& form, const std::string& name) {
  auto it = form.find(name);
  return it == form.end() ? "" : it->second;
}

bool Trusts(const Role& role, const std::string& iss, const std::string& sub, const nlohmann::json& claims) {
  return std::any_of(role.web_identity.begin(), role.web_identity.end(), [&](const WebIdentityTrust& t) {
    return t.issuer == iss && t.subject == sub && azure::AudienceContains(claims, t.audience);
  });
}

}  // namespace

std::map<std::string, std::string> ParseFormBody(const std::string& body) {
  std::map<std::string, std::string> out;
  for (std::string item : Split(body, '&')) {
    std::replace(item.begin(), item.end(), '+', ' ');
    size_t eq = item.find('=');
    if (item.empty()) continue;
    out.emplace(auth::PercentDecode(item.substr(0, eq)),
                eq == std::string::npos ? "" : auth::PercentDecode(item.substr(eq + 1)));
  }
  return out;
}

std::string StsSuccessXml(const std::string& action, const IssuedCredentials& c, const std::string& extra) {
  return "<" + action + "Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <" + action +
         "Result>\n    <Credentials>\n      <AccessKeyId>" + c.access_key_id + "</AccessKeyId>\n      <SecretAccessKey>" +
         c.secret_access_key + "</SecretAccessKey>\n      <SessionToken>" + c.session_token +
         "</SessionToken>\n      <Expiration>" + FormatRfc3339(c.expiration) + "</Expiration>\n    </Credentials>\n" +
         extra + "    <AssumedRoleUser>\n      <Arn>" + c.assumed_role_arn +
         "</Arn>\n      <AssumedRoleId>AROAEMULATED:session</AssumedRoleId>\n    </AssumedRoleUser>\n  </" + action +
         "Result>\n  <ResponseMetadata>\n    <RequestId>emulated</RequestId>\n  </ResponseMetadata>\n</" + action +
         "Response>\n";
}

Result<std::unique_ptr<StsEmulator>> StsEmulator::Start(const IssuedCert& tls, AwsAccount& account) {
  std::unique_ptr<StsEmulator> sts(new StsEmulator(account));
  StsEmulator* self = sts.get();
  auto server = azure::LoopbackServer::Start(tls, [self](httplib::Server& s) {
    s.Post("/", [self](const httplib::Request& req, httplib::Response& res) { self->Handle(req, res); });
  });
  if (!server.ok()) return server.status();
  sts->server_ = std::move(*server);
  return sts;
}

StsEmulator::~StsEmulator() {
  if (server_) server_->Stop();
}

StsCounters StsEmulator::counters() const { return StsCounters{web_identity_, assume_role_, failures_}; }

void StsEmulator::Handle(const httplib::Request& req, httplib::Response& res) {
  std::map<std::string, std::string> form = ParseFormBody(req.body);
  const std::string action = Field(form, "Action");
  Denial denial;
  Result<IssuedCredentials> issued = Unauthenticated("");
  if (action == "AssumeRoleWithWebIdentity") {
    ++web_identity_;
    issued = WebIdentity(form, &denial);
  } else if (action == "AssumeRole") {
    ++assume_role_;
    issued = AssumeRole(req, form, &denial);
  } else {
    denial = Denial{400, "InvalidAction", "Could not find operation " + action + " for version 2011-06-15"};
  }
  if (!issued.ok()) {
    ++failures_;
    res.status = denial.status;
    res.set_content(StsErrorXml(denial), "text/xml");
    return;
  }
  std::string extra;
  if (action == "AssumeRoleWithWebIdentity") {
    Result<azure::DecodedJwt> jwt = azure::DecodeJwt(Field(form, "WebIdentityToken"));
    extra = "    <SubjectFromWebIdentityToken>" + azure::StringField(jwt->claims, "sub") +
            "</SubjectFromWebIdentityToken>\n"
            "    <Audience>" + std::string(kStsAudience) + "</Audience>\n";
  }
  res.set_content(StsSuccessXml(action, *issued, extra), "text/xml");
}

Result<IssuedCredentials> StsEmulator::WebIdentity(const std::map<std::string, std::string>& form, Denial* denial) {
  for (const char* name : {"RoleArn", "RoleSessionName", "WebIdentityToken"}) {
    if (Field(form, name).empty()) {
      return Refuse(denial, 400, "MissingParameter", std::string("The request must contain the parameter ") + name);
    }
  }
  Result<azure::DecodedJwt> jwt = azure::DecodeJwt(Field(form, "WebIdentityToken"));
  if (!jwt.ok()) return Refuse(denial, 400, "InvalidIdentityToken", "The web identity token is not a valid JWT");
  const std::string iss = azure::StringField(jwt->claims, "iss");
  const std::string sub = azure::StringField(jwt->claims, "sub");
  std::optional<std::string> key = account_.OidcProviderKey(iss);
  if (!key) {
    return Refuse(denial, 400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for " + iss);
  }
  if (!azure::VerifyJwt(*jwt, *key).ok()) {
    return Refuse(denial, 400, "InvalidIdentityToken", "Couldn't verify the signature of the web identity token");
  }
  std::optional<int64_t> exp = azure::NumericClaim(jwt->claims, "exp");
  const int64_t now = static_cast<int64_t>(ToUnixSeconds(account_.clock().Now()));
  if (!exp || now >= *exp) return Refuse(denial, 400, "ExpiredTokenException", "Token expired: current date/time must be before the expiration date/time");
  const std::string role_arn = Field(form, "RoleArn");
  std::optional<Role> role = account_.FindRole(role_arn);
  if (!role || !Trusts(*role, iss, sub, jwt->claims)) {
    return Refuse(denial, 403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity");
  }
  return account_.Issue(role_arn, Field(form, "RoleSessionName"));
}

Result<IssuedCredentials> StsEmulator::AssumeRole(const httplib::Request& req,
                                                  const std::map<std::string, std::string>& form, Denial* denial) {
  Result<Principal> who = account_.VerifySigV4(req, "sts", denial);
  if (!who.ok()) return who.status();
  const std::string role_arn = Field(form, "RoleArn");
  std::optional<Role> role = account_.FindRole(role_arn);
  const bool trusted = role && (std::count(role->trusted_principals.begin(), role->trusted_principals.end(), who->arn) ||
                                std::count(role->trusted_principals.begin(), role->trusted_principals.end(), who->role_arn));
  if (!trusted || (role && role->external_id != Field(form, "ExternalId"))) {
    return Refuse(denial, 403, "AccessDenied",
                  "User: " + who->arn + " is not authorized to perform: sts:AssumeRole on resource: " + role_arn);
  }
  return account_.Issue(role_arn, Field(form, "RoleSessionName"));
}

}  // namespace ebb::testing::aws
