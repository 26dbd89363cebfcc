#include "auth/aws_credentials.h"

#include "auth/azure_workload_identity.h"
#include "auth/jwt_claims.h"
#include "common/log.h"
#include "common/strings.h"

namespace ebb::auth {

namespace {

constexpr auto kStaticLifetime = std::chrono::hours(24);

constexpr char kIrsaHint[] =
    " Fix: on EKS, the pod identity webhook injects AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE into pods whose "
    "service account has the annotation eks.amazonaws.com/role-arn (restart ebb after adding it); EKS Pod "
    "Identity injects AWS_CONTAINER_CREDENTIALS_FULL_URI once a pod identity association exists for ebb's "
    "namespace and service account.";

std::string Digest(const std::string& text) { return HexSha256(text).substr(0, 16); }

// Reads the web identity token; the message names the variable and file.
Result<SecretString> ReadTokenFile(const std::string& path, const char* variable) {
  Result<SecretString> t = ReadFederatedTokenFile(path);
  if (t.ok()) return t;
  std::string m = t.status().message();
  // ReadFederatedTokenFile names the Azure variable; say which one it was here.
  size_t azure = m.find(kEnvAzureFederatedTokenFile);
  if (azure != std::string::npos) m.replace(azure, std::string(kEnvAzureFederatedTokenFile).size(), variable);
  size_t hint = m.find(". The workload identity webhook");
  if (hint != std::string::npos) m = m.substr(0, hint) + ".";
  return Status(t.status().code(), m + kIrsaHint);
}

WebIdentityContext ContextFor(const WebIdentityConfig& c, const SecretString& jwt) {
  WebIdentityContext ctx{c.role_arn, c.sts_endpoint, c.token_file, "", "", ""};
  if (Result<JwtClaims> claims = DecodeJwtClaims(jwt.Reveal()); claims.ok()) {
    ctx.issuer = claims->iss;
    ctx.subject = claims->sub;
    ctx.audience = claims->AudienceText();
  }
  return ctx;
}

Result<AccessToken> InterpretStsAnswer(const Result<http::HttpResponse>& r, const std::string& action,
                                       const std::string& what, const WebIdentityContext* ctx, Time now) {
  if (!r.ok()) return r.status().WithContext(what);
  if (r->status < 200 || r->status > 299) return MapStsError(ParseStsError(r->status, r->body), what, ctx);
  Result<AccessToken> t = ParseStsCredentials(r->body, action, now);
  if (!t.ok()) return t.status().WithContext(what);
  return t;
}

Result<TokenSourcePtr> WebIdentityFromEnv(const AwsEnvironment& env, const AwsSourceOptions& o, const Clock& clock) {
  const std::string role = EnvValue(env, kEnvAwsRoleArn);
  const std::string file = EnvValue(env, kEnvAwsWebIdentityTokenFile);
  if (role.empty() || file.empty()) {
    return InvalidConfig(std::string(role.empty() ? kEnvAwsRoleArn : kEnvAwsWebIdentityTokenFile) +
                         " is not set while " + (role.empty() ? kEnvAwsWebIdentityTokenFile : kEnvAwsRoleArn) +
                         " is: IRSA needs both." + kIrsaHint);
  }
  Result<std::string> endpoint = ResolveStsEndpoint(env, o.region, o.allow_insecure);
  if (!endpoint.ok()) return endpoint.status();
  WebIdentityConfig c{role, file, SessionName(env, clock.Now()), *endpoint, o.timeout};
  return TokenSourcePtr(std::make_shared<WebIdentityCredentialsSource>(std::move(c), clock));
}

}  // namespace

AwsCredentials ToAwsCredentials(const AccessToken& token) {
  return AwsCredentials{token.access_key_id, token.secret_access_key, token.token};
}

std::string SessionName(const AwsEnvironment& env, Time now) {
  std::string name = EnvValue(env, kEnvAwsRoleSessionName);
  if (!name.empty()) return name;
  return "ebb-" + std::to_string(static_cast<int64_t>(ToUnixSeconds(now)));
}

// --- static keys ---

StaticAwsCredentialsSource::StaticAwsCredentialsSource(AwsCredentials credentials, const Clock& clock)
    : credentials_(std::move(credentials)), clock_(clock) {}

void StaticAwsCredentialsSource::Fetch(http::HttpClient&, TokenCallback done) {
  AccessToken t;
  t.access_key_id = credentials_.access_key_id;
  t.secret_access_key = credentials_.secret_access_key;
  t.token = credentials_.session_token;
  t.obtained_at = clock_.Now();
  t.expires_on = t.obtained_at + kStaticLifetime;
  t.audience = "AWS access key " + credentials_.access_key_id;
  done(std::move(t));
}

std::string StaticAwsCredentialsSource::CacheKey() const {
  return "aws-static|" + credentials_.access_key_id + "|" +
         Digest(credentials_.secret_access_key.Reveal() + "\n" + credentials_.session_token.Reveal());
}

std::string StaticAwsCredentialsSource::Describe() const {
  return "AWS access key " + credentials_.access_key_id +
         (credentials_.session_token.empty() ? "" : " with a session token");
}

// --- web identity (IRSA) ---

WebIdentityCredentialsSource::WebIdentityCredentialsSource(WebIdentityConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock) {}

std::string WebIdentityCredentialsSource::CacheKey() const {
  return "aws-web-identity|" + config_.sts_endpoint + "|" + config_.role_arn + "|" + config_.token_file;
}

std::string WebIdentityCredentialsSource::Describe() const {
  return "AWS web identity (IRSA) credentials for role " + config_.role_arn + " from " + config_.sts_endpoint;
}

void WebIdentityCredentialsSource::Fetch(http::HttpClient& client, TokenCallback done) {
  Result<SecretString> jwt = ReadTokenFile(config_.token_file, kEnvAwsWebIdentityTokenFile);
  if (!jwt.ok()) return done(jwt.status());
  http::HttpRequest req = WebIdentityRequest(config_.sts_endpoint, config_.role_arn, config_.session_name, *jwt);
  req.timeout = config_.timeout;
  Logger::Default().Debug("requesting AWS credentials", {{"identity", Describe()}});
  std::string what = "STS AssumeRoleWithWebIdentity for role " + config_.role_arn + " at " + config_.sts_endpoint;
  client.Send(std::move(req), [ctx = ContextFor(config_, *jwt), what, &clock = clock_,
                               done = std::move(done)](Result<http::HttpResponse> r) {
    done(InterpretStsAnswer(r, "AssumeRoleWithWebIdentity", what, &ctx, clock.Now()));
  });
}

// --- assumed role on top ---

AssumeRoleCredentialsSource::AssumeRoleCredentialsSource(AssumeRoleConfig config, TokenSourcePtr base,
                                                         std::shared_ptr<TokenCache> cache, const Clock& clock)
    : config_(std::move(config)), base_(std::move(base)), cache_(std::move(cache)), clock_(clock) {}

std::string AssumeRoleCredentialsSource::CacheKey() const {
  return "aws-assume-role|" + base_->CacheKey() + "|" + config_.role_arn + "|" + Digest(config_.external_id) + "|" +
         config_.sts_endpoint;
}

std::string AssumeRoleCredentialsSource::Describe() const {
  return "AWS role " + config_.role_arn + " assumed with " + base_->Describe();
}

void AssumeRoleCredentialsSource::Fetch(http::HttpClient& client, TokenCallback done) {
  // Captures no `this`: the cache may outlive this source while the exchange runs.
  cache_->Get(base_, client, [&client, &clock = clock_, config = config_, done = std::move(done)](
                                 Result<AccessToken> base) {
    const std::string what = "STS AssumeRole of " + config.role_arn + " at " + config.sts_endpoint;
    if (!base.ok()) return done(base.status().WithContext("getting the base credentials for " + what));
    http::HttpRequest req = AssumeRoleRequest(config.sts_endpoint, config.role_arn, config.session_name,
                                              config.external_id);
    req.timeout = config.timeout;
    Status signed_ok = SignRequest(req, ToAwsCredentials(*base), {config.sts_region, "sts"}, clock.Now());
    if (!signed_ok.ok()) return done(signed_ok.WithContext(what));
    client.Send(std::move(req), [what, &clock, done](Result<http::HttpResponse> r) {
      done(InterpretStsAnswer(r, "AssumeRole", what, nullptr, clock.Now()));
    });
  });
}

// --- the ambient chain ---

Result<TokenSourcePtr> ResolveAwsAmbientSource(const AwsEnvironment& env, const AwsSourceOptions& o,
                                               const Clock& clock) {
  if (!EnvValue(env, kEnvAwsRoleArn).empty() || !EnvValue(env, kEnvAwsWebIdentityTokenFile).empty()) {
    return WebIdentityFromEnv(env, o, clock);
  }
  const std::string full_uri = EnvValue(env, kEnvAwsContainerFullUri);
  if (!full_uri.empty()) {
    EBB_RETURN_IF_ERROR(CheckContainerCredentialsUri(full_uri, o.allow_insecure));
    ContainerCredentialsConfig c{full_uri, EnvValue(env, kEnvAwsContainerTokenFile), o.timeout};
    return TokenSourcePtr(std::make_shared<ContainerCredentialsSource>(std::move(c), clock));
  }
  if (ToLower(EnvValue(env, kEnvAwsEc2MetadataDisabled)) == "true") {
    return InvalidConfig("no AWS identity in ebb's environment (no AWS_ROLE_ARN/AWS_WEB_IDENTITY_TOKEN_FILE, no "
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI) and AWS_EC2_METADATA_DISABLED=true." +
                         std::string(kIrsaHint));
  }
  std::string endpoint = EnvValue(env, kEnvAwsEc2MetadataEndpoint);
  if (endpoint.empty()) endpoint = kDefaultEc2MetadataEndpoint;
  while (EndsWith(endpoint, "/")) endpoint.pop_back();
  return TokenSourcePtr(std::make_shared<Ec2MetadataCredentialsSource>(endpoint, clock));
}

}  // namespace ebb::auth
