#include "auth/aws_sts.h"

#include <cstdlib>
#include <optional>

#include "auth/azure_token_response.h"
#include "common/strings.h"
#include "http/url.h"

namespace ebb::auth {

namespace {

constexpr size_t kMaxStsBody = 64 * 1024;
constexpr char kStsVersion[] = "2011-06-15";
constexpr char kFormType[] = "application/x-www-form-urlencoded; charset=utf-8";

std::string DecodeXmlEntities(std::string_view s) {
  static constexpr std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    bool replaced = false;
    for (const auto& [entity, c] : kEntities) {
      if (s.substr(i, entity.size()) == entity) {
        out += c;
        i += entity.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += s[i];
  }
  return out;
}

// The raw inside of the first <tag ...>...</tag> in `xml`, if any. STS's
// answers are flat, fixed documents; this is all the XML ebb needs.
std::optional<std::string_view> Element(std::string_view xml, std::string_view tag) {
  const std::string open = "<" + std::string(tag);
  size_t start = 0;
  while ((start = xml.find(open, start)) != std::string_view::npos) {
    size_t after = start + open.size();
    if (after < xml.size() && (xml[after] == '>' || xml[after] == ' ')) break;
    start = after;
  }
  if (start == std::string_view::npos) return std::nullopt;
  size_t content = xml.find('>', start);
  if (content == std::string_view::npos) return std::nullopt;
  size_t end = xml.find("</" + std::string(tag) + ">", content);
  if (end == std::string_view::npos) return std::nullopt;
  return xml.substr(content + 1, end - content - 1);
}

std::string Text(std::string_view xml, std::string_view tag) {
  std::optional<std::string_view> e = Element(xml, tag);
  return e ? DecodeXmlEntities(Trim(*e)) : "";
}

http::HttpRequest FormPost(const std::string& endpoint,
                           const std::vector<std::pair<std::string, std::string>>& params) {
  http::HttpRequest r;
  r.method = "POST";
  r.url = endpoint + "/";
  r.headers.push_back({"Content-Type", kFormType});
  r.headers.push_back({"Accept", "text/xml"});
  r.body = http::BuildQuery(params);
  r.sensitive_body = true;
  r.timeout = std::chrono::seconds(10);
  return r;
}

std::string RegionalHost(const std::string& region) {
  return "https://sts." + region + (StartsWith(region, "cn-") ? ".amazonaws.com.cn" : ".amazonaws.com");
}

Result<std::string> CheckOverride(const std::string& url, const char* variable, bool allow_insecure) {
  Result<http::Url> u = http::ParseUrl(url);
  if (!u.ok()) return u.status().WithContext(variable);
  if (u->scheme != "https" && !allow_insecure) {
    return InvalidConfig(std::string(variable) + " \"" + url +
                         "\" is not https; STS is only called over https (plain http needs the explicit "
                         "option for local testing)");
  }
  std::string out = url;
  while (EndsWith(out, "/")) out.pop_back();
  return out;
}

std::string TrustPolicyHint(const WebIdentityContext& c) {
  std::string claims;
  if (!c.issuer.empty()) {
    claims = " The token ebb sent (" + c.token_file + ") has issuer \"" + c.issuer + "\", audience \"" + c.audience +
             "\" and subject \"" + c.subject + "\".";
  }
  return claims + " Fix: the role's trust policy must allow sts:AssumeRoleWithWebIdentity for the Federated "
                  "principal of the cluster's OIDC issuer (arn:aws:iam::ACCOUNT:oidc-provider/ISSUER-HOST-AND-PATH), "
                  "with conditions ISSUER:aud = sts.amazonaws.com and ISSUER:sub = "
                  "system:serviceaccount:NAMESPACE:SERVICEACCOUNT of ebb's pod; and ebb's service account needs the "
                  "annotation eks.amazonaws.com/role-arn: " + c.role_arn + ".";
}

}  // namespace

AwsEnvironment AwsEnvironmentFromProcess() {
  AwsEnvironment env;
  for (const char* name : {kEnvAwsRegion, kEnvAwsDefaultRegion, kEnvAwsRoleArn, kEnvAwsWebIdentityTokenFile,
                           kEnvAwsRoleSessionName, kEnvAwsStsRegionalEndpoints, kEnvAwsEndpointUrlSts,
                           kEnvAwsEndpointUrl, kEnvAwsContainerFullUri, kEnvAwsContainerTokenFile,
                           kEnvAwsEc2MetadataEndpoint, kEnvAwsEc2MetadataDisabled}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') env[name] = v;
  }
  return env;
}

std::string EnvValue(const AwsEnvironment& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? "" : std::string(Trim(it->second));
}

Result<std::string> ResolveStsEndpoint(const AwsEnvironment& env, const std::string& fallback_region,
                                       bool allow_insecure) {
  for (const char* variable : {kEnvAwsEndpointUrlSts, kEnvAwsEndpointUrl}) {
    std::string url = EnvValue(env, variable);
    if (!url.empty()) return CheckOverride(url, variable, allow_insecure);
  }
  if (ToLower(EnvValue(env, kEnvAwsStsRegionalEndpoints)) == "legacy") return std::string("https://sts.amazonaws.com");
  std::string region = EnvValue(env, kEnvAwsRegion);
  if (region.empty()) region = EnvValue(env, kEnvAwsDefaultRegion);
  if (region.empty()) region = fallback_region;
  if (region.empty()) {
    return InvalidConfig("no AWS region for the STS endpoint: set AWS_REGION in ebb's environment or awsRegion "
                         "on the trigger");
  }
  return RegionalHost(region);
}

http::HttpRequest WebIdentityRequest(const std::string& endpoint, const std::string& role_arn,
                                     const std::string& session_name, const SecretString& web_identity_token) {
  return FormPost(endpoint, {{"Action", "AssumeRoleWithWebIdentity"},
                             {"Version", kStsVersion},
                             {"RoleArn", role_arn},
                             {"RoleSessionName", session_name},
                             {"WebIdentityToken", web_identity_token.Reveal()}});
}

http::HttpRequest AssumeRoleRequest(const std::string& endpoint, const std::string& role_arn,
                                    const std::string& session_name, const std::string& external_id) {
  std::vector<std::pair<std::string, std::string>> params = {
      {"Action", "AssumeRole"}, {"Version", kStsVersion}, {"RoleArn", role_arn}, {"RoleSessionName", session_name}};
  if (!external_id.empty()) params.emplace_back("ExternalId", external_id);
  return FormPost(endpoint, params);
}

Result<AccessToken> ParseStsCredentials(std::string_view body, std::string_view action, Time now) {
  const std::string where = "the STS " + std::string(action) + " answer";
  if (body.size() > kMaxStsBody) return Internal(where + " is larger than 64 KiB");
  std::optional<std::string_view> result = Element(body, std::string(action) + "Result");
  if (!result) return Internal(where + " has no <" + std::string(action) + "Result> element");
  std::optional<std::string_view> creds = Element(*result, "Credentials");
  if (!creds) return Internal(where + " has no <Credentials> element");
  AccessToken t;
  t.access_key_id = Text(*creds, "AccessKeyId");
  t.secret_access_key = SecretString(Text(*creds, "SecretAccessKey"));
  t.token = SecretString(Text(*creds, "SessionToken"));
  for (const auto& [name, empty] : {std::pair<const char*, bool>{"AccessKeyId", t.access_key_id.empty()},
                                    {"SecretAccessKey", t.secret_access_key.empty()},
                                    {"SessionToken", t.token.empty()}}) {
    if (empty) return Internal(where + " has no " + name);
  }
  if (!ParseRfc3339(Text(*creds, "Expiration"), &t.expires_on)) {
    return Internal(where + " has no readable <Expiration>");
  }
  t.obtained_at = now;
  if (std::optional<std::string_view> user = Element(*result, "AssumedRoleUser")) t.audience = Text(*user, "Arn");
  return t;
}

StsError ParseStsError(int http_status, std::string_view body) {
  StsError e;
  e.http_status = http_status;
  if (body.size() > kMaxStsBody) return e;
  std::optional<std::string_view> error = Element(body, "Error");
  if (!error) return e;
  e.code = SanitizeServerText(Text(*error, "Code"), "", 80);
  e.message = SanitizeServerText(Text(*error, "Message"), "", 300);
  e.request_id = SanitizeServerText(Text(body, "RequestId"), "", 80);
  return e;
}

Status MapStsError(const StsError& e, const std::string& what, const WebIdentityContext* c) {
  std::string said = e.code.empty() ? "HTTP " + std::to_string(e.http_status)
                                    : e.code + (e.message.empty() ? "" : " \"" + e.message + "\"");
  if (!e.request_id.empty()) said += " (request id " + e.request_id + ")";
  const std::string head = what + " failed: " + said + ".";
  if (e.code == "Throttling" || e.code == "IDPCommunicationError" || e.http_status >= 500 || e.http_status == 429) {
    return Unavailable(head + " Transient; ebb retries with backoff.");
  }
  if (e.code == "AccessDenied") {
    return Unauthenticated(head + (c ? TrustPolicyHint(*c)
                                     : " Fix: the base identity needs sts:AssumeRole on that role, and the role's "
                                       "trust policy must allow the base identity (and the external id, if set)."));
  }
  if (e.code == "InvalidIdentityToken") {
    return InvalidConfig(head + " Fix: register the cluster's OIDC issuer" + (c && !c->issuer.empty() ? " (" + c->issuer + ")" : "") +
                         " as an IAM OpenID Connect identity provider with audience sts.amazonaws.com (eksctl utils "
                         "associate-iam-oidc-provider), and make sure its keys can be fetched.");
  }
  if (e.code == "ExpiredTokenException") {
    return Unauthenticated(head + " The projected service-account token had expired: kubelet rotates the file; "
                                  "check that the token volume is mounted and refreshed.");
  }
  if (e.code == "RegionDisabledException") {
    return InvalidConfig(head + " Fix: activate STS in that region (IAM account settings) or point "
                                "AWS_STS_REGIONAL_ENDPOINTS / AWS_REGION at an active region.");
  }
  return Unauthenticated(head);
}

}  // namespace ebb::auth
