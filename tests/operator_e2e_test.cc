// `ebb operator` end to end: the real ebb binary against the fake API
// server (TLS, tokens, RBAC, finalizers, leases) and a real Prometheus
// scraping an exporter whose gauge the test moves. Each test starts its own
// servers and ebb processes and checks what a user would see: the
// Deployment's spec.replicas, the ScaledObject's status, the Events, the
// Lease, ebb's /metrics and its log. EBB_E2E_LOGS=1 prints ebb's logs and
// the Events of passing tests too (they are always printed on failure).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "common/strings.h"
#include "e2e_util.h"
#include "testing/kube/fake_apiserver.h"
#include "testing/pki/test_pki.h"
#include "testing/prometheus/child_process.h"
#include "testing/prometheus/exporter.h"
#include "testing/prometheus/prometheus_server.h"
#include "testing/testenv/azure_env.h"

namespace ebb {
namespace {

namespace fs = std::filesystem;
namespace az = testing::azure;
using nlohmann::json;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::kube::FakeApiServer;
using testing::kube::RbacRule;

constexpr char kNamespace[] = "shop";
constexpr char kOperatorNamespace[] = "keda";
constexpr char kLeaseName[] = "ebb-e2e";
constexpr char kMetricName[] = "s0-prometheus";
constexpr char kQuery[] = "sum(ebb_queue_depth{queue=\"orders\"})";
const testing::MetricLabels kOrders = {{"queue", "orders"}};

using e2e::ReadAll;
using e2e::WaitUntil;

json Deployment(const std::string& name, int replicas) {
  return {{"metadata", {{"name", name}, {"namespace", kNamespace}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}}}}},
              {"spec", {{"containers", {{{"name", "app"}, {"image", "busybox"}}}}}}}}}}};
}

struct ScaledObjectSpec {
  std::string name = "orders";
  std::string target = "orders";
  int min = 0;
  int max = 5;
  std::string threshold = "10";
  bool basic_auth = false;
  // A TriggerAuthentication to reference without authModes (pod identity).
  std::string authentication_ref;
  // The trigger's serverAddress; "" : the test's Prometheus.
  std::string server_address;
  bool restore = false;
  // HPA behavior without the 5 min scale-down stabilization.
  bool fast_scale_down = false;
};

json ScaledObject(const ScaledObjectSpec& s, const std::string& server_address) {
  json trigger = {{"type", "prometheus"},
                  {"metadata",
                   {{"serverAddress", s.server_address.empty() ? server_address : s.server_address},
                    {"query", kQuery},
                    {"threshold", s.threshold}}}};
  if (s.basic_auth) {
    trigger["metadata"]["authModes"] = "basic";
    trigger["authenticationRef"] = {{"name", "prom-auth"}};
  }
  if (!s.authentication_ref.empty())
    trigger["authenticationRef"] = {{"name", s.authentication_ref}};
  json spec = {{"scaleTargetRef", {{"name", s.target}}},
               {"pollingInterval", 1},
               {"cooldownPeriod", 3},
               {"minReplicaCount", s.min},
               {"maxReplicaCount", s.max},
               {"triggers", json::array({trigger})}};
  if (s.restore) spec["advanced"]["restoreToOriginalReplicaCount"] = true;
  if (s.fast_scale_down) {
    json fast = {{"stabilizationWindowSeconds", 0},
                 {"policies", {{{"type", "Percent"}, {"value", 100}, {"periodSeconds", 1}}}}};
    spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"] = {{"scaleUp", fast},
                                                                     {"scaleDown", fast}};
  }
  return {{"metadata", {{"name", s.name}, {"namespace", kNamespace}}}, {"spec", spec}};
}

// The condition `type` of a status, or null.
json Condition(const json& status, const std::string& type) {
  for (const json& c : status.value("conditions", json::array())) {
    if (c.value("type", "") == type) return c;
  }
  return nullptr;
}

bool ConditionIs(const json& status, const std::string& type, const std::string& value,
                 const std::string& reason = "") {
  json c = Condition(status, type);
  return c.is_object() && c.value("status", "") == value &&
         (reason.empty() || c.value("reason", "") == reason);
}

// Every non-comment line of /metrics that starts with `name` followed by a
// space or '{' holds one sample; returns the first one's value.
std::optional<double> SampleValue(const std::string& body, const std::string& name) {
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    if (line[name.size()] != ' ' && line[name.size()] != '{') continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nullopt;
}

// One `ebb operator` process.
struct EbbProcess {
  std::string identity;
  std::string user;
  int port = 0;
  fs::path log_path;
  std::unique_ptr<testing::ChildProcess> child;

  std::optional<double> Metric(const std::string& name) const {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(2);
    auto r = c.Get("/metrics");
    if (!r || r->status != 200) return std::nullopt;
    return SampleValue(r->body, name);
  }
  bool Ready() const {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(2);
    auto r = c.Get("/readyz");
    return r && r->status == 200;
  }
  bool Leading() const { return Metric("ebb_leader") == 1.0; }
  std::string Log() const { return ReadAll(log_path); }
  // SIGTERM; the exit status (0 after a clean shutdown).
  std::string Stop() {
    child->Terminate(seconds(15));
    return child->wait_status() ? testing::DescribeWaitStatus(*child->wait_status()) : "running";
  }
};

// The time of the first log line (text format: "TS LEVEL message ...")
// whose message starts with `message`; nullopt when none.
std::optional<Time> LogTime(const std::string& log, const std::string& message) {
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    size_t level_end = line.find(' ', line.find(' ') + 1);
    if (level_end == std::string::npos) continue;
    if (line.compare(level_end + 1, message.size(), message) != 0) continue;
    Time t;
    if (ParseRfc3339(line.substr(0, line.find(' ')), &t)) return t;
  }
  return std::nullopt;
}

class OperatorE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("ebb-operator-e2e-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto exporter = testing::MetricsExporter::Start();
    ASSERT_TRUE(exporter.ok()) << exporter.status().ToString();
    exporter_ = std::move(*exporter);
    exporter_->Set("ebb_queue_depth", kOrders, 0);
  }

  void TearDown() override {
    // EBB_E2E_LOGS=1 prints the logs of passing tests too.
    if (HasFailure() || std::getenv("EBB_E2E_LOGS")) {
      for (const auto& p : ebbs_) std::cerr << "---- ebb " << p->identity << ":\n" << p->Log();
      if (api_) std::cerr << "---- events:\n" << Events().dump(1) << "\n";
      if (prometheus_)
        std::cerr << "---- prometheus:\n" << testing::ReadFileTail(prometheus_->log_path(), 4000);
    }
    ebbs_.clear();
    api_.reset();
    prometheus_.reset();
    fs::remove_all(dir_);
  }

  // The fake API server over TLS; `users`: token -> user.
  void StartApiServer(std::map<std::string, std::string> users,
                      std::optional<std::vector<RbacRule>> rbac = std::nullopt) {
    auto ca = testing::TestCa::Create("ebb operator e2e CA");
    ASSERT_TRUE(ca.ok()) << ca.status().ToString();
    auto cert = ca->IssueServer({"localhost"});
    ASSERT_TRUE(cert.ok()) << cert.status().ToString();
    testing::kube::FakeApiServerOptions o;
    o.tls = *cert;
    o.tokens = std::move(users);
    o.rbac = std::move(rbac);
    auto server = FakeApiServer::Start(std::move(o));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    api_ = std::move(*server);
    ca_path_ = dir_ / "ca.crt";
    std::ofstream(ca_path_) << ca->cert_pem();
  }

  void StartPrometheus(bool basic_auth) {
    testing::PrometheusOptions po;
    po.scrape_targets = {exporter_->address()};
    if (basic_auth) po.basic_auth_users = {testing::TestBasicAuthUser()};
    auto prom = testing::PrometheusServer::Start(std::move(po));
    ASSERT_TRUE(prom.ok()) << prom.status().ToString();
    prometheus_ = std::move(*prom);
  }

  std::string WriteKubeconfig(const std::string& token) {
    fs::path path = dir_ / ("kubeconfig-" + token);
    std::ofstream(path)
        << "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
           "clusters:\n- name: fake\n  cluster:\n    server: "
        << api_->base_url() << "\n    certificate-authority: " << ca_path_.string()
        << "\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n"
           "    namespace: "
        << kOperatorNamespace << "\nusers:\n- name: fake\n  user:\n    token: " << token << "\n";
    return path.string();
  }

  // Starts `ebb operator` with `token` and waits until it is ready. `env`:
  // "NAME=value" variables added to its environment.
  EbbProcess* StartEbb(const std::string& token, const std::string& identity,
                       const std::vector<std::string>& env = {}) {
    Result<int> port = testing::PickFreeLoopbackPort();
    EXPECT_TRUE(port.ok());
    if (!port.ok()) return nullptr;
    auto p = std::make_unique<EbbProcess>();
    p->identity = identity;
    p->port = *port;
    p->log_path = dir_ / (identity + ".log");
    std::vector<std::string> args = {"operator",
                                     "--kubeconfig",
                                     WriteKubeconfig(token),
                                     "--metrics-address",
                                     "127.0.0.1:" + std::to_string(*port),
                                     "--log-format",
                                     "text",
                                     "--leader-elect",
                                     "true",
                                     "--leader-election-namespace",
                                     kOperatorNamespace,
                                     "--leader-election-id",
                                     kLeaseName,
                                     "--identity",
                                     identity,
                                     "--lease-duration",
                                     "3",
                                     "--renew-deadline",
                                     "2",
                                     "--retry-period",
                                     "0.5",
                                     // The emulated managed-Prometheus front door is on loopback.
                                     "--token-destination",
                                     "127.0.0.1"};
    std::string program = EBB_BINARY;
    if (!env.empty()) {  // env(1) sets them: ChildProcess passes its own environment
      args.insert(args.begin(), program);
      args.insert(args.begin(), env.begin(), env.end());
      program = "/usr/bin/env";
    }
    auto child = testing::ChildProcess::Spawn({program, args, p->log_path.string()});
    EXPECT_TRUE(child.ok()) << child.status().ToString();
    if (!child.ok()) return nullptr;
    p->child = std::move(*child);
    EbbProcess* raw = p.get();
    ebbs_.push_back(std::move(p));
    EXPECT_TRUE(WaitUntil([&] { return raw->Ready(); }, seconds(30))) << raw->Log();
    return raw;
  }

  const testing::kube::ResourceType& Type(const std::string& group, const std::string& resource,
                                          const std::string& version = "v1") {
    return *api_->Type(group, version, resource);
  }
  void Seed(const std::string& group, const std::string& resource, json obj,
            const std::string& version = "v1") {
    auto r = api_->store().Seed(Type(group, resource, version), std::move(obj));
    ASSERT_TRUE(r.ok()) << r.body.dump();
  }
  void SeedScaledObject(const ScaledObjectSpec& s) {
    Seed("keda.sh", "scaledobjects", ScaledObject(s, prometheus_->base_url()), "v1alpha1");
  }
  // The Secret and TriggerAuthentication for basic auth with `password`.
  void SeedBasicAuth(std::string_view password) {
    Seed("", "secrets",
         {{"metadata", {{"name", "prom-creds"}, {"namespace", kNamespace}}},
          {"type", "Opaque"},
          {"data",
           {{"username", Base64Encode(testing::kTestBasicAuthUsername)},
            {"password", Base64Encode(password)}}}});
    Seed("keda.sh", "triggerauthentications",
         {{"metadata", {{"name", "prom-auth"}, {"namespace", kNamespace}}},
          {"spec",
           {{"secretTargetRef",
             {{{"parameter", "username"}, {"name", "prom-creds"}, {"key", "username"}},
              {{"parameter", "password"}, {"name", "prom-creds"}, {"key", "password"}}}}}}},
         "v1alpha1");
  }

  int Replicas(const std::string& name) {
    auto r = api_->store().Get(Type("apps", "deployments"), kNamespace, name);
    return r.ok() ? r.body["spec"].value("replicas", -1) : -1;
  }
  json ScaledObjectJson(const std::string& name) {
    auto r = api_->store().Get(Type("keda.sh", "scaledobjects", "v1alpha1"), kNamespace, name);
    return r.ok() ? r.body : json(nullptr);
  }
  json Status(const std::string& name) {
    json so = ScaledObjectJson(name);
    return so.is_object() ? so.value("status", json::object()) : json::object();
  }
  std::string Health(const std::string& name) {
    json h = Status(name).value("health", json::object());
    return h.contains(kMetricName) ? h[kMetricName].value("status", "") : "";
  }
  json Events() {
    auto r = api_->store().List(Type("", "events"), kNamespace, {});
    return r.ok() ? r.body["items"] : json::array();
  }
  // The first Event about `object` with `reason` whose message contains
  // `text`, or null.
  json FindEvent(const std::string& object, const std::string& reason,
                 const std::string& text = "") {
    for (const json& e : Events()) {
      if (e["involvedObject"].value("name", "") != object || e.value("reason", "") != reason)
        continue;
      if (e.value("message", "").find(text) != std::string::npos) return e;
    }
    return nullptr;
  }
  json Lease() {
    auto r =
        api_->store().Get(Type("coordination.k8s.io", "leases"), kOperatorNamespace, kLeaseName);
    return r.ok() ? r.body : json(nullptr);
  }

  // SIGTERMs every ebb (followers first, so the leader's release is the
  // last word) and checks each exited 0 and the Lease was released.
  void StopAllAndCheckLeaseReleased() {
    std::stable_partition(ebbs_.begin(), ebbs_.end(),
                          [](const auto& p) { return !p->child->HasExited() && !p->Leading(); });
    for (auto& p : ebbs_) {
      if (p->child->HasExited()) continue;
      EXPECT_EQ(p->Stop(), "exited with code 0") << p->identity;
      EXPECT_THAT(p->Log(), HasSubstr("INFO stopped")) << p->identity;
    }
    json lease = Lease();
    ASSERT_TRUE(lease.is_object()) << "the Lease was never created";
    EXPECT_EQ(lease["spec"].value("holderIdentity", "<missing>"), "") << lease.dump();
  }

  // PUTs on the Deployment's scale subresource, by user, in the order the
  // server answered them.
  std::vector<testing::kube::RequestRecord> ScalePuts() {
    std::vector<testing::kube::RequestRecord> out;
    for (const auto& r : api_->Requests()) {
      if (r.method == "PUT" && r.path.ends_with("/deployments/orders/scale")) out.push_back(r);
    }
    return out;
  }

  void RunFinalizerScenario(int original);

  fs::path dir_;
  fs::path ca_path_;
  std::unique_ptr<testing::MetricsExporter> exporter_;
  std::unique_ptr<testing::PrometheusServer> prometheus_;
  std::unique_ptr<FakeApiServer> api_;
  std::vector<std::unique_ptr<EbbProcess>> ebbs_;
};

const std::map<std::string, std::string> kOneUser = {{"tok-ebb", "system:serviceaccount:keda:ebb"}};

// Scenario 1: Secret-authenticated trigger scales a Deployment 0 -> N -> 0.
TEST_F(OperatorE2eTest, SecretAuthenticatedTriggerScalesUpAndBackToZero) {
  StartApiServer(kOneUser);
  StartPrometheus(/*basic_auth=*/true);
  SeedBasicAuth(testing::kTestBasicAuthPassword);
  Seed("apps", "deployments", Deployment("orders", 0));
  SeedScaledObject({.basic_auth = true});
  EbbProcess* ebb = StartEbb("tok-ebb", "ebb-0");
  ASSERT_NE(ebb, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return ebb->Leading(); }, seconds(20)));

  // 35 / threshold 10 -> ceil(3.5) = 4.
  exporter_->Set("ebb_queue_depth", kOrders, 35);
  ASSERT_TRUE(WaitUntil([&] { return Replicas("orders") == 4; }, seconds(60)))
      << "replicas " << Replicas("orders") << " status " << Status("orders").dump();
  ASSERT_TRUE(
      WaitUntil([&] { return ConditionIs(Status("orders"), "Active", "True"); }, seconds(10)))
      << Status("orders").dump();
  json status = Status("orders");
  EXPECT_TRUE(ConditionIs(status, "Ready", "True")) << status.dump();
  EXPECT_TRUE(status.contains("lastActiveTime")) << status.dump();
  EXPECT_EQ(status.value("externalMetricNames", json::array()), json::array({kMetricName}));
  EXPECT_EQ(Health("orders"), "Happy") << status.dump();
  EXPECT_EQ(status.value("scaleTargetKind", ""), "apps/v1.Deployment");
  json activated = FindEvent("orders", "KEDAScaleTargetActivated");
  ASSERT_TRUE(activated.is_object()) << Events().dump();
  EXPECT_EQ(activated.value("type", ""), "Normal");
  EXPECT_THAT(activated.value("message", ""), HasSubstr("Scaled Deployment shop/orders from 0 to"));
  EXPECT_EQ(activated["involvedObject"].value("kind", ""), "ScaledObject");
  json scaled = FindEvent("orders", "KEDAScaleTargetScaled", " to 4: ");
  ASSERT_TRUE(scaled.is_object()) << Events().dump();
  EXPECT_EQ(scaled.value("type", ""), "Normal");
  EXPECT_GE(ebb->Metric("ebb_status_writes_total").value_or(0), 1);
  EXPECT_GE(ebb->Metric("ebb_events_created_total").value_or(0), 2);

  // No load: after the 3 s cooldown, back to zero.
  exporter_->Set("ebb_queue_depth", kOrders, 0);
  ASSERT_TRUE(WaitUntil([&] { return Replicas("orders") == 0; }, seconds(60)))
      << "replicas " << Replicas("orders") << " status " << Status("orders").dump();
  ASSERT_TRUE(
      WaitUntil([&] { return ConditionIs(Status("orders"), "Active", "False"); }, seconds(10)))
      << Status("orders").dump();
  EXPECT_TRUE(ConditionIs(Status("orders"), "Ready", "True")) << Status("orders").dump();
  // The Event and the status are separate requests sent together: the
  // status may land first.
  json deactivated;
  ASSERT_TRUE(WaitUntil(
      [&] {
        deactivated = FindEvent("orders", "KEDAScaleTargetDeactivated");
        return deactivated.is_object();
      },
      seconds(10)))
      << Events().dump();
  EXPECT_THAT(deactivated.value("message", ""),
              HasSubstr("Scaled Deployment shop/orders from 4 to 0"));
  EXPECT_THAT(ebb->Log(), HasSubstr("INFO scaled"));

  // The secret never leaks: not in the log, the Events or the status.
  const std::string password(testing::kTestBasicAuthPassword);
  for (const std::string& text : {ebb->Log(), Events().dump(), Status("orders").dump()}) {
    EXPECT_THAT(text, Not(HasSubstr(password)));
    EXPECT_THAT(text, Not(HasSubstr(Base64Encode(password))));
  }
  StopAllAndCheckLeaseReleased();
}

// Scenario 2: an invalid ScaledObject is reported and does not stop the
// valid one.
TEST_F(OperatorE2eTest, InvalidScaledObjectIsReportedWhileTheValidOneScales) {
  StartApiServer(kOneUser);
  StartPrometheus(/*basic_auth=*/false);
  Seed("apps", "deployments", Deployment("orders", 0));
  Seed("apps", "deployments", Deployment("other", 0));
  SeedScaledObject({});
  SeedScaledObject({.name = "bad", .target = "other", .min = 5, .max = 2});
  SeedScaledObject({.name = "bad-threshold", .target = "other", .threshold = "ten"});
  EbbProcess* ebb = StartEbb("tok-ebb", "ebb-0");
  ASSERT_NE(ebb, nullptr);

  ASSERT_TRUE(WaitUntil([&] { return ConditionIs(Status("bad"), "Ready", "False"); }, seconds(30)))
      << Status("bad").dump();
  EXPECT_TRUE(ConditionIs(Status("bad"), "Ready", "False", "ScaledObjectCheckFailed"))
      << Status("bad").dump();
  json warning;
  ASSERT_TRUE(
      WaitUntil([&] { return (warning = FindEvent("bad", "ScaledObjectCheckFailed")).is_object(); },
                seconds(10)))
      << Events().dump();
  EXPECT_EQ(warning.value("type", ""), "Warning");
  EXPECT_THAT(warning.value("message", ""), HasSubstr("spec.minReplicaCount"));
  EXPECT_THAT(warning.value("message", ""), HasSubstr("shop/bad"));

  // A trigger whose metadata is invalid: reported the same way, naming the key.
  ASSERT_TRUE(WaitUntil([&] { return ConditionIs(Status("bad-threshold"), "Ready", "False"); },
                        seconds(30)))
      << Status("bad-threshold").dump();
  EXPECT_TRUE(ConditionIs(Status("bad-threshold"), "Ready", "False", "ScaledObjectCheckFailed"))
      << Status("bad-threshold").dump();
  json threshold_warning;
  ASSERT_TRUE(WaitUntil(
      [&] {
        threshold_warning = FindEvent("bad-threshold", "ScaledObjectCheckFailed",
                                      "spec.triggers[0].metadata.threshold");
        return threshold_warning.is_object();
      },
      seconds(10)))
      << Events().dump();
  EXPECT_EQ(threshold_warning.value("type", ""), "Warning");

  exporter_->Set("ebb_queue_depth", kOrders, 35);
  EXPECT_TRUE(WaitUntil([&] { return Replicas("orders") == 4; }, seconds(60)))
      << "replicas " << Replicas("orders") << " status " << Status("orders").dump();
  EXPECT_TRUE(ConditionIs(Status("orders"), "Ready", "True")) << Status("orders").dump();
  EXPECT_EQ(Replicas("other"), 0) << "the invalid object's target is left alone";
  StopAllAndCheckLeaseReleased();
}

// Scenario 3: the password rotates in Prometheus, then in the Secret.
TEST_F(OperatorE2eTest, RotatedSecretIsPickedUpWithoutRestart) {
  StartApiServer(kOneUser);
  StartPrometheus(/*basic_auth=*/true);
  SeedBasicAuth(testing::kTestBasicAuthPassword);
  Seed("apps", "deployments", Deployment("orders", 0));
  SeedScaledObject({.basic_auth = true});
  EbbProcess* ebb = StartEbb("tok-ebb", "ebb-0");
  ASSERT_NE(ebb, nullptr);
  exporter_->Set("ebb_queue_depth", kOrders, 15);
  ASSERT_TRUE(WaitUntil([&] { return Replicas("orders") == 2; }, seconds(60)))
      << "replicas " << Replicas("orders") << " status " << Status("orders").dump();
  EXPECT_EQ(Health("orders"), "Happy");

  // Only Prometheus knows the new password: every poll fails.
  ASSERT_TRUE(prometheus_->SetBasicAuthUsers({testing::RotatedBasicAuthUser()}).ok());
  EXPECT_TRUE(WaitUntil([&] { return Health("orders") == "Failing"; }, seconds(30)))
      << Status("orders").dump();
  EXPECT_EQ(Replicas("orders"), 2) << "failed polls change nothing";

  // The Secret catches up, in place: polls succeed again and scaling goes on.
  json patch = {{"data", {{"password", Base64Encode(testing::kRotatedBasicAuthPassword)}}}};
  auto r = api_->store().Patch(Type("", "secrets"), kNamespace, "prom-creds",
                               "application/merge-patch+json", patch.dump(), false);
  ASSERT_TRUE(r.ok()) << r.body.dump();
  EXPECT_TRUE(WaitUntil([&] { return Health("orders") == "Happy"; }, seconds(30)))
      << Status("orders").dump();
  exporter_->Set("ebb_queue_depth", kOrders, 35);
  EXPECT_TRUE(WaitUntil([&] { return Replicas("orders") == 4; }, seconds(60)))
      << "replicas " << Replicas("orders") << " status " << Status("orders").dump();

  for (std::string_view password :
       {testing::kTestBasicAuthPassword, testing::kRotatedBasicAuthPassword}) {
    EXPECT_THAT(ebb->Log(), Not(HasSubstr(std::string(password))));
    EXPECT_THAT(Events().dump(), Not(HasSubstr(std::string(password))));
    EXPECT_THAT(Status("orders").dump(), Not(HasSubstr(std::string(password))));
  }
  StopAllAndCheckLeaseReleased();
}

// Everything ebb needs, except `update`/`patch` on deployments/scale.
std::vector<RbacRule> RulesWithoutScaleUpdate(const std::string& user) {
  const std::vector<std::string> all = {"*"};
  return {
      {user, all, {"", "keda.sh", "coordination.k8s.io"}, all, {}},
      {user, all, {"apps"}, {"deployments", "statefulsets"}, {}},
      {user, {"get"}, {"apps"}, {"deployments/scale"}, {}},
  };
}

// Scenario 4: RBAC denies the scale update; granting it lets scaling go on.
TEST_F(OperatorE2eTest, ForbiddenScaleIsReportedUntilGranted) {
  const std::string user = kOneUser.begin()->second;
  StartApiServer(kOneUser, RulesWithoutScaleUpdate(user));
  StartPrometheus(/*basic_auth=*/false);
  Seed("apps", "deployments", Deployment("orders", 0));
  SeedScaledObject({});
  EbbProcess* ebb = StartEbb("tok-ebb", "ebb-0");
  ASSERT_NE(ebb, nullptr);
  exporter_->Set("ebb_queue_depth", kOrders, 35);

  json warning;
  ASSERT_TRUE(WaitUntil(
      [&] { return (warning = FindEvent("orders", "ScaleTargetError")).is_object(); }, seconds(60)))
      << Events().dump() << Status("orders").dump();
  EXPECT_EQ(warning.value("type", ""), "Warning");
  EXPECT_THAT(warning.value("message", ""), HasSubstr("\"update\""));
  EXPECT_THAT(warning.value("message", ""), HasSubstr("deployments/scale"));
  EXPECT_TRUE(
      WaitUntil([&] { return ConditionIs(Status("orders"), "Ready", "False"); }, seconds(10)))
      << Status("orders").dump();
  EXPECT_EQ(Replicas("orders"), 0);

  std::vector<RbacRule> granted = RulesWithoutScaleUpdate(user);
  granted.push_back({user, {"update", "patch"}, {"apps"}, {"deployments/scale"}, {}});
  api_->SetRbac(granted);
  EXPECT_TRUE(WaitUntil([&] { return Replicas("orders") == 4; }, seconds(60)))
      << "replicas " << Replicas("orders") << " status " << Status("orders").dump();
  EXPECT_TRUE(
      WaitUntil([&] { return ConditionIs(Status("orders"), "Ready", "True"); }, seconds(10)))
      << Status("orders").dump();
  StopAllAndCheckLeaseReleased();
}

// Moves the gauge between 20 and 40 every `period` while alive, so the
// leader keeps scaling between 2 and 4 replicas.
class Oscillator {
 public:
  Oscillator(testing::MetricsExporter& exporter, std::chrono::milliseconds period)
      : thread_([&exporter, period](std::stop_token st) {
          for (bool high = true; !st.stop_requested(); high = !high) {
            exporter.Set("ebb_queue_depth", kOrders, high ? 40 : 20);
            std::this_thread::sleep_for(period);
          }
        }) {}

 private:
  std::jthread thread_;
};

// Scenario 5: two operators, one leader; a killed leader and a leader cut
// off from its Lease both hand over without two processes scaling at once.
TEST_F(OperatorE2eTest, LeaderElectionHandsOverWithoutOverlap) {
  const std::map<std::string, std::string> users = {
      {"tok-a", "user-a"}, {"tok-b", "user-b"}, {"tok-c", "user-c"}};
  StartApiServer(users);
  StartPrometheus(/*basic_auth=*/false);
  Seed("apps", "deployments", Deployment("orders", 0));
  SeedScaledObject({.fast_scale_down = true});
  EbbProcess* a = StartEbb("tok-a", "ebb-a");
  ASSERT_NE(a, nullptr);
  a->user = "user-a";
  EbbProcess* b = StartEbb("tok-b", "ebb-b");
  ASSERT_NE(b, nullptr);
  b->user = "user-b";
  ASSERT_TRUE(WaitUntil([&] { return a->Leading() || b->Leading(); }, seconds(20)));
  EbbProcess* leader = a->Leading() ? a : b;
  EbbProcess* follower = leader == a ? b : a;
  EXPECT_EQ(follower->Metric("ebb_leader"), 0.0);
  EXPECT_EQ(Lease()["spec"].value("holderIdentity", ""), leader->identity);

  Oscillator load(*exporter_, std::chrono::milliseconds(1500));
  ASSERT_TRUE(WaitUntil([&] { return ScalePuts().size() >= 3; }, seconds(60)))
      << ScalePuts().size();
  for (const auto& put : ScalePuts()) EXPECT_EQ(put.user, leader->user) << "only the leader scales";

  // SIGKILL: no release; the follower takes over once the lease expires.
  kill(leader->child->pid(), SIGKILL);
  leader->child->Wait(seconds(5));
  const auto killed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitUntil([&] { return follower->Leading(); }, seconds(15)));
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, seconds(3 + 6)) << "lease 3 s + slack";
  size_t before = ScalePuts().size();
  ASSERT_TRUE(WaitUntil([&] { return ScalePuts().size() >= before + 2; }, seconds(30)));
  EXPECT_EQ(ScalePuts().back().user, follower->user);

  // A third process joins as follower; then the leader loses the right to
  // renew its Lease (RBAC) while it can still reach the Deployment.
  EbbProcess* c = StartEbb("tok-c", "ebb-c");
  ASSERT_NE(c, nullptr);
  c->user = "user-c";
  EbbProcess* old_leader = follower;
  EXPECT_EQ(c->Metric("ebb_leader"), 0.0);
  const std::vector<std::string> all = {"*"};
  std::vector<RbacRule> cut = {
      {"user-c", all, all, all, {}},
      {old_leader->user, all, {"", "keda.sh", "apps"}, all, {}},
      {old_leader->user, {"get", "list", "watch"}, {"coordination.k8s.io"}, all, {}}};
  api_->ClearRequests();
  api_->SetRbac(cut);
  ASSERT_TRUE(WaitUntil([&] { return c->Leading(); }, seconds(20))) << old_leader->Log();
  EXPECT_EQ(old_leader->Metric("ebb_leader"), 0.0);
  ASSERT_TRUE(WaitUntil(
      [&] { return ScalePuts().size() >= 2 && ScalePuts().back().user == "user-c"; }, seconds(30)));
  std::vector<testing::kube::RequestRecord> puts = ScalePuts();
  auto first_new =
      std::find_if(puts.begin(), puts.end(), [](const auto& r) { return r.user == "user-c"; });
  if (std::getenv("EBB_E2E_LOGS")) {
    for (const auto& r : puts) std::cerr << "PUT scale by " << r.user << " -> " << r.status << "\n";
  }
  for (auto it = first_new; it != puts.end(); ++it) {
    EXPECT_EQ(it->user, "user-c") << "the old leader scaled after the new one began";
  }
  std::optional<Time> stopped = LogTime(old_leader->Log(), "no longer acting");
  std::optional<Time> started = LogTime(c->Log(), "acting as leader");
  ASSERT_TRUE(stopped) << old_leader->Log();
  ASSERT_TRUE(started) << c->Log();
  EXPECT_LE(*stopped, *started) << "the old leader stops acting before the new one starts";

  api_->SetRbac(std::nullopt);
  StopAllAndCheckLeaseReleased();
}

// Scenario 6: restoreToOriginalReplicaCount through the finalizer: the
// Deployment starts at `original` replicas, is scaled to 4, and gets
// `original` back when the ScaledObject is deleted.
void OperatorE2eTest::RunFinalizerScenario(int original) {
  StartApiServer(kOneUser);
  StartPrometheus(/*basic_auth=*/false);
  Seed("apps", "deployments", Deployment("orders", original));
  SeedScaledObject({.restore = true});
  EbbProcess* ebb = StartEbb("tok-ebb", "ebb-0");
  ASSERT_NE(ebb, nullptr);
  auto has_finalizer = [&] {
    json so = ScaledObjectJson("orders");
    return so.is_object() &&
           so["metadata"].value("finalizers", json::array()) == json::array({"finalizer.keda.sh"});
  };
  ASSERT_TRUE(WaitUntil(has_finalizer, seconds(30))) << ScaledObjectJson("orders").dump();

  exporter_->Set("ebb_queue_depth", kOrders, 35);
  ASSERT_TRUE(WaitUntil([&] { return Replicas("orders") == 4; }, seconds(60)))
      << "replicas " << Replicas("orders") << " status " << Status("orders").dump();
  EXPECT_EQ(Status("orders").value("originalReplicaCount", -1), original)
      << Status("orders").dump();

  auto deleted =
      api_->store().Delete(Type("keda.sh", "scaledobjects", "v1alpha1"), kNamespace, "orders");
  ASSERT_TRUE(deleted.ok()) << deleted.body.dump();
  EXPECT_TRUE(WaitUntil([&] { return ScaledObjectJson("orders").is_null(); }, seconds(30)))
      << ScaledObjectJson("orders").dump();
  EXPECT_EQ(Replicas("orders"), original);
  EXPECT_THAT(ebb->Log(), HasSubstr("restoring original replicas"));
  StopAllAndCheckLeaseReleased();
}

TEST_F(OperatorE2eTest, FinalizerRestoresOriginalReplicasOnDeletion) { RunFinalizerScenario(2); }

// KEDA records originalReplicaCount 0 too (a pointer, so omitempty keeps
// it) and restores a Deployment that started at zero back to zero.
TEST_F(OperatorE2eTest, FinalizerRestoresZeroOriginalReplicas) { RunFinalizerScenario(0); }

// Scenario 7: scenario 1 through the Azure managed-Prometheus front door,
// authenticated with azure-workload identity from the operator's environment.
TEST_F(OperatorE2eTest, AzureWorkloadIdentityThroughManagedPrometheusScales) {
  StartApiServer(kOneUser);
  StartPrometheus(/*basic_auth=*/false);
  az::AzureTestEnvOptions o;
  o.prometheus_url = prometheus_->base_url();
  o.dir = (dir_ / "azure").string();
  o.ns = kOperatorNamespace;
  o.service_account = "ebb";
  auto azure = az::AzureTestEnv::Start(std::move(o));
  ASSERT_TRUE(azure.ok()) << azure.status().ToString();
  az::AzureTestEnv& env = **azure;
  Seed("keda.sh", "triggerauthentications",
       {{"metadata", {{"name", "azure-managed-prometheus"}, {"namespace", kNamespace}}},
        {"spec", {{"podIdentity", {{"provider", "azure-workload"}}}}}},
       "v1alpha1");
  Seed("apps", "deployments", Deployment("orders", 0));
  SeedScaledObject({.authentication_ref = "azure-managed-prometheus",
                    .server_address = env.front_door().base_url()});
  EbbProcess* ebb = StartEbb(
      "tok-ebb", "ebb-0",
      {"AZURE_CLIENT_ID=" + env.options().client_id, "AZURE_TENANT_ID=" + env.options().tenant_id,
       "AZURE_FEDERATED_TOKEN_FILE=" + env.token_file(),
       "AZURE_AUTHORITY_HOST=" + env.idp().authority_url(), "SSL_CERT_FILE=" + env.ca_file()});
  ASSERT_NE(ebb, nullptr);

  exporter_->Set("ebb_queue_depth", kOrders, 35);
  ASSERT_TRUE(WaitUntil([&] { return Replicas("orders") == 4; }, seconds(60)))
      << "replicas " << Replicas("orders") << " status " << Status("orders").dump();
  EXPECT_EQ(Health("orders"), "Happy") << Status("orders").dump();
  EXPECT_TRUE(ConditionIs(Status("orders"), "Ready", "True")) << Status("orders").dump();
  exporter_->Set("ebb_queue_depth", kOrders, 0);
  ASSERT_TRUE(WaitUntil([&] { return Replicas("orders") == 0; }, seconds(60)))
      << "replicas " << Replicas("orders") << " status " << Status("orders").dump();

  EXPECT_TRUE(FindEvent("orders", "KEDAScaleTargetActivated", "from 0 to 1").is_object())
      << Events().dump();
  EXPECT_TRUE(FindEvent("orders", "KEDAScaleTargetDeactivated", "from 4 to 0").is_object())
      << Events().dump();
  EXPECT_GT(env.front_door().counters().proxied, 2);
  EXPECT_EQ(env.front_door().counters().without_authorization, 0);
  EXPECT_EQ(env.front_door().counters().unauthorized, 0);
  EXPECT_GE(env.idp().counters().successes, 1);
  EXPECT_LE(env.idp().counters().requests, 2) << "the token is cached, not fetched per poll";
  for (const std::string& text : {ebb->Log(), Events().dump(), Status("orders").dump()}) {
    EXPECT_THAT(text, Not(HasSubstr("eyJ"))) << "a JWT leaked";
  }
  StopAllAndCheckLeaseReleased();
}

}  // namespace
}  // namespace ebb
