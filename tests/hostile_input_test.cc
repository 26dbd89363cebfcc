// Hostile manifests through the commands that read them (query, simulate,
// doctor): every field of a full manifest replaced by each wrong type must
// give an error or a result, never an abort; invalid UTF-8 must not break
// --output json; a metric of 1e17 (or +Inf) must saturate at
// maxReplicaCount, the same in query and simulate.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cmd/doctor_command.h"
#include "cmd/query_command.h"
#include "cmd/simulate_command.h"
#include "common/strings.h"

namespace ebb {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

// Answers every instant query with one sample of `value` (text, as
// Prometheus writes it: "1e+17", "+Inf", "NaN").
class FakePrometheus {
 public:
  explicit FakePrometheus(std::string value) : value_(std::move(value)) {
    server_.Get("/api/v1/query", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"success","data":{"resultType":"vector","result":[)"
                      R"({"metric":{},"value":[1700000000,")" + value_ + R"("]}]}})",
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~FakePrometheus() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string value_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("ebb-hostile-" + std::to_string(::getpid()) + "-" +
                                                  std::to_string(counter_++))) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  fs::path Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
    return path_ / name;
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

// A manifest that touches most of what the decoders read.
json FullManifest(const std::string& server) {
  return json::parse(R"({
    "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"a": "b"},
                 "annotations": {"autoscaling.keda.sh/paused-replicas": "2"}},
    "spec": {
      "scaleTargetRef": {"name": "web", "kind": "Deployment", "apiVersion": "apps/v1"},
      "pollingInterval": 30, "cooldownPeriod": 120, "initialCooldownPeriod": 0,
      "minReplicaCount": 1, "maxReplicaCount": 10, "idleReplicaCount": 0,
      "fallback": {"failureThreshold": 3, "replicas": 2},
      "advanced": {
        "restoreToOriginalReplicaCount": true,
        "horizontalPodAutoscalerConfig": {"name": "h", "behavior": {
          "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                      "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}]},
          "scaleDown": {"policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]}}},
        "scalingModifiers": {"formula": "rps * 2", "target": "10", "activationTarget": "1",
                             "metricType": "AverageValue"}},
      "triggers": [{"type": "prometheus", "name": "rps", "metricType": "AverageValue",
                    "useCachedMetrics": false,
                    "authenticationRef": {"name": "auth", "kind": "TriggerAuthentication"},
                    "metadata": {"serverAddress": ")" + server + R"(", "query": "up",
                                 "threshold": "10", "activationThreshold": "1",
                                 "customHeaders": "a=b", "ignoreNullValues": "true"}}]}})");
}

json FullAuth() {
  return json::parse(R"({
    "apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
    "metadata": {"name": "auth", "namespace": "shop"},
    "spec": {"secretTargetRef": [{"parameter": "bearerToken", "name": "s", "key": "token"}],
             "env": [{"parameter": "x", "name": "Y"}],
             "podIdentity": {"provider": "none"}}})");
}

json FullSecret() {
  return json::parse(R"({"apiVersion": "v1", "kind": "Secret",
    "metadata": {"name": "s", "namespace": "shop"}, "data": {"token": "dG9rZW4="},
    "stringData": {"other": "x"}})");
}

// Every path in `j` (objects and arrays), as JSON pointers.
void Paths(const json& j, const json::json_pointer& at, std::vector<json::json_pointer>* out) {
  out->push_back(at);
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) Paths(*it, at / it.key(), out);
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) Paths(j[i], at / i, out);
  }
}

// Stands for a string of invalid UTF-8, put in after dump() (which would
// refuse or replace it).
constexpr const char* kBadUtf8Marker = "@@bad-utf8@@";

const std::vector<json>& HostileValues() {
  static const std::vector<json> values = {
      json(1), json(-1e300), json::object({{"x", 1}}), json::array({1, "a"}), json(true),
      json(nullptr), json(kBadUtf8Marker), json(18446744073709551615ull)};
  return values;
}

struct Outcome {
  int code;
  std::string out, err;
};

Outcome Query(const fs::path& file, const std::string& output = "json") {
  cmd::QueryOptions o;
  o.files = {file.string()};
  o.output = output;
  o.allow_insecure_auth = true;
  std::ostringstream out, err;
  int code = cmd::RunQuery(o, out, err);
  return {code, out.str(), err.str()};
}

Outcome Simulate(const fs::path& file, const fs::path& series, std::optional<int> initial = {}) {
  cmd::SimulateOptions o;
  o.files = {file.string()};
  o.series = series.string();
  o.output = "json";
  o.initial_replicas = initial;
  std::ostringstream out, err;
  int code = cmd::RunSimulate(o, out, err);
  return {code, out.str(), err.str()};
}

Outcome Doctor(const fs::path& file) {
  cmd::DoctorOptions o;
  o.files = {file.string()};
  o.offline = true;
  o.output = "json";
  o.environment = std::map<std::string, std::string>{};
  std::ostringstream out, err;
  int code = cmd::RunDoctor(o, out, err);
  return {code, out.str(), err.str()};
}

TEST(HostileManifests, EveryFieldWithEveryWrongTypeIsAnErrorOrAResultNeverAnAbort) {
  FakePrometheus prom("5");
  TempDir dir;
  fs::path series = dir.Write("series.csv", "time,rps\n0,5\n30,50\n");
  struct Base {
    std::string name;
    json value;
  };
  std::vector<Base> bases = {{"so", FullManifest(prom.url())}, {"auth", FullAuth()},
                             {"secret", FullSecret()}};
  int cases = 0;
  for (const Base& base : bases) {
    std::vector<json::json_pointer> paths;
    Paths(base.value, json::json_pointer(), &paths);
    for (const json::json_pointer& path : paths) {
      for (const json& bad : HostileValues()) {
        json mutated = base.value;
        if (path.empty()) {
          mutated = bad;
        } else {
          mutated[path] = bad;
        }
        std::vector<json> docs = {FullManifest(prom.url()), FullAuth(), FullSecret()};
        docs[base.name == "so" ? 0 : base.name == "auth" ? 1 : 2] = mutated;
        std::string text = json(docs).dump();
        for (size_t at = text.find(kBadUtf8Marker); at != std::string::npos;
             at = text.find(kBadUtf8Marker)) {
          text.replace(at, std::string_view(kBadUtf8Marker).size(), "w\xff\xfe");
        }
        fs::path file = dir.Write("m.json", text);
        SCOPED_TRACE(base.name + " " + path.to_string() + " = " + bad.dump());
        Outcome q = Query(file);
        EXPECT_THAT(q.code, ::testing::AnyOf(0, 1, 2)) << q.err;
        if (q.code != 2) EXPECT_TRUE(json::accept(q.out)) << q.out;
        Outcome s = Simulate(file, series);
        EXPECT_THAT(s.code, ::testing::AnyOf(0, 2)) << s.err;
        Outcome d = Doctor(file);
        EXPECT_THAT(d.code, ::testing::AnyOf(0, 1, 2)) << d.err;
        ++cases;
      }
    }
  }
  EXPECT_GT(cases, 400);
}

TEST(HostileManifests, NonStringApiVersionIsALocatedErrorInEveryCommand) {
  TempDir dir;
  fs::path file = dir.Write("so.yaml",
                            "apiVersion: 1\nkind: ScaledObject\nmetadata:\n  name: {a: 1}\n");
  fs::path series = dir.Write("series.csv", "time,rps\n0,5\n");
  for (const Outcome& o : {Query(file), Simulate(file, series), Doctor(file)}) {
    EXPECT_EQ(o.code, 2);
    EXPECT_THAT(o.err + o.out, HasSubstr("so.yaml:1 (document 1): apiVersion: must be a string, not a number"));
  }
}

TEST(HostileManifests, InvalidUtf8NameWithJsonOutputIsReplacedNotAnAbort) {
  FakePrometheus prom("5");
  TempDir dir;
  fs::path file = dir.Write(
      "so.yaml", "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: \"w\xff\xfe\"}\n"
                 "spec:\n  scaleTargetRef: {name: w}\n  triggers:\n  - type: prometheus\n"
                 "    name: \"t\xc3\"\n    metadata: {serverAddress: '" + prom.url() +
                 "', query: up, threshold: '1'}\n");
  Outcome q = Query(file);
  ASSERT_EQ(q.code, 0) << q.err;
  json j = json::parse(q.out);
  EXPECT_EQ(j["scaledObjects"][0]["name"], "w\xEF\xBF\xBD\xEF\xBF\xBD");
  Outcome d = Doctor(file);
  EXPECT_TRUE(json::accept(d.out)) << d.out;
  EXPECT_EQ(JsonEscape("a\xff" "b\xe2\x82\xac"), "a\xEF\xBF\xBD" "b\xe2\x82\xac");
}

// The ScaledObject for the saturation tests: max 10, AverageValue 10.
std::string SaturationManifest(const std::string& server) {
  return "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: orders}\nspec:\n"
         "  scaleTargetRef: {name: orders}\n  minReplicaCount: 1\n  maxReplicaCount: 10\n"
         "  triggers:\n  - type: prometheus\n    name: rps\n    metadata:\n"
         "      serverAddress: " + server + "\n      query: up\n      threshold: '10'\n";
}

TEST(HostileMetrics, HugeValuesSaturateAtMaxReplicasInQueryAndSimulateAlike) {
  for (std::string value : {"1e17", "1e+300", "9.3e18", "+Inf"}) {
    SCOPED_TRACE(value);
    FakePrometheus prom(value);
    TempDir dir;
    fs::path file = dir.Write("so.yaml", SaturationManifest(prom.url()));
    Outcome q = Query(file);
    if (value == "+Inf") {
      // As KEDA, ignoreNullValues (default true) reads +Inf as "no value": 0.
      ASSERT_EQ(q.code, 0) << q.err;
      EXPECT_EQ(json::parse(q.out)["scaledObjects"][0]["replicasImplied"], 1);
      continue;
    }
    ASSERT_EQ(q.code, 0) << q.err;
    EXPECT_EQ(json::parse(q.out)["scaledObjects"][0]["replicasImplied"], 10);

    fs::path series = dir.Write("series.csv", "time,rps\n0," + value + "\n30," + value +
                                                 "\n60," + value + "\n");
    Outcome s = Simulate(file, series, 3);
    ASSERT_EQ(s.code, 0) << s.err;
    json rows = json::parse(s.out)["rows"];
    EXPECT_GT(rows[0]["replicas"].get<int>(), 3) << s.out;  // was 3 -> 1
    EXPECT_EQ(rows[rows.size() - 1]["replicas"], 10) << s.out;
  }
}

}  // namespace
}  // namespace ebb
