// `ebb doctor` end to end: the emulated Azure chain (cluster OIDC issuer,
// Entra ID, the Managed Prometheus front door) in front of a real
// Prometheus with the data set. The trigger's serverAddress is the real
// workspace host name, pinned to the loopback front door with --resolve.
// Each misconfiguration must fail exactly its check, with its cause, after
// every earlier check passed; the output must never hold a token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cmd/doctor_command.h"
#include "common/clock.h"
#include "doctor/test_util.h"
#include "testing/kube/fake_apiserver.h"
#include "testing/prometheus/datasets.h"
#include "testing/prometheus/prometheus_server.h"
#include "testing/testenv/azure_env.h"

namespace ebb {
namespace {

namespace ds = testing::dataset;
namespace az = testing::azure;
namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct DoctorRun {
  int exit_code = 0;
  std::string out, err;
  nlohmann::json json;  // the --output json rendering of the same run

  const nlohmann::json* Check(const std::string& id) const {
    for (const nlohmann::json& c : json["checks"]) {
      if (c["id"] == id) return &c;
    }
    return nullptr;
  }
};

class DoctorTest : public ::testing::Test {
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

  void SetUp() override { ASSERT_NE(prometheus_, nullptr); }

  void TearDown() override {
    if (env_) {
      EXPECT_EQ(env_->front_door().counters().without_authorization, 0)
          << "doctor sent a query without an Authorization header";
    }
    env_.reset();
    unsetenv("SSL_CERT_FILE");
  }

  void StartEnv(az::Misconfiguration m = az::Misconfiguration::kNone) {
    az::AzureTestEnvOptions o;
    o.prometheus_url = prometheus_->base_url();
    o.dir = dir_.path() + "/azure";
    o.ns = "apps";
    o.service_account = "ebb";
    o.misconfiguration = m;
    auto env = az::AzureTestEnv::Start(std::move(o));
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = std::move(*env);
    // As in a pod: the CA of the emulators is the trust store.
    setenv("SSL_CERT_FILE", env_->ca_file().c_str(), 1);
    environment_ = {{"AZURE_CLIENT_ID", env_->options().client_id},
                    {"AZURE_TENANT_ID", env_->options().tenant_id},
                    {"AZURE_FEDERATED_TOKEN_FILE", env_->token_file()},
                    {"AZURE_AUTHORITY_HOST", env_->idp().authority_url()}};
  }

  std::string FrontDoorPort() const {
    std::string base = env_->front_door().base_url();
    return base.substr(base.rfind(':') + 1);
  }
  // The workspace's real host name, on the front door's port.
  std::string ServerAddress() const {
    return "https://" + env_->workspace_host() + ":" + FrontDoorPort();
  }
  std::string Pin() const { return env_->workspace_host() + ":" + FrontDoorPort() + ":127.0.0.1"; }

  // Writes the ScaledObject (and the azure-workload TriggerAuthentication)
  // and runs doctor twice: text, then JSON.
  DoctorRun Run(const std::string& extra_meta = "", bool with_auth = true,
                std::string query = std::string(ds::kSingleQuery), std::string server = "") {
    if (server.empty()) server = ServerAddress();
    std::string yaml = doctor::testutil::ScaledObjectYaml(server, query, "10",
                                                          with_auth ? "azure-wi" : "", extra_meta) +
                       "---\n" + doctor::testutil::WorkloadIdentityAuthYaml();
    std::string file = dir_.Write("so.yaml", yaml);
    cmd::DoctorOptions options;
    options.files = {file};
    options.resolve = {Pin()};
    options.no_color = true;
    options.time = FormatRfc3339(FromUnixSeconds(ds::kEvalUnix));
    options.environment = environment_;
    options.connect_timeout = std::chrono::milliseconds(3000);
    options.kubeconfig = kubeconfig_;
    options.operator_pod = operator_pod_;
    DoctorRun run;
    std::ostringstream out, err;
    run.exit_code = cmd::RunDoctor(options, out, err);
    run.out = out.str();
    run.err = err.str();
    options.output = "json";
    std::ostringstream jout, jerr;
    EXPECT_EQ(cmd::RunDoctor(options, jout, jerr), run.exit_code);
    run.json = nlohmann::json::parse(jout.str(), nullptr, false);
    EXPECT_TRUE(run.json.is_object()) << jout.str();
    ExpectNoSecrets(run.out + run.err + jout.str() + jerr.str());
    if (getenv("EBB_DOCTOR_TEST_PRINT") != nullptr) std::cout << run.out << run.err;
    return run;
  }

  void ExpectNoSecrets(const std::string& all) {
    std::vector<std::string> secrets;
    if (env_) {
      std::ifstream in(env_->token_file());
      std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!token.empty()) secrets.push_back(token);
    }
    doctor::testutil::ExpectNoSecrets(all, secrets);
  }

  // Check `id` failed and every check before it passed (the in-cluster
  // step is skipped without a cluster); returns it.
  nlohmann::json ExpectFailsAt(const DoctorRun& run, const std::string& id) {
    EXPECT_EQ(run.exit_code, 1) << run.out;
    for (const nlohmann::json& c : run.json["checks"]) {
      if (c["id"] == id) {
        EXPECT_EQ(c["status"], "fail") << run.out;
        EXPECT_EQ(run.json["summary"]["fail"], 1) << run.out;
        return c;
      }
      if (c["id"] == "cluster.workload-identity") continue;
      EXPECT_EQ(c["status"], "pass") << c["id"] << "\n" << run.out;
    }
    ADD_FAILURE() << id << " not in the report:\n" << run.out;
    return {};
  }

  static std::string Text(const nlohmann::json& c) {
    return c.value("detail", std::string()) + " | " + c.value("fix", std::string());
  }

  // A fake API server holding the operator's pod (apps/ebb-7d9f-abcde, with
  // `labels` and the AZURE_* the webhook would inject unless `injected` is
  // false), its service account `ebb` annotated with the emulator's client
  // id, and the webhook; Run() then adds --kubeconfig and --operator-pod.
  void StartCluster(nlohmann::json labels, bool injected = true) {
    testing::kube::FakeApiServerOptions o;
    o.tokens = {{"doctor-token", "doctor"}};
    kube_ = testing::kube::FakeApiServer::Start(std::move(o)).value();
    nlohmann::json env = nlohmann::json::array();
    if (injected) {
      for (const auto& [name, value] : environment_) env.push_back({{"name", name}, {"value", value}});
    }
    kube_->store().Seed(
        *kube_->Type("", "v1", "pods"),
        {{"metadata", {{"name", "ebb-7d9f-abcde"}, {"namespace", "apps"}, {"labels", labels},
                       {"creationTimestamp", "2026-11-20T10:00:00Z"}}},
         {"spec", {{"serviceAccountName", "ebb"},
                   {"containers", nlohmann::json::array({{{"name", "ebb"}, {"env", env}}})}}}});
    kube_->store().Seed(
        *kube_->Type("", "v1", "serviceaccounts"),
        {{"metadata", {{"name", "ebb"}, {"namespace", "apps"},
                       {"annotations", {{"azure.workload.identity/client-id", env_->options().client_id}}},
                       {"creationTimestamp", "2026-11-01T10:00:00Z"}}}});
    kube_->store().Seed(
        *kube_->Type("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations"),
        {{"metadata", {{"name", "azure-wi-webhook-mutating-webhook-configuration"},
                       {"creationTimestamp", "2026-10-01T10:00:00Z"}}},
         {"webhooks", nlohmann::json::array({{{"name", "mutation.azure-workload-identity.io"}}})}});
    kubeconfig_ = dir_.Write("kubeconfig", "apiVersion: v1\nkind: Config\n"
                                           "clusters: [{name: fake, cluster: {server: \"" +
                                               kube_->base_url() + "\"}}]\n"
                                           "users: [{name: doctor, user: {token: doctor-token}}]\n"
                                           "contexts: [{name: fake, context: {cluster: fake, user: doctor}}]\n"
                                           "current-context: fake\n");
    operator_pod_ = "apps/ebb-7d9f-abcde";
  }

  static testing::PrometheusServer* prometheus_;
  doctor::testutil::TempDir dir_;
  std::unique_ptr<testing::kube::FakeApiServer> kube_;
  std::string kubeconfig_;
  std::string operator_pod_;
  std::unique_ptr<az::AzureTestEnv> env_;
  std::map<std::string, std::string> environment_;
};

testing::PrometheusServer* DoctorTest::prometheus_ = nullptr;

TEST_F(DoctorTest, HealthySetupPassesEverything) {
  StartEnv();
  DoctorRun run = Run();
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.json["summary"]["fail"], 0) << run.out;
  EXPECT_EQ(run.json["summary"]["warn"], 0) << run.out;
  for (const nlohmann::json& c : run.json["checks"]) {
    if (c["id"] == "cluster.workload-identity") {
      EXPECT_EQ(c["status"], "skip");
      EXPECT_EQ(c["detail"], "no cluster given: add --kubeconfig FILE --operator-pod NAMESPACE/NAME (or --in-cluster in the pod) to check the pod label, service account annotation, webhook and injection");
      continue;
    }
    EXPECT_EQ(c["status"], "pass") << c["id"] << "\n" << run.out;
  }
  for (const char* id :
       {"identity.env", "identity.token-file", "identity.token-claims", "identity.token-exchange",
        "endpoint.proxy", "endpoint.dns", "endpoint.tcp", "endpoint.tls", "query.status",
        "query.shape", "threshold.values"}) {
    EXPECT_NE(run.Check(id), nullptr) << id << "\n" << run.out;
  }
  EXPECT_THAT(run.Check("endpoint.dns")->value("detail", ""),
              HasSubstr("pinned by --resolve to 127.0.0.1"));
  EXPECT_THAT(run.Check("endpoint.tls")->value("detail", ""), HasSubstr("certificate subject"));
  EXPECT_THAT(run.Check("identity.token-claims")->value("detail", ""),
              HasSubstr("issuer \"" + env_->issuer().issuer_url() + "\""));
  EXPECT_THAT(run.Check("identity.token-exchange")->value("detail", ""),
              HasSubstr("audience \"https://prometheus.monitor.azure.com\""));
  EXPECT_THAT(run.Check("query.shape")->value("detail", ""), HasSubstr("value 42"));
  EXPECT_THAT(run.Check("threshold.values")->value("detail", ""), HasSubstr("-> 5 replicas"));
  EXPECT_THAT(run.out, HasSubstr("summary: "));
}

TEST_F(DoctorTest, InClusterChecksThroughAKubeconfig) {
  StartEnv();
  StartCluster({{"azure.workload.identity/use", "true"}});
  DoctorRun run = Run();
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.Check("cluster.workload-identity"), nullptr) << "skipped despite a cluster";
  for (const char* id : {"cluster.operator-pod", "cluster.pod-label", "cluster.service-account",
                         "cluster.webhook", "cluster.pod-injected"}) {
    ASSERT_NE(run.Check(id), nullptr) << id << "\n" << run.out;
    EXPECT_EQ((*run.Check(id))["status"], "pass") << id << "\n" << run.out;
  }
  EXPECT_THAT(Text(*run.Check("cluster.operator-pod")), HasSubstr("apps/ebb-7d9f-abcde"));
  EXPECT_THAT(Text(*run.Check("cluster.service-account")), HasSubstr(env_->options().client_id));
  // Doctor only reads.
  for (const auto& r : kube_->Requests()) EXPECT_EQ(r.method, "GET") << r.path;
}

TEST_F(DoctorTest, InClusterAPodWithoutTheLabelIsNamed) {
  StartEnv();
  StartCluster({{"app", "ebb"}}, /*injected=*/false);
  DoctorRun run = Run();
  nlohmann::json c = ExpectFailsAt(run, "cluster.pod-label");
  EXPECT_THAT(Text(c), HasSubstr("azure.workload.identity/use"));
  EXPECT_THAT(Text(c), HasSubstr("restart the pod"));
}

TEST_F(DoctorTest, NoAuthenticationRefExplainsThe401) {
  StartEnv();
  DoctorRun run = Run("", /*with_auth=*/false);
  nlohmann::json c = ExpectFailsAt(run, "manifest.azure-host-without-identity");
  EXPECT_THAT(Text(c),
              HasSubstr("Azure Managed Prometheus answers 401 \"Request does not contain an "
                        "Authorization Header\" to every query without an Azure AD token"));
  EXPECT_THAT(Text(c), HasSubstr("podIdentity.provider: azure-workload"));
  EXPECT_EQ(env_->front_door().counters().requests, 0);
}

TEST_F(DoctorTest, MissingAzureVariables) {
  StartEnv();
  environment_.erase("AZURE_CLIENT_ID");
  environment_.erase("AZURE_FEDERATED_TOKEN_FILE");
  nlohmann::json c = ExpectFailsAt(Run(), "identity.env");
  EXPECT_THAT(Text(c), HasSubstr("AZURE_CLIENT_ID"));
  EXPECT_THAT(Text(c), HasSubstr("AZURE_FEDERATED_TOKEN_FILE"));
  EXPECT_THAT(Text(c), HasSubstr("azure.workload.identity/use"));
}

TEST_F(DoctorTest, UnreadableTokenFile) {
  StartEnv();
  environment_["AZURE_FEDERATED_TOKEN_FILE"] = dir_.path() + "/no-such-token";
  nlohmann::json c = ExpectFailsAt(Run(), "identity.token-file");
  EXPECT_THAT(Text(c), HasSubstr(dir_.path() + "/no-such-token"));
}

TEST_F(DoctorTest, ExpiredServiceAccountToken) {
  StartEnv();
  az::ServiceAccountTokenRequest req;
  req.ns = "apps";
  req.service_account = "ebb";
  Time now = RealClock::Instance().Now();
  req.issued_at = now - std::chrono::hours(3);
  req.expires_at = now - std::chrono::hours(2);
  ASSERT_TRUE(env_->issuer().WriteTokenFile(env_->token_file(), req).ok());
  nlohmann::json c = ExpectFailsAt(Run(), "identity.token-claims");
  EXPECT_THAT(Text(c), HasSubstr("AADSTS700024"));
  EXPECT_EQ(env_->idp().counters().requests, 0);
}

TEST_F(DoctorTest, WrongSubject) {
  StartEnv(az::Misconfiguration::kSubject);
  nlohmann::json c = ExpectFailsAt(Run(), "identity.token-exchange");
  EXPECT_THAT(Text(c), HasSubstr("AADSTS700213"));
  EXPECT_THAT(Text(c), HasSubstr("system:serviceaccount:apps:ebb"));
}

TEST_F(DoctorTest, WrongAudienceOnTheFederatedCredential) {
  StartEnv(az::Misconfiguration::kAudience);
  nlohmann::json c = ExpectFailsAt(Run(), "identity.token-exchange");
  EXPECT_THAT(Text(c), HasSubstr("AADSTS70021"));
  EXPECT_THAT(Text(c), HasSubstr("issuer \"" + env_->issuer().issuer_url() + "\""));
  EXPECT_THAT(Text(c), HasSubstr("subject \"system:serviceaccount:apps:ebb\""));
  EXPECT_THAT(Text(c), HasSubstr("audience \"api://AzureADTokenExchange\""));
}

TEST_F(DoctorTest, WrongIssuer) {
  StartEnv(az::Misconfiguration::kIssuer);
  nlohmann::json c = ExpectFailsAt(Run(), "identity.token-exchange");
  EXPECT_THAT(Text(c), HasSubstr("AADSTS700211"));
}

TEST_F(DoctorTest, UnknownClientId) {
  StartEnv(az::Misconfiguration::kClientId);
  nlohmann::json c = ExpectFailsAt(Run(), "identity.token-exchange");
  EXPECT_THAT(Text(c), HasSubstr("AADSTS700016"));
}

TEST_F(DoctorTest, WrongTenant) {
  StartEnv();
  environment_["AZURE_TENANT_ID"] = "99999999-8888-7777-6666-555555555555";
  nlohmann::json c = ExpectFailsAt(Run(), "identity.token-exchange");
  EXPECT_THAT(Text(c), HasSubstr("AADSTS90002"));
}

TEST_F(DoctorTest, WrongScopeIsA401FromTheFrontDoor) {
  StartEnv();
  DoctorRun run = Run(
      "      cloud: Private\n      azureManagedPrometheusResourceURL: https://wrong.example.com\n");
  nlohmann::json c = ExpectFailsAt(run, "query.status");
  EXPECT_THAT(Text(c), HasSubstr("401"));
  EXPECT_THAT(Text(c), HasSubstr("https://wrong.example.com"));
  EXPECT_THAT(Text(c), HasSubstr("audience"));
}

TEST_F(DoctorTest, MissingRoleIs403) {
  StartEnv(az::Misconfiguration::kRole);
  nlohmann::json c = ExpectFailsAt(Run(), "query.status");
  EXPECT_THAT(Text(c), HasSubstr("403"));
  EXPECT_THAT(Text(c), HasSubstr("Monitoring Data Reader"));
}

TEST_F(DoctorTest, ServerAddressEndingInApiV1Is404) {
  StartEnv();
  DoctorRun run = Run("", true, std::string(ds::kSingleQuery), ServerAddress() + "/api/v1");
  EXPECT_EQ(run.exit_code, 1);
  const nlohmann::json* c = run.Check("query.status");
  ASSERT_NE(c, nullptr) << run.out;
  EXPECT_EQ((*c)["status"], "fail") << run.out;
  EXPECT_THAT(Text(*c), HasSubstr("must not end in /api/v1"));
}

TEST_F(DoctorTest, ManyElementsShowTheLabelSets) {
  StartEnv();
  nlohmann::json c = ExpectFailsAt(Run("", true, std::string(ds::kMultiQuery)), "query.shape");
  EXPECT_THAT(Text(c), HasSubstr("3 elements"));
  EXPECT_THAT(Text(c), HasSubstr("pool=\"blue\""));
  EXPECT_THAT(Text(c), HasSubstr("the labels that differ: pool"));
}

TEST_F(DoctorTest, BadQueryShowsTheParseError) {
  StartEnv();
  nlohmann::json c = ExpectFailsAt(Run("", true, "sum(ebb_queue_depth"), "query.status");
  EXPECT_THAT(Text(c), HasSubstr("parse error"));
}

TEST_F(DoctorTest, UnreachableEndpointFailsTcp) {
  StartEnv();
  int port = testing::PickFreeLoopbackPort().value();
  std::string host = env_->workspace_host() + ":" + std::to_string(port);
  std::string file = dir_.Write(
      "so.yaml", doctor::testutil::ScaledObjectYaml("https://" + host, "up", "10", "azure-wi") +
                     "---\n" + doctor::testutil::WorkloadIdentityAuthYaml());
  cmd::DoctorOptions options;
  options.files = {file};
  options.resolve = {host + ":127.0.0.1"};
  options.environment = environment_;
  options.output = "json";
  std::ostringstream out, err;
  EXPECT_EQ(cmd::RunDoctor(options, out, err), 1);
  ExpectNoSecrets(out.str() + err.str());
  DoctorRun run;
  run.json = nlohmann::json::parse(out.str());
  run.exit_code = 1;
  run.out = out.str();
  nlohmann::json c = ExpectFailsAt(run, "endpoint.tcp");
  EXPECT_THAT(Text(c), HasSubstr(host));
}

TEST_F(DoctorTest, OfflineLintsWithoutNetwork) {
  StartEnv();
  std::string file = dir_.Write(
      "so.yaml", doctor::testutil::ScaledObjectYaml(ServerAddress(), "up", "10", "azure-wi") +
                     "---\n" + doctor::testutil::WorkloadIdentityAuthYaml());
  cmd::DoctorOptions options;
  options.files = {file};
  options.offline = true;
  options.value = 42;
  options.environment = environment_;
  options.output = "json";
  std::ostringstream out, err;
  EXPECT_EQ(cmd::RunDoctor(options, out, err), 0) << out.str();
  ExpectNoSecrets(out.str() + err.str());
  nlohmann::json j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["summary"]["fail"], 0);
  EXPECT_GT(j["summary"]["skip"], 5);
  EXPECT_EQ(env_->idp().counters().requests, 0);
  EXPECT_EQ(env_->front_door().counters().requests, 0);
}

TEST_F(DoctorTest, ManagedIdentityThroughImds) {
  StartEnv();
  std::string yaml =
      doctor::testutil::ScaledObjectYaml(ServerAddress(), std::string(ds::kSingleQuery), "10",
                                         "azure-mi") +
      "---\napiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\nmetadata:\n  name: "
      "azure-mi\n"
      "  namespace: default\nspec:\n  podIdentity:\n    provider: azure-managed-identity\n";
  cmd::DoctorOptions options;
  options.files = {dir_.Write("so.yaml", yaml)};
  options.resolve = {Pin()};
  options.time = FormatRfc3339(FromUnixSeconds(ds::kEvalUnix));
  options.environment = std::map<std::string, std::string>{
      {"AZURE_POD_IDENTITY_AUTHORITY_HOST", env_->imds().base_url()}};
  options.output = "json";
  std::ostringstream out, err;
  EXPECT_EQ(cmd::RunDoctor(options, out, err), 0) << out.str() << err.str();
  ExpectNoSecrets(out.str() + err.str());
  nlohmann::json j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["summary"]["fail"], 0) << out.str();
  EXPECT_EQ(j["summary"]["warn"], 0) << out.str();
  EXPECT_EQ(j["summary"]["skip"], 0) << out.str();
  bool exchanged = false;
  for (const nlohmann::json& c : j["checks"]) {
    if (c["id"] == "identity.token-exchange") {
      exchanged = true;
      EXPECT_THAT(c.value("detail", ""), HasSubstr("IMDS"));
    }
    EXPECT_NE(c["id"], "identity.token-file");  // no token file for IMDS
  }
  EXPECT_TRUE(exchanged) << out.str();
  EXPECT_EQ(env_->imds().counters().successes, 1);
}

TEST_F(DoctorTest, NameSelectsOneScaledObject) {
  std::string a = doctor::testutil::ScaledObjectYaml("http://127.0.0.1:1", "up", "10");
  std::string b = a;
  b.replace(b.find("name: web"), 9, "name: api");
  cmd::DoctorOptions options;
  options.files = {dir_.Write("two.yaml", a + "---\n" + b)};
  options.offline = true;
  options.name = "default/api";
  options.output = "json";
  std::ostringstream out, err;
  EXPECT_EQ(cmd::RunDoctor(options, out, err), 0) << out.str() << err.str();
  nlohmann::json j = nlohmann::json::parse(out.str());
  for (const nlohmann::json& c : j["checks"]) {
    EXPECT_THAT(c.value("scope", ""), ::testing::Not(HasSubstr("default/web")));
  }
  options.name = "default/nope";
  EXPECT_EQ(cmd::RunDoctor(options, out, err), 2);
}

TEST_F(DoctorTest, UnusableInputIsExitCode2) {
  cmd::DoctorOptions options;
  options.files = {dir_.path() + "/missing.yaml"};
  std::ostringstream out, err;
  EXPECT_EQ(cmd::RunDoctor(options, out, err), 2);
  options.files = {
      dir_.Write("empty.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")};
  EXPECT_EQ(cmd::RunDoctor(options, out, err), 2);
  options.resolve = {"no-port"};
  EXPECT_EQ(cmd::RunDoctor(options, out, err), 2);
  EXPECT_THAT(err.str(), HasSubstr("--resolve"));
}

}  // namespace
}  // namespace ebb
