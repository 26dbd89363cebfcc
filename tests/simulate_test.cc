// `ebb simulate` on the CSV files in the repository and, with
// --from-prometheus, on the real Prometheus's fixed data set.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cmd/simulate_command.h"
#include "common/strings.h"
#include "testing/prometheus/datasets.h"
#include "testing/prometheus/prometheus_server.h"

namespace ebb {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

const std::string kExamples = EBB_SOURCE_DIR "/examples/backtest/";

struct SimRun {
  int code;
  std::string out, err;
};

SimRun Simulate(cmd::SimulateOptions o) {
  std::ostringstream out, err;
  int code = cmd::RunSimulate(o, out, err);
  return {code, out.str(), err.str()};
}

std::vector<std::vector<std::string>> CsvRows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) rows.push_back(Split(line, ','));
  return rows;
}

TEST(Simulate, BacktestExampleProducesTheDocumentedTimeline) {
  cmd::SimulateOptions o;
  o.files = {kExamples + "scaledobject.yaml"};
  o.series = kExamples + "series.csv";
  SimRun r = Simulate(o);
  ASSERT_EQ(r.code, 0) << r.err;
  auto rows = CsvRows(r.out);
  ASSERT_EQ(rows[0][0] + "," + rows[0][1] + "," + rows[0][2] + "," + rows[0][3], "time,replicas,active,reason");
  ASSERT_EQ(rows.size(), 28u);  // header + 27 polls
  EXPECT_EQ(rows[3][1], "1");   // t=60: 12 rps > activation 5 -> activate to 1
  EXPECT_EQ(rows[3][3], "activate");
  EXPECT_EQ(rows[6][1], "4");   // t=150: 180/50 -> 4 (limited by max(2*2, 4))
  EXPECT_EQ(rows[7][1], "6");   // t=180: 260/50 -> 6
  EXPECT_EQ(rows[20][1], "6");  // t=570: inactive since 450, cooldown 120 not yet passed
  EXPECT_EQ(rows[21][1], "0");  // t=600: deactivate
  EXPECT_EQ(rows[21][3], "deactivate");
}

TEST(Simulate, JsonHasTheSummary) {
  cmd::SimulateOptions o;
  o.files = {kExamples + "scaledobject.yaml"};
  o.series = kExamples + "series.csv";
  o.output = "json";
  SimRun r = Simulate(o);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["rows"].size(), 27u);
  EXPECT_EQ(j["summary"]["maxReplicas"], 6);
  EXPECT_EQ(j["summary"]["scaleChanges"], 5);  // 0->1->2->4->6->0
  EXPECT_GT(j["summary"]["replicaSeconds"].get<double>(), 0);
}

TEST(Simulate, InitialReplicasAndSameInputSameOutput) {
  cmd::SimulateOptions o;
  o.files = {kExamples + "scaledobject.yaml"};
  o.series = kExamples + "series.csv";
  o.initial_replicas = 3;
  SimRun a = Simulate(o);
  SimRun b = Simulate(o);
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  auto rows = CsvRows(a.out);
  // t=0 is the creation time: KEDA's scale to zero needs created +
  // initialCooldownPeriod (0) to be strictly before now, so only the HPA
  // acts (no history yet: straight to max(min, 1)); the next poll deactivates.
  EXPECT_EQ(rows[1][1], "1");
  EXPECT_EQ(rows[1][3], "scale-down");
  EXPECT_EQ(rows[2][1], "0");
  EXPECT_EQ(rows[2][3], "deactivate");
}

TEST(Simulate, SeriesErrorsNameLineAndColumn) {
  fs::path csv = fs::temp_directory_path() / ("ebb-sim-bad-" + std::to_string(::getpid()) + ".csv");
  std::ofstream(csv) << "time,rps\n0,1\n30,abc\n";
  cmd::SimulateOptions o;
  o.files = {kExamples + "scaledobject.yaml"};
  o.series = csv.string();
  SimRun r = Simulate(o);
  fs::remove(csv);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr(csv.string() + ":3:2: \"abc\" is not a number"));
}

TEST(Simulate, UnknownColumnIsNamed) {
  fs::path csv = fs::temp_directory_path() / ("ebb-sim-col-" + std::to_string(::getpid()) + ".csv");
  std::ofstream(csv) << "time,latency\n0,1\n";
  cmd::SimulateOptions o;
  o.files = {kExamples + "scaledobject.yaml"};
  o.series = csv.string();
  SimRun r = Simulate(o);
  fs::remove(csv);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("latency"));
}

TEST(Simulate, FromPrometheusReplaysTheRangeQuery) {
  testing::PrometheusOptions po;
  po.openmetrics = testing::dataset::OpenMetrics();
  auto server = testing::PrometheusServer::Start(std::move(po));
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  fs::path dir = fs::temp_directory_path() / ("ebb-sim-prom-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "so.yaml")
      << "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: orders}\nspec:\n"
         "  scaleTargetRef: {name: orders}\n  maxReplicaCount: 10\n  triggers:\n"
         "  - type: prometheus\n    metadata:\n      serverAddress: " << (*server)->base_url() << "\n"
         "      query: '" << testing::dataset::kSingleQuery << "'\n      threshold: '10'\n";
  cmd::SimulateOptions o;
  o.files = {dir.string()};
  o.from_prometheus = true;
  o.start = FormatRfc3339(FromUnixSeconds(testing::dataset::kStartUnix));
  o.end = FormatRfc3339(FromUnixSeconds(testing::dataset::kEndUnix));
  o.step = "12s";
  o.output = "json";
  SimRun r = Simulate(o);
  fs::remove_all(dir);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["rows"].size(), 26u);  // 300 s / 12 s + 1
  EXPECT_EQ(j["rows"][0]["reason"], "activate");
  // ceil(42 / 10) is 5, but 42 / (10 x 4) = 1.05 is within the HPA's 0.1
  // tolerance of the 4 replicas reached on the way up: the HPA keeps 4.
  EXPECT_EQ(j["rows"][25]["replicas"], 4);
  EXPECT_EQ(j["rows"][25]["desired"], 4);
}

TEST(Simulate, FromPrometheusUnreachableExitsOne) {
  fs::path dir = fs::temp_directory_path() / ("ebb-sim-down-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "so.yaml")
      << "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: o}\nspec:\n"
         "  scaleTargetRef: {name: o}\n  triggers:\n  - type: prometheus\n    metadata:\n"
         "      serverAddress: http://127.0.0.1:1\n      query: up\n      threshold: '1'\n";
  cmd::SimulateOptions o;
  o.files = {dir.string()};
  o.from_prometheus = true;
  o.start = "2026-01-01T00:00:00Z";
  o.end = "2026-01-01T00:10:00Z";
  SimRun r = Simulate(o);
  fs::remove_all(dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("connection refused"));
}

}  // namespace
}  // namespace ebb
