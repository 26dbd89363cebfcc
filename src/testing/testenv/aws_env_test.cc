#include "testing/testenv/aws_env.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "auth/aws_sts.h"
#include "http/url.h"

namespace ebb::testing::aws {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class AwsTestEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    upstream_ = azure::LoopbackServer::Start(std::nullopt, [](httplib::Server& s) {
                  s.Get("/api/v1/query", [](const httplib::Request&, httplib::Response& res) {
                    res.set_content(R"({"status":"success","data":{"resultType":"vector","result":[]}})",
                                    "application/json");
                  });
                }).value();
  }

  std::unique_ptr<AwsTestEnv> StartEnv(AwsMisconfiguration mis, const std::string& name) {
    AwsTestEnvOptions o;
    o.prometheus_url = upstream_->base_url();
    o.dir = ::testing::TempDir() + "aws_env_test_" + name;
    o.ns = "keda";
    o.misconfiguration = mis;
    return AwsTestEnv::Start(o, clock_).value();
  }

  // AssumeRoleWithWebIdentity from the written files only, as a pod would.
  azure::FetchResult Exchange(const AwsTestEnv& env) {
    azure::FetchOptions o;
    o.method = "POST";
    o.ca_pem = ReadFile(env.ca_file());
    o.body = http::BuildQuery({{"Action", "AssumeRoleWithWebIdentity"}, {"Version", "2011-06-15"},
                               {"RoleArn", env.role_arn()}, {"RoleSessionName", "t"},
                               {"WebIdentityToken", ReadFile(env.web_identity_token_file())}});
    return azure::HttpFetch(env.IrsaEnvironment().at(5).second + "/", o).value();
  }

  SimulatedClock clock_{RealClock::Instance().Now()};
  std::unique_ptr<azure::LoopbackServer> upstream_;
};

TEST_F(AwsTestEnvTest, WritesThePodEnvironmentAndTheChainWorksFromTheFiles) {
  auto env = StartEnv(AwsMisconfiguration::kNone, "ok");
  std::string irsa = ReadFile(env->env_file());
  EXPECT_THAT(irsa, HasSubstr("export AWS_ROLE_ARN=arn:aws:iam::111122223333:role/ebb-amp\n"));
  EXPECT_THAT(irsa, HasSubstr("export AWS_WEB_IDENTITY_TOKEN_FILE=" + env->web_identity_token_file() + "\n"));
  EXPECT_THAT(irsa, HasSubstr("export AWS_ENDPOINT_URL_STS=" + env->sts().base_url() + "\n"));
  EXPECT_THAT(irsa, HasSubstr("export AWS_STS_REGIONAL_ENDPOINTS=regional\n"));
  EXPECT_EQ(env->IrsaEnvironment().at(5).first, "AWS_ENDPOINT_URL_STS");
  EXPECT_THAT(ReadFile(env->options().dir + "/env-pod-identity"),
              HasSubstr("export AWS_CONTAINER_CREDENTIALS_FULL_URI=" + env->pod_identity_agent().credentials_url()));
  azure::FetchResult r = Exchange(*env);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(env->Describe(), HasSubstr(env->front_door().workspace_url()));
  EXPECT_THAT(env->Describe(), ::testing::Not(HasSubstr(env->options().secret_access_key)));
}

TEST_F(AwsTestEnvTest, MisconfigurationsShowAsStsAnswers) {
  EXPECT_EQ(auth::ParseStsError(403, Exchange(*StartEnv(AwsMisconfiguration::kSubject, "sub")).body).code,
            "AccessDenied");
  EXPECT_EQ(auth::ParseStsError(403, Exchange(*StartEnv(AwsMisconfiguration::kAudience, "aud")).body).code,
            "AccessDenied");
  EXPECT_EQ(auth::ParseStsError(400, Exchange(*StartEnv(AwsMisconfiguration::kIssuer, "iss")).body).code,
            "InvalidIdentityToken");
}

TEST(AwsTestEnvArgs, ParsesFlagsAndNamesTheBadOne) {
  auto o = ParseAwsTestEnvArgs({"--prometheus", "http://127.0.0.1:9090", "--region=us-west-2", "--misconfigure",
                                "permission"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->region, "us-west-2");
  EXPECT_EQ(o->misconfiguration, AwsMisconfiguration::kPermission);
  EXPECT_THAT(ParseAwsTestEnvArgs({"--prometheus", "x", "--misconfigure", "bogus"}).status().message(),
              HasSubstr("--misconfigure"));
  EXPECT_THAT(ParseAwsTestEnvArgs({}).status().message(), HasSubstr("--prometheus"));
}

}  // namespace
}  // namespace ebb::testing::aws
