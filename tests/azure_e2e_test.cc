// Azure Workload Identity end to end: ScaledObject + TriggerAuthentication
// (podIdentity azure-workload) -> token exchange with the Entra ID emulator
// -> the managed-Prometheus front door -> a real Prometheus. Every
// misconfiguration of the seed is reproduced and must be reported
// precisely; in every test the front door must count zero requests without
// an Authorization header, and the debug log must hold no token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "api/manifest_set.h"
#include "common/log.h"
#include "common/strings.h"
#include "controller/trigger_factory.h"
#include "http/curl_http_client.h"
#include "testing/prometheus/datasets.h"
#include "testing/prometheus/prometheus_server.h"
#include "testing/testenv/azure_env.h"

namespace ebb {
namespace {

namespace ds = testing::dataset;
namespace az = testing::azure;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

const Time kEval = FromUnixSeconds(ds::kEvalUnix);

class AzureChain : public ::testing::Test {
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
    dir_ = fs::temp_directory_path() / ("ebb-azure-e2e-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    Logger::Default().SetLevel(LogLevel::kDebug);
    Logger::Default().SetSink([this](std::string_view line) {
      std::lock_guard l(log_mu_);
      log_ += std::string(line) + "\n";
    });
  }

  void TearDown() override {
    Logger::Default().SetSink(nullptr);
    Logger::Default().SetLevel(LogLevel::kInfo);
    if (env_) {
      EXPECT_EQ(env_->front_door().counters().without_authorization, 0)
          << "ebb sent a query without an Authorization header";
    }
    std::lock_guard l(log_mu_);
    EXPECT_EQ(log_.find("eyJ"), std::string::npos) << "a JWT reached the log:\n" << log_;
    env_.reset();
    fs::remove_all(dir_);
  }

  void StartEnv(az::Misconfiguration m = az::Misconfiguration::kNone) {
    az::AzureTestEnvOptions o;
    o.prometheus_url = prometheus_->base_url();
    o.dir = dir_.string();
    o.ns = "apps";
    o.service_account = "ebb";
    o.misconfiguration = m;
    auto env = az::AzureTestEnv::Start(std::move(o));
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = std::move(*env);
    client_ = std::make_unique<http::CurlHttpClient>(
        http::CurlHttpClientOptions{.default_ca_file = env_->ca_file()});
  }

  auth::Environment AzureEnv() const {
    return {{"AZURE_CLIENT_ID", env_->options().client_id},
            {"AZURE_TENANT_ID", env_->options().tenant_id},
            {"AZURE_FEDERATED_TOKEN_FILE", env_->token_file()},
            {"AZURE_AUTHORITY_HOST", env_->idp().authority_url()}};
  }

  // A ScaledObject with one prometheus trigger on the front door; with
  // `with_auth` an authenticationRef to an azure-workload TriggerAuthentication.
  api::ManifestSet Manifests(const std::string& server, bool with_auth, const std::string& extra_meta = "") {
    std::string yaml =
        "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: orders, namespace: apps}\n"
        "spec:\n  scaleTargetRef: {name: orders}\n  triggers:\n  - type: prometheus\n";
    if (with_auth) yaml += "    authenticationRef: {name: azure-managed-prometheus}\n";
    yaml += "    metadata:\n      serverAddress: " + server + "\n      query: '" + std::string(ds::kSingleQuery) +
            "'\n      threshold: '10'\n" + extra_meta;
    yaml += "---\napiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\n"
            "metadata: {name: azure-managed-prometheus, namespace: apps}\n"
            "spec:\n  podIdentity: {provider: azure-workload}\n";
    auto docs = api::ParseDocuments(yaml, "azure.yaml");
    EXPECT_TRUE(docs.ok()) << docs.status().ToString();
    api::ManifestSet set = api::BuildManifestSet(std::move(*docs));
    EXPECT_TRUE(set.errors.empty()) << set.errors.at(0).ToString();
    return set;
  }

  Result<prometheus::TriggerValue> Evaluate(const api::ManifestSet& set, auth::Environment azure_env) {
    controller::TriggerEnvironment env;
    env.auth.clock = &RealClock::Instance();
    env.auth.token_cache = cache_;
    env.auth.azure_env = std::move(azure_env);
    env.auth.token_destinations = destinations_;
    auto built = controller::BuildTrigger(set.scaled_objects.at(0), 0, set, env);
    if (!built.ok()) return built.status();
    std::promise<Result<prometheus::TriggerValue>> p;
    built->prometheus->Evaluate(*client_, kEval, [&](Result<prometheus::TriggerValue> v) { p.set_value(v); });
    return p.get_future().get();
  }

  Result<prometheus::TriggerValue> EvaluateDefault(const std::string& extra_meta = "") {
    return Evaluate(Manifests(env_->front_door().base_url(), true, extra_meta), AzureEnv());
  }

  static testing::PrometheusServer* prometheus_;
  fs::path dir_;
  std::unique_ptr<az::AzureTestEnv> env_;
  std::unique_ptr<http::CurlHttpClient> client_;
  // --token-destination: the emulated front door is on loopback.
  std::vector<std::string> destinations_ = {"127.0.0.1"};
  std::shared_ptr<auth::TokenCache> cache_ = std::make_shared<auth::TokenCache>(RealClock::Instance());
  std::mutex log_mu_;
  std::string log_;
};
testing::PrometheusServer* AzureChain::prometheus_ = nullptr;

TEST_F(AzureChain, HealthyChainGetsTheValueWithOneExchange) {
  StartEnv();
  auto v = EvaluateDefault();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_DOUBLE_EQ(v->value, ds::kSingleValue);
  EXPECT_EQ(env_->front_door().counters().proxied, 1);
  EXPECT_EQ(env_->idp().counters().successes, 1);
}

// Issue 13 (critical), end to end: a serverAddress the operator did not
// allow gets neither a token nor a token exchange.
TEST_F(AzureChain, TokenIsNotSentToAHostTheOperatorDidNotAllow) {
  StartEnv();
  destinations_.clear();
  auto v = EvaluateDefault();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(v.status().message().find("--token-destination 127.0.0.1"), std::string::npos)
      << v.status().ToString();
  EXPECT_EQ(env_->front_door().counters().requests, 0);
  EXPECT_EQ(env_->idp().counters().requests, 0);
}

// A namespaced TriggerAuthentication cannot send the operator's
// service-account token to an authority of its choosing, even a working one.
TEST_F(AzureChain, NamespacedAuthorityHostIsRefusedBeforeAnyExchange) {
  StartEnv();
  api::ManifestSet set = Manifests(env_->front_door().base_url(), true);
  set.trigger_authentications.at(0).spec.pod_identity->identity_authority_host = env_->idp().authority_url();
  auth::Environment environment = AzureEnv();
  environment.erase("AZURE_AUTHORITY_HOST");
  auto v = Evaluate(set, environment);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("spec.podIdentity.identityAuthorityHost"), std::string::npos)
      << v.status().ToString();
  EXPECT_EQ(env_->idp().counters().requests, 0);
  EXPECT_EQ(env_->front_door().counters().requests, 0);
}

TEST_F(AzureChain, ManyTriggersOnOneIdentityMakeOneExchange) {
  StartEnv();
  api::ManifestSet set = Manifests(env_->front_door().base_url(), true);
  controller::TriggerEnvironment env;
  env.auth.clock = &RealClock::Instance();
  env.auth.token_cache = cache_;
  env.auth.azure_env = AzureEnv();
  env.auth.token_destinations = {"127.0.0.1"};
  std::vector<std::future<Result<prometheus::TriggerValue>>> futures;
  std::vector<controller::BuiltTrigger> triggers;
  for (int i = 0; i < 50; ++i) {
    auto built = controller::BuildTrigger(set.scaled_objects.at(0), 0, set, env);
    ASSERT_TRUE(built.ok());
    triggers.push_back(*built);
  }
  // The emulator's server listens with a backlog of 5: bound the client's
  // connections so the test measures single-flight tokens, not SYN drops.
  http::CurlHttpClient client(
      http::CurlHttpClientOptions{.max_in_flight = 4, .default_ca_file = env_->ca_file()});
  for (auto& t : triggers) {
    auto p = std::make_shared<std::promise<Result<prometheus::TriggerValue>>>();
    futures.push_back(p->get_future());
    t.prometheus->Evaluate(client, kEval, [p](Result<prometheus::TriggerValue> v) { p->set_value(v); });
  }
  for (auto& f : futures) {
    auto v = f.get();
    ASSERT_TRUE(v.ok()) << v.status().ToString();
  }
  EXPECT_EQ(env_->idp().counters().requests, 1) << "one token request for 50 concurrent triggers";
  EXPECT_EQ(env_->front_door().counters().proxied, 50);
}

TEST_F(AzureChain, NoAuthenticationRefToAnAzureHostSendsNothingAndExplains) {
  StartEnv();
  auto v = Evaluate(Manifests("https://ebb-workspace-abcd.eastus.prometheus.monitor.azure.com", false), AzureEnv());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(v.status().message(), HasSubstr("Request does not contain an Authorization Header"));
  EXPECT_THAT(v.status().message(), HasSubstr("podIdentity.provider: azure-workload"));
  EXPECT_EQ(env_->front_door().counters().requests, 0);
}

TEST_F(AzureChain, MissingVariablesAreNamed) {
  StartEnv();
  auto v = Evaluate(Manifests(env_->front_door().base_url(), true), {});
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("AZURE_CLIENT_ID"));
  EXPECT_THAT(v.status().message(), HasSubstr("AZURE_FEDERATED_TOKEN_FILE"));
  EXPECT_THAT(v.status().message(), HasSubstr("azure.workload.identity/use"));
  EXPECT_EQ(env_->idp().counters().requests, 0);
  EXPECT_EQ(env_->front_door().counters().requests, 0);
}

TEST_F(AzureChain, UnreadableTokenFileIsNamed) {
  StartEnv();
  auth::Environment e = AzureEnv();
  e["AZURE_FEDERATED_TOKEN_FILE"] = (dir_ / "no-such-token").string();
  auto v = Evaluate(Manifests(env_->front_door().base_url(), true), e);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("no-such-token"));
  EXPECT_EQ(env_->front_door().counters().requests, 0);
}

TEST_F(AzureChain, ExpiredServiceAccountTokenIs700024) {
  StartEnv();
  az::ServiceAccountTokenRequest r;
  r.ns = "apps";
  r.service_account = "ebb";
  r.issued_at = RealClock::Instance().Now() - std::chrono::hours(3);
  r.expires_at = RealClock::Instance().Now() - std::chrono::hours(2);
  ASSERT_TRUE(env_->issuer().WriteTokenFile(env_->token_file(), r).ok());
  auto v = EvaluateDefault();
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("700024"));
  EXPECT_EQ(env_->front_door().counters().requests, 0);
}

TEST_F(AzureChain, WrongSubjectIs700213) {
  StartEnv(az::Misconfiguration::kSubject);
  auto v = EvaluateDefault();
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("700213"));
  EXPECT_THAT(v.status().message(), HasSubstr("system:serviceaccount:apps:ebb"));
}

TEST_F(AzureChain, WrongAudienceOfTheCredentialIs70021NamingAllThree) {
  StartEnv(az::Misconfiguration::kAudience);
  auto v = EvaluateDefault();
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("70021"));
  EXPECT_THAT(v.status().message(), HasSubstr("system:serviceaccount:apps:ebb"));
  EXPECT_THAT(v.status().message(), HasSubstr("api://AzureADTokenExchange"));
  EXPECT_THAT(v.status().message(), HasSubstr(env_->issuer().issuer_url()));
}

TEST_F(AzureChain, WrongIssuerIs700211) {
  StartEnv(az::Misconfiguration::kIssuer);
  auto v = EvaluateDefault();
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("700211"));
  EXPECT_THAT(v.status().message(), HasSubstr(env_->issuer().issuer_url()));
}

TEST_F(AzureChain, UnknownClientIdIs700016) {
  StartEnv(az::Misconfiguration::kClientId);
  auto v = EvaluateDefault();
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("700016"));
}

TEST_F(AzureChain, WrongTenantIs90002) {
  StartEnv();
  auth::Environment e = AzureEnv();
  e["AZURE_TENANT_ID"] = "00000000-1111-2222-3333-444444444444";
  auto v = Evaluate(Manifests(env_->front_door().base_url(), true), e);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("90002"));
}

TEST_F(AzureChain, WrongScopeIsA401FromTheFrontDoorWithTheAudience) {
  StartEnv();
  auto v = EvaluateDefault(
      "      cloud: Private\n      azureManagedPrometheusResourceURL: https://other.example\n");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(v.status().message(), HasSubstr("401"));
  EXPECT_THAT(v.status().message(), HasSubstr("https://other.example"));
}

TEST_F(AzureChain, MissingRoleIs403NamingTheRole) {
  StartEnv(az::Misconfiguration::kRole);
  auto v = EvaluateDefault();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(v.status().message(), HasSubstr("Monitoring Data Reader"));
}

}  // namespace
}  // namespace ebb
