// The link-local credential endpoints: the EKS Pod Identity agent and EC2
// IMDSv2 (aws_credentials.h).
#include <nlohmann/json.hpp>

#include "auth/aws_credentials.h"
#include "auth/azure_token_response.h"
#include "auth/azure_workload_identity.h"
#include "common/log.h"
#include "common/strings.h"
#include "http/url.h"

namespace ebb::auth {

namespace {

constexpr size_t kMaxAnswer = 64 * 1024;
constexpr char kImdsTokenTtl[] = "21600";

bool IsAllowedPlainHost(const std::string& host) {
  return host == "localhost" || StartsWith(host, "127.") || host == "::1" || host == "169.254.170.23" ||
         ToLower(host) == "fd00:ec2::23";
}

// {"AccessKeyId","SecretAccessKey","Token","Expiration"} as both endpoints send it.
Result<AccessToken> ParseJsonCredentials(const std::string& body, const std::string& where, Time now) {
  if (body.size() > kMaxAnswer) return Internal(where + " answered more than 64 KiB");
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Internal(where + " answered something that is not a JSON object");
  auto field = [&](const char* name) {
    auto it = j.find(name);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (j.contains("Code") && field("Code") != "Success") {
    return Unavailable(where + " answered Code \"" + SanitizeServerText(field("Code"), "", 60) + "\"");
  }
  AccessToken t;
  t.access_key_id = field("AccessKeyId");
  t.secret_access_key = SecretString(field("SecretAccessKey"));
  t.token = SecretString(field("Token"));
  if (t.access_key_id.empty() || t.secret_access_key.empty()) {
    return Internal(where + " answered without AccessKeyId or SecretAccessKey");
  }
  if (!ParseRfc3339(field("Expiration"), &t.expires_on)) return Internal(where + " answered without an Expiration");
  t.obtained_at = now;
  return t;
}

// A short, sanitized reason from an error answer (JSON "message", else the first line).
std::string Reason(const http::HttpResponse& r) {
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  std::string text;
  if (j.is_object() && j.contains("message") && j["message"].is_string()) text = j["message"].get<std::string>();
  if (text.empty()) text = std::string(Trim(std::string_view(r.body).substr(0, r.body.find('\n'))));
  return SanitizeServerText(text, "", 200);
}

Status HttpFailure(const http::HttpResponse& r, const std::string& where, const std::string& fix) {
  std::string said = Reason(r);
  std::string head = where + " answered HTTP " + std::to_string(r.status) + (said.empty() ? "" : ": \"" + said + "\"");
  if (r.status >= 500 || r.status == 429) return Unavailable(head + "; ebb retries with backoff");
  if (r.status == 401 || r.status == 403) return Unauthenticated(head + ". " + fix);
  return InvalidConfig(head + ". " + fix);
}

constexpr char kPodIdentityFix[] =
    "Fix: create an EKS Pod Identity association for ebb's namespace and service account (aws eks "
    "create-pod-identity-association), check that the eks-pod-identity-agent add-on runs on the node, and "
    "restart ebb so that AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE are injected";

constexpr char kInstanceProfileFix[] =
    "Fix: attach an instance profile (an IAM role) to the EC2 instance, make sure IMDS is enabled with a hop "
    "limit of 2 or more for pods, or give ebb IRSA or EKS Pod Identity instead";

}  // namespace

Status CheckContainerCredentialsUri(const std::string& uri, bool allow_insecure) {
  Result<http::Url> u = http::ParseUrl(uri);
  if (!u.ok()) return u.status().WithContext(kEnvAwsContainerFullUri);
  if (u->scheme == "https" || allow_insecure || IsAllowedPlainHost(u->host)) return Status::Ok();
  return InvalidConfig(std::string(kEnvAwsContainerFullUri) + " \"" + uri +
                       "\" is plain http to a host that is neither loopback nor the EKS Pod Identity agent "
                       "(169.254.170.23, fd00:ec2::23); the AWS SDKs refuse it and so does ebb");
}

// --- EKS Pod Identity ---

ContainerCredentialsSource::ContainerCredentialsSource(ContainerCredentialsConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock) {}

std::string ContainerCredentialsSource::CacheKey() const {
  return "aws-container|" + config_.full_uri + "|" + config_.token_file;
}

std::string ContainerCredentialsSource::Describe() const {
  return "AWS credentials from the EKS Pod Identity agent at " + config_.full_uri;
}

void ContainerCredentialsSource::Fetch(http::HttpClient& client, TokenCallback done) {
  http::HttpRequest req;
  req.url = config_.full_uri;
  req.timeout = config_.timeout;
  req.max_redirects = 0;
  if (!config_.token_file.empty()) {
    Result<SecretString> token = ReadFederatedTokenFile(config_.token_file);
    if (!token.ok()) {
      return done(InvalidConfig("cannot read " + std::string(kEnvAwsContainerTokenFile) + " " + config_.token_file +
                                " for the EKS Pod Identity agent. " + kPodIdentityFix));
    }
    req.headers.push_back({"Authorization", token->Reveal(), /*sensitive=*/true});
  }
  const std::string where = "the EKS Pod Identity agent at " + config_.full_uri;
  client.Send(std::move(req), [where, &clock = clock_, done = std::move(done)](Result<http::HttpResponse> r) {
    if (!r.ok()) return done(r.status().WithContext(where));
    if (r->status != 200) return done(HttpFailure(*r, where, kPodIdentityFix));
    done(ParseJsonCredentials(r->body, where, clock.Now()));
  });
}

// --- IMDSv2 ---

struct Ec2MetadataCredentialsSource::Exchange {
  std::string endpoint;
  const Clock& clock;
  std::chrono::milliseconds timeout;
  http::HttpClient& client;
  TokenCallback done;
  SecretString session;  // the IMDSv2 session token

  http::HttpRequest Request(const std::string& method, const std::string& path) const {
    http::HttpRequest r;
    r.method = method;
    r.url = endpoint + path;
    r.timeout = timeout;
    r.max_redirects = 0;
    if (!session.empty()) r.headers.push_back({"X-aws-ec2-metadata-token", session.Reveal(), true});
    return r;
  }
};

Ec2MetadataCredentialsSource::Ec2MetadataCredentialsSource(std::string endpoint, const Clock& clock,
                                                           std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), clock_(clock), timeout_(timeout) {}

std::string Ec2MetadataCredentialsSource::CacheKey() const { return "aws-imds|" + endpoint_; }

std::string Ec2MetadataCredentialsSource::Describe() const {
  return "AWS instance-profile credentials from IMDSv2 at " + endpoint_;
}

namespace {

constexpr char kCredentialsPath[] = "/latest/meta-data/iam/security-credentials/";

void FetchRoleCredentials(const std::shared_ptr<Ec2MetadataCredentialsSource::Exchange>& x, const std::string& role);

void FetchRoleName(const std::shared_ptr<Ec2MetadataCredentialsSource::Exchange>& x) {
  x->client.Send(x->Request("GET", kCredentialsPath), [x](Result<http::HttpResponse> r) {
    const std::string where = "IMDS at " + x->endpoint;
    if (!r.ok()) return x->done(r.status().WithContext(where));
    if (r->status == 404) {
      return x->done(InvalidConfig(where + " has no IAM role for this instance. " + kInstanceProfileFix));
    }
    if (r->status != 200) return x->done(HttpFailure(*r, where, kInstanceProfileFix));
    std::string role(Trim(std::string_view(r->body).substr(0, r->body.find('\n'))));
    if (role.empty() || role.find('/') != std::string::npos || role.size() > 128) {
      return x->done(Internal(where + " answered an unusable role name"));
    }
    FetchRoleCredentials(x, role);
  });
}

void FetchRoleCredentials(const std::shared_ptr<Ec2MetadataCredentialsSource::Exchange>& x, const std::string& role) {
  x->client.Send(x->Request("GET", kCredentialsPath + role), [x, role](Result<http::HttpResponse> r) {
    const std::string where = "IMDS at " + x->endpoint + " (role " + role + ")";
    if (!r.ok()) return x->done(r.status().WithContext(where));
    if (r->status != 200) return x->done(HttpFailure(*r, where, kInstanceProfileFix));
    Result<AccessToken> t = ParseJsonCredentials(r->body, where, x->clock.Now());
    if (t.ok()) t->audience = "instance profile role " + role;
    x->done(std::move(t));
  });
}

}  // namespace

void Ec2MetadataCredentialsSource::Fetch(http::HttpClient& client, TokenCallback done) {
  auto x = std::make_shared<Exchange>(Exchange{endpoint_, clock_, timeout_, client, std::move(done), {}});
  http::HttpRequest put = x->Request("PUT", "/latest/api/token");
  put.headers.push_back({"X-aws-ec2-metadata-token-ttl-seconds", kImdsTokenTtl});
  client.Send(std::move(put), [x](Result<http::HttpResponse> r) {
    const std::string where = "IMDSv2 at " + x->endpoint;
    if (!r.ok()) {
      return x->done(r.status().WithContext(where + " (is ebb running on EC2? otherwise give it IRSA or EKS Pod "
                                                    "Identity)"));
    }
    if (r->status != 200 || r->body.empty() || r->body.size() > 1024) {
      return x->done(HttpFailure(*r, where + " session token request", kInstanceProfileFix));
    }
    x->session = SecretString(std::string(Trim(r->body)));
    FetchRoleName(x);
  });
}

}  // namespace ebb::auth
