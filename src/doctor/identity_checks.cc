// identity.* and cluster.*: the Azure identity a trigger's podIdentity uses.
#include <future>
#include <regex>

#include "auth/azure_scope.h"
#include "auth/authorizer_factory.h"
#include "auth/token_authorizer.h"
#include "common/strings.h"
#include "doctor/checks.h"
#include "doctor/format.h"

namespace ebb::doctor {

namespace {

constexpr char kTokenExchangeAudience[] = "api://AzureADTokenExchange";
constexpr char kWebhookFix[] =
    "the workload identity webhook injects AZURE_* only into pods labelled "
    "azure.workload.identity/use: \"true\" when they are created: add that label to the operator's "
    "pod template (a label on the service account does nothing), annotate its service account "
    "with azure.workload.identity/client-id, and restart the pod";
// Kubelet rewrites a projected token once it is older than 80% of its
// lifetime, or 24 h, whichever comes first (facts/azure-identity.md).
constexpr double kRotationShare = 0.8;
constexpr auto kMaxRotationAge = std::chrono::hours(24);
// Slack before a token that should have been rewritten counts as stale.
constexpr auto kRotationSlack = std::chrono::minutes(1);

bool IsUuid(const std::string& s) {
  static const std::regex kUuid(
      "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  return std::regex_match(s, kUuid);
}

std::string Lookup(const auth::Environment& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? "" : std::string(Trim(it->second));
}

// Value of `override_value` (a podIdentity field) or else of variable `name`.
struct Setting {
  std::string value;
  std::string origin;  // "AZURE_CLIENT_ID" or "podIdentity.identityId"
};
Setting Pick(const std::string& override_value, const char* field, const auth::Environment& env,
             const char* name) {
  if (!override_value.empty()) return {override_value, std::string("podIdentity.") + field};
  return {Lookup(env, name), name};
}

// Problems with the values themselves (presence is checked before).
std::vector<std::string> MalformedValues(const Setting& client, const Setting& tenant) {
  std::vector<std::string> out;
  if (!client.value.empty() && !IsUuid(client.value)) {
    out.push_back(client.origin + " \"" + client.value +
                  "\" is not a UUID: it must be the client (application) id of the managed "
                  "identity or app registration");
  }
  bool domain = tenant.value.find('.') != std::string::npos;
  if (!tenant.value.empty() && !IsUuid(tenant.value) && !domain) {
    out.push_back(tenant.origin + " \"" + tenant.value +
                  "\" is neither a UUID nor a domain name (contoso.onmicrosoft.com)");
  }
  return out;
}

CheckResult Fail(CheckResult r, std::string detail, std::string fix) {
  r.status = CheckResult::kFail;
  r.detail = std::move(detail);
  r.fix = std::move(fix);
  return r;
}

CheckResult CheckManagedIdentityEnv(TriggerUnderTest& t, const DoctorContext& ctx, CheckResult r) {
  auth::ImdsOptions options;
  options.cloud = t.config->cloud;
  options.private_resource_url = t.config->azure_managed_prometheus_resource_url;
  Result<auth::ImdsConfig> c =
      auth::ResolveImdsConfig(*t.authentication->spec.pod_identity, ctx.env, options);
  if (!c.ok()) {
    SetCauseAndFix(r, c.status().message(), "correct the value named above");
    r.status = CheckResult::kFail;
    return r;
  }
  t.imds = *c;
  r.detail = "IMDS " + c->endpoint + ", " +
             (c->client_id.empty() ? "system-assigned identity" : "client id " + c->client_id) +
             ", resource " + c->resource;
  return r;
}

std::string AudienceOf(const auth::JwtClaims& c) {
  return c.aud.empty() ? "(none)" : c.AudienceText();
}

bool HasAudience(const auth::JwtClaims& c, const std::string& aud) {
  for (const std::string& a : c.aud) {
    if (a == aud) return true;
  }
  return false;
}

// When kubelet should rewrite the token: 80% of its lifetime, at most 24 h.
std::optional<Time> RotationDue(const auth::JwtClaims& c) {
  if (!c.iat || !c.exp) return std::nullopt;
  Duration lifetime = *c.exp - *c.iat;
  Duration at = std::chrono::duration_cast<Duration>(lifetime * kRotationShare);
  return *c.iat + std::min<Duration>(at, kMaxRotationAge);
}

// Fails for claims Entra ID will reject; nullopt when they look right.
std::optional<CheckResult> RejectClaims(const auth::JwtClaims& c, const std::string& file, Time now,
                                        const CheckResult& base) {
  if (!HasAudience(c, kTokenExchangeAudience)) {
    return Fail(base,
                "the service-account token in " + file + " has audience " + AudienceOf(c) +
                    ", not " + kTokenExchangeAudience +
                    ": Entra ID rejects it (AADSTS70021, no matching federated credential)",
                "project the token with audience api://AzureADTokenExchange (the webhook does; a "
                "hand-written projected volume must set `audience`)");
  }
  if (!c.exp) {
    return Fail(base, "the service-account token in " + file + " has no exp claim",
                "use the token kubelet projects (it always has exp)");
  }
  if (now >= *c.exp) {
    return Fail(base,
                "the service-account token in " + file + " expired at " + FormatRfc3339(*c.exp) +
                    " (" + FormatDurationShort(now - *c.exp) +
                    " ago): Entra ID rejects it with AADSTS700024 (client assertion outside its "
                    "valid time range)",
                "AZURE_FEDERATED_TOKEN_FILE must be the projected token kubelet keeps fresh, not "
                "a copy; restart the pod for a fresh token, and check the node's clock");
  }
  if (c.nbf && now < *c.nbf) {
    return Fail(base,
                "the service-account token in " + file + " is not valid before " +
                    FormatRfc3339(*c.nbf) + ": Entra ID rejects it with AADSTS700024",
                "synchronize the node's clock (NTP)");
  }
  return std::nullopt;
}

// "issuer I, subject S, audience A; expires in 55m (T); kubelet rotates it in 43m".
std::string DescribeClaims(const auth::JwtClaims& c, Time now) {
  std::string d = "issuer \"" + c.iss + "\", subject \"" + c.sub + "\", audience " + AudienceOf(c) +
                  "; expires in " + FormatDurationShort(*c.exp - now) + " (" +
                  FormatRfc3339(*c.exp) + ")";
  if (std::optional<Time> due = RotationDue(c)) {
    d += *due > now
             ? "; kubelet rotates it in " + FormatDurationShort(*due - now)
             : "; kubelet should have rotated it " + FormatDurationShort(now - *due) + " ago";
  }
  return d + ". The federated identity credential must name exactly this issuer and subject";
}

}  // namespace

namespace {

// The four settings of a workload identity and where each comes from.
struct WorkloadSettings {
  Setting client, tenant, authority;
  std::string token_file;
};

WorkloadSettings ReadSettings(const api::PodIdentity& pi, const auth::Environment& env) {
  WorkloadSettings w;
  w.client = Pick(pi.identity_id, "identityId", env, auth::kEnvAzureClientId);
  w.tenant = Pick(pi.identity_tenant_id, "identityTenantId", env, auth::kEnvAzureTenantId);
  w.authority =
      Pick(pi.identity_authority_host, "identityAuthorityHost", env, auth::kEnvAzureAuthorityHost);
  w.token_file = Lookup(env, auth::kEnvAzureFederatedTokenFile);
  return w;
}

std::string Join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

// A failed check for missing or malformed settings; nullopt when present
// and well-formed (the authority's form is left to ResolveAzureWorkloadConfig).
std::optional<CheckResult> RejectSettings(const WorkloadSettings& w, const CheckResult& r) {
  std::vector<std::string> missing;
  if (w.client.value.empty()) missing.push_back("AZURE_CLIENT_ID (or podIdentity.identityId)");
  if (w.tenant.value.empty()) {
    missing.push_back("AZURE_TENANT_ID (or podIdentity.identityTenantId)");
  }
  if (w.token_file.empty()) missing.push_back("AZURE_FEDERATED_TOKEN_FILE");
  if (!missing.empty()) return Fail(r, "not set: " + Join(missing, ", "), kWebhookFix);
  std::vector<std::string> bad = MalformedValues(w.client, w.tenant);
  if (bad.empty()) return std::nullopt;
  return Fail(r, Join(bad, "; "),
              "set the value to the identity's client id and tenant id (az identity show "
              "--query '{clientId:clientId,tenantId:tenantId}')");
}

}  // namespace

CheckResult CheckIdentityEnv(TriggerUnderTest& t, const DoctorContext& ctx) {
  CheckResult r = NewCheck("identity.env", t.Scope());
  if (t.UsesManagedIdentity()) return CheckManagedIdentityEnv(t, ctx, std::move(r));
  const api::PodIdentity& pi = *t.authentication->spec.pod_identity;
  if (Status routed = auth::CheckTenantRouting(*t.authentication); !routed.ok()) {
    return Fail(r, routed.message(),
                "delete spec.podIdentity.identityAuthorityHost, or move the identity to a "
                "ClusterTriggerAuthentication");
  }
  WorkloadSettings w = ReadSettings(pi, ctx.env);
  if (std::optional<CheckResult> rejected = RejectSettings(w, r)) return *rejected;
  auth::AzureIdentityOptions options;
  options.cloud = t.config->cloud;
  options.private_resource_url = t.config->azure_managed_prometheus_resource_url;
  options.allow_insecure_authority = ctx.allow_insecure;
  Result<auth::AzureWorkloadIdentityConfig> c =
      auth::ResolveAzureWorkloadConfig(pi, ctx.env, options);
  if (!c.ok()) {
    r.status = CheckResult::kFail;
    SetCauseAndFix(r, c.status().message(),
                   "correct the variable named above (AZURE_AUTHORITY_HOST is an https URL such "
                   "as https://login.microsoftonline.com/)");
    return r;
  }
  t.workload = *c;
  std::string slash = !w.authority.value.empty() && !EndsWith(w.authority.value, "/")
                          ? " (" + w.authority.origin + " has no trailing slash: ebb adds it)"
                          : "";
  r.detail = "client id " + c->client_id + " (" + w.client.origin + "), tenant " + c->tenant_id +
             " (" + w.tenant.origin + "), authority " + c->authority_host + slash +
             ", token file " + c->token_file + ", scope " + c->scope;
  return r;
}

CheckResult CheckTokenFile(const TriggerUnderTest& t) {
  CheckResult r = NewCheck("identity.token-file", t.Scope());
  const std::string& path = t.workload->token_file;
  Result<SecretString> token = auth::ReadFederatedTokenFile(path);
  if (!token.ok()) {
    return Fail(std::move(r), token.status().message(),
                "AZURE_FEDERATED_TOKEN_FILE must name the projected service-account token the "
                "webhook mounts (/var/run/secrets/azure/tokens/azure-identity-token); check the "
                "pod's volume mount and that ebb's user may read the file");
  }
  r.detail = path + ": readable, " + std::to_string(token->Reveal().size()) + " bytes";
  return r;
}

CheckResult CheckTokenClaims(TriggerUnderTest& t, const DoctorContext& ctx) {
  CheckResult r = NewCheck("identity.token-claims", t.Scope());
  const std::string& path = t.workload->token_file;
  Result<SecretString> token = auth::ReadFederatedTokenFile(path);
  if (!token.ok()) return Fail(std::move(r), token.status().message(), "see identity.token-file");
  Result<auth::JwtClaims> claims = auth::DecodeJwtClaims(token->Reveal());
  if (!claims.ok()) {
    return Fail(std::move(r),
                path + " does not hold a JWT (" + claims.status().message() +
                    "): Entra ID rejects it with AADSTS50027",
                "point AZURE_FEDERATED_TOKEN_FILE at the projected service-account token, not "
                "at another file");
  }
  t.assertion = *claims;
  Time now = ctx.clock->Now();
  if (std::optional<CheckResult> rejected = RejectClaims(*claims, path, now, r)) return *rejected;
  r.detail = DescribeClaims(*claims, now);
  static const std::regex kSubject("system:serviceaccount:[^:]+:[^:]+");
  if (!std::regex_match(claims->sub, kSubject)) {
    r.status = CheckResult::kWarn;
    r.fix =
        "a Kubernetes projected token's subject is system:serviceaccount:NAMESPACE:NAME; "
        "check that the file is one";
    return r;
  }
  std::optional<Time> due = RotationDue(*claims);
  if (due && now > *due + kRotationSlack) {
    r.status = CheckResult::kWarn;
    r.fix =
        "kubelet rewrites the projected token at 80% of its lifetime: a token past that is "
        "not being rotated (a copied file?); use the projected volume itself";
  }
  return r;
}

CheckResult CheckClusterSkipped(const TriggerUnderTest& t) {
  CheckResult r = NewCheck("cluster.workload-identity", t.Scope());
  r.status = CheckResult::kSkip;
  r.detail = "no cluster given: add --kubeconfig FILE --operator-pod NAMESPACE/NAME (or --in-cluster in the pod) to check the pod label, service account annotation, webhook and injection";
  return r;
}

CheckResult CheckTokenExchange(TriggerUnderTest& t, const DoctorContext& ctx) {
  CheckResult r = NewCheck("identity.token-exchange", t.Scope());
  auth::TokenSourcePtr source;
  std::string where;
  if (t.workload) {
    source = std::make_shared<auth::AzureWorkloadIdentitySource>(*t.workload, *ctx.clock);
    where = t.workload->TokenUrl();
  } else {
    source = std::make_shared<auth::ImdsTokenSource>(*t.imds, *ctx.clock);
    where = t.imds->endpoint;
  }
  auto promise = std::make_shared<std::promise<Result<auth::AccessToken>>>();
  std::future<Result<auth::AccessToken>> answer = promise->get_future();
  ctx.token_cache->Get(source, *ctx.client, [promise](Result<auth::AccessToken> token) {
    promise->set_value(std::move(token));
  });
  Result<auth::AccessToken> token = answer.get();
  if (!token.ok()) {
    r.status = CheckResult::kFail;
    SetCauseAndFix(r, token.status().message(),
                   "check AZURE_AUTHORITY_HOST and that the pod may reach " + where);
    return r;
  }
  t.token_source = source;
  auth::TokenAuthorizerOptions options;
  options.allow_insecure_target = ctx.allow_insecure;
  options.destinations = auth::AzureTokenDestinations(ctx.token_destinations);
  t.authorizer = std::make_shared<auth::TokenAuthorizer>(ctx.token_cache, source, options);
  Time now = ctx.clock->Now();
  r.detail = "Entra ID issued a token (" + source->Describe() + "): audience \"" + token->audience +
             "\", tenant " + token->tenant + ", valid for " +
             FormatDurationShort(token->expires_on - now) + " (until " +
             FormatRfc3339(token->expires_on) + ")";
  std::string expected = t.workload ? auth::ScopeToResource(t.workload->scope) : t.imds->resource;
  if (!token->audience.empty() && token->audience != expected) {
    r.status = CheckResult::kWarn;
    r.fix = "the token's audience differs from the resource asked for (" + expected +
            "); check metadata.cloud and azureManagedPrometheusResourceURL";
  }
  return r;
}

}  // namespace ebb::doctor
