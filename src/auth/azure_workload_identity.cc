#include "auth/azure_workload_identity.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "auth/azure_aad_errors.h"
#include "auth/azure_scope.h"
#include "auth/azure_token_response.h"
#include "auth/jwt_claims.h"
#include "common/log.h"
#include "common/strings.h"
#include "http/url.h"

namespace ebb::auth {

namespace {

constexpr size_t kMaxTokenFileBytes = 1 << 20;
constexpr char kAssertionType[] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

constexpr char kWebhookHint[] =
    "The Azure Workload Identity webhook injects AZURE_CLIENT_ID, AZURE_TENANT_ID, "
    "AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST only into pods labelled "
    "azure.workload.identity/use: \"true\" (a label on the service account does nothing), "
    "when the pod is created: add the label to ebb's pod template and restart ebb; the "
    "service account needs the annotation azure.workload.identity/client-id.";

std::string Lookup(const Environment& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? "" : std::string(Trim(it->second));
}

// The override when given, else the variable; records the variable as
// missing when both are empty.
std::string Pick(const std::string& override_value, const Environment& env, const char* name,
                 std::vector<std::string>& missing) {
  if (!override_value.empty()) return override_value;
  std::string v = Lookup(env, name);
  if (v.empty()) missing.push_back(name);
  return v;
}

Status MissingVariables(const std::vector<std::string>& missing) {
  std::string names;
  for (const std::string& m : missing) names += (names.empty() ? "" : ", ") + m;
  return InvalidConfig("Azure Workload Identity: " + names + (missing.size() == 1 ? " is" : " are") +
                       " not set in ebb's environment (and the TriggerAuthentication does not "
                       "override it). " + kWebhookHint);
}

// Tenants are GUIDs or domain names; anything else would change the URL path.
Status ValidateTenant(const std::string& tenant) {
  for (char c : tenant) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') {
      return InvalidConfig("Azure tenant id \"" + tenant + "\" is not a GUID or domain name");
    }
  }
  return Status::Ok();
}

Result<std::string> ResolveAuthority(const api::PodIdentity& id, const Environment& env,
                                     const AzureIdentityOptions& options) {
  std::string host = id.identity_authority_host;
  if (host.empty()) host = Lookup(env, kEnvAzureAuthorityHost);
  if (host.empty()) host = DefaultAuthorityHost(options.cloud);
  if (host.empty()) {
    return InvalidConfig("Azure Workload Identity: AZURE_AUTHORITY_HOST is not set and cloud \"" +
                         options.cloud + "\" has no default authority; set identityAuthorityHost");
  }
  Result<std::string> normalized = NormalizeAuthorityHost(host, options.allow_insecure_authority);
  if (!normalized.ok()) return normalized.status().WithContext("Azure authority host");
  return normalized;
}

std::string ReadError(const std::string& path, const std::string& why) {
  return "cannot use the federated token file " + path + " (" + kEnvAzureFederatedTokenFile + "): " + why +
         ". The workload identity webhook mounts the projected service-account token only into pods "
         "labelled azure.workload.identity/use: \"true\"; check the pod's volumes and the variable.";
}

AadErrorContext ErrorContext(const AzureWorkloadIdentityConfig& c, const SecretString& assertion) {
  AadErrorContext ctx{c.client_id, c.tenant_id, c.authority_host, c.scope, c.token_file, std::nullopt};
  if (Result<JwtClaims> claims = DecodeJwtClaims(assertion.Reveal()); claims.ok()) ctx.assertion = *claims;
  return ctx;
}

Result<AccessToken> InterpretAnswer(const Result<http::HttpResponse>& r, const AzureWorkloadIdentityConfig& c,
                                    const SecretString& assertion, Time now) {
  if (!r.ok()) return r.status().WithContext("requesting a token from " + c.TokenUrl());
  if (r->status < 200 || r->status > 299) {
    return MapAadError(ParseAadError(r->status, r->body, assertion.Reveal()), ErrorContext(c, assertion));
  }
  Result<AccessToken> t = ParseAzureTokenSuccess(r->body, now);
  if (!t.ok()) return t.status().WithContext(c.TokenUrl());
  if (t->audience.empty()) t->audience = ScopeToResource(c.scope);
  if (t->tenant.empty()) t->tenant = c.tenant_id;
  return t;
}

}  // namespace

Environment AzureEnvironmentFromProcess() {
  Environment env;
  for (const char* name : {kEnvAzureClientId, kEnvAzureTenantId, kEnvAzureAuthorityHost,
                           kEnvAzureFederatedTokenFile, "AZURE_POD_IDENTITY_AUTHORITY_HOST"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') env[name] = v;
  }
  return env;
}

std::string AzureWorkloadIdentityConfig::TokenUrl() const {
  return authority_host + tenant_id + "/oauth2/v2.0/token";
}

Result<std::string> NormalizeAuthorityHost(std::string_view host, bool allow_insecure) {
  std::string h(Trim(host));
  Result<http::Url> url = http::ParseUrl(h);
  if (!url.ok()) return url.status();
  if (url->scheme != "https" && !allow_insecure) {
    return InvalidConfig("\"" + h + "\" is not https; Azure tokens are only requested over https "
                         "(plain http is allowed only with the explicit option for local testing)");
  }
  if (!url->query.empty() || h.find('#') != std::string::npos) {
    return InvalidConfig("\"" + h + "\" must not have a query or fragment");
  }
  if (!EndsWith(h, "/")) h += '/';
  return h;
}

Result<AzureWorkloadIdentityConfig> ResolveAzureWorkloadConfig(const api::PodIdentity& pod_identity,
                                                               const Environment& env,
                                                               const AzureIdentityOptions& options) {
  AzureWorkloadIdentityConfig c;
  std::vector<std::string> missing;
  c.client_id = Pick(pod_identity.identity_id, env, kEnvAzureClientId, missing);
  c.tenant_id = Pick(pod_identity.identity_tenant_id, env, kEnvAzureTenantId, missing);
  c.token_file = Pick("", env, kEnvAzureFederatedTokenFile, missing);
  if (!missing.empty()) return MissingVariables(missing);
  EBB_RETURN_IF_ERROR(ValidateTenant(c.tenant_id));
  Result<std::string> authority = ResolveAuthority(pod_identity, env, options);
  if (!authority.ok()) return authority.status();
  c.authority_host = *authority;
  Result<std::string> scope = AzurePrometheusScope(options.cloud, options.private_resource_url);
  if (!scope.ok()) return scope.status();
  c.scope = *scope;
  c.allow_insecure_authority = options.allow_insecure_authority;
  return c;
}

Result<SecretString> ReadFederatedTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidConfig(ReadError(path, std::strerror(errno)));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return InvalidConfig(ReadError(path, "read failed"));
  std::string text = buf.str();
  if (text.size() > kMaxTokenFileBytes) return InvalidConfig(ReadError(path, "it is larger than 1 MiB"));
  std::string_view trimmed = Trim(text);
  if (trimmed.empty()) return InvalidConfig(ReadError(path, "it is empty (kubelet has not written the token)"));
  return SecretString(std::string(trimmed));
}

AzureWorkloadIdentitySource::AzureWorkloadIdentitySource(AzureWorkloadIdentityConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock) {}

std::string AzureWorkloadIdentitySource::CacheKey() const {
  return "azure-workload|" + config_.authority_host + "|" + config_.tenant_id + "|" + config_.client_id + "|" +
         config_.scope;
}

std::string AzureWorkloadIdentitySource::Describe() const {
  return "Azure Workload Identity token (client id " + config_.client_id + ", tenant " + config_.tenant_id +
         ", scope " + config_.scope + ")";
}

http::HttpRequest AzureWorkloadIdentitySource::BuildRequest(const SecretString& assertion) const {
  http::HttpRequest req;
  req.method = "POST";
  req.url = config_.TokenUrl();
  req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
  req.headers.push_back({"Accept", "application/json"});
  req.body = http::BuildQuery({{"grant_type", "client_credentials"},
                               {"client_id", config_.client_id},
                               {"client_assertion_type", kAssertionType},
                               {"client_assertion", assertion.Reveal()},
                               {"scope", config_.scope}});
  req.sensitive_body = true;
  req.timeout = config_.timeout;
  req.max_response_bytes = kMaxTokenAnswerBytes;
  return req;
}

void AzureWorkloadIdentitySource::Fetch(http::HttpClient& client, TokenCallback done) {
  // Re-checked here because a config can be built by hand, not only resolved.
  Result<std::string> authority = NormalizeAuthorityHost(config_.authority_host, config_.allow_insecure_authority);
  if (!authority.ok()) return done(authority.status().WithContext(Describe()));
  Result<SecretString> assertion = ReadFederatedTokenFile(config_.token_file);
  if (!assertion.ok()) return done(assertion.status());
  Logger::Default().Debug("requesting Azure token", {{"identity", Describe()}, {"url", config_.TokenUrl()}});
  client.Send(BuildRequest(*assertion),
              [config = config_, &clock = clock_, assertion = *assertion, done = std::move(done)](
                  Result<http::HttpResponse> r) { done(InterpretAnswer(r, config, assertion, clock.Now())); });
}

}  // namespace ebb::auth
