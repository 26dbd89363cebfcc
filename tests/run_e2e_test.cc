// `ebb run` end to end: a real Prometheus scraping an exporter whose queue
// depth the test moves, the real ebb binary, and a ProcessPool of real
// worker processes, which must go 0 -> N -> 0 as the load rises and falls,
// with ebb's /metrics showing the value and nothing left behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "common/strings.h"
#include "e2e_util.h"
#include "testing/prometheus/child_process.h"
#include "testing/prometheus/exporter.h"
#include "testing/prometheus/prometheus_server.h"

namespace ebb {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using std::chrono::seconds;

// Live workers: each writes its pid into DIR/<index>.pid at start.
int LiveWorkers(const fs::path& dir) {
  int live = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".pid") continue;
    std::ifstream in(e.path());
    pid_t pid = 0;
    in >> pid;
    if (pid > 0 && kill(pid, 0) == 0) ++live;
  }
  return live;
}

using e2e::ReadAll;
using e2e::WaitUntil;

TEST(EbbRun, ProcessPoolFollowsTheLoadUpAndBackToZero) {
  auto exporter = testing::MetricsExporter::Start();
  ASSERT_TRUE(exporter.ok()) << exporter.status().ToString();
  (*exporter)->Set("ebb_queue_depth", {{"queue", "orders"}}, 0);
  testing::PrometheusOptions po;
  po.scrape_targets = {(*exporter)->address()};
  auto prom = testing::PrometheusServer::Start(std::move(po));
  ASSERT_TRUE(prom.ok()) << prom.status().ToString();

  fs::path dir = fs::temp_directory_path() / ("ebb-run-e2e-" + std::to_string(::getpid()));
  fs::create_directories(dir / "manifests");
  fs::create_directories(dir / "workers");
  std::ofstream(dir / "manifests" / "so.yaml")
      << "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: orders}\nspec:\n"
         "  scaleTargetRef: {apiVersion: ebb.dev/v1alpha1, kind: ProcessPool, name: orders}\n"
         "  pollingInterval: 1\n  cooldownPeriod: 3\n  maxReplicaCount: 4\n  triggers:\n"
         "  - type: prometheus\n    metadata:\n      serverAddress: " << (*prom)->base_url() << "\n"
         "      query: 'sum(ebb_queue_depth{queue=\"orders\"})'\n      threshold: '10'\n"
         "---\napiVersion: ebb.dev/v1alpha1\nkind: ProcessPool\nmetadata: {name: orders}\nspec:\n"
         "  command: /bin/sh\n  args: ['-c', 'echo $$ > " << (dir / "workers").string()
      << "/$EBB_REPLICA_INDEX.pid; exec sleep 600']\n  gracePeriodSeconds: 2\n";
  Result<int> port = testing::PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  int metrics_port = *port;
  auto ebb = testing::ChildProcess::Spawn(
      {EBB_BINARY,
       {"run", "-f", (dir / "manifests").string(), "--metrics-address",
        "127.0.0.1:" + std::to_string(metrics_port)},
       (dir / "ebb.log").string()});
  ASSERT_TRUE(ebb.ok()) << ebb.status().ToString();

  // Load 35 -> ceil(35 / 10) = 4 workers.
  (*exporter)->Set("ebb_queue_depth", {{"queue", "orders"}}, 35);
  EXPECT_TRUE(WaitUntil([&] { return LiveWorkers(dir / "workers") == 4; }, seconds(60)))
      << "workers: " << LiveWorkers(dir / "workers") << "\n" << ReadAll(dir / "ebb.log");
  httplib::Client metrics("127.0.0.1", metrics_port);
  auto scrape = metrics.Get("/metrics");
  ASSERT_TRUE(scrape && scrape->status == 200);
  EXPECT_THAT(scrape->body, HasSubstr("keda_scaler_metrics_value{namespace=\"default\",metric=\"s0-prometheus\","
                                      "scaledObject=\"orders\",scaler=\"prometheusScaler\",triggerIndex=\"0\","
                                      "type=\"scaledobject\"} 35"));
  auto ready = metrics.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);

  // No load: after the 3 s cooldown, back to zero.
  (*exporter)->Set("ebb_queue_depth", {{"queue", "orders"}}, 0);
  EXPECT_TRUE(WaitUntil([&] { return LiveWorkers(dir / "workers") == 0; }, seconds(60)))
      << ReadAll(dir / "ebb.log");

  (*ebb)->Terminate(seconds(10));
  std::string log = ReadAll(dir / "ebb.log");
  EXPECT_THAT(log, HasSubstr("reason=activate"));
  EXPECT_THAT(log, HasSubstr("reason=deactivate"));
  EXPECT_THAT(log, HasSubstr("INFO stopped"));
  fs::remove_all(dir);
}

// Pids written by the workers' background children: DIR/<index>.child.
std::vector<pid_t> Grandchildren(const fs::path& dir) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".child") continue;
    std::ifstream in(e.path());
    pid_t pid = 0;
    in >> pid;
    if (pid > 0) out.push_back(pid);
  }
  return out;
}

// Running and not a zombie (an orphan init has not reaped yet).
bool Running(pid_t pid) {
  if (kill(pid, 0) != 0) return false;
  std::string stat = ReadAll("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

TEST(EbbRun, BadReloadKeepsTheWorkersAndKillNineLeavesNothingBehind) {
  auto exporter = testing::MetricsExporter::Start();
  ASSERT_TRUE(exporter.ok()) << exporter.status().ToString();
  (*exporter)->Set("ebb_queue_depth", {{"queue", "orders"}}, 25);
  testing::PrometheusOptions po;
  po.scrape_targets = {(*exporter)->address()};
  auto prom = testing::PrometheusServer::Start(std::move(po));
  ASSERT_TRUE(prom.ok()) << prom.status().ToString();

  fs::path dir = fs::temp_directory_path() / ("ebb-run-reload-" + std::to_string(::getpid()));
  fs::create_directories(dir / "manifests");
  fs::create_directories(dir / "workers");
  std::string workers = (dir / "workers").string();
  std::ofstream(dir / "manifests" / "so.yaml")
      << "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: orders}\nspec:\n"
         "  scaleTargetRef: {apiVersion: ebb.dev/v1alpha1, kind: ProcessPool, name: orders}\n"
         "  pollingInterval: 1\n  maxReplicaCount: 4\n  triggers:\n"
         "  - type: prometheus\n    metadata:\n      serverAddress: " << (*prom)->base_url() << "\n"
         "      query: 'sum(ebb_queue_depth{queue=\"orders\"})'\n      threshold: '10'\n";
  // Each worker starts a background child, as a shell wrapper would.
  std::ofstream(dir / "manifests" / "pool.yaml")
      << "apiVersion: ebb.dev/v1alpha1\nkind: ProcessPool\nmetadata: {name: orders}\nspec:\n"
         "  command: /bin/sh\n  args: ['-c', 'sleep 600 & echo $! > " << workers
      << "/$EBB_REPLICA_INDEX.child; echo $$ > " << workers
      << "/$EBB_REPLICA_INDEX.pid; wait']\n  gracePeriodSeconds: 2\n";
  Result<int> port = testing::PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  auto ebb = testing::ChildProcess::Spawn(
      {EBB_BINARY,
       {"run", "-f", (dir / "manifests").string(), "--reload-interval", "1", "--metrics-address",
        "127.0.0.1:" + std::to_string(*port)},
       (dir / "ebb.log").string()});
  ASSERT_TRUE(ebb.ok()) << ebb.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return LiveWorkers(dir / "workers") == 3; }, seconds(60)))
      << ReadAll(dir / "ebb.log");

  // A broken edit: apiVersion not a string (it used to abort ebb and with
  // it every worker), then a file that is not YAML at all.
  std::ofstream(dir / "manifests" / "so.yaml") << "apiVersion: 1\nkind: ScaledObject\n";
  ASSERT_TRUE(WaitUntil([&] { return ReadAll(dir / "ebb.log").find("reload refused") != std::string::npos; },
                        seconds(30)))
      << ReadAll(dir / "ebb.log");
  std::ofstream(dir / "manifests" / "so.yaml") << "spec: [unclosed\n";
  ASSERT_TRUE(WaitUntil([&] {
    std::string log = ReadAll(dir / "ebb.log");
    return log.find("reload refused") != log.rfind("reload refused");
  }, seconds(30))) << ReadAll(dir / "ebb.log");
  EXPECT_TRUE(Running((*ebb)->pid()));
  EXPECT_EQ(LiveWorkers(dir / "workers"), 3) << ReadAll(dir / "ebb.log");
  EXPECT_THAT(ReadAll(dir / "ebb.log"), HasSubstr("apiVersion: must be a string, not a number"));

  // kill -9: nothing ebb started may survive, the workers' children included.
  std::vector<pid_t> children = Grandchildren(dir / "workers");
  ASSERT_EQ(children.size(), 3u);
  kill((*ebb)->pid(), SIGKILL);
  EXPECT_TRUE(WaitUntil([&] {
    for (pid_t c : children) {
      if (Running(c)) return false;
    }
    for (const auto& e : fs::directory_iterator(dir / "workers")) {
      if (e.path().extension() != ".pid") continue;
      std::ifstream in(e.path());
      pid_t pid = 0;
      in >> pid;
      if (pid > 0 && Running(pid)) return false;
    }
    return true;
  }, seconds(30)));
  for (pid_t c : children) kill(c, SIGKILL);  // only if the test failed
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ebb
