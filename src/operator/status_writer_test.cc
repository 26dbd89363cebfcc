// KubeStatusWriter against the fake API server: status written through the
// status subresource only, coalescing, the leadership fence, retries,
// deleted objects, and Events deduplicated as client-go does.
#include "operator/status_writer.h"

#include <gtest/gtest.h>

#include <atomic>

#include "kube/kube_test_util.h"
#include "operator/keda_status.h"

namespace ebb::op {
namespace {

using controller::ObjectRef;
using controller::ObjectStatus;
using controller::TriggerHealth;
using nlohmann::json;
using scaling::ConditionStatus;
using testing::kube::RequestRecord;

constexpr char kStatusPath[] = "/apis/keda.sh/v1alpha1/namespaces/ns/scaledobjects/web/status";
constexpr char kEventsPath[] = "/api/v1/namespaces/ns/events";

ObjectStatus StatusWith(std::map<std::string, TriggerHealth> health, int32_t original = 1) {
  ObjectStatus s;
  s.conditions = {{"Ready", ConditionStatus::kTrue, "ScaledObjectReady", "ready"},
                  {"Active", ConditionStatus::kFalse, "ScalerNotActive", "not active"}};
  s.original_replica_count = original;
  s.health = std::move(health);
  for (const auto& [metric, h] : s.health) s.external_metric_names.push_back(metric);
  s.scale_target_kind = "apps/v1.Deployment";
  return s;
}

class StatusWriterTest : public kube::KubeTest {
 protected:
  void SetUp() override {
    KubeTest::SetUp();
    Seed("web");
  }
  void TearDown() override {
    writer_.reset();
    KubeTest::TearDown();
  }

  KubeStatusWriter& MakeWriter(StatusWriterOptions o = {}) {
    // Retries in milliseconds keep the test short; the waits are bounded.
    o.backoff.initial = std::chrono::milliseconds(20);
    o.backoff.max = std::chrono::milliseconds(100);
    o.logger = &logger_;
    writer_ = std::make_unique<KubeStatusWriter>(
        *rest_, clock_, [this] { return leader_.load(); },
        [](const ObjectRef& r) -> std::optional<std::string> {
          if (r.name == "web") return "uid-web";
          return std::nullopt;
        },
        std::move(o));
    return *writer_;
  }

  void Seed(const std::string& name) {
    json so = {{"metadata", {{"name", name}, {"namespace", "ns"}, {"uid", "uid-" + name}}},
               {"spec", {{"scaleTargetRef", {{"name", name}}}, {"minReplicaCount", 1}}}};
    server_->store().Seed(Type("keda.sh", "v1alpha1", "scaledobjects"), so);
  }
  json Stored(const std::string& name) {
    return server_->store().Get(Type("keda.sh", "v1alpha1", "scaledobjects"), "ns", name).body;
  }
  json Events() {
    return server_->store().List(Type("", "v1", "events"), "ns", {}).body["items"];
  }
  std::vector<RequestRecord> RequestsTo(const std::string& method, const std::string& path_prefix) {
    std::vector<RequestRecord> out;
    for (const RequestRecord& r : server_->Requests()) {
      if (r.method == method && r.path.rfind(path_prefix, 0) == 0) out.push_back(r);
    }
    return out;
  }
  // Every status write answered (and no retry waiting).
  bool Settled() {
    return kube::WaitFor([&] { return writer_->Pending() == 0; });
  }
  bool EventsAnswered(uint64_t answers) {
    return kube::WaitFor([&] {
      StatusWriterCounters c = writer_->counters();
      return c.events_created + c.events_aggregated + c.events_failed >= answers;
    });
  }

  SimulatedClock clock_{FromUnixSeconds(1'700'000'000)};
  std::atomic<bool> leader_{true};
  Logger logger_;
  std::vector<std::string> log_lines_;
  std::unique_ptr<KubeStatusWriter> writer_;
  const ObjectRef web_{"ns", "web"};
};

TEST_F(StatusWriterTest, WritesKedaStatusThroughTheStatusSubresourceOnly) {
  json before = Stored("web");
  MakeWriter().Publish(web_, StatusWith({{"s0-prometheus", {0, "Happy"}}}));
  ASSERT_TRUE(Settled());
  json after = Stored("web");
  EXPECT_EQ(after["status"], KedaStatusJson(StatusWith({{"s0-prometheus", {0, "Happy"}}})));
  EXPECT_EQ(after["status"]["scaleTargetGVKR"]["resource"], "deployments");
  EXPECT_EQ(after["spec"], before["spec"]);
  EXPECT_EQ(after["metadata"]["generation"], before["metadata"]["generation"]);
  std::vector<RequestRecord> patches = RequestsTo("PATCH", "/apis/keda.sh");
  ASSERT_EQ(patches.size(), 1u);
  EXPECT_EQ(patches[0].path, kStatusPath);
  EXPECT_EQ(patches[0].status, 200);
  EXPECT_EQ(writer_->counters().status_writes, 1u);
}

TEST_F(StatusWriterTest, OnlyTheLatestOfQuickPublishesLandsAndRemovedHealthKeysGo) {
  KubeStatusWriter& w = MakeWriter();
  // Slow answers keep the first write in flight while the others arrive.
  server_->SetLatency(std::chrono::milliseconds(100));
  w.Publish(web_, StatusWith({{"s0-prometheus", {0, "Happy"}}, {"s1-prometheus", {0, "Happy"}}}, 1));
  w.Publish(web_, StatusWith({{"s0-prometheus", {1, "Failing"}}, {"s1-prometheus", {0, "Happy"}}}, 2));
  w.Publish(web_, StatusWith({{"s0-prometheus", {2, "Failing"}}, {"s1-prometheus", {0, "Happy"}}}, 3));
  ASSERT_TRUE(Settled());
  EXPECT_EQ(writer_->counters().status_coalesced, 1u);  // the second never went out
  EXPECT_EQ(RequestsTo("PATCH", kStatusPath).size(), 2u);
  json status = Stored("web")["status"];
  EXPECT_EQ(status["originalReplicaCount"], 3);
  EXPECT_EQ(status["health"]["s0-prometheus"]["numberOfFailures"], 2);
  // A trigger removed: its health key must go, not linger from the merge.
  server_->SetLatency(std::chrono::milliseconds(0));
  w.Publish(web_, StatusWith({{"s0-prometheus", {0, "Happy"}}}, 3));
  ASSERT_TRUE(Settled());
  status = Stored("web")["status"];
  EXPECT_FALSE(status["health"].contains("s1-prometheus")) << status.dump();
  EXPECT_EQ(status["externalMetricNames"], json({"s0-prometheus"}));
  EXPECT_EQ(status, KedaStatusJson(StatusWith({{"s0-prometheus", {0, "Happy"}}}, 3)));
}

TEST_F(StatusWriterTest, ResourceFromResourceOfIsAskedOncePerKind) {
  std::atomic<int> calls{0};
  StatusWriterOptions o;
  o.resource_of = [&](const std::string& api_version, const std::string& kind) {
    ++calls;
    return api_version == "apps/v1" && kind == "Deployment" ? "deploymentz" : "";
  };
  KubeStatusWriter& w = MakeWriter(o);
  w.Publish(web_, StatusWith({}, 1));
  w.Publish(web_, StatusWith({}, 2));
  ASSERT_TRUE(Settled());
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(Stored("web")["status"]["scaleTargetGVKR"]["resource"], "deploymentz");
}

TEST_F(StatusWriterTest, AdoptedStatusLosesKeysEbbDoesNotReport) {
  server_->store().Seed(Type("keda.sh", "v1alpha1", "scaledobjects"),
                        {{"metadata", {{"name", "web"}, {"namespace", "ns"}}},
                         {"spec", {{"minReplicaCount", 1}}},
                         {"status", {{"health", {{"s9-old", {{"numberOfFailures", 4}}}}}}}});
  KubeStatusWriter& w = MakeWriter();
  w.Adopt(web_, Stored("web")["status"]);
  w.Publish(web_, StatusWith({{"s0-prometheus", {0, "Happy"}}}));
  ASSERT_TRUE(Settled());
  EXPECT_FALSE(Stored("web")["status"]["health"].contains("s9-old"));
}

TEST_F(StatusWriterTest, NotLeaderWritesNothingUntilFlush) {
  leader_ = false;
  KubeStatusWriter& w = MakeWriter();
  w.Publish(web_, StatusWith({{"s0-prometheus", {0, "Happy"}}}));
  w.RecordEvent(web_, "Warning", "KEDAScalerFailed", "boom");
  EXPECT_EQ(w.Flush(), 0);  // still not leader
  EXPECT_EQ(w.counters().skipped_not_leader, 2u);
  EXPECT_TRUE(RequestsTo("PATCH", "/apis").empty());
  EXPECT_TRUE(RequestsTo("POST", kEventsPath).empty());
  EXPECT_FALSE(Stored("web").contains("status"));
  // Leadership gained: what was held back goes out.
  leader_ = true;
  EXPECT_EQ(w.Flush(), 1);
  ASSERT_TRUE(Settled());
  EXPECT_EQ(Stored("web")["status"]["originalReplicaCount"], 1);
  EXPECT_EQ(w.Flush(), 0);  // nothing left
}

TEST_F(StatusWriterTest, ServerErrorsAreRetriedUntilTheStatusLands) {
  server_->InjectFault({.method = "PATCH", .path_contains = "/status", .status = 500, .times = 2});
  MakeWriter().Publish(web_, StatusWith({{"s0-prometheus", {0, "Happy"}}}));
  ASSERT_TRUE(kube::WaitFor([&] { return writer_->counters().status_writes == 1; }));
  StatusWriterCounters c = writer_->counters();
  EXPECT_EQ(c.status_failed, 2u);
  EXPECT_EQ(c.status_retries, 2u);
  EXPECT_EQ(Stored("web")["status"]["originalReplicaCount"], 1);
  std::vector<RequestRecord> patches = RequestsTo("PATCH", kStatusPath);
  ASSERT_EQ(patches.size(), 3u);
  EXPECT_EQ(patches[0].status, 500);
  EXPECT_EQ(patches[2].status, 200);
}

TEST_F(StatusWriterTest, DeletedObjectIsDroppedNotRetried) {
  KubeStatusWriter& w = MakeWriter();
  w.Publish({"ns", "gone"}, StatusWith({}));
  ASSERT_TRUE(Settled());
  EXPECT_EQ(w.counters().status_dropped, 1u);
  EXPECT_EQ(w.counters().status_retries, 0u);
  EXPECT_EQ(RequestsTo("PATCH", "/apis/keda.sh/v1alpha1/namespaces/ns/scaledobjects/gone").size(), 1u);
}

TEST_F(StatusWriterTest, ForbiddenIsLoggedOnceWithTheRbacRuleAndNoToken) {
  logger_.SetSink([this](std::string_view line) { log_lines_.emplace_back(line); });
  server_->SetRbac(std::vector<testing::kube::RbacRule>{});
  KubeStatusWriter& w = MakeWriter();
  w.Publish(web_, StatusWith({}, 1));
  ASSERT_TRUE(Settled());
  w.Publish(web_, StatusWith({}, 2));
  ASSERT_TRUE(Settled());
  EXPECT_EQ(w.counters().status_dropped, 2u);
  ASSERT_EQ(log_lines_.size(), 1u);
  EXPECT_NE(log_lines_[0].find("patch"), std::string::npos) << log_lines_[0];
  EXPECT_NE(log_lines_[0].find("scaledobjects/status"), std::string::npos);
  EXPECT_NE(log_lines_[0].find("keda.sh"), std::string::npos);
  EXPECT_EQ(log_lines_[0].find(kube::kTestToken), std::string::npos);
}

TEST_F(StatusWriterTest, ForgetIgnoresTheAnswerInFlight) {
  KubeStatusWriter& w = MakeWriter();
  server_->SetLatency(std::chrono::milliseconds(50));
  w.Publish(web_, StatusWith({}));
  w.Forget(web_);
  EXPECT_EQ(w.Pending(), 0);
  ASSERT_TRUE(kube::WaitFor([&] { return RequestsTo("PATCH", kStatusPath).size() == 1; }));
  EXPECT_EQ(w.counters().status_writes, 0u);  // the answer found no state
}

TEST_F(StatusWriterTest, FirstEventIsCreatedAboutTheScaledObject) {
  MakeWriter().RecordEvent(web_, "Warning", "KEDAScalerFailed", "prometheus: connection refused");
  ASSERT_TRUE(EventsAnswered(1));
  json events = Events();
  ASSERT_EQ(events.size(), 1u);
  const json& e = events[0];
  EXPECT_EQ(e["involvedObject"]["uid"], "uid-web");
  EXPECT_EQ(e["involvedObject"]["kind"], "ScaledObject");
  EXPECT_EQ(e["involvedObject"]["apiVersion"], "keda.sh/v1alpha1");
  EXPECT_EQ(e["involvedObject"]["name"], "web");
  EXPECT_EQ(e["involvedObject"]["namespace"], "ns");
  EXPECT_EQ(e["type"], "Warning");
  EXPECT_EQ(e["reason"], "KEDAScalerFailed");
  EXPECT_EQ(e["message"], "prometheus: connection refused");
  EXPECT_EQ(e["count"], 1);
  EXPECT_EQ(e["source"]["component"], "ebb");
  EXPECT_EQ(writer_->counters().events_created, 1u);
  EXPECT_EQ(RequestsTo("POST", kEventsPath).size(), 1u);
}

TEST_F(StatusWriterTest, RepeatsBumpTheCountAtMostOncePerInterval) {
  KubeStatusWriter& w = MakeWriter();
  w.RecordEvent(web_, "Warning", "KEDAScalerFailed", "boom");
  ASSERT_TRUE(EventsAnswered(1));
  // Polled every second: the repeats within 30 s are only counted.
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(std::chrono::seconds(1));
    w.RecordEvent(web_, "Warning", "KEDAScalerFailed", "boom");
  }
  EXPECT_EQ(w.counters().events_suppressed, 5u);
  EXPECT_TRUE(RequestsTo("PATCH", kEventsPath).empty());
  clock_.Advance(std::chrono::seconds(30));
  w.RecordEvent(web_, "Warning", "KEDAScalerFailed", "boom");
  ASSERT_TRUE(EventsAnswered(2));
  json events = Events();
  ASSERT_EQ(events.size(), 1u);  // no new Event
  EXPECT_EQ(events[0]["count"], 7);
  EXPECT_EQ(events[0]["lastTimestamp"], "2023-11-14T22:13:55Z");
  EXPECT_EQ(events[0]["firstTimestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(w.counters().events_aggregated, 1u);
  std::vector<RequestRecord> patches = RequestsTo("PATCH", kEventsPath);
  ASSERT_EQ(patches.size(), 1u);
  EXPECT_EQ(patches[0].path, std::string(kEventsPath) + "/" + events[0]["metadata"]["name"].get<std::string>());
}

TEST_F(StatusWriterTest, RepeatAfterTheIntervalMakesCountTwo) {
  KubeStatusWriter& w = MakeWriter();
  w.RecordEvent(web_, "Normal", "KEDAScaleTargetActivated", "Scaled apps/v1.Deployment ns/web from 0 to 1");
  ASSERT_TRUE(EventsAnswered(1));
  clock_.Advance(std::chrono::seconds(31));
  w.RecordEvent(web_, "Normal", "KEDAScaleTargetActivated", "Scaled apps/v1.Deployment ns/web from 0 to 1");
  ASSERT_TRUE(EventsAnswered(2));
  json events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["count"], 2);
  EXPECT_EQ(events[0]["type"], "Normal");
}

TEST_F(StatusWriterTest, DifferentMessageOrExpiredWindowMakesANewEvent) {
  KubeStatusWriter& w = MakeWriter();
  w.RecordEvent(web_, "Warning", "KEDAScalerFailed", "boom");
  w.RecordEvent(web_, "Warning", "KEDAScalerFailed", "bang");  // same instant, other message
  ASSERT_TRUE(EventsAnswered(2));
  EXPECT_EQ(Events().size(), 2u);
  clock_.Advance(std::chrono::minutes(11));  // past the 10 min window
  w.RecordEvent(web_, "Warning", "KEDAScalerFailed", "boom");
  ASSERT_TRUE(EventsAnswered(3));
  EXPECT_EQ(Events().size(), 3u);
  EXPECT_EQ(w.counters().events_created, 3u);
  EXPECT_EQ(RequestsTo("POST", kEventsPath).size(), 3u);
  EXPECT_TRUE(RequestsTo("PATCH", kEventsPath).empty());
}

TEST_F(StatusWriterTest, DedupMemoryIsBoundedPerObjectAndForgotten) {
  StatusWriterOptions o;
  o.events_per_object = 2;
  KubeStatusWriter& w = MakeWriter(o);
  for (const char* m : {"a", "b", "c"}) w.RecordEvent(web_, "Warning", "R", m);
  ASSERT_TRUE(EventsAnswered(3));
  // "a" was evicted by "c": its repeat creates a new Event.
  clock_.Advance(std::chrono::seconds(31));
  w.RecordEvent(web_, "Warning", "R", "a");
  ASSERT_TRUE(EventsAnswered(4));
  EXPECT_EQ(w.counters().events_created, 4u);
  // Forgotten: even "c", seen recently, starts over.
  w.Forget(web_);
  clock_.Advance(std::chrono::seconds(31));
  w.RecordEvent(web_, "Warning", "R", "c");
  ASSERT_TRUE(EventsAnswered(5));
  EXPECT_EQ(w.counters().events_created, 5u);
  EXPECT_EQ(w.counters().events_aggregated, 0u);
}

TEST_F(StatusWriterTest, EventWithoutKnownUidIsStillRecorded) {
  MakeWriter().RecordEvent({"ns", "other"}, "Normal", "R", "m");
  ASSERT_TRUE(EventsAnswered(1));
  json events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0]["involvedObject"].contains("uid"));
}

TEST_F(StatusWriterTest, DestroyedWithRequestsInFlight) {
  server_->SetLatency(std::chrono::milliseconds(50));
  MakeWriter().Publish(web_, StatusWith({}));
  writer_->RecordEvent(web_, "Normal", "R", "m");
  writer_.reset();  // answers arrive later and must find nothing
  ASSERT_TRUE(kube::WaitFor([&] { return !RequestsTo("POST", kEventsPath).empty(); }));
  ASSERT_TRUE(kube::WaitFor([&] { return !RequestsTo("PATCH", kStatusPath).empty(); }));
}

}  // namespace
}  // namespace ebb::op
