// identity.aws-*: the AWS identity of a trigger with podIdentity aws or
// aws-eks -- which provider of the chain ebb's environment selects, the
// projected token IRSA sends, and the credential exchange itself, before
// any query is signed.
#include <future>

#include "auth/aws_credentials.h"
#include "auth/azure_workload_identity.h"
#include "auth/jwt_claims.h"
#include "common/strings.h"
#include "doctor/checks.h"
#include "doctor/format.h"

namespace ebb::doctor {

namespace {

constexpr char kIrsaFix[] =
    "annotate ebb's service account with eks.amazonaws.com/role-arn: ROLE_ARN (IRSA) and restart the pod, or "
    "create an EKS Pod Identity association for its namespace and service account";

std::string RegionOf(const TriggerUnderTest& t) {
  if (!t.config->aws_region.empty()) return t.config->aws_region;
  auto it = t.params.find("awsRegion");
  return it == t.params.end() ? "" : std::string(Trim(it->second.Reveal()));
}

// IRSA's token must be for STS; say what it is.
CheckResult DescribeIrsaToken(const DoctorContext& ctx, CheckResult r) {
  const std::string file = auth::EnvValue(ctx.env, auth::kEnvAwsWebIdentityTokenFile);
  Result<SecretString> jwt = auth::ReadFederatedTokenFile(file);
  if (!jwt.ok()) {
    r.status = CheckResult::kFail;
    r.detail = "AWS_WEB_IDENTITY_TOKEN_FILE " + file + " cannot be used";
    r.fix = "the pod identity webhook mounts the token at /var/run/secrets/eks.amazonaws.com/serviceaccount/token "
            "once the service account has eks.amazonaws.com/role-arn; restart the pod after annotating it";
    return r;
  }
  Result<auth::JwtClaims> claims = auth::DecodeJwtClaims(jwt->Reveal());
  if (!claims.ok()) {
    r.status = CheckResult::kFail;
    r.detail = file + " does not hold a JWT";
    r.fix = "point AWS_WEB_IDENTITY_TOKEN_FILE at the projected service-account token";
    return r;
  }
  r.detail += "; token issuer \"" + claims->iss + "\", subject \"" + claims->sub + "\", audience " +
              claims->AudienceText();
  if (std::find(claims->aud.begin(), claims->aud.end(), "sts.amazonaws.com") == claims->aud.end()) {
    r.status = CheckResult::kFail;
    r.fix = "STS accepts only tokens for audience sts.amazonaws.com: project the service-account token with "
            "audience sts.amazonaws.com (the webhook does), and allow that audience in the role's trust policy";
    return r;
  }
  r.detail += ". The role's trust policy must name exactly this issuer (as an IAM OIDC provider), "
              "this subject and audience";
  return r;
}

}  // namespace

bool UsesAwsIdentity(const TriggerUnderTest& t) {
  return t.provider == api::kProviderAws || t.provider == api::kProviderAwsEks;
}

CheckResult CheckAwsChain(TriggerUnderTest& t, const DoctorContext& ctx) {
  CheckResult r = NewCheck("identity.aws-chain", t.Scope());
  auth::AwsSourceOptions options{RegionOf(t), ctx.allow_insecure};
  Result<auth::TokenSourcePtr> source = auth::ResolveAwsAmbientSource(ctx.env, options, *ctx.clock);
  if (!source.ok()) {
    r.status = CheckResult::kFail;
    SetCauseAndFix(r, source.status().message(), kIrsaFix);
    return r;
  }
  t.token_source = *source;
  r.detail = (*source)->Describe();
  if (!auth::EnvValue(ctx.env, auth::kEnvAwsWebIdentityTokenFile).empty()) return DescribeIrsaToken(ctx, std::move(r));
  if (auth::EnvValue(ctx.env, auth::kEnvAwsContainerFullUri).empty()) {
    r.status = CheckResult::kWarn;
    r.detail += ": neither IRSA nor EKS Pod Identity variables are set, so ebb falls back to the instance "
                "profile of the node";
    r.fix = std::string("if ebb runs in a pod, ") + kIrsaFix;
  }
  return r;
}

CheckResult CheckAwsCredentials(TriggerUnderTest& t, const DoctorContext& ctx) {
  CheckResult r = NewCheck("identity.aws-credentials", t.Scope());
  if (!t.token_source || !ctx.token_cache || !ctx.client) {
    r.status = CheckResult::kSkip;
    r.detail = "no AWS credential provider to ask";
    return r;
  }
  std::promise<Result<auth::AccessToken>> done;
  ctx.token_cache->Get(t.token_source, *ctx.client, [&done](Result<auth::AccessToken> c) { done.set_value(c); });
  Result<auth::AccessToken> creds = done.get_future().get();
  if (!creds.ok()) {
    r.status = CheckResult::kFail;
    SetCauseAndFix(r, creds.status().message(), "see the cause");
    return r;
  }
  r.detail = "obtained credentials (access key " + creds->access_key_id + ") valid until " +
             FormatRfc3339(creds->expires_on) + " from " + t.token_source->Describe();
  return r;
}

}  // namespace ebb::doctor
