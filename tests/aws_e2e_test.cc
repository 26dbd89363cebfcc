// Amazon Managed Prometheus end to end, through the real ebb binary
// (`ebb query`): ScaledObject with awsRegion + TriggerAuthentication
// (podIdentity aws, or static keys from a Secret) -> ebb's credential chain
// against the emulators (STS web identity, EKS Pod Identity agent) -> a
// SigV4-signed query to the AMP front door, which verifies the signature and
// proxies to a real Prometheus. In every test the front door must count zero
// unsigned requests and ebb's output must hold no secret key, session token
// or service-account token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/secret.h"
#include "common/strings.h"
#include "testing/prometheus/child_process.h"
#include "testing/prometheus/datasets.h"
#include "testing/prometheus/prometheus_server.h"
#include "testing/testenv/aws_env.h"
#include "e2e_util.h"

namespace ebb {
namespace {

namespace ds = testing::dataset;
namespace aws = testing::aws;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

using Vars = std::vector<std::pair<std::string, std::string>>;

class AwsChain : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::PrometheusOptions po;
    po.openmetrics = ds::OpenMetrics();
    auto server = testing::PrometheusServer::Start(std::move(po));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    prometheus_ = server->release();
  }
  static void TearDownTestSuite() {
    delete prometheus_;
    prometheus_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(prometheus_, nullptr);
    dir_ = fs::temp_directory_path() / ("ebb-aws-e2e-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "manifests");
  }

  void TearDown() override {
    if (env_) {
      EXPECT_EQ(env_->front_door().counters().unsigned_requests, 0) << "ebb sent an unsigned query";
      for (const std::string& secret : env_->account().Secrets()) {
        EXPECT_FALSE(ContainsSecret(output_, secret)) << "a secret reached ebb's output:\n" << output_;
      }
      EXPECT_EQ(output_.find("eyJ"), std::string::npos) << "a JWT reached ebb's output:\n" << output_;
    }
    env_.reset();
    fs::remove_all(dir_);
  }

  void StartEnv(aws::AwsMisconfiguration m = aws::AwsMisconfiguration::kNone) {
    aws::AwsTestEnvOptions o;
    o.prometheus_url = prometheus_->base_url();
    o.dir = (dir_ / "env").string();
    o.ns = "apps";
    o.misconfiguration = m;
    auto env = aws::AwsTestEnv::Start(std::move(o));
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = std::move(*env);
  }

  // A ScaledObject on the AMP workspace with `auth_spec` as its
  // TriggerAuthentication's spec (YAML, indented two spaces).
  void WriteManifests(const std::string& auth_spec, const std::string& region = "eu-west-1") {
    std::ofstream(dir_ / "manifests" / "amp.yaml")
        << "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: orders, namespace: apps}\n"
           "spec:\n  scaleTargetRef: {name: orders}\n  triggers:\n  - type: prometheus\n"
           "    authenticationRef: {name: amp}\n    metadata:\n      serverAddress: "
        << env_->front_door().workspace_url() << "\n      awsRegion: " << region << "\n      query: '"
        << ds::kSingleQuery << "'\n      threshold: '10'\n"
        << "---\napiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\nmetadata: {name: amp, namespace: apps}\n"
           "spec:\n" << auth_spec;
  }

  // Runs `ebb query` with exactly `vars` added to the environment; returns
  // the exit status and keeps stdout+stderr in output_.
  int Query(const Vars& vars, const std::vector<std::string>& extra = {"--token-destination", "127.0.0.1"}) {
    std::vector<std::string> args;
    for (const auto& [k, v] : vars) args.push_back(k + "=" + v);
    for (const char* a : {EBB_BINARY, "query", "-o", "json", "--time"}) args.push_back(a);
    args.push_back(FormatRfc3339(FromUnixSeconds(ds::kEvalUnix)));
    args.push_back("-f");
    args.push_back((dir_ / "manifests").string());
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string log = (dir_ / "ebb.out").string();
    auto child = testing::ChildProcess::Spawn({"/usr/bin/env", args, log});
    EXPECT_TRUE(child.ok()) << child.status().ToString();
    Result<int> status = (*child)->Wait(std::chrono::seconds(60));
    output_ = e2e::ReadAll(log);
    EXPECT_TRUE(status.ok()) << output_;
    return status.ok() && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }

  static testing::PrometheusServer* prometheus_;
  fs::path dir_;
  std::unique_ptr<aws::AwsTestEnv> env_;
  std::string output_;
};
testing::PrometheusServer* AwsChain::prometheus_ = nullptr;

constexpr char kPodIdentityAws[] = "  podIdentity: {provider: aws}\n";

TEST_F(AwsChain, IrsaWebIdentitySignsTheQueryAndGetsTheValue) {
  StartEnv();
  WriteManifests(kPodIdentityAws);
  EXPECT_EQ(Query(env_->IrsaEnvironment()), 0) << output_;
  EXPECT_THAT(output_, HasSubstr("\"value\":" + FormatDouble(ds::kSingleValue)));
  EXPECT_EQ(env_->front_door().counters().proxied, 1);
  EXPECT_EQ(env_->sts().counters().web_identity, 1);
}

TEST_F(AwsChain, EksPodIdentityAgentSignsTheQueryAndGetsTheValue) {
  StartEnv();
  WriteManifests(kPodIdentityAws);
  EXPECT_EQ(Query(env_->PodIdentityEnvironment()), 0) << output_;
  EXPECT_THAT(output_, HasSubstr("\"value\":" + FormatDouble(ds::kSingleValue)));
  EXPECT_EQ(env_->pod_identity_agent().requests(), 1);
  EXPECT_EQ(env_->sts().counters().web_identity, 0);
}

TEST_F(AwsChain, StaticKeysFromASecretWithARoleAssumedOnTop) {
  StartEnv();
  WriteManifests(
      "  secretTargetRef:\n"
      "  - {parameter: awsAccessKeyID, name: amp-keys, key: id}\n"
      "  - {parameter: awsSecretAccessKey, name: amp-keys, key: secret}\n"
      "  - {parameter: awsRoleArn, name: amp-keys, key: role}\n"
      "---\napiVersion: v1\nkind: Secret\nmetadata: {name: amp-keys, namespace: apps}\nstringData:\n"
      "  id: " + env_->options().access_key_id + "\n  secret: " + env_->options().secret_access_key +
      "\n  role: " + env_->role_arn() + "\n");
  Vars vars = {{"SSL_CERT_FILE", env_->ca_file()}, {"AWS_ENDPOINT_URL_STS", env_->sts().base_url()}};
  EXPECT_EQ(Query(vars), 0) << output_;
  EXPECT_THAT(output_, HasSubstr("\"value\":" + FormatDouble(ds::kSingleValue)));
  EXPECT_EQ(env_->sts().counters().assume_role, 1);
  EXPECT_FALSE(ContainsSecret(output_, env_->options().secret_access_key));
}

TEST_F(AwsChain, TrustPolicyForAnotherServiceAccountIsExplainedAndNothingIsSent) {
  StartEnv(aws::AwsMisconfiguration::kSubject);
  WriteManifests(kPodIdentityAws);
  EXPECT_NE(Query(env_->IrsaEnvironment()), 0);
  EXPECT_THAT(output_, HasSubstr("AccessDenied"));
  EXPECT_THAT(output_, HasSubstr("system:serviceaccount:apps:ebb"));
  EXPECT_THAT(output_, HasSubstr("eks.amazonaws.com/role-arn"));
  EXPECT_EQ(env_->front_door().counters().requests, 0);
}

TEST_F(AwsChain, MissingQueryPermissionShowsAwsAnswer) {
  StartEnv(aws::AwsMisconfiguration::kPermission);
  WriteManifests(kPodIdentityAws);
  EXPECT_NE(Query(env_->IrsaEnvironment()), 0);
  EXPECT_THAT(output_, HasSubstr("aps:QueryMetrics"));
  EXPECT_EQ(env_->front_door().counters().denied, 1);
}

// Issue 13's rule for AWS: without the operator's --token-destination, a
// request signed with the operator's identity never leaves for that host.
TEST_F(AwsChain, SignedRequestIsNotSentToAHostTheOperatorDidNotAllow) {
  StartEnv();
  WriteManifests(kPodIdentityAws);
  EXPECT_NE(Query(env_->IrsaEnvironment(), {}), 0);
  EXPECT_THAT(output_, HasSubstr("--token-destination 127.0.0.1"));
  EXPECT_EQ(env_->front_door().counters().requests, 0);
  EXPECT_EQ(env_->sts().counters().web_identity, 0);
}

TEST_F(AwsChain, AwsRegionWithoutAwsCredentialsIsRefusedNotSentUnsigned) {
  StartEnv();
  WriteManifests("  secretTargetRef:\n  - {parameter: bearerToken, name: t, key: t}\n"
                 "  - {parameter: authModes, name: t, key: modes}\n"
                 "---\napiVersion: v1\nkind: Secret\nmetadata: {name: t, namespace: apps}\n"
                 "stringData: {t: abc, modes: bearer}\n");
  EXPECT_NE(Query({{"SSL_CERT_FILE", env_->ca_file()}}), 0);
  EXPECT_THAT(output_, HasSubstr("never sends the query unsigned"));
  EXPECT_EQ(env_->front_door().counters().requests, 0);
}

}  // namespace
}  // namespace ebb
