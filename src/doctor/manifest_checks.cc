// manifest.*: the checks that read only the files.
#include "api/resolve.h"
#include "auth/authorizer_factory.h"
#include "auth/azure_scope.h"
#include "common/strings.h"
#include "doctor/checks.h"
#include "http/url.h"

namespace ebb::doctor {

namespace {

constexpr char kSeedSentence[] =
    "Azure Managed Prometheus answers 401 \"Request does not contain an Authorization Header\" "
    "to every query without an Azure AD token";
constexpr char kSeedFix[] =
    "add an authenticationRef to a TriggerAuthentication with podIdentity.provider: "
    "azure-workload (or azure-managed-identity on a VM or node identity)";

std::string JoinProblems(const api::Problems& problems) {
  std::string out;
  for (const api::Problem& p : problems) {
    if (!out.empty()) out += "; ";
    out += p.ToString();
  }
  return out;
}

CheckResult FromProblems(CheckResult r, const api::Problems& errors, const api::Problems& warnings,
                         std::string pass_detail) {
  if (!errors.empty()) {
    r.status = CheckResult::kFail;
    r.detail = JoinProblems(errors);
    r.fix =
        "correct each field named above (file:line, field path); the message says what it "
        "must hold";
    return r;
  }
  if (!warnings.empty()) {
    r.status = CheckResult::kWarn;
    r.detail = JoinProblems(warnings);
    r.fix = "review each field named above";
    return r;
  }
  r.detail = std::move(pass_detail);
  return r;
}

bool IsAzureProvider(const std::string& provider) {
  return provider == api::kProviderAzureWorkload || provider == api::kProviderAzureManagedIdentity;
}

// The cloud a *.prometheus.monitor.azure.{com,us,cn} host belongs to.
std::string CloudOfHost(const std::string& host) {
  std::string h = ToLower(host);
  if (EndsWith(h, ".azure.us")) return prometheus::kCloudAzureUsGovernment;
  if (EndsWith(h, ".azure.cn")) return prometheus::kCloudAzureChina;
  return prometheus::kCloudAzurePublic;
}

std::string JoinModes(const std::vector<std::string>& modes) {
  std::string out;
  for (const std::string& m : modes) out += (out.empty() ? "" : ",") + m;
  return out;
}

}  // namespace

std::string TriggerUnderTest::Scope() const {
  const api::Trigger& t = trigger();
  std::string s = "ScaledObject " + so->metadata.Key() + ", trigger " + std::to_string(index);
  if (!t.name.empty()) s += " \"" + t.name + "\"";
  return s + " (" + t.type + ")";
}

bool TriggerUnderTest::UsesWorkloadIdentity() const {
  return provider == api::kProviderAzureWorkload;
}
bool TriggerUnderTest::UsesManagedIdentity() const {
  return provider == api::kProviderAzureManagedIdentity;
}

CheckResult CheckFiles(const api::ManifestSet& set, const api::Problems& errors,
                       const api::Problems& warnings) {
  CheckResult r = NewCheck("manifest.parse", "");
  std::string seen = std::to_string(set.scaled_objects.size()) + " ScaledObject(s), " +
                     std::to_string(set.trigger_authentications.size()) +
                     " TriggerAuthentication(s), " + std::to_string(set.secrets.size()) +
                     " Secret(s), " + std::to_string(set.config_maps.size()) + " ConfigMap(s)";
  return FromProblems(std::move(r), errors, warnings, seen);
}

CheckResult CheckObject(const std::string& scope, const api::Problems& errors,
                        const api::Problems& warnings) {
  CheckResult r = NewCheck("manifest.parse", scope);
  return FromProblems(std::move(r), errors, warnings, "every field valid");
}

CheckResult CheckTrigger(TriggerUnderTest& t) {
  CheckResult r = NewCheck("manifest.trigger", t.Scope());
  const api::Trigger& trig = t.trigger();
  if (trig.type != "prometheus") {
    r.status = CheckResult::kFail;
    r.detail = "type \"" + trig.type + "\" is not a trigger type ebb runs";
    r.fix = "use type: prometheus (the only trigger type ebb implements today)";
    return r;
  }
  Result<prometheus::PrometheusConfig> c = prometheus::ParsePrometheusMetadata(trig.metadata);
  if (!c.ok()) {
    r.status = CheckResult::kFail;
    SetCauseAndFix(r, "spec.triggers[" + std::to_string(t.index) + "]." + c.status().message(),
                   "set the metadata key named above as the message says (KEDA's prometheus "
                   "trigger: serverAddress, query and threshold are required)");
    return r;
  }
  t.config = std::move(*c);
  r.detail = "serverAddress " + t.config->server_address + ", threshold " +
             FormatDouble(t.config->threshold) + ", activationThreshold " +
             FormatDouble(t.config->activation_threshold);
  if (!t.config->warnings.empty()) {
    r.status = CheckResult::kWarn;
    r.detail.clear();
    for (const std::string& w : t.config->warnings) r.detail += (r.detail.empty() ? "" : "; ") + w;
    r.fix = "change the metadata named above, or ignore this if it is intended";
  }
  return r;
}

namespace {

CheckResult Failed(CheckResult r, std::string detail, std::string fix) {
  r.status = CheckResult::kFail;
  r.detail = std::move(detail);
  r.fix = std::move(fix);
  return r;
}

// Finds the TriggerAuthentication the trigger names; a failed check when
// there is none.
std::optional<CheckResult> FindRef(TriggerUnderTest& t, const CheckResult& r) {
  const api::AuthenticationRef& ref = *t.trigger().authentication_ref;
  const std::string& ns = t.so->metadata.namespace_name;
  Result<const api::TriggerAuthentication*> ta = api::FindAuthentication(*t.set, ns, ref);
  if (!ta.ok()) {
    bool cluster = ref.kind == "ClusterTriggerAuthentication";
    return Failed(r,
                  "spec.triggers[" + std::to_string(t.index) +
                      "].authenticationRef: " + ta.status().message(),
                  "create the " + ref.kind + " \"" + ref.name + "\"" +
                      (cluster ? "" : " in namespace " + ns) +
                      " (pass its manifest with -f), or correct authenticationRef.name and .kind");
  }
  t.authentication = *ta;
  const auto& pi = t.authentication->spec.pod_identity;
  if (pi && pi->provider != api::kProviderNone) t.provider = pi->provider;
  return std::nullopt;
}

// Resolves the parameters of t.authentication from the files and ctx.env.
std::optional<CheckResult> ResolveParams(TriggerUnderTest& t, const DoctorContext& ctx,
                                         const CheckResult& r) {
  api::ResolveOptions ro;
  ro.cluster_object_namespace = ctx.cluster_object_namespace;
  const auth::Environment* env = &ctx.env;
  ro.getenv = [env](const std::string& name) -> std::optional<std::string> {
    auto it = env->find(name);
    return it == env->end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  Result<std::map<std::string, SecretString>> params =
      api::ResolveAuthParameters(*t.authentication, t.so->metadata.namespace_name, *t.set, ro);
  if (!params.ok()) {
    CheckResult failed = r;
    failed.status = CheckResult::kFail;
    SetCauseAndFix(failed,
                   t.authentication->KindName() + " " + t.authentication->metadata.Key() + ": " +
                       params.status().message(),
                   "create the Secret, ConfigMap key or variable named above (Secrets and "
                   "ConfigMaps are read from the files given with -f)");
    return failed;
  }
  t.params = std::move(*params);
  return std::nullopt;
}

// The scope the token exchange asks for (the one auth really uses), or why
// there is none.
std::string ScopeOf(const prometheus::PrometheusConfig& c) {
  Result<std::string> scope = auth::AzurePrometheusScope(c.cloud, c.azure_managed_prometheus_resource_url);
  return scope.ok() ? *scope : "(no scope: " + scope.status().message() + ")";
}

// Builds the Authorizer of a trigger without a pod identity, exactly as
// the operator does (static credentials, or none).
CheckResult BuildStatic(TriggerUnderTest& t, const DoctorContext& ctx, CheckResult r,
                        const std::string& what) {
  auth::AuthorizerContext actx;
  actx.azure_env = ctx.env;
  actx.allow_insecure = ctx.allow_insecure;
  actx.token_destinations = ctx.token_destinations;
  // AWS identities (podIdentity aws, static keys) sign through the cache,
  // exactly as the operator does; their variables are in the same env.
  actx.aws_env = ctx.env;
  actx.gcp_env = ctx.env;
  actx.clock = ctx.clock;
  actx.token_cache = ctx.token_cache;
  if (!actx.token_cache && ctx.clock) actx.token_cache = std::make_shared<auth::TokenCache>(*ctx.clock);
  auth::TriggerAuthInput in;
  in.auth_modes = t.config->auth_modes;
  in.cloud = t.config->cloud;
  in.private_resource_url = t.config->azure_managed_prometheus_resource_url;
  in.aws_region = t.config->aws_region;
  in.authentication = t.authentication;
  in.params = t.params;
  Result<auth::AuthorizerPtr> authorizer = auth::BuildAuthorizer(in, actx);
  if (!authorizer.ok()) {
    r.status = CheckResult::kFail;
    // Cloud identities (aws, aws-eks, gcp) carry their own "Fix:".
    SetCauseAndFix(r, what + authorizer.status().message(),
                   t.provider.empty() ? "give the TriggerAuthentication the parameters the trigger's authModes "
                                        "need, or remove authModes"
                                      : "see the cause");
    return r;
  }
  t.authorizer = *authorizer;
  r.detail = what + "queries carry " + t.authorizer->Describe();
  return r;
}

}  // namespace

CheckResult CheckAuthRef(TriggerUnderTest& t, const DoctorContext& ctx) {
  CheckResult r = NewCheck("manifest.auth-ref", t.Scope());
  std::string what = "no authenticationRef: ";
  if (t.trigger().authentication_ref) {
    if (std::optional<CheckResult> failed = FindRef(t, r)) return *failed;
    if (std::optional<CheckResult> failed = ResolveParams(t, ctx, r)) return *failed;
    what = t.authentication->KindName() + " " + t.authentication->metadata.Key() + ": ";
  }
  // Azure pod identities are checked by identity.* (their variables) and
  // by the next manifest check (authModes with podIdentity).
  if (IsAzureProvider(t.provider)) {
    r.detail = what + "podIdentity.provider " + t.provider;
    return r;
  }
  return BuildStatic(t, ctx, std::move(r), what);
}

CheckResult CheckAuthModesWithPodIdentity(const TriggerUnderTest& t) {
  CheckResult r = NewCheck("manifest.auth-modes-with-pod-identity", t.Scope());
  if (t.provider.empty() || t.config->auth_modes.empty()) {
    r.detail = t.provider.empty() ? "no podIdentity" : "podIdentity without authModes";
    return r;
  }
  r.status = CheckResult::kFail;
  r.detail = "metadata.authModes \"" + JoinModes(t.config->auth_modes) +
             "\" is combined with podIdentity.provider " + t.provider + " of " +
             t.authentication->KindName() + " " + t.authentication->metadata.Key() +
             ": KEDA forbids the combination, since both would set the Authorization header";
  r.fix = "remove metadata.authModes from the trigger: the pod identity supplies the bearer token";
  return r;
}

CheckResult CheckAzureHostIdentity(const TriggerUnderTest& t) {
  CheckResult r = NewCheck("manifest.azure-host-without-identity", t.Scope());
  Result<http::Url> url = http::ParseUrl(t.config->server_address);
  if (!url.ok() || !auth::IsAzureManagedPrometheusHost(url->host)) {
    r.detail = "serverAddress is not an Azure Managed Prometheus host";
    return r;
  }
  if (!IsAzureProvider(t.provider)) {
    r.status = CheckResult::kFail;
    std::string has = t.authentication == nullptr
                          ? "the trigger has no authenticationRef"
                          : t.authentication->KindName() + " " + t.authentication->metadata.Key() +
                                " has no azure-workload or azure-managed-identity podIdentity";
    r.detail = std::string(kSeedSentence) + " (" + url->host + "; " + has + ")";
    r.fix = kSeedFix;
    return r;
  }
  std::string host_cloud = CloudOfHost(url->host);
  if (t.config->cloud != prometheus::kCloudPrivate && t.config->cloud != host_cloud) {
    r.status = CheckResult::kFail;
    r.detail = url->host + " belongs to " + host_cloud + " but metadata.cloud is " +
               t.config->cloud + ": the token would be for " +
               ScopeOf(*t.config) + " and the endpoint would answer 401";
    r.fix = "set metadata.cloud: " + host_cloud + " (or correct serverAddress)";
    return r;
  }
  r.detail = url->host + ": token from " + t.provider + ", scope " +
             ScopeOf(*t.config);
  return r;
}

}  // namespace ebb::doctor
