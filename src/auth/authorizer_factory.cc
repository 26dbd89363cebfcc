#include "auth/authorizer_factory.h"

#include "auth/aws_identity.h"
#include "auth/gcp_identity.h"
#include "auth/imds_source.h"
#include "auth/sigv4_authorizer.h"
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

AwsIdentityInput AwsInput(const TriggerAuthInput& in, const AuthorizerContext& ctx, const std::string& who) {
  return AwsIdentityInput{ctx.token_cache, ctx.clock, ctx.aws_env, ctx.allow_insecure, ctx.token_destinations,
                          in.aws_region, who};
}

GcpIdentityInput GcpInput(const AuthorizerContext& ctx, const std::string& who) {
  return GcpIdentityInput{ctx.token_cache, ctx.clock, ctx.gcp_env, ctx.allow_insecure, ctx.token_destinations, who};
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
  if (id.provider == api::kProviderAws || id.provider == api::kProviderAwsEks) {
    if (!in.auth_modes.empty()) {
      return InvalidConfig("metadata.authModes \"" + JoinModes(in.auth_modes) + "\" cannot be combined with " +
                           who + "'s podIdentity " + id.provider + ": the request is signed with SigV4; remove authModes");
    }
    return AwsPodIdentityAuthorizer(id, in.params, AwsInput(in, ctx, who));
  }
  if (id.provider == api::kProviderGcp) {
    if (!in.auth_modes.empty()) {
      return InvalidConfig("metadata.authModes \"" + JoinModes(in.auth_modes) + "\" cannot be combined with " +
                           who + "'s podIdentity gcp: both would set the credential; remove authModes");
    }
    return GcpPodIdentityAuthorizer(GcpInput(ctx, who));
  }
  return InvalidConfig(who + ": podIdentity provider \"" + id.provider +
                       "\" is not supported by ebb yet (supported: azure-workload, "
                       "azure-managed-identity, aws, aws-eks, gcp, or none with secretTargetRef)");
}

// awsRegion asks for a SigV4-signed query; without AWS credentials it would
// go out unsigned, so it is refused.
Status CheckAwsRegionHasCredentials(const TriggerAuthInput& in, const Result<AuthorizerPtr>& built) {
  if (in.aws_region.empty() || !built.ok() || dynamic_cast<const SigV4Authorizer*>(built->get()) != nullptr) {
    return Status::Ok();
  }
  return InvalidConfig("metadata.awsRegion is set, so the query must be signed with AWS credentials, but " +
                       std::string(in.authentication ? "the TriggerAuthentication gives none" : "the trigger has no authenticationRef") +
                       " (it sends " + (*built)->Describe() + "). Fix: reference a TriggerAuthentication with "
                       "podIdentity.provider: aws, or parameters awsAccessKeyID and awsSecretAccessKey; ebb never "
                       "sends the query unsigned");
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

namespace {

Result<AuthorizerPtr> BuildAuthorizerForRef(const TriggerAuthInput& in, const AuthorizerContext& ctx) {
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
  if (HasAwsKeyParams(in.params) && modes->empty()) return AwsStaticKeyAuthorizer(in.params, AwsInput(in, ctx, who));
  if (auto key = in.params.find(kParamGoogleApplicationCredentials); key != in.params.end() && modes->empty()) {
    return GcpKeyParamAuthorizer(key->second, GcpInput(ctx, who));
  }
  Result<AuthorizerPtr> a = MakeStaticAuthorizer(*modes, in.params);
  if (!a.ok()) return a.status().WithContext(who);
  return a;
}

}  // namespace

Result<AuthorizerPtr> BuildAuthorizer(const TriggerAuthInput& in, const AuthorizerContext& ctx) {
  Result<AuthorizerPtr> built = BuildAuthorizerForRef(in, ctx);
  EBB_RETURN_IF_ERROR(CheckAwsRegionHasCredentials(in, built));
  return built;
}

}  // namespace ebb::auth
