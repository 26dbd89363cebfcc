#include "auth/aws_identity.h"

#include "auth/aws_credentials.h"
#include "auth/sigv4_authorizer.h"
#include "common/strings.h"

namespace ebb::auth {

namespace {

std::string Param(const std::map<std::string, SecretString>& params, const char* name) {
  auto it = params.find(name);
  return it == params.end() ? "" : std::string(Trim(it->second.Reveal()));
}

Result<std::string> Region(const std::map<std::string, SecretString>& params, const AwsIdentityInput& in) {
  std::string region = in.trigger_region.empty() ? Param(params, kParamAwsRegion) : in.trigger_region;
  if (region.empty()) {
    return InvalidConfig(in.who + ": no AWS region to sign for; without it AMP answers 403 \"Credential should be "
                         "scoped to a valid region\". Fix: set metadata.awsRegion on the trigger (the workspace's "
                         "region, as in aps-workspaces.REGION.amazonaws.com)");
  }
  return region;
}

// `base`, with `role_arn` assumed on top when non-empty.
Result<TokenSourcePtr> WithRole(TokenSourcePtr base, const std::string& role_arn, const std::string& region,
                                const AwsIdentityInput& in) {
  if (role_arn.empty()) return base;
  if (!StartsWith(role_arn, "arn:aws")) {
    return InvalidConfig(in.who + ": role \"" + role_arn + "\" is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)");
  }
  Result<std::string> endpoint = ResolveStsEndpoint(in.env, region, in.allow_insecure);
  if (!endpoint.ok()) return endpoint.status();
  std::string sts_region = EnvValue(in.env, kEnvAwsRegion);
  if (sts_region.empty()) sts_region = region;
  AssumeRoleConfig c{role_arn, "", SessionName(in.env, in.clock->Now()), *endpoint, sts_region};
  return TokenSourcePtr(std::make_shared<AssumeRoleCredentialsSource>(std::move(c), std::move(base), in.cache,
                                                                      *in.clock));
}

AuthorizerPtr MakeAuthorizer(const TokenSourcePtr& source, const std::string& region, const AwsIdentityInput& in) {
  SigV4AuthorizerOptions o{region, "aps", in.allow_insecure, in.destinations};
  return std::make_shared<SigV4Authorizer>(in.cache, source, *in.clock, std::move(o));
}

}  // namespace

bool HasAwsKeyParams(const std::map<std::string, SecretString>& params) {
  return params.count(kParamAwsAccessKeyId) || params.count(kParamAwsSecretAccessKey) ||
         params.count(kParamAwsSessionToken);
}

Result<AuthorizerPtr> AwsPodIdentityAuthorizer(const api::PodIdentity& id,
                                               const std::map<std::string, SecretString>& params,
                                               const AwsIdentityInput& in) {
  if (!in.cache || !in.clock) return Internal("no credential cache configured for AWS identities");
  if (id.identity_owner.has_value() && !*id.identity_owner) {
    return InvalidConfig(in.who + ": spec.podIdentity.identityOwner: workload asks KEDA to sign with the scale "
                         "target's own role; ebb signs only with its own identity. Fix: remove identityOwner and "
                         "set spec.podIdentity.roleArn to the role to assume");
  }
  Result<std::string> region = Region(params, in);
  if (!region.ok()) return region.status();
  AwsSourceOptions options{*region, in.allow_insecure};
  Result<TokenSourcePtr> base = ResolveAwsAmbientSource(in.env, options, *in.clock);
  if (!base.ok()) return base.status().WithContext(in.who + " (podIdentity " + id.provider + ")");
  std::string role = id.role_arn.empty() ? Param(params, kParamAwsRoleArn) : id.role_arn;
  Result<TokenSourcePtr> source = WithRole(*base, role, *region, in);
  if (!source.ok()) return source.status();
  return MakeAuthorizer(*source, *region, in);
}

Result<AuthorizerPtr> AwsStaticKeyAuthorizer(const std::map<std::string, SecretString>& params,
                                             const AwsIdentityInput& in) {
  if (!in.cache || !in.clock) return Internal("no credential cache configured for AWS identities");
  AwsCredentials keys{Param(params, kParamAwsAccessKeyId), SecretString(Param(params, kParamAwsSecretAccessKey)),
                      SecretString(Param(params, kParamAwsSessionToken))};
  for (const auto& [name, missing] : {std::pair<const char*, bool>{kParamAwsAccessKeyId, keys.access_key_id.empty()},
                                      {kParamAwsSecretAccessKey, keys.secret_access_key.empty()}}) {
    if (missing) {
      return InvalidConfig(in.who + ": parameter " + std::string(name) +
                           " is missing or empty. Fix: AWS static keys need the parameters awsAccessKeyID and "
                           "awsSecretAccessKey (and awsSessionToken for temporary keys)");
    }
  }
  Result<std::string> region = Region(params, in);
  if (!region.ok()) return region.status();
  TokenSourcePtr base = std::make_shared<StaticAwsCredentialsSource>(std::move(keys), *in.clock);
  Result<TokenSourcePtr> source = WithRole(base, Param(params, kParamAwsRoleArn), *region, in);
  if (!source.ok()) return source.status();
  return MakeAuthorizer(*source, *region, in);
}

}  // namespace ebb::auth
