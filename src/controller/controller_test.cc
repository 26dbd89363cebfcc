// The scaling loop driven by a simulated clock: scheduling, jitter,
// coalescing, failing and slow triggers, scaling, fallback, dry run and
// status publication. Lifecycle (Update, invalid manifests, shutdown) is in
// controller_lifecycle_test.cc.
#include "controller/controller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "controller/testing/controller_harness.h"

namespace ebb::controller {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ControllerHarness;
using testing::MakeObject;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ControllerSchedulingTest, PollsEachObjectEveryInterval) {
  ControllerHarness h;
  h.resolver.Add("default", "web", 1);
  h.Update({MakeObject("web", "q_web", 10, /*polling_interval=*/30)});
  h.Step();
  EXPECT_EQ(h.RequestsFor("q_web").size(), 1u);
  h.RunFor(seconds(29));
  EXPECT_EQ(h.RequestsFor("q_web").size(), 1u);
  h.RunFor(seconds(1));
  EXPECT_EQ(h.RequestsFor("q_web").size(), 2u);
  h.RunFor(seconds(60));
  EXPECT_EQ(h.RequestsFor("q_web").size(), 4u);
  EXPECT_EQ(h.SnapshotOf("default/web").next_due, h.clock.Now() + seconds(30));
}

TEST(ControllerSchedulingTest, FirstPollIsJitteredAndTheGridKept) {
  ControllerHarness h;
  ControllerOptions options;
  options.jitter = [] { return 0.5; };
  h.Start(options);
  h.resolver.Add("default", "web", 1);
  const Time t0 = h.clock.Now();
  h.Update({MakeObject("web", "q_web", 10, 30)});
  EXPECT_EQ(h.controller->NextDue(), t0 + seconds(15));
  h.RunFor(seconds(14));
  EXPECT_TRUE(h.RequestsFor("q_web").empty());
  h.RunFor(seconds(1));
  EXPECT_EQ(h.RequestsFor("q_web").size(), 1u);
  EXPECT_EQ(h.SnapshotOf("default/web").next_due, t0 + seconds(45));
}

TEST(ControllerSchedulingTest, AThousandObjectsSpreadOverTheInterval) {
  ControllerHarness h;
  ControllerOptions options;
  auto rng = std::make_shared<std::mt19937_64>(42);
  options.jitter = [rng] { return std::uniform_real_distribution<double>(0, 1)(*rng); };
  h.Start(options);
  std::vector<api::ScaledObject> objects;
  for (int i = 0; i < 1000; ++i) {
    const std::string name = "o" + std::to_string(i);
    h.resolver.Add("default", name, 1);
    objects.push_back(MakeObject(name, "q" + std::to_string(i), 10, 30));
  }
  const Time t0 = h.clock.Now();
  h.Update(std::move(objects));

  std::map<int64_t, int> per_ms;   // first polls per millisecond
  std::map<int64_t, int> per_3s;   // and per tenth of the interval
  for (const ObjectSnapshot& s : h.controller->Snapshot()) {
    ASSERT_TRUE(s.next_due);
    ASSERT_GE(*s.next_due, t0);
    ASSERT_LT(*s.next_due, t0 + seconds(30));
    const auto offset = std::chrono::duration_cast<milliseconds>(*s.next_due - t0).count();
    ++per_ms[offset];
    ++per_3s[offset / 3000];
  }
  int worst_ms = 0;
  for (const auto& [ms, n] : per_ms) worst_ms = std::max(worst_ms, n);
  EXPECT_LE(worst_ms, 3) << "first polls bunch up in one millisecond";
  ASSERT_EQ(per_3s.size(), 10u);
  for (const auto& [bucket, n] : per_3s) EXPECT_GT(n, 50) << "bucket " << bucket;

  // Every object polled once in the first interval, and once more in the next.
  h.RunFor(seconds(30), milliseconds(250));
  EXPECT_EQ(h.fake_http.requests().size(), 1000u);
  h.RunFor(seconds(30), milliseconds(250));
  EXPECT_EQ(h.fake_http.requests().size(), 2000u);
}

TEST(ControllerSchedulingTest, DefaultPhaseLinesUpObjectsSharingAQuery) {
  ControllerHarness h;
  h.Start({}, /*default_phase=*/true);
  std::vector<api::ScaledObject> first;
  for (int i = 0; i < 10; ++i) {
    h.resolver.Add("default", "shared" + std::to_string(i), 1);
    first.push_back(MakeObject("shared" + std::to_string(i), "q_shared", 10, 30));
  }
  for (int i = 0; i < 50; ++i) {
    h.resolver.Add("default", "own" + std::to_string(i), 1);
    first.push_back(MakeObject("own" + std::to_string(i), "q_own" + std::to_string(i), 10, 30));
  }
  h.Update(first);
  // One more object on the shared query, registered 7.3 s later, still
  // lands on the same grid.
  h.clock.Advance(milliseconds(7300));
  h.resolver.Add("default", "late", 1);
  first.push_back(MakeObject("late", "q_shared", 10, 30));
  h.Update(first);
  std::set<Time> own_dues;
  std::set<int64_t> shared_dues;  // phase within the interval, ns
  for (const ObjectSnapshot& s : h.controller->Snapshot()) {
    ASSERT_TRUE(s.next_due);
    if (s.ref.name.rfind("own", 0) == 0) own_dues.insert(*s.next_due);
    else shared_dues.insert(s.next_due->time_since_epoch().count() % 30'000'000'000);
  }
  EXPECT_EQ(shared_dues.size(), 1u) << "objects sharing a query share a phase";
  EXPECT_GT(own_dues.size(), 40u) << "distinct queries spread over the interval";
  h.RunFor(seconds(30));
  EXPECT_EQ(h.RequestsFor("q_shared").size(), 1u) << "one request for the 11 objects";
}

TEST(ControllerCoalescingTest, HundredObjectsOnOneQuerySendOneRequestPerTick) {
  ControllerHarness h;
  std::vector<api::ScaledObject> objects;
  for (int i = 0; i < 100; ++i) {
    const std::string name = "o" + std::to_string(i);
    h.resolver.Add("default", name, 1);
    objects.push_back(MakeObject(name, "q_shared", 10, 30));
  }
  h.SetValue("q_shared", 38);
  h.Update(std::move(objects));
  h.Step();
  EXPECT_EQ(h.RequestsFor("q_shared").size(), 1u);
  EXPECT_THAT(h.observer.queries, ElementsAre(100));
  EXPECT_EQ(h.observer.evaluations.size(), 100u);
  h.RunFor(seconds(30));
  EXPECT_EQ(h.RequestsFor("q_shared").size(), 2u);
  // Every member got the shared answer: all scaled to ceil(38 / 10).
  for (const ObjectSnapshot& s : h.controller->Snapshot()) EXPECT_EQ(s.replicas, 4) << KeyOf(s.ref);
}

TEST(ControllerCoalescingTest, DifferentQueriesAndHeadersAreSentApart) {
  ControllerHarness h;
  auto a = MakeObject("a", "q_one", 10);
  auto b = MakeObject("b", "q_one", 10);
  b.spec.triggers[0].metadata["customHeaders"] = "X-Scope-OrgID=team-b";
  auto c = MakeObject("c", "q_two", 10);
  auto d = MakeObject("d", "q_one", 10);
  d.spec.triggers[0].metadata["queryParameters"] = "dedup=false";
  for (const char* n : {"a", "b", "c", "d"}) h.resolver.Add("default", n, 1);
  h.Update({a, b, c, d});
  h.Step();
  EXPECT_EQ(h.fake_http.requests().size(), 4u);
  EXPECT_THAT(h.observer.queries, ElementsAre(1, 1, 1, 1));
}

// Two bearer-token TriggerAuthentications: objects share a request only
// when their credential is the same.
TEST(ControllerCoalescingTest, DistinctIdentitiesAreSentApart) {
  ControllerHarness h;
  for (const char* token : {"a", "b"}) {
    api::SecretObject secret;
    secret.metadata.name = std::string("tok-") + token;
    secret.data["token"] = SecretString(std::string("secret-") + token);
    h.lookup->secrets.push_back(secret);
    api::TriggerAuthentication ta;
    ta.metadata.name = std::string("auth-") + token;
    ta.spec.secret_target_ref.push_back({"bearerToken", secret.metadata.name, "token"});
    h.lookup->trigger_authentications.push_back(ta);
  }
  auto with_auth = [](const std::string& name, const std::string& auth) {
    auto so = MakeObject(name, "q_secure", 10);
    so.spec.triggers[0].metadata["authModes"] = "bearer";
    so.spec.triggers[0].authentication_ref = api::AuthenticationRef{auth, "TriggerAuthentication"};
    return so;
  };
  for (const char* n : {"x1", "x2", "y1"}) h.resolver.Add("default", n, 1);
  h.Update({with_auth("x1", "auth-a"), with_auth("x2", "auth-a"), with_auth("y1", "auth-b")});
  h.Step();
  const auto requests = h.RequestsFor("q_secure");
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_THAT(h.observer.queries, ElementsAre(2, 1));
  for (const auto& r : requests) EXPECT_FALSE(r.headers.empty()) << "sent without credentials";
}

TEST(ControllerTriggerTest, AFailingTriggerDoesNotStopTheOthers) {
  ControllerHarness h;
  auto broken = h.resolver.Add("default", "broken", 2);
  auto healthy = h.resolver.Add("default", "healthy", 1);
  h.SetFailing("q_broken", true);
  h.SetValue("q_ok", 40);
  h.Update({MakeObject("broken", "q_broken", 10), MakeObject("healthy", "q_ok", 10)});
  h.Step();
  EXPECT_EQ(healthy->replicas(), 4);
  EXPECT_TRUE(broken->set_calls().empty());
  EXPECT_EQ(broken->replicas(), 2);
  const ObjectSnapshot s = h.SnapshotOf("default/broken");
  const scaling::Condition* ready = s.status.Find("Ready");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->status, scaling::ConditionStatus::kFalse);
  EXPECT_THAT(ready->message, HasSubstr("500"));
  EXPECT_EQ(s.status.health.at("s0-prometheus").number_of_failures, 1);
  EXPECT_EQ(s.status.health.at("s0-prometheus").status, "Failing");

  // Failing the same way every poll is logged once.
  h.RunFor(seconds(60));
  EXPECT_EQ(h.SnapshotOf("default/broken").status.health.at("s0-prometheus").number_of_failures, 3);
  EXPECT_EQ(std::count_if(h.log_lines.begin(), h.log_lines.end(),
                          [](const std::string& l) { return l.find("trigger failed") != std::string::npos; }),
            1);
}

TEST(ControllerTriggerTest, ASlowTriggerDelaysOnlyItsObject) {
  ControllerHarness h;
  auto slow = h.resolver.Add("default", "slow", 1);
  auto fast = h.resolver.Add("default", "fast", 1);
  h.SetValue("q_slow", 80);
  h.SetValue("q_fast", 30);
  h.http.SetHold([](const http::HttpRequest& r) { return testing::QueryOf(r) == "q_slow"; });
  h.Update({MakeObject("slow", "q_slow", 10), MakeObject("fast", "q_fast", 10)});
  h.Step();
  EXPECT_EQ(fast->replicas(), 3);
  EXPECT_TRUE(h.SnapshotOf("default/slow").in_flight);
  EXPECT_FALSE(h.SnapshotOf("default/fast").in_flight);

  // The query timeout (3 s) plus the grace (1 s) bounds the wait: then the
  // slow trigger counts as failed and its object decides without it.
  h.RunFor(seconds(3));
  EXPECT_TRUE(h.SnapshotOf("default/slow").in_flight);
  h.RunFor(seconds(1));
  EXPECT_FALSE(h.SnapshotOf("default/slow").in_flight);
  EXPECT_EQ(h.observer.evaluations.back().error.code(), StatusCode::kDeadlineExceeded);
  const size_t evaluations = h.observer.evaluations.size();

  // The late answer belongs to a finished poll: dropped.
  h.http.Release();
  h.Step();
  EXPECT_EQ(h.observer.evaluations.size(), evaluations);
  EXPECT_TRUE(slow->set_calls().empty());
}

TEST(ControllerTriggerTest, AnObjectStillInFlightSkipsItsNextSlot) {
  ControllerHarness h;
  h.resolver.Add("default", "slow", 1);
  auto so = MakeObject("slow", "q_slow", 10, /*polling_interval=*/10);
  so.spec.triggers[0].metadata["timeout"] = "60000";  // longer than the interval
  h.http.SetHold([](const http::HttpRequest&) { return true; });
  h.Update({so});
  h.RunFor(seconds(25));
  const ObjectSnapshot s = h.SnapshotOf("default/slow");
  EXPECT_EQ(s.polls, 1u);
  EXPECT_EQ(s.skipped_polls, 2u);
  EXPECT_EQ(h.http.held(), 1u);
}

TEST(ControllerScalingTest, ScalesFromZeroToNAndBackAfterCooldown) {
  ControllerHarness h;
  auto web = h.resolver.Add("default", "web", 0);
  h.Update({MakeObject("web", "q_web", 10, 30)});
  h.Step();
  EXPECT_TRUE(web->set_calls().empty());

  h.SetValue("q_web", 35);
  h.RunFor(seconds(30));
  EXPECT_THAT(web->set_calls(), ElementsAre(1));  // activation: max(min, 1)
  h.RunFor(seconds(30));
  EXPECT_THAT(web->set_calls(), ElementsAre(1, 4));  // then the HPA: ceil(35 / 10)
  const Time last_active = h.clock.Now();

  h.SetValue("q_web", 0);
  h.RunFor(seconds(270));  // cooldownPeriod 300 s since the last active poll
  EXPECT_GT(web->replicas(), 0);
  h.RunFor(seconds(60));
  EXPECT_EQ(web->replicas(), 0);
  EXPECT_EQ(h.observer.decisions.back().reason, "deactivate");
  EXPECT_EQ(h.SnapshotOf("default/web").status.last_active_time, last_active);

  // Every change is logged with its reason.
  int scaled_lines = 0;
  for (const std::string& line : h.log_lines) {
    if (line.find(" scaled ") == std::string::npos) continue;
    ++scaled_lines;
    EXPECT_THAT(line, HasSubstr("reason="));
  }
  EXPECT_EQ(scaled_lines, static_cast<int>(web->set_calls().size()));
}

TEST(ControllerScalingTest, FallsBackAfterFailureThreshold) {
  ControllerHarness h;
  // From 3, the HPA's default scale-up limit (max(2 * current, 4)) allows 6.
  auto web = h.resolver.Add("default", "web", 3);
  auto so = MakeObject("web", "q_web", 10, 30);
  so.spec.min_replica_count = 1;
  so.spec.fallback = api::Fallback{.failure_threshold = 2, .replicas = 6};
  h.SetFailing("q_web", true);
  h.Update({so});
  h.RunFor(seconds(30));  // failures 1 and 2: not more than the threshold
  EXPECT_TRUE(web->set_calls().empty());
  h.RunFor(seconds(30));  // failure 3
  EXPECT_THAT(web->set_calls(), ElementsAre(6));
  const ObjectSnapshot s = h.SnapshotOf("default/web");
  ASSERT_NE(s.status.Find("Fallback"), nullptr);
  EXPECT_EQ(s.status.Find("Fallback")->status, scaling::ConditionStatus::kTrue);
  EXPECT_EQ(s.status.health.at("s0-prometheus").number_of_failures, 3);

  // Recovery resets the failures; the HPA takes over again.
  h.SetFailing("q_web", false);
  h.SetValue("q_web", 20);
  h.RunFor(seconds(30));
  EXPECT_EQ(h.SnapshotOf("default/web").status.health.at("s0-prometheus").status, "Happy");
}

TEST(ControllerScalingTest, DryRunNeverSetsReplicas) {
  ControllerHarness h;
  ControllerOptions options;
  options.dry_run = true;
  h.Start(options);
  auto web = h.resolver.Add("default", "web", 5);
  h.SetValue("q_web", 90);
  h.Update({MakeObject("web", "q_web", 10)});
  h.RunFor(seconds(60));
  EXPECT_TRUE(web->set_calls().empty());
  ASSERT_FALSE(h.observer.decisions.empty());
  EXPECT_TRUE(h.observer.decisions.back().changed);
  EXPECT_FALSE(h.observer.decisions.back().applied);
  EXPECT_EQ(h.observer.decisions.back().to_replicas, 9);
  EXPECT_TRUE(std::any_of(h.log_lines.begin(), h.log_lines.end(),
                          [](const std::string& l) { return l.find("dry run") != std::string::npos; }));
}

TEST(ControllerStatusTest, PublishedOnlyWhenItChanges) {
  ControllerHarness h;
  h.resolver.Add("default", "idle", 0);
  h.Update({MakeObject("idle", "q_idle", 10, 10)});
  h.RunFor(seconds(60));  // seven polls, nothing changes
  EXPECT_EQ(h.SnapshotOf("default/idle").polls, 7u);
  EXPECT_EQ(h.sink.PublishedFor("default/idle"), 1);

  // A trigger starts failing: Ready turns False, published once more.
  h.SetFailing("q_idle", true);
  h.RunFor(seconds(10));
  EXPECT_EQ(h.sink.PublishedFor("default/idle"), 2);
}

TEST(ControllerStatusTest, LastActiveTimeAloneIsRefreshedSparingly) {
  ControllerHarness h;
  h.resolver.Add("default", "busy", 3);
  h.SetValue("q_busy", 30);
  h.Update({MakeObject("busy", "q_busy", 10, 10)});
  h.RunFor(seconds(60));  // active on all seven polls
  EXPECT_EQ(h.sink.PublishedFor("default/busy"), 3);  // t = 0, 30, 60
}

TEST(ControllerTargetTest, AMissingTargetIsReportedAndRetried) {
  ControllerHarness h;
  h.Update({MakeObject("web", "q_web", 10, 10)});
  h.Step();
  ObjectSnapshot s = h.SnapshotOf("default/web");
  EXPECT_EQ(s.last_error.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.status.Find("Ready")->reason, "ScaleTargetError");
  ASSERT_EQ(h.sink.events.size(), 1u);
  EXPECT_EQ(h.sink.events[0].type, "Warning");

  auto web = h.resolver.Add("default", "web", 1);
  h.SetValue("q_web", 20);
  h.RunFor(seconds(10));
  EXPECT_EQ(web->replicas(), 2);
  EXPECT_TRUE(h.SnapshotOf("default/web").last_error.ok());
  EXPECT_EQ(h.SnapshotOf("default/web").status.Find("Ready")->status, scaling::ConditionStatus::kTrue);
}

TEST(ControllerTargetTest, AFailedSetReplicasIsReported) {
  ControllerHarness h;
  auto web = h.resolver.Add("default", "web", 1);
  web->FailSet(Unavailable("api server down"));
  h.SetValue("q_web", 20);
  h.Update({MakeObject("web", "q_web", 10)});
  h.Step();
  EXPECT_EQ(web->replicas(), 1);
  ASSERT_FALSE(h.observer.decisions.empty());
  EXPECT_FALSE(h.observer.decisions.back().applied);
  ASSERT_FALSE(h.observer.errors.empty());
  EXPECT_THAT(h.observer.errors.back().second.message(), HasSubstr("api server down"));
}

TEST(ControllerTargetTest, PausedObjectsSendNoQueries) {
  ControllerHarness h;
  auto web = h.resolver.Add("default", "web", 4);
  auto so = MakeObject("web", "q_web", 10);
  so.metadata.annotations[api::kAnnotationPausedReplicas] = "2";
  h.Update({so});
  h.Step();
  EXPECT_TRUE(h.fake_http.requests().empty());
  EXPECT_THAT(web->set_calls(), ElementsAre(2));
  EXPECT_TRUE(h.observer.decisions.back().paused);
}

}  // namespace
}  // namespace ebb::controller
