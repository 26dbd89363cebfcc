#include "auth/authorizer_factory.h"

#include "auth/imds_source.h"
#include "auth/static_auth.h"
#include "auth/token_authorizer.h"

namespace ebb::auth {

namespace {

std::string JoinModes(const std::vector<std::string>& modes) {
  std::string out;
  for (const auto& m : modes) out += (out.empty() ? "" : ",") + m;
  return out;
}

Result<AuthorizerPtr> TokenIdentity(const TriggerAuthInput& in, const AuthorizerContext& ctx,
                                    const api::PodIdentity& id) {
  if (!ctx.token_cache || !ctx.clock) return Internal("no token cache configured for pod identities");
  TokenSourcePtr source;
  if (id.provider == api::kProviderAzureWorkload) {
    AzureIdentityOptions options{in.cloud, in.private_resource_url, ctx.allow_insecure};
    Result<AzureWorkloadIdentityConfig> cfg = ResolveAzureWorkloadConfig(id, ctx.azure_env, options);
    if (!cfg.ok()) return cfg.status();
    source = std::make_shared<AzureWorkloadIdentitySource>(std::move(*cfg), *ctx.clock);
  } else {
    ImdsOptions options{in.cloud, in.private_resource_url, ctx.imds_endpoint};
    Result<ImdsConfig> cfg = ResolveImdsConfig(id, ctx.azure_env, options);
    if (!cfg.ok()) return cfg.status();
    source = std::make_shared<ImdsTokenSource>(std::move(*cfg), *ctx.clock);
  }
  TokenAuthorizerOptions options{ctx.allow_insecure, AzureTokenDestinations(ctx.token_destinations)};
  return AuthorizerPtr(std::make_shared<TokenAuthorizer>(ctx.token_cache, source, options));
}

Result<AuthorizerPtr> PodIdentityAuthorizer(const TriggerAuthInput& in, const AuthorizerContext& ctx) {
  const api::PodIdentity& id = *in.authentication->spec.pod_identity;
  const std::string who = in.authentication->KindName() + " " + in.authentication->metadata.Key();
  if (id.provider == api::kProviderAzureWorkload || id.provider == api::kProviderAzureManagedIdentity) {
    if (!in.auth_modes.empty()) {
      return InvalidConfig("metadata.authModes \"" + JoinModes(in.auth_modes) + "\" cannot be combined with " +
                           who + "'s podIdentity " + id.provider +
                           ": both would set the credential; remove authModes from the trigger");
    }
    EBB_RETURN_IF_ERROR(CheckTenantRouting(*in.authentication));
    Result<AuthorizerPtr> a = TokenIdentity(in, ctx, id);
    if (!a.ok()) return a.status().WithContext(who + " (podIdentity " + id.provider + ")");
    return a;
  }
  return InvalidConfig(who + ": podIdentity provider \"" + id.provider +
                       "\" is not supported by ebb yet (supported: azure-workload, "
                       "azure-managed-identity, or none with secretTargetRef)");
}

// The metadata's authModes, else the TriggerAuthentication's `authModes`
// parameter (KEDA reads it from both; a mode list is not secret).
Result<std::vector<std::string>> EffectiveModes(const TriggerAuthInput& in) {
  if (!in.auth_modes.empty()) return in.auth_modes;
  for (const char* key : {"authModes", "authMode"}) {
    auto it = in.params.find(key);
    if (it == in.params.end() || it->second.empty()) continue;
    Result<std::vector<std::string>> modes = ParseAuthModes(it->second.Reveal());
    if (!modes.ok()) return modes.status().WithContext("parameter " + std::string(key));
    return modes;
  }
  return std::vector<std::string>{};
}

bool HasPodIdentity(const api::TriggerAuthentication& ta) {
  return ta.spec.pod_identity && !ta.spec.pod_identity->provider.empty() &&
         ta.spec.pod_identity->provider != api::kProviderNone;
}

}  // namespace

Status CheckTenantRouting(const api::TriggerAuthentication& ta) {
  if (ta.cluster_scoped || !ta.spec.pod_identity || ta.spec.pod_identity->identity_authority_host.empty()) {
    return Status::Ok();
  }
  return InvalidConfig(
      ta.KindName() + " " + ta.metadata.Key() + ": spec.podIdentity.identityAuthorityHost \"" +
      ta.spec.pod_identity->identity_authority_host +
      "\" is not honoured in a namespaced TriggerAuthentication: the token exchange sends the "
      "operator's service-account token to that host, and only the operator's configuration may choose "
      "where it goes. Fix: remove the field (the authority comes from AZURE_AUTHORITY_HOST or the "
      "trigger's cloud), or set it in a ClusterTriggerAuthentication");
}

Result<AuthorizerPtr> BuildAuthorizer(const TriggerAuthInput& in, const AuthorizerContext& ctx) {
  if (!in.authentication) {
    if (!in.auth_modes.empty()) {
      return InvalidConfig("metadata.authModes: \"" + JoinModes(in.auth_modes) +
                           "\" needs credentials from a TriggerAuthentication, but the trigger has "
                           "no authenticationRef; add authenticationRef: {name: "
                           "<TriggerAuthentication>} (ebb never sends the query without them)");
    }
    return AuthorizerPtr(std::make_shared<NoAuthorizer>());
  }
  if (HasPodIdentity(*in.authentication)) return PodIdentityAuthorizer(in, ctx);
  const std::string who = in.authentication->KindName() + " " + in.authentication->metadata.Key();
  if (in.params.empty()) {
    return InvalidConfig(who + " provides no credentials (no podIdentity, secretTargetRef, "
                         "configMapTargetRef or env); without them every query would go out "
                         "unauthenticated");
  }
  Result<std::vector<std::string>> modes = EffectiveModes(in);
  if (!modes.ok()) return modes.status().WithContext(who);
  Result<AuthorizerPtr> a = MakeStaticAuthorizer(*modes, in.params);
  if (!a.ok()) return a.status().WithContext(who);
  return a;
}

}  // namespace ebb::auth
