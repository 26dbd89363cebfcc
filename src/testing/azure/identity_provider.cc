#include "testing/azure/identity_provider.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

#include "common/strings.h"

namespace ebb::testing::azure {

namespace {

constexpr char kWorkloadIdentityDocs[] =
    "https://learn.microsoft.com/entra/workload-id/workload-identity-federation";
constexpr char kDefaultSuffix[] = "/.default";

int64_t Seconds(Time t) { return static_cast<int64_t>(std::floor(ToUnixSeconds(t))); }

// The facts' table: invalid_client is 401, everything else a client can
// fix in its request is 400.
int HttpStatusOf(const std::string& error) { return error == "invalid_client" ? 401 : 400; }

AadError Aad(int code, std::string error, std::string description) {
  int status = HttpStatusOf(error);
  return AadError{code, std::move(error), std::move(description), status};
}

AadError MissingParameter(const std::string& name) {
  return Aad(900144, "invalid_request",
             "The request body must contain the following parameter: '" + name + "'.");
}

AadError TenantNotFound(const std::string& tenant) {
  return Aad(90002, "invalid_request",
             "Tenant '" + tenant +
                 "' not found. Check to make sure you have the correct tenant ID and are signing "
                 "into the correct cloud. Check with your subscription administrator, this may "
                 "happen if there are no active subscriptions for the tenant.");
}

AadError ApplicationNotFound(const std::string& client_id, const std::string& tenant) {
  return Aad(700016, "unauthorized_client",
             "Application with identifier '" + client_id + "' was not found in the directory '" +
                 tenant +
                 "'. This can happen if the application has not been installed by the "
                 "administrator of the tenant or consented to by any user in the tenant. You may "
                 "have sent your authentication request to the wrong tenant.");
}

AadError InvalidScope(const std::string& scope) {
  return Aad(70011, "invalid_scope",
             "The provided value for the input parameter 'scope' is not valid. The scope '" +
                 scope +
                 "' is not valid. Client credential flows must have a scope value with /.default "
                 "suffixed to the resource identifier (application ID URI).");
}

AadError InvalidJwt(const std::string& detail) {
  return Aad(50027, "invalid_client", "JWT token is invalid or malformed. " + detail);
}

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

std::string NoMatchHint() {
  return ". Please check your federated identity credential Subject, Audience and Issuer "
         "against the presented assertion. " +
         std::string(kWorkloadIdentityDocs);
}

AadError IssuerNotRegistered(const std::string& iss) {
  return Aad(700211, "invalid_client",
             "No matching federated identity record found for presented assertion issuer " +
                 Quoted(iss) + NoMatchHint());
}

AadError SubjectNotRegistered(const std::string& sub) {
  return Aad(700213, "invalid_client",
             "No matching federated identity record found for presented assertion subject " +
                 Quoted(sub) + NoMatchHint());
}

AadError NoFullMatch(const std::string& iss, const std::string& sub, const std::string& aud) {
  return Aad(70021, "invalid_request",
             "No matching federated identity record found for presented assertion. Assertion "
             "Issuer: " +
                 Quoted(iss) + ". Assertion Subject: " + Quoted(sub) +
                 ". Assertion Audience: " + Quoted(aud) + ". " + kWorkloadIdentityDocs);
}

AadError TransientUnavailable(int status) {
  return AadError{90033, "temporarily_unavailable",
                  "A transient error has occurred. Please try again.", status};
}

std::string ResourceOf(const std::string& scope) {
  return scope.substr(0, scope.size() - std::strlen(kDefaultSuffix));
}

bool ValidScope(const std::string& scope) {
  return EndsWith(scope, kDefaultSuffix) && scope.size() > std::strlen(kDefaultSuffix) &&
         scope.find_first_of(" \t") == std::string::npos;
}

}  // namespace

std::string AadTimestamp(Time t) {
  std::string s = FormatRfc3339(std::chrono::floor<std::chrono::seconds>(t));
  if (s.size() > 10 && s[10] == 'T') s[10] = ' ';
  return s;
}

nlohmann::json AadErrorBody(const AadError& error, Time now, const std::string& trace_id,
                            const std::string& correlation_id) {
  std::string ts = AadTimestamp(now);
  std::string description = "AADSTS" + std::to_string(error.code) + ": " + error.description +
                            "\r\nTrace ID: " + trace_id + "\r\nCorrelation ID: " + correlation_id +
                            "\r\nTimestamp: " + ts;
  return {
      {"error", error.error},
      {"error_description", description},
      {"error_codes", {error.code}},
      {"timestamp", ts},
      {"trace_id", trace_id},
      {"correlation_id", correlation_id},
      {"error_uri", "https://login.microsoftonline.com/error?code=" + std::to_string(error.code)}};
}

IdentityProvider::IdentityProvider(IdentityProviderOptions options, RsaSigningKey key,
                                   const Registry& registry, const Clock& clock)
    : options_(std::move(options)),
      key_(std::move(key)),
      registry_(registry),
      clock_(clock),
      faults_(options_.faults),
      lifetime_(options_.access_token_lifetime) {}

IdentityProvider::~IdentityProvider() {
  if (server_) server_->Stop();
}

Result<std::unique_ptr<IdentityProvider>> IdentityProvider::Start(IdentityProviderOptions options,
                                                                  const Registry& registry,
                                                                  const Clock& clock) {
  std::optional<RsaSigningKey> key = options.signing_key;
  if (!key) {
    Result<RsaSigningKey> generated = RsaSigningKey::Generate();
    if (!generated.ok()) return generated.status();
    key = std::move(*generated);
  }
  IssuedCert tls = options.tls;
  std::unique_ptr<IdentityProvider> idp(
      new IdentityProvider(std::move(options), std::move(*key), registry, clock));
  IdentityProvider* self = idp.get();
  Result<std::unique_ptr<LoopbackServer>> server =
      LoopbackServer::Start(tls, [self](httplib::Server& s) {
        s.Post(R"(/([^/]+)/oauth2/v2\.0/token)",
               [self](const httplib::Request& req, httplib::Response& res) {
                 self->HandleToken(req, res);
               });
      });
  if (!server.ok()) return server.status();
  idp->server_ = std::move(*server);
  return idp;
}

void IdentityProvider::SetFaults(const FaultInjection& faults) {
  std::lock_guard lock(mu_);
  faults_ = faults;
  server_error_draws_ = 0;
  transient_draws_ = 0;
}

void IdentityProvider::SetAccessTokenLifetime(std::chrono::seconds lifetime) {
  std::lock_guard lock(mu_);
  lifetime_ = lifetime;
}

IdentityProviderCounters IdentityProvider::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

bool IdentityProvider::Fires(double share, int64_t* counter) {
  if (share <= 0) return false;
  int64_t n = ++*counter;
  return std::floor(n * share) > std::floor((n - 1) * share);
}

std::optional<int> IdentityProvider::DrawServerError() {
  std::lock_guard lock(mu_);
  if (!Fires(faults_.server_error_share, &server_error_draws_)) return std::nullopt;
  ++counters_.injected_server_errors;
  return faults_.server_error_status;
}

bool IdentityProvider::DrawTransient700213() {
  std::lock_guard lock(mu_);
  if (!Fires(faults_.transient_700213_share, &transient_draws_)) return false;
  ++counters_.injected_700213;
  return true;
}

void IdentityProvider::HandleToken(const httplib::Request& req, httplib::Response& res) {
  std::chrono::milliseconds latency;
  {
    std::lock_guard lock(mu_);
    ++counters_.requests;
    latency = faults_.latency;
  }
  if (latency.count() > 0) std::this_thread::sleep_for(latency);
  Reply reply = Exchange(req.matches[1].str(), req);
  res.status = reply.status;
  res.set_header("Cache-Control", "no-store, no-cache");
  res.set_header("Pragma", "no-cache");
  res.set_content(reply.body, "application/json; charset=utf-8");
}

IdentityProvider::Reply IdentityProvider::Exchange(const std::string& tenant,
                                                   const httplib::Request& req) {
  // Entra echoes the caller's client-request-id as the correlation id.
  std::string correlation_id = req.get_header_value("client-request-id");
  if (correlation_id.empty()) correlation_id = RandomUuid();
  if (std::optional<int> status = DrawServerError()) {
    return Failure(TransientUnavailable(*status), correlation_id);
  }
  std::optional<Application> app;
  if (std::optional<AadError> e = CheckRequest(tenant, req, &app)) {
    return Failure(*e, correlation_id);
  }
  if (std::optional<AadError> e = CheckAssertion(*app, FirstParam(req, "client_assertion"))) {
    return Failure(*e, correlation_id);
  }
  if (DrawTransient700213()) {
    std::string sub = StringField(DecodeJwt(FirstParam(req, "client_assertion"))->claims, "sub");
    return Failure(SubjectNotRegistered(sub), correlation_id);
  }
  return Success(*app, ResourceOf(FirstParam(req, "scope")));
}

std::optional<AadError> IdentityProvider::CheckRequest(const std::string& tenant,
                                                       const httplib::Request& req,
                                                       std::optional<Application>* app) const {
  if (!registry_.HasTenant(tenant)) return TenantNotFound(tenant);
  if (std::optional<AadError> e = CheckParameters(req)) return e;
  std::string client_id = FirstParam(req, "client_id");
  *app = registry_.FindApplication(tenant, client_id);
  if (!*app) return ApplicationNotFound(client_id, tenant);
  if (std::optional<AadError> e = CheckResource(tenant, ResourceOf(FirstParam(req, "scope")))) {
    return e;
  }
  return CheckCredentialType(req, client_id);
}

std::optional<AadError> IdentityProvider::CheckParameters(const httplib::Request& req) {
  std::string grant_type = FirstParam(req, "grant_type");
  if (grant_type.empty()) return MissingParameter("grant_type");
  if (grant_type != "client_credentials") {
    return Aad(70003, "unsupported_grant_type",
               "The app requested an unsupported grant type '" + grant_type + "'.");
  }
  if (FirstParam(req, "client_id").empty()) return MissingParameter("client_id");
  std::string scope = FirstParam(req, "scope");
  if (scope.empty()) return MissingParameter("scope");
  if (!ValidScope(scope)) return InvalidScope(scope);
  return std::nullopt;
}

std::optional<AadError> IdentityProvider::CheckResource(const std::string& tenant,
                                                        const std::string& resource) const {
  const std::vector<std::string>& known = options_.resources;
  if (known.empty() || std::find(known.begin(), known.end(), resource) != known.end()) {
    return std::nullopt;
  }
  return Aad(500011, "invalid_resource",
             "The resource principal named " + resource + " was not found in the tenant named " +
                 tenant + ". You might have sent your authentication request to the wrong tenant.");
}

std::optional<AadError> IdentityProvider::CheckCredentialType(const httplib::Request& req,
                                                              const std::string& client_id) {
  bool has_assertion = req.has_param("client_assertion");
  if (!has_assertion && !req.has_param("client_secret")) {
    return Aad(7000218, "invalid_client",
               "The request body must contain the following parameter: 'client_assertion' or "
               "'client_secret'.");
  }
  if (!has_assertion) {
    // Registered applications here have federated credentials only.
    return Aad(7000215, "invalid_client",
               "Invalid client secret provided. Ensure the secret being sent in the request is "
               "the client secret value, not the client secret ID, for a secret added to app '" +
                   client_id + "'.");
  }
  std::string assertion_type = FirstParam(req, "client_assertion_type");
  if (assertion_type.empty()) return MissingParameter("client_assertion_type");
  if (assertion_type != kJwtBearerAssertionType) {
    return Aad(70002, "invalid_client",
               "The client_assertion_type '" + assertion_type + "' is not supported. Expected '" +
                   kJwtBearerAssertionType + "'.");
  }
  return std::nullopt;
}

std::optional<AadError> IdentityProvider::CheckAssertion(const Application& app,
                                                         const std::string& assertion) {
  Result<DecodedJwt> jwt = DecodeJwt(assertion);
  if (!jwt.ok()) return InvalidJwt(jwt.status().message());
  std::string iss = StringField(jwt->claims, "iss");
  std::string sub = StringField(jwt->claims, "sub");
  const auto& creds = app.federated_credentials;
  auto same_issuer = [&](const FederatedCredential& c) { return c.issuer == iss; };
  if (std::none_of(creds.begin(), creds.end(), same_issuer)) return IssuerNotRegistered(iss);
  if (std::optional<AadError> e = CheckSignature(iss, *jwt)) return e;
  if (std::optional<AadError> e = CheckTimeRange(*jwt)) return e;
  auto same_subject = [&](const FederatedCredential& c) {
    return same_issuer(c) && c.subject == sub;
  };
  if (std::none_of(creds.begin(), creds.end(), same_subject)) return SubjectNotRegistered(sub);
  auto full_match = [&](const FederatedCredential& c) {
    if (!same_subject(c)) return false;
    return std::any_of(c.audiences.begin(), c.audiences.end(),
                       [&](const std::string& a) { return AudienceContains(jwt->claims, a); });
  };
  if (std::none_of(creds.begin(), creds.end(), full_match)) {
    return NoFullMatch(iss, sub, AudienceText(jwt->claims));
  }
  return std::nullopt;
}

std::optional<AadError> IdentityProvider::CheckSignature(const std::string& issuer,
                                                         const DecodedJwt& jwt) {
  std::optional<nlohmann::json> cached;
  {
    std::lock_guard lock(mu_);
    auto it = jwks_cache_.find(issuer);
    if (it != jwks_cache_.end() && clock_.Now() - it->second.fetched_at < options_.jwks_cache_ttl) {
      cached = it->second.jwks;
    }
  }
  // A cached JWKS that does not verify may predate a key rotation: refetch once.
  if (cached && VerifyJwtWithJwks(jwt, *cached).ok()) return std::nullopt;
  Result<nlohmann::json> jwks = FetchJwks(issuer);
  if (!jwks.ok()) {
    return Aad(90061, "invalid_request",
               "Request to External OIDC endpoint failed. Issuer: " + Quoted(issuer) + ". " +
                   jwks.status().message());
  }
  Status verified = VerifyJwtWithJwks(jwt, *jwks);
  if (!verified.ok()) return InvalidJwt("Signature validation failed: " + verified.message());
  return std::nullopt;
}

Result<nlohmann::json> IdentityProvider::FetchJwks(const std::string& issuer) {
  {
    std::lock_guard lock(mu_);
    ++counters_.jwks_fetches;
  }
  FetchOptions fetch;
  fetch.ca_pem = options_.issuer_ca_pem;
  std::string base = issuer;
  while (EndsWith(base, "/")) base.pop_back();
  Result<FetchResult> discovery = HttpFetch(base + "/.well-known/openid-configuration", fetch);
  if (!discovery.ok()) return discovery.status();
  if (discovery->status != 200) {
    return Unavailable("discovery answered HTTP " + std::to_string(discovery->status));
  }
  nlohmann::json doc = nlohmann::json::parse(discovery->body, nullptr, false);
  if (!doc.is_object() || !doc.contains("jwks_uri") || !doc["jwks_uri"].is_string()) {
    return Unavailable("discovery document has no jwks_uri");
  }
  Result<FetchResult> keys = HttpFetch(doc["jwks_uri"].get<std::string>(), fetch);
  if (!keys.ok()) return keys.status();
  if (keys->status != 200) return Unavailable("JWKS answered HTTP " + std::to_string(keys->status));
  nlohmann::json jwks = nlohmann::json::parse(keys->body, nullptr, false);
  if (!jwks.is_object()) return Unavailable("JWKS is not JSON");
  std::lock_guard lock(mu_);
  jwks_cache_[issuer] = CachedJwks{jwks, clock_.Now()};
  return jwks;
}

std::optional<AadError> IdentityProvider::CheckTimeRange(const DecodedJwt& jwt) const {
  std::optional<int64_t> exp = NumericClaim(jwt.claims, "exp");
  if (!exp) return InvalidJwt("The assertion has no 'exp' claim.");
  std::optional<int64_t> nbf = NumericClaim(jwt.claims, "nbf");
  Time now = clock_.Now();
  int64_t now_s = Seconds(now);
  int64_t skew = options_.clock_skew.count();
  bool expired = now_s >= *exp + skew;
  bool early = nbf && now_s + skew < *nbf;
  if (!expired && !early) return std::nullopt;
  int64_t from = nbf.value_or(NumericClaim(jwt.claims, "iat").value_or(*exp));
  return Aad(700024, "invalid_client",
             "Client assertion is not within its valid time range. Current time: " +
                 FormatRfc3339(std::chrono::floor<std::chrono::seconds>(now)) +
                 ", assertion valid from " + FormatRfc3339(FromUnixSeconds(from)) +
                 ", expiry time of assertion " + FormatRfc3339(FromUnixSeconds(*exp)) +
                 ". Review the documentation at "
                 "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .");
}

Result<IssuedAccessToken> IdentityProvider::IssueAccessToken(const Application& app,
                                                             const std::string& resource) const {
  std::chrono::seconds lifetime;
  {
    std::lock_guard lock(mu_);
    lifetime = lifetime_;
  }
  Time now = std::chrono::floor<std::chrono::seconds>(clock_.Now());
  Time exp = now + lifetime;
  std::string sts = "https://sts.windows.net/" + app.tenant_id + "/";
  nlohmann::json claims = {{"aud", resource},      {"iss", sts},           {"iat", Seconds(now)},
                           {"nbf", Seconds(now)},  {"exp", Seconds(exp)},  {"appid", app.client_id},
                           {"appidacr", "2"},      {"idp", sts},           {"idtyp", "app"},
                           {"oid", app.object_id}, {"sub", app.object_id}, {"tid", app.tenant_id},
                           {"uti", RandomUuid()},  {"ver", "1.0"}};
  Result<std::string> token = SignJwt(key_, claims, {{"typ", "JWT"}, {"x5t", key_.kid()}});
  if (!token.ok()) return token.status();
  int64_t expires_in = std::max<int64_t>(lifetime.count() - 1, 0);
  return IssuedAccessToken{std::move(*token), now, exp, expires_in};
}

IdentityProvider::Reply IdentityProvider::Success(const Application& app,
                                                  const std::string& resource) {
  Result<IssuedAccessToken> token = IssueAccessToken(app, resource);
  if (!token.ok()) return Failure(TransientUnavailable(500), RandomUuid());
  nlohmann::json body = {{"token_type", "Bearer"},
                         {"expires_in", token->expires_in},
                         {"ext_expires_in", token->expires_in},
                         {"access_token", token->token}};
  int64_t lifetime = Seconds(token->expires_at) - Seconds(token->issued_at);
  if (lifetime >= 7200) body["refresh_in"] = lifetime / 2;
  std::lock_guard lock(mu_);
  ++counters_.successes;
  return Reply{200, body.dump()};
}

IdentityProvider::Reply IdentityProvider::Failure(const AadError& error,
                                                  const std::string& correlation_id) {
  {
    std::lock_guard lock(mu_);
    ++counters_.failures;
    ++counters_.failures_by_code[error.code];
  }
  return Reply{error.http_status,
               AadErrorBody(error, clock_.Now(), RandomUuid(), correlation_id).dump()};
}

}  // namespace ebb::testing::azure
