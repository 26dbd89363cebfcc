#include "auth/imds_source.h"

#include "auth/azure_aad_errors.h"
#include "auth/azure_scope.h"
#include "auth/azure_token_response.h"
#include "common/log.h"
#include "common/strings.h"
#include "http/url.h"

namespace ebb::auth {

namespace {

constexpr char kImdsPath[] = "/metadata/identity/oauth2/token";

Result<std::string> NormalizeEndpoint(std::string_view text) {
  std::string e(Trim(text));
  Result<http::Url> url = http::ParseUrl(e);
  if (!url.ok()) return url.status().WithContext("IMDS endpoint");
  if (!url->query.empty()) return InvalidConfig("IMDS endpoint \"" + e + "\" must not have a query");
  while (EndsWith(e, "/")) e.pop_back();
  return e;
}

std::string Lookup(const Environment& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? "" : std::string(Trim(it->second));
}

bool IsTransient(int status) { return status == 404 || status == 410 || status == 429 || status >= 500; }

std::string Identity(const ImdsConfig& c) {
  return c.client_id.empty() ? "the system-assigned managed identity" : "managed identity " + c.client_id;
}

Status MapImdsError(const http::HttpResponse& r, const ImdsConfig& c) {
  AadError e = ParseAadError(r.status, r.body);
  std::string said = e.description.empty() ? "" : " IMDS said: \"" + e.description + "\".";
  std::string head = "IMDS at " + c.endpoint + " answered HTTP " + std::to_string(r.status) + " for " +
                     Identity(c) + ".";
  if (r.status == 410) return Unavailable(head + " IMDS is updating; ebb retries within 70 s.");
  if (IsTransient(r.status)) return Unavailable(head + said + " This is transient; ebb retries with backoff.");
  if (r.status == 400 && ToLower(e.description).find("identity not found") != std::string::npos) {
    return InvalidConfig(head + said + " Fix: assign " + Identity(c) + " to this VM or the node pool's "
                         "scale set, or set identityId to the client id of an identity assigned to it.");
  }
  if (r.status == 400) return InvalidConfig(head + said + " Fix the request's identity or resource.");
  return Unauthenticated(head + said);
}

Result<AccessToken> InterpretAnswer(const Result<http::HttpResponse>& r, const ImdsConfig& c, Time now) {
  if (!r.ok()) {
    return r.status().WithContext("requesting a managed identity token from IMDS at " + c.endpoint +
                                  " (is ebb running on an Azure VM or node?)");
  }
  if (r->status < 200 || r->status > 299) return MapImdsError(*r, c);
  Result<AccessToken> t = ParseAzureTokenSuccess(r->body, now);
  if (!t.ok()) return t.status().WithContext("IMDS at " + c.endpoint);
  if (t->audience.empty()) t->audience = c.resource;
  return t;
}

}  // namespace

std::string ImdsConfig::TokenUrl() const {
  std::vector<std::pair<std::string, std::string>> params = {{"api-version", kImdsApiVersion},
                                                             {"resource", resource}};
  if (!client_id.empty()) params.emplace_back("client_id", client_id);
  return endpoint + kImdsPath + "?" + http::BuildQuery(params);
}

Result<ImdsConfig> ResolveImdsConfig(const api::PodIdentity& pod_identity, const Environment& env,
                                     const ImdsOptions& options) {
  ImdsConfig c;
  std::string endpoint = options.endpoint_override;
  if (endpoint.empty()) endpoint = Lookup(env, kEnvImdsHost);
  if (endpoint.empty()) endpoint = kDefaultImdsEndpoint;
  Result<std::string> normalized = NormalizeEndpoint(endpoint);
  if (!normalized.ok()) return normalized.status();
  c.endpoint = *normalized;
  Result<std::string> scope = AzurePrometheusScope(options.cloud, options.private_resource_url);
  if (!scope.ok()) return scope.status();
  c.resource = ScopeToResource(*scope);
  c.client_id = !pod_identity.identity_id.empty() ? pod_identity.identity_id : Lookup(env, kEnvAzureClientId);
  return c;
}

ImdsTokenSource::ImdsTokenSource(ImdsConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock) {}

std::string ImdsTokenSource::CacheKey() const {
  return "azure-imds|" + config_.endpoint + "|" + config_.client_id + "|" + config_.resource;
}

std::string ImdsTokenSource::Describe() const {
  std::string who = config_.client_id.empty() ? "system-assigned" : "client id " + config_.client_id;
  return "Azure managed identity token from IMDS (" + who + ", resource " + config_.resource + ")";
}

void ImdsTokenSource::Fetch(http::HttpClient& client, TokenCallback done) {
  http::HttpRequest req;
  req.method = "GET";
  req.url = config_.TokenUrl();
  req.headers.push_back({"Metadata", "true"});
  req.headers.push_back({"Accept", "application/json"});
  req.timeout = config_.timeout;
  // IMDS must answer itself: a redirect would mean something else is listening.
  req.max_redirects = 0;
  req.max_response_bytes = kMaxTokenAnswerBytes;
  Logger::Default().Debug("requesting Azure token", {{"identity", Describe()}, {"url", req.url}});
  client.Send(std::move(req), [config = config_, &clock = clock_, done = std::move(done)](
                                  Result<http::HttpResponse> r) { done(InterpretAnswer(r, config, clock.Now())); });
}

}  // namespace ebb::auth
