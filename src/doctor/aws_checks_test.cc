// identity.aws-* with a FakeHttpClient standing in for STS.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "auth/aws_sts.h"
#include "common/strings.h"
#include "doctor/checks.h"
#include "doctor/test_util.h"
#include "http/testing/fake_http_client.h"

namespace ebb::doctor {
namespace {

using ::testing::HasSubstr;

std::string Jwt(const std::string& aud) {
  nlohmann::json claims = {{"iss", "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"},
                           {"sub", "system:serviceaccount:keda:ebb"},
                           {"aud", aud},
                           {"exp", 1'900'000'000}};
  return Base64UrlEncode(R"({"alg":"RS256"})") + "." + Base64UrlEncode(claims.dump()) + ".c2ln";
}

class AwsChecksTest : public ::testing::Test {
 protected:
  void Prepare(auth::Environment env) {
    set_ = testutil::Manifests(
        testutil::ScaledObjectYaml("https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1", "up", "10",
                                   "amp", "      awsRegion: eu-west-1\n") +
        "---\napiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\nmetadata: {name: amp, namespace: default}\n"
        "spec:\n  podIdentity: {provider: aws}\n");
    t_ = TriggerUnderTest{};
    t_.so = &set_.scaled_objects.at(0);
    t_.set = &set_;
    ctx_.clock = &clock_;
    ctx_.client = &fake_;
    ctx_.env = std::move(env);
    ctx_.token_cache = std::make_shared<auth::TokenCache>(clock_);
    EXPECT_EQ(CheckTrigger(t_).status, CheckResult::kPass);
    CheckAuthRef(t_, ctx_);
    ASSERT_TRUE(UsesAwsIdentity(t_));
  }

  auth::Environment Irsa(const std::string& aud) {
    return {{"AWS_ROLE_ARN", "arn:aws:iam::1:role/ebb"},
            {"AWS_WEB_IDENTITY_TOKEN_FILE", dir_.Write("token", Jwt(aud))},
            {"AWS_REGION", "eu-west-1"}};
  }

  SimulatedClock clock_{FromUnixSeconds(1'800'000'000)};
  http::FakeHttpClient fake_;
  DoctorContext ctx_;
  api::ManifestSet set_;
  TriggerUnderTest t_;
  testutil::TempDir dir_;
};

TEST_F(AwsChecksTest, HalfConfiguredIrsaNamesTheAnnotation) {
  Prepare({{"AWS_ROLE_ARN", "arn:aws:iam::1:role/ebb"}});
  CheckResult r = CheckAwsChain(t_, ctx_);
  EXPECT_EQ(r.status, CheckResult::kFail);
  EXPECT_THAT(r.detail, HasSubstr("AWS_WEB_IDENTITY_TOKEN_FILE is not set"));
  EXPECT_THAT(r.fix, HasSubstr("eks.amazonaws.com/role-arn"));
}

TEST_F(AwsChecksTest, IrsaTokenForAnotherAudienceFails) {
  Prepare(Irsa("api://AzureADTokenExchange"));
  CheckResult r = CheckAwsChain(t_, ctx_);
  EXPECT_EQ(r.status, CheckResult::kFail);
  EXPECT_THAT(r.detail, HasSubstr("system:serviceaccount:keda:ebb"));
  EXPECT_THAT(r.fix, HasSubstr("audience sts.amazonaws.com"));
}

TEST_F(AwsChecksTest, NoPodIdentityVariablesWarnsAboutTheInstanceProfile) {
  Prepare({});
  CheckResult r = CheckAwsChain(t_, ctx_);
  EXPECT_EQ(r.status, CheckResult::kWarn);
  EXPECT_THAT(r.detail, HasSubstr("IMDSv2"));
}

TEST_F(AwsChecksTest, CredentialsCheckShowsStsAccessDeniedWithTheTrustPolicyFix) {
  Prepare(Irsa("sts.amazonaws.com"));
  ASSERT_EQ(CheckAwsChain(t_, ctx_).status, CheckResult::kPass);
  fake_.SetHandler([](const http::HttpRequest&) -> Result<http::HttpResponse> {
    http::HttpResponse r;
    r.status = 403;
    r.body = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform "
             "sts:AssumeRoleWithWebIdentity</Message></Error><RequestId>x</RequestId></ErrorResponse>";
    return r;
  });
  CheckResult r = CheckAwsCredentials(t_, ctx_);
  EXPECT_EQ(r.status, CheckResult::kFail);
  EXPECT_THAT(r.detail, HasSubstr("AccessDenied"));
  EXPECT_THAT(r.fix, HasSubstr("ISSUER:aud = sts.amazonaws.com"));
  EXPECT_EQ(r.detail.find("eyJ"), std::string::npos);
}

}  // namespace
}  // namespace ebb::doctor
