// Google Cloud Managed Service for Prometheus end to end, through the real
// ebb binary (`ebb query`): podIdentity gcp with a key file
// (GOOGLE_APPLICATION_CREDENTIALS) or the metadata server (GKE Workload
// Identity), and the GoogleApplicationCredentials parameter from a Secret,
// against the emulated token endpoint and metadata server and the GMP front
// door proxying to a real Prometheus. The front door must count zero
// requests without a token, and ebb's output must hold no token or key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/secret.h"
#include "common/strings.h"
#include "e2e_util.h"
#include "testing/prometheus/child_process.h"
#include "testing/prometheus/datasets.h"
#include "testing/prometheus/prometheus_server.h"
#include "testing/testenv/gcp_env.h"

namespace ebb {
namespace {

namespace ds = testing::dataset;
namespace gcp = testing::gcp;
using ::testing::HasSubstr;
namespace fs = std::filesystem;
using Vars = std::vector<std::pair<std::string, std::string>>;

class GcpChain : public ::testing::Test {
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
    dir_ = fs::temp_directory_path() / ("ebb-gcp-e2e-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "manifests");
  }

  void TearDown() override {
    if (env_) {
      EXPECT_EQ(env_->front_door().counters().without_authorization, 0) << "ebb sent a query without a token";
      for (const std::string& token : env_->project().IssuedTokens()) {
        EXPECT_FALSE(ContainsSecret(output_, token)) << "a token reached ebb's output:\n" << output_;
      }
      EXPECT_EQ(output_.find("PRIVATE KEY"), std::string::npos) << output_;
      EXPECT_EQ(output_.find("eyJ"), std::string::npos) << "an assertion reached ebb's output:\n" << output_;
    }
    env_.reset();
    fs::remove_all(dir_);
  }

  void StartEnv(gcp::GcpMisconfiguration m = gcp::GcpMisconfiguration::kNone) {
    gcp::GcpTestEnvOptions o;
    o.prometheus_url = prometheus_->base_url();
    o.dir = (dir_ / "env").string();
    o.misconfiguration = m;
    auto env = gcp::GcpTestEnv::Start(std::move(o));
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = std::move(*env);
  }

  void WriteManifests(const std::string& auth_spec) {
    std::ofstream(dir_ / "manifests" / "gmp.yaml")
        << "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: orders, namespace: apps}\n"
           "spec:\n  scaleTargetRef: {name: orders}\n  triggers:\n  - type: prometheus\n"
           "    authenticationRef: {name: gmp}\n    metadata:\n      serverAddress: "
        << env_->front_door().prometheus_url() << "\n      query: '" << ds::kSingleQuery
        << "'\n      threshold: '10'\n"
        << "---\napiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\nmetadata: {name: gmp, namespace: apps}\n"
           "spec:\n" << auth_spec;
  }

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
  std::unique_ptr<gcp::GcpTestEnv> env_;
  std::string output_;
};
testing::PrometheusServer* GcpChain::prometheus_ = nullptr;

constexpr char kPodIdentityGcp[] = "  podIdentity: {provider: gcp}\n";

TEST_F(GcpChain, KeyFileThroughTheJwtBearerGrantGetsTheValue) {
  StartEnv();
  WriteManifests(kPodIdentityGcp);
  EXPECT_EQ(Query(env_->KeyFileEnvironment()), 0) << output_;
  EXPECT_THAT(output_, HasSubstr("\"value\":" + FormatDouble(ds::kSingleValue)));
  EXPECT_EQ(env_->token_endpoint().requests(), 1);
  EXPECT_EQ(env_->front_door().counters().proxied, 1);
}

TEST_F(GcpChain, WorkloadIdentityThroughTheMetadataServerGetsTheValue) {
  StartEnv();
  WriteManifests(kPodIdentityGcp);
  EXPECT_EQ(Query(env_->MetadataEnvironment()), 0) << output_;
  EXPECT_THAT(output_, HasSubstr("\"value\":" + FormatDouble(ds::kSingleValue)));
  EXPECT_EQ(env_->metadata().token_requests(), 1);
}

TEST_F(GcpChain, KeyFromASecretParameter) {
  StartEnv();
  std::string json = env_->key_json();
  std::string indented;
  for (const std::string& line : Split(json, '\n')) indented += "    " + line + "\n";
  WriteManifests("  secretTargetRef:\n  - {parameter: GoogleApplicationCredentials, name: gmp-key, key: key.json}\n"
                 "---\napiVersion: v1\nkind: Secret\nmetadata: {name: gmp-key, namespace: apps}\nstringData:\n"
                 "  key.json: |\n" + indented);
  EXPECT_EQ(Query({{"SSL_CERT_FILE", env_->ca_file()}}), 0) << output_;
  EXPECT_THAT(output_, HasSubstr("\"value\":" + FormatDouble(ds::kSingleValue)));
}

TEST_F(GcpChain, UnboundKubernetesServiceAccountIsExplained) {
  StartEnv(gcp::GcpMisconfiguration::kUnbound);
  WriteManifests(kPodIdentityGcp);
  EXPECT_NE(Query(env_->MetadataEnvironment()), 0);
  EXPECT_THAT(output_, HasSubstr("iam.gke.io/gcp-service-account"));
  EXPECT_EQ(env_->front_door().counters().requests, 0);
}

TEST_F(GcpChain, DeletedKeyAndMissingRoleAreExplained) {
  StartEnv(gcp::GcpMisconfiguration::kDeletedKey);
  WriteManifests(kPodIdentityGcp);
  EXPECT_NE(Query(env_->KeyFileEnvironment()), 0);
  EXPECT_THAT(output_, HasSubstr("Invalid JWT Signature."));
  EXPECT_THAT(output_, HasSubstr("create a new key"));
  EXPECT_EQ(env_->front_door().counters().requests, 0);
}

TEST_F(GcpChain, MissingMonitoringViewerShowsGooglesAnswer) {
  StartEnv(gcp::GcpMisconfiguration::kRole);
  WriteManifests(kPodIdentityGcp);
  EXPECT_NE(Query(env_->KeyFileEnvironment()), 0);
  EXPECT_THAT(output_, HasSubstr("Permission monitoring.timeSeries.list denied"));
}

// The key's token_uri is not Google's: without the operator's permission
// the signed assertion is not sent there.
TEST_F(GcpChain, ForeignTokenUriNeedsTheOperatorsPermission) {
  StartEnv();
  WriteManifests(kPodIdentityGcp);
  EXPECT_NE(Query(env_->KeyFileEnvironment(), {}), 0);
  EXPECT_THAT(output_, HasSubstr("--token-destination 127.0.0.1"));
  EXPECT_EQ(env_->token_endpoint().requests(), 0);
  EXPECT_EQ(env_->front_door().counters().requests, 0);
}

}  // namespace
}  // namespace ebb
