// The controller's object lifecycle: Update adding, editing and removing
// objects, invalid manifests, and shutdown with work in flight.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <stop_token>
#include <thread>

#include "controller/controller.h"
#include "controller/testing/controller_harness.h"

namespace ebb::controller {
namespace {

using std::chrono::seconds;
using testing::ControllerHarness;
using testing::MakeObject;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

api::Problem InvalidProblem(const std::string& name, const std::string& message) {
  return api::Problem{"so.yaml", 7, 1, "ScaledObject", "default/" + name, "spec.maxReplicaCount", message};
}

TEST(ControllerUpdateTest, AddsAndRemovesObjects) {
  ControllerHarness h;
  h.resolver.Add("default", "a", 1);
  h.resolver.Add("default", "b", 1);
  h.Update({MakeObject("a", "q_a", 10)});
  h.Step();
  h.Update({MakeObject("a", "q_a", 10), MakeObject("b", "q_b", 10)});
  h.Step();
  EXPECT_THAT(h.observer.registered, ElementsAre("default/a", "default/b"));
  EXPECT_EQ(h.RequestsFor("q_b").size(), 1u);

  h.Update({MakeObject("b", "q_b", 10)});
  EXPECT_THAT(h.observer.removed, ElementsAre("default/a"));
  h.RunFor(seconds(90));
  EXPECT_EQ(h.RequestsFor("q_a").size(), 1u) << "a removed object is still polled";
  EXPECT_EQ(h.RequestsFor("q_b").size(), 4u);
  EXPECT_EQ(h.controller->Snapshot().size(), 1u);
}

TEST(ControllerUpdateTest, ARemovedObjectRestoresTheOriginalReplicasWhenAsked) {
  ControllerHarness h;
  auto web = h.resolver.Add("default", "web", 2);
  auto so = MakeObject("web", "q_web", 10);
  so.spec.advanced.restore_to_original_replica_count = true;
  h.SetValue("q_web", 40);
  h.Update({so});
  h.Step();
  EXPECT_EQ(web->replicas(), 4);
  h.Update({});
  h.Step();
  EXPECT_THAT(web->set_calls(), ElementsAre(4, 2));
  EXPECT_EQ(web->replicas(), 2);
}

TEST(ControllerUpdateTest, WithoutRestoreOnRemoveARemovedObjectLeavesItsTarget) {
  ControllerHarness h;
  ControllerOptions options;
  options.restore_on_remove = false;
  h.Start(options);
  auto web = h.resolver.Add("default", "web", 2);
  auto so = MakeObject("web", "q_web", 10);
  so.spec.advanced.restore_to_original_replica_count = true;
  h.SetValue("q_web", 40);
  h.Update({so});
  h.Step();
  h.Update({});
  h.Step();
  EXPECT_THAT(web->set_calls(), ElementsAre(4));
}

TEST(ControllerUpdateTest, ANewObjectCarriesOnFromItsObservedStatus) {
  // Another leader saw it active a minute ago: the cooldown (300 s) counts
  // from then, not from zero, and the original count is the one recorded.
  ControllerHarness h;
  auto web = h.resolver.Add("default", "web", 3);
  auto so = MakeObject("web", "q_web", 10);
  so.status.last_active_time = h.clock.Now() - seconds(60);
  so.status.original_replica_count = 7;
  h.SetValue("q_web", 0);
  h.Update({so});
  h.Step();
  EXPECT_THAT(web->set_calls(), IsEmpty()) << "scaled in before the cooldown since lastActiveTime";
  EXPECT_EQ(h.SnapshotOf("default/web").status.original_replica_count, 7);
  EXPECT_EQ(h.SnapshotOf("default/web").status.last_active_time, so.status.last_active_time);
  h.RunFor(seconds(280));  // polls every 30 s; the cooldown ends 240 s from now
  EXPECT_THAT(web->set_calls(), ElementsAre(0));
}

TEST(ControllerUpdateTest, AnswersForARemovedObjectAreDropped) {
  ControllerHarness h;
  auto a = h.resolver.Add("default", "a", 1);
  h.SetValue("q_a", 90);
  h.http.SetHold([](const http::HttpRequest&) { return true; });
  h.Update({MakeObject("a", "q_a", 10)});
  h.Step();
  h.Update({});
  h.http.Release();
  h.Step();
  EXPECT_THAT(h.observer.evaluations, IsEmpty());
  EXPECT_THAT(a->set_calls(), IsEmpty());
}

TEST(ControllerUpdateTest, AnEditTakesEffectAndKeepsTheEngineState) {
  ControllerHarness h;
  auto web = h.resolver.Add("default", "web", 1);
  h.SetValue("q_web", 30);
  h.Update({MakeObject("web", "q_web", 10, 30)});
  h.Step();
  EXPECT_EQ(web->replicas(), 3);
  const auto last_active = h.SnapshotOf("default/web").status.last_active_time;
  ASSERT_TRUE(last_active);

  // Same interval: the schedule is kept; the new threshold applies next poll.
  h.clock.Advance(seconds(5));
  h.Update({MakeObject("web", "q_web", 5, 30)});
  EXPECT_EQ(h.SnapshotOf("default/web").next_due, *last_active + seconds(30));
  h.RunFor(seconds(25));
  EXPECT_EQ(web->replicas(), 6);

  // A new interval reschedules (jitter 0: at once) and keeps lastActiveTime.
  const Time active_at = h.clock.Now();
  h.SetValue("q_web", 0);
  h.clock.Advance(seconds(5));
  h.Update({MakeObject("web", "q_web", 5, 10)});
  EXPECT_EQ(h.SnapshotOf("default/web").next_due, h.clock.Now());
  h.Step();
  EXPECT_EQ(h.SnapshotOf("default/web").polls, 3u);
  EXPECT_EQ(h.SnapshotOf("default/web").status.last_active_time, active_at);
}

TEST(ControllerUpdateTest, AnUnchangedReloadDoesNotDisturbAPollInFlight) {
  ControllerHarness h;
  auto web = h.resolver.Add("default", "web", 1);
  h.SetValue("q_web", 30);
  h.http.SetHold([](const http::HttpRequest&) { return true; });
  h.Update({MakeObject("web", "q_web", 10)});
  h.Step();
  h.Update({MakeObject("web", "q_web", 10)});  // the same file re-read
  h.http.Release();
  h.Step();
  EXPECT_EQ(web->replicas(), 3);
}

TEST(ControllerUpdateTest, AnInvalidManifestKeepsTheLastReplicasAndReports) {
  ControllerHarness h;
  auto web = h.resolver.Add("default", "web", 1);
  h.SetValue("q_web", 30);
  h.Update({MakeObject("web", "q_web", 10)});
  h.Step();
  ASSERT_EQ(web->replicas(), 3);

  h.SetValue("q_web", 0);
  h.Update({}, {InvalidProblem("web", "\"lots\" is not an integer")});
  h.RunFor(seconds(400));
  EXPECT_EQ(web->replicas(), 3) << "an invalid object must keep its replicas";
  EXPECT_EQ(h.RequestsFor("q_web").size(), 1u);
  const ObjectSnapshot s = h.SnapshotOf("default/web");
  EXPECT_TRUE(s.invalid);
  EXPECT_FALSE(s.next_due);
  const scaling::Condition* ready = s.status.Find("Ready");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->status, scaling::ConditionStatus::kFalse);
  EXPECT_EQ(ready->reason, "ScaledObjectCheckFailed");
  EXPECT_THAT(ready->message, HasSubstr("spec.maxReplicaCount"));
  ASSERT_EQ(h.observer.errors.size(), 1u);
  EXPECT_EQ(h.observer.errors[0].second.code(), StatusCode::kInvalidConfig);

  // Reported once, not on every reload.
  h.Update({}, {InvalidProblem("web", "\"lots\" is not an integer")});
  EXPECT_EQ(h.observer.errors.size(), 1u);

  // Fixed: polled again, and the Ready condition recovers.
  h.Update({MakeObject("web", "q_web", 10)});
  h.SetValue("q_web", 30);
  h.Step();
  EXPECT_FALSE(h.SnapshotOf("default/web").invalid);
  EXPECT_EQ(h.RequestsFor("q_web").size(), 2u);
  EXPECT_EQ(h.SnapshotOf("default/web").status.Find("Ready")->status, scaling::ConditionStatus::kTrue);
}

TEST(ControllerUpdateTest, AnObjectInvalidFromTheStartIsReported) {
  ControllerHarness h;
  h.Update({}, {InvalidProblem("new", "bad")});
  const ObjectSnapshot s = h.SnapshotOf("default/new");
  EXPECT_TRUE(s.invalid);
  EXPECT_TRUE(s.status_published);
  EXPECT_EQ(h.sink.PublishedFor("default/new"), 1);
}

TEST(ControllerUpdateTest, AnObjectTheEngineCannotRunIsInvalid) {
  ControllerHarness h;
  auto web = h.resolver.Add("default", "web", 1);
  auto so = MakeObject("web", "q_web", 10);
  so.spec.min_replica_count = 20;  // above max (10)
  h.Update({so});
  h.RunFor(seconds(30));
  EXPECT_TRUE(h.fake_http.requests().empty());
  EXPECT_TRUE(h.SnapshotOf("default/web").invalid);
  EXPECT_EQ(h.SnapshotOf("default/web").status.Find("Ready")->reason, "ScaledObjectCheckFailed");
  EXPECT_THAT(web->set_calls(), IsEmpty());
}

TEST(ControllerUpdateTest, ATriggerWhoseAuthCannotBeResolvedFailsAlone) {
  ControllerHarness h;
  auto web = h.resolver.Add("default", "web", 1);
  auto so = MakeObject("web", "q_web", 10);
  so.spec.triggers[0].metadata["authModes"] = "bearer";
  so.spec.triggers[0].authentication_ref = api::AuthenticationRef{"missing", "TriggerAuthentication"};
  h.Update({so});
  h.Step();
  EXPECT_TRUE(h.fake_http.requests().empty()) << "never an unauthenticated query";
  ASSERT_EQ(h.observer.evaluations.size(), 1u);
  EXPECT_FALSE(h.observer.evaluations[0].ok);
  EXPECT_THAT(h.SnapshotOf("default/web").status.Find("Ready")->message, HasSubstr("missing"));
}

TEST(ControllerShutdownTest, InFlightWorkFinishesAfterBeginShutdown) {
  ControllerHarness h;
  auto web = h.resolver.Add("default", "web", 1);
  h.SetValue("q_web", 30);
  h.http.SetHold([](const http::HttpRequest&) { return true; });
  h.Update({MakeObject("web", "q_web", 10, 10)});
  h.Step();
  h.controller->BeginShutdown();
  EXPECT_EQ(h.controller->InFlight(), 1);
  EXPECT_EQ(h.controller->NextDue(), h.clock.Now() + seconds(4)) << "only the deadline is left";

  h.http.Release();
  h.Step();
  EXPECT_EQ(web->replicas(), 3);
  EXPECT_EQ(h.controller->InFlight(), 0);
  h.RunFor(seconds(30));
  EXPECT_EQ(h.RequestsFor("q_web").size(), 1u) << "no poll after shutdown began";
}

TEST(ControllerShutdownTest, CancelledWorkAppliesNothingAfterwards) {
  ControllerHarness h;
  auto web = h.resolver.Add("default", "web", 1);
  h.SetValue("q_web", 30);
  h.http.SetHold([](const http::HttpRequest&) { return true; });
  h.Update({MakeObject("web", "q_web", 10)});
  h.Step();
  h.controller->BeginShutdown();
  EXPECT_EQ(h.controller->CancelInFlight(), 1);
  h.http.Release();
  h.Step();
  EXPECT_THAT(web->set_calls(), IsEmpty());
  EXPECT_THAT(h.observer.evaluations, IsEmpty());
}

TEST(ControllerShutdownTest, AnswersArrivingAfterTheControllerIsGoneAreDropped) {
  ControllerHarness h;
  auto web = h.resolver.Add("default", "web", 1);
  h.SetValue("q_web", 30);
  h.http.SetHold([](const http::HttpRequest&) { return true; });
  h.Update({MakeObject("web", "q_web", 10)});
  h.Step();
  h.controller.reset();  // its loop stops; the query's callback still holds it
  h.http.Release();      // the answer posts into the stopped loop: dropped, never run
  EXPECT_THAT(web->set_calls(), IsEmpty());
  EXPECT_THAT(h.observer.evaluations, IsEmpty());
}

TEST(ControllerShutdownTest, AStartedSetReplicasCompletesButIsNotFollowedUp) {
  ControllerHarness h;
  auto web = h.resolver.Add("default", "web", 1);
  web->SetDeferred(true);
  h.SetValue("q_web", 30);
  h.Update({MakeObject("web", "q_web", 10)});
  h.Step();
  web->Release();  // GetScale answers
  h.Step();
  EXPECT_THAT(web->set_calls(), ElementsAre(3));
  EXPECT_EQ(h.controller->CancelInFlight(), 1);
  web->Release();  // the SetReplicas already started lands
  h.Step();
  EXPECT_EQ(web->replicas(), 3);
  EXPECT_THAT(web->set_calls(), ElementsAre(3));
  EXPECT_TRUE(h.observer.decisions.empty()) << "results after cancellation are dropped";
}

TEST(ControllerShutdownTest, RunReturnsWithinTheGrace) {
  ControllerHarness h;
  ControllerOptions options;
  options.shutdown_grace = seconds(0);
  h.Start(options);
  auto web = h.resolver.Add("default", "web", 1);
  h.http.SetHold([](const http::HttpRequest&) { return true; });
  h.Update({MakeObject("web", "q_web", 10)});
  h.Step();
  std::stop_source stop;
  stop.request_stop();
  h.controller->Run(stop.get_token());  // returns at once: grace 0, poll cancelled
  EXPECT_EQ(h.controller->InFlight(), 0);
  h.http.Release();
  EXPECT_THAT(web->set_calls(), IsEmpty());
}

TEST(ControllerShutdownTest, PostUpdateRunsOnTheControllerThread) {
  ControllerHarness h;
  h.Start();
  h.resolver.Add("default", "web", 1);
  h.controller->PostUpdate({MakeObject("web", "q_web", 10)}, h.lookup, {});
  EXPECT_TRUE(h.controller->Snapshot().empty());
  h.controller->DrainResults();
  EXPECT_EQ(h.controller->Snapshot().size(), 1u);
}

// The production loop on its own thread: an update posted from another
// thread is picked up, polled and applied; a stop request ends Run. The
// test waits on a future (bounded), never sleeps.
TEST(ControllerRunTest, RunsOnItsOwnThreadAndStops) {
  class DecisionPromise final : public ControllerObserver {
   public:
    void OnDecision(const DecisionMade& d) override {
      if (!set_) promise.set_value(d);
      set_ = true;
    }
    std::promise<DecisionMade> promise;

   private:
    bool set_ = false;  // controller thread only
  };
  ControllerHarness h;
  DecisionPromise observer;
  ControllerOptions options;
  options.jitter = [] { return 0.0; };
  Controller controller(options, h.clock, h.http, h.resolver, TriggerEnvironment{}, &observer, nullptr, nullptr);
  auto web = h.resolver.Add("default", "web", 1);
  h.SetValue("q_web", 30);
  std::future<DecisionMade> decided = observer.promise.get_future();
  {
    std::jthread loop([&](std::stop_token st) { controller.Run(st); });
    controller.PostUpdate({MakeObject("web", "q_web", 10)}, h.lookup, {});
    ASSERT_EQ(decided.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  }  // ~jthread: request_stop and join
  EXPECT_EQ(decided.get().to_replicas, 3);
  EXPECT_EQ(web->replicas(), 3);
}

}  // namespace
}  // namespace ebb::controller
