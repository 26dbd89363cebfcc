#include "scaling/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

namespace ebb::scaling {
namespace {

using api::FallbackBehavior;
using api::MetricType;

const Time kCreated = FromUnixSeconds(1'700'000'000);
Time At(int seconds) { return kCreated + std::chrono::seconds(seconds); }

api::ScaledObject MakeSo(int32_t min, int32_t max, std::vector<std::string> names = {"a"}) {
  api::ScaledObject so;
  so.metadata.name = "web";
  so.spec.min_replica_count = min;
  so.spec.max_replica_count = max;
  for (auto& n : names) {
    api::Trigger t;
    t.type = "prometheus";
    t.name = n;
    so.spec.triggers.push_back(t);
  }
  return so;
}

TriggerObservation Obs(std::optional<double> value, double target = 10, double activation = 0,
                       std::string name = "a") {
  TriggerObservation o;
  o.name = std::move(name);
  o.value = value;
  if (!value) o.error = "connection refused";
  o.target = target;
  o.activation_target = activation;
  return o;
}

const Condition* Find(const Decision& d, const std::string& type) {
  for (const auto& c : d.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

void ExpectCondition(const Decision& d, const std::string& type, ConditionStatus status, const std::string& reason) {
  const Condition* c = Find(d, type);
  ASSERT_NE(c, nullptr) << type;
  EXPECT_EQ(c->status, status) << type << ": " << c->reason << " " << c->message;
  EXPECT_EQ(c->reason, reason) << type;
}

// --- Activation ------------------------------------------------------------

struct ActivationCase {
  const char* name;
  int32_t min;
  std::optional<int32_t> idle;
  int32_t current;
  double value;
  int32_t expected;
  const char* reason;
};

class ActivationTest : public ::testing::TestWithParam<ActivationCase> {};

TEST_P(ActivationTest, FromZeroOrIdle) {
  const ActivationCase& c = GetParam();
  api::ScaledObject so = MakeSo(c.min, 10);
  so.spec.idle_replica_count = c.idle;
  EngineState state;
  Decision d = Decide(so, {Obs(c.value, 10, 5)}, c.current, c.current, At(1000), kCreated, state);
  EXPECT_EQ(d.replicas, c.expected) << c.name;
  EXPECT_EQ(d.reason, c.reason) << c.name << ": " << d.message;
  EXPECT_EQ(d.changed, c.expected != c.current);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ActivationTest,
    ::testing::Values(ActivationCase{"active lifts 0 to 1", 0, std::nullopt, 0, 6, 1, kReasonActivate},
                      ActivationCase{"active lifts 0 to min", 3, std::nullopt, 0, 6, 3, kReasonActivate},
                      ActivationCase{"activation is strict", 0, std::nullopt, 0, 5, 0, kReasonHold},
                      ActivationCase{"inactive stays at 0", 0, std::nullopt, 0, 1, 0, kReasonHold},
                      ActivationCase{"active lifts idle to min", 3, 0, 0, 50, 3, kReasonActivate},
                      ActivationCase{"active lifts idle 1 to min", 3, 1, 1, 50, 3, kReasonActivate},
                      ActivationCase{"inactive stays idle", 3, 1, 1, 0, 1, kReasonHold},
                      ActivationCase{"no idle: 0 below min goes to min", 2, std::nullopt, 0, 0, 2,
                                     kReasonScaleUp}));

TEST(EngineTest, ActiveSetsLastActiveTimeAndCondition) {
  api::ScaledObject so = MakeSo(0, 10);
  EngineState state;
  Decision d = Decide(so, {Obs(6)}, 0, 0, At(10), kCreated, state);
  EXPECT_TRUE(d.active);
  EXPECT_EQ(state.last_active_time, At(10));
  ExpectCondition(d, "Active", ConditionStatus::kTrue, "ScalerActive");
  ExpectCondition(d, "Ready", ConditionStatus::kTrue, "ScaledObjectReady");
  ExpectCondition(d, "Paused", ConditionStatus::kFalse, "ScaledObjectUnpaused");
  EXPECT_EQ(Find(d, "Fallback"), nullptr);  // only when fallback is configured
  Decision quiet = Decide(so, {Obs(0)}, 1, 1, At(20), kCreated, state);
  EXPECT_FALSE(quiet.active);
  EXPECT_EQ(state.last_active_time, At(10));
}

TEST(EngineTest, ActiveAboveZeroRunsTheHpa) {
  api::ScaledObject so = MakeSo(0, 10);
  EngineState state;
  // 50 / 10 = 5 replicas; without behavior at most max(2 * 2, 4) = 4.
  Decision d = Decide(so, {Obs(50)}, 2, 2, At(10), kCreated, state);
  EXPECT_EQ(d.replicas, 4);
  EXPECT_EQ(d.reason, kReasonScaleUp);
  EXPECT_EQ(d.desired, 5);
}

TEST(EngineTest, RemembersOriginalReplicaCountOnce) {
  api::ScaledObject so = MakeSo(0, 10);
  EngineState state;
  Decide(so, {Obs(50)}, 3, 3, At(10), kCreated, state);
  Decide(so, {Obs(50)}, 6, 6, At(20), kCreated, state);
  EXPECT_EQ(state.original_replica_count, 3);
}

// --- Deactivation and cooldown --------------------------------------------

TEST(EngineTest, DeactivatesOnlyAfterCooldown) {
  api::ScaledObject so = MakeSo(0, 10);
  so.spec.cooldown_period = 300;
  EngineState state;
  state.last_active_time = At(0);
  Decision cooling = Decide(so, {Obs(0)}, 1, 1, At(200), kCreated, state);
  EXPECT_EQ(cooling.replicas, 1);
  ExpectCondition(cooling, "Active", ConditionStatus::kFalse, "ScalerCooldown");
  // KEDA scales in when lastActiveTime + cooldown is strictly before now.
  EXPECT_EQ(Decide(so, {Obs(0)}, 1, 1, At(300), kCreated, state).replicas, 1);
  Decision done = Decide(so, {Obs(0)}, 1, 1, At(301), kCreated, state);
  EXPECT_EQ(done.replicas, 0);
  EXPECT_EQ(done.reason, kReasonDeactivate);
  ExpectCondition(done, "Active", ConditionStatus::kFalse, "ScalerNotActive");
}

TEST(EngineTest, DeactivatesToIdle) {
  api::ScaledObject so = MakeSo(2, 10);
  so.spec.idle_replica_count = 0;
  so.spec.cooldown_period = 60;
  EngineState state;
  state.last_active_time = At(0);
  Decision d = Decide(so, {Obs(0)}, 3, 3, At(61), kCreated, state);
  EXPECT_EQ(d.replicas, 0);
  EXPECT_EQ(d.reason, kReasonDeactivate);
}

TEST(EngineTest, WithMinAboveZeroAndNoIdleNeverDeactivates) {
  api::ScaledObject so = MakeSo(2, 10);
  so.spec.cooldown_period = 0;
  EngineState state;
  Decision d = Decide(so, {Obs(0)}, 3, 3, At(1000), kCreated, state);
  EXPECT_EQ(d.replicas, 2);  // the HPA's floor, not 0
  EXPECT_EQ(d.reason, kReasonScaleDown);
}

TEST(EngineTest, InitialCooldownHoldsANeverActiveObject) {
  api::ScaledObject so = MakeSo(0, 10);
  so.spec.initial_cooldown_period = 120;
  EngineState state;
  Decision early = Decide(so, {Obs(0)}, 1, 1, At(60), kCreated, state);
  EXPECT_EQ(early.replicas, 1);
  ExpectCondition(early, "Active", ConditionStatus::kFalse, "ScalerCooldown");
  EXPECT_EQ(Decide(so, {Obs(0)}, 1, 1, At(121), kCreated, state).replicas, 0);
}

TEST(EngineTest, NeverActiveWithoutInitialCooldownScalesInAtOnce) {
  api::ScaledObject so = MakeSo(0, 10);
  EngineState state;
  EXPECT_EQ(Decide(so, {Obs(0)}, 2, 2, At(1), kCreated, state).replicas, 0);
}

TEST(EngineTest, TriggerErrorsBlockDeactivation) {
  api::ScaledObject so = MakeSo(0, 10);
  EngineState state;
  state.last_active_time = At(0);
  Decision d = Decide(so, {Obs(std::nullopt)}, 1, 1, At(10'000), kCreated, state);
  EXPECT_EQ(d.replicas, 1);
  EXPECT_EQ(d.reason, kReasonHold);
  ExpectCondition(d, "Ready", ConditionStatus::kFalse, "TriggerError");
}

// --- HPA through the engine -----------------------------------------------

TEST(EngineTest, CurrentOutsideBoundsIsClamped) {
  api::ScaledObject so = MakeSo(3, 8);
  EngineState state;
  EXPECT_EQ(Decide(so, {Obs(10)}, 12, 12, At(10), kCreated, state).replicas, 8);
  Decision low = Decide(so, {Obs(100)}, 1, 1, At(20), kCreated, state);
  EXPECT_EQ(low.replicas, 3);
  EXPECT_FALSE(low.desired.has_value());  // metrics not read
}

TEST(EngineTest, DefaultBehaviorRulesLimitScaleUp) {
  api::ScaledObject so = MakeSo(1, 1000);
  so.spec.advanced.horizontal_pod_autoscaler_config = api::HorizontalPodAutoscalerConfig{"", api::Behavior{}};
  EngineState state;
  Decision d = Decide(so, {Obs(500)}, 10, 10, At(10), kCreated, state);
  EXPECT_EQ(d.replicas, 20);
  ASSERT_EQ(state.hpa.scale_up_events.size(), 1u);
  EXPECT_EQ(state.hpa.scale_up_events[0].replicas, 10);
  // 10 s later the 15 s period still holds the +10: limit stays 20.
  EXPECT_EQ(Decide(so, {Obs(500)}, 20, 20, At(20), kCreated, state).replicas, 20);
}

TEST(EngineTest, PerDirectionToleranceFromBehavior) {
  api::ScaledObject so = MakeSo(1, 100);
  api::Behavior b;
  b.scale_up = api::ScalingRules{std::nullopt, std::nullopt, std::nullopt, 0.5};
  so.spec.advanced.horizontal_pod_autoscaler_config = api::HorizontalPodAutoscalerConfig{"", b};
  EngineState state;
  EXPECT_EQ(Decide(so, {Obs(140)}, 10, 10, At(10), kCreated, state).replicas, 10);  // ratio 1.4
  EXPECT_EQ(Decide(so, {Obs(160)}, 10, 10, At(20), kCreated, state).replicas, 16);  // ratio 1.6
}

TEST(EngineTest, SeveralTriggersTakeTheMax) {
  api::ScaledObject so = MakeSo(1, 100, {"a", "b"});
  EngineState state;
  Decision d = Decide(so, {Obs(30, 10, 0, "a"), Obs(50, 10, 0, "b")}, 4, 4, At(10), kCreated, state);
  EXPECT_EQ(d.replicas, 5);
}

TEST(EngineTest, PartialFailureMayScaleUpButNotDown) {
  api::ScaledObject so = MakeSo(1, 100, {"a", "b"});
  EngineState state;
  Decision up = Decide(so, {Obs(50, 10, 0, "a"), Obs(std::nullopt, 10, 0, "b")}, 3, 3, At(10), kCreated, state);
  EXPECT_EQ(up.replicas, 5);
  ExpectCondition(up, "Ready", ConditionStatus::kUnknown, "PartialTriggerError");
  EngineState fresh;
  Decision down = Decide(so, {Obs(10, 10, 0, "a"), Obs(std::nullopt, 10, 0, "b")}, 3, 3, At(10), kCreated, fresh);
  EXPECT_EQ(down.replicas, 3);
  EXPECT_EQ(down.reason, kReasonHold);
  EXPECT_THAT(down.message, ::testing::HasSubstr("1 of 2 metrics fail"));
}

// --- Fallback --------------------------------------------------------------

TEST(EngineTest, FallbackAfterMoreThanThresholdFailures) {
  api::ScaledObject so = MakeSo(1, 10);
  so.spec.fallback = api::Fallback{2, 5, FallbackBehavior::kStatic};
  EngineState state;
  for (int i = 1; i <= 2; ++i) {
    Decision d = Decide(so, {Obs(std::nullopt)}, 3, 3, At(i * 10), kCreated, state);
    EXPECT_EQ(d.replicas, 3) << i;
    ExpectCondition(d, "Fallback", ConditionStatus::kFalse, "NoFallbackFound");
  }
  Decision d = Decide(so, {Obs(std::nullopt)}, 3, 3, At(30), kCreated, state);
  EXPECT_EQ(state.consecutive_failures[0], 3);
  EXPECT_EQ(d.replicas, 5);
  EXPECT_EQ(d.reason, kReasonFallback);
  ExpectCondition(d, "Fallback", ConditionStatus::kTrue, "FallbackExists");
  Decision ok = Decide(so, {Obs(50)}, 5, 5, At(40), kCreated, state);
  EXPECT_EQ(state.consecutive_failures[0], 0);
  ExpectCondition(ok, "Fallback", ConditionStatus::kFalse, "NoFallbackFound");
}

struct FallbackCase {
  FallbackBehavior behavior;
  int32_t current;
  int32_t expected;
};

class FallbackBehaviorTest : public ::testing::TestWithParam<FallbackCase> {};

TEST_P(FallbackBehaviorTest, PicksReplicas) {
  const FallbackCase& c = GetParam();
  api::ScaledObject so = MakeSo(1, 20);
  so.spec.fallback = api::Fallback{0, 5, c.behavior};
  // A downscale would wait out stabilization; behavior with no window shows the raw choice.
  api::Behavior b;
  b.scale_down = api::ScalingRules{0, std::nullopt, std::nullopt, std::nullopt};
  so.spec.advanced.horizontal_pod_autoscaler_config = api::HorizontalPodAutoscalerConfig{"", b};
  EngineState state;
  Decision d = Decide(so, {Obs(std::nullopt)}, c.current, c.current, At(10), kCreated, state);
  EXPECT_EQ(d.replicas, c.expected);
  EXPECT_EQ(d.reason, kReasonFallback);
}

INSTANTIATE_TEST_SUITE_P(Cases, FallbackBehaviorTest,
                         ::testing::Values(FallbackCase{FallbackBehavior::kStatic, 3, 5},
                                           FallbackCase{FallbackBehavior::kStatic, 8, 5},
                                           FallbackCase{FallbackBehavior::kCurrentReplicas, 3, 3},
                                           FallbackCase{FallbackBehavior::kCurrentReplicas, 8, 8},
                                           FallbackCase{FallbackBehavior::kCurrentReplicasIfHigher, 3, 5},
                                           FallbackCase{FallbackBehavior::kCurrentReplicasIfHigher, 8, 8},
                                           FallbackCase{FallbackBehavior::kCurrentReplicasIfLower, 3, 3},
                                           FallbackCase{FallbackBehavior::kCurrentReplicasIfLower, 8, 5}));

TEST(EngineTest, FallbackLiftsFromZero) {
  api::ScaledObject so = MakeSo(0, 10);
  so.spec.fallback = api::Fallback{0, 4, FallbackBehavior::kStatic};
  EngineState state;
  Decision d = Decide(so, {Obs(std::nullopt)}, 0, 0, At(10), kCreated, state);
  EXPECT_EQ(d.replicas, 4);
  EXPECT_EQ(d.reason, kReasonFallback);
}

TEST(EngineTest, FallbackCompetesWithHealthyTriggers) {
  api::ScaledObject so = MakeSo(1, 20, {"a", "b"});
  so.spec.fallback = api::Fallback{0, 2, FallbackBehavior::kStatic};
  EngineState state;
  Decision d = Decide(so, {Obs(60, 10, 0, "a"), Obs(std::nullopt, 10, 0, "b")}, 4, 4, At(10), kCreated, state);
  EXPECT_EQ(d.replicas, 6);  // the healthy trigger's 6 beats the fallback's 2
}

// --- Pause -----------------------------------------------------------------

TEST(EngineTest, PausedLeavesReplicasAndState) {
  api::ScaledObject so = MakeSo(0, 10);
  so.metadata.annotations[api::kAnnotationPaused] = "true";
  EngineState state;
  Decision d = Decide(so, {Obs(std::nullopt)}, 4, 4, At(10), kCreated, state);
  EXPECT_EQ(d.replicas, 4);
  EXPECT_FALSE(d.changed);
  EXPECT_EQ(d.reason, kReasonPaused);
  ExpectCondition(d, "Paused", ConditionStatus::kTrue, "ScaledObjectPaused");
  EXPECT_TRUE(state.consecutive_failures.empty());
}

TEST(EngineTest, PausedFalseIsNotPaused) {
  api::ScaledObject so = MakeSo(0, 10);
  so.metadata.annotations[api::kAnnotationPaused] = "false";
  EngineState state;
  EXPECT_EQ(Decide(so, {Obs(6)}, 0, 0, At(10), kCreated, state).reason, kReasonActivate);
}

TEST(EngineTest, PausedReplicasHoldsTheCount) {
  api::ScaledObject so = MakeSo(0, 10);
  so.metadata.annotations[api::kAnnotationPausedReplicas] = "7";
  EngineState state;
  Decision d = Decide(so, {Obs(0)}, 2, 2, At(10), kCreated, state);
  EXPECT_EQ(d.replicas, 7);
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(d.reason, kReasonPaused);
  EXPECT_FALSE(Decide(so, {Obs(100)}, 7, 7, At(20), kCreated, state).changed);
}

TEST(EngineTest, BadPausedReplicasPausesAndSaysWhy) {
  api::ScaledObject so = MakeSo(0, 10);
  so.metadata.annotations[api::kAnnotationPausedReplicas] = "many";
  EngineState state;
  Decision d = Decide(so, {Obs(100)}, 2, 2, At(10), kCreated, state);
  EXPECT_EQ(d.replicas, 2);
  ExpectCondition(d, "Ready", ConditionStatus::kFalse, "InvalidAnnotation");
}

TEST(EngineTest, PausedScaleInNeverDecreases) {
  api::ScaledObject so = MakeSo(0, 10);
  so.metadata.annotations[api::kAnnotationPausedScaleIn] = "true";
  EngineState state;
  Decision hpa = Decide(so, {Obs(10)}, 5, 5, At(10), kCreated, state);  // wants 1
  EXPECT_EQ(hpa.replicas, 5);
  ExpectCondition(hpa, "Paused", ConditionStatus::kTrue, "ScaledObjectPaused");
  Decision idle = Decide(so, {Obs(0)}, 5, 5, At(10'000), kCreated, state);  // would deactivate
  EXPECT_EQ(idle.replicas, 5);
  EXPECT_EQ(Decide(so, {Obs(80)}, 5, 5, At(10'010), kCreated, state).replicas, 8);
}

TEST(EngineTest, PausedScaleOutNeverIncreases) {
  api::ScaledObject so = MakeSo(0, 10);
  so.metadata.annotations[api::kAnnotationPausedScaleOut] = "true";
  EngineState state;
  EXPECT_EQ(Decide(so, {Obs(50)}, 0, 0, At(10), kCreated, state).replicas, 0);
  EXPECT_EQ(Decide(so, {Obs(80)}, 2, 2, At(20), kCreated, state).replicas, 2);
  EngineState fresh;
  EXPECT_EQ(Decide(so, {Obs(10)}, 4, 4, At(20), kCreated, fresh).replicas, 1);
}

// --- scalingModifiers ------------------------------------------------------

api::ScaledObject ModifiedSo(const std::string& formula, double target, double activation) {
  api::ScaledObject so = MakeSo(0, 20, {"a", "b"});
  so.spec.advanced.scaling_modifiers = api::ScalingModifiers{formula, target, activation, MetricType::kAverageValue};
  return so;
}

TEST(EngineTest, ModifiersReplaceTriggersWithTheComposite) {
  api::ScaledObject so = ModifiedSo("a + b", 10, 0);
  EngineState state;
  // Each trigger alone would ask for 3 and 2 (target 10); the sum asks for 5.
  Decision d = Decide(so, {Obs(30, 10, 0, "a"), Obs(20, 10, 0, "b")}, 3, 3, At(10), kCreated, state);
  EXPECT_EQ(d.desired, 5);
  EXPECT_EQ(d.replicas, 5);
}

TEST(EngineTest, ModifiersActivationUsesTheComposite) {
  api::ScaledObject so = ModifiedSo("a - b", 10, 5);
  EngineState state;
  // Each trigger is over its own activation target, the composite (4) is not.
  Decision d = Decide(so, {Obs(14, 10, 0, "a"), Obs(10, 10, 0, "b")}, 0, 0, At(10), kCreated, state);
  EXPECT_FALSE(d.active);
  EXPECT_EQ(d.replicas, 0);
  EXPECT_TRUE(Decide(so, {Obs(16, 10, 0, "a"), Obs(10, 10, 0, "b")}, 0, 0, At(20), kCreated, state).active);
}

TEST(EngineTest, ModifiersFailWhenATriggerFails) {
  api::ScaledObject so = ModifiedSo("max(a, b)", 10, 0);
  EngineState state;
  Decision d = Decide(so, {Obs(90, 10, 0, "a"), Obs(std::nullopt, 10, 0, "b")}, 3, 3, At(10), kCreated, state);
  EXPECT_EQ(d.replicas, 3);
  const Condition* ready = Find(d, "Ready");
  ASSERT_NE(ready, nullptr);
  EXPECT_THAT(ready->message, ::testing::HasSubstr("b: connection refused"));
}

TEST(EngineTest, ModifiersEvaluationErrorIsATriggerError) {
  api::ScaledObject so = ModifiedSo("a / b", 10, 0);
  EngineState state;
  Decision d = Decide(so, {Obs(90, 10, 0, "a"), Obs(0, 10, 0, "b")}, 3, 3, At(10), kCreated, state);
  EXPECT_EQ(d.replicas, 3);
  ExpectCondition(d, "Ready", ConditionStatus::kFalse, "TriggerError");
}

// --- Properties (seeded random inputs) -------------------------------------

struct RandomRun {
  std::vector<Decision> decisions;
  EngineState state;
};

api::ScaledObject RandomSo(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  api::ScaledObject so = MakeSo(pick(0, 3), pick(4, 30), {"a", "b"});
  if (pick(0, 2) == 0 && so.spec.min_replica_count > 0) so.spec.idle_replica_count = 0;
  so.spec.cooldown_period = pick(0, 120);
  if (pick(0, 1)) so.spec.fallback = api::Fallback{pick(0, 3), pick(0, 40), FallbackBehavior(pick(0, 3))};
  if (pick(0, 1)) {
    api::Behavior b;
    b.scale_down = api::ScalingRules{pick(0, 120), std::nullopt,
                                     std::vector<api::ScalingPolicy>{{api::ScalingPolicyType::kPods, pick(1, 5), 30}},
                                     std::nullopt};
    so.spec.advanced.horizontal_pod_autoscaler_config = api::HorizontalPodAutoscalerConfig{"", b};
  }
  return so;
}

RandomRun RunRandom(const api::ScaledObject& so, uint32_t seed, int steps) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> value(0, 300);
  std::uniform_int_distribution<int> fail(0, 9);
  RandomRun run;
  int32_t current = so.spec.min_replica_count;
  for (int i = 0; i < steps; ++i) {
    std::optional<double> a = fail(rng) == 0 ? std::nullopt : std::optional<double>(value(rng));
    std::optional<double> b = fail(rng) < 2 ? std::optional<double>(0.0) : std::optional<double>(value(rng) / 3);
    Decision d = Decide(so, {Obs(a, 10, 20, "a"), Obs(b, 7, 5, "b")}, current, current, At(i * 15), kCreated,
                        run.state);
    current = d.replicas;
    run.decisions.push_back(std::move(d));
  }
  return run;
}

TEST(EnginePropertyTest, ReplicasStayWithinBoundsOrIdle) {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    std::mt19937 rng(seed);
    api::ScaledObject so = RandomSo(rng);
    RandomRun run = RunRandom(so, seed, 60);
    const int32_t rest = so.spec.idle_replica_count.value_or(0);
    for (const Decision& d : run.decisions) {
      const bool in_range = d.replicas >= so.spec.min_replica_count && d.replicas <= so.spec.max_replica_count;
      const bool at_rest = d.replicas == rest && (so.spec.min_replica_count == 0 || so.spec.idle_replica_count);
      ASSERT_TRUE(in_range || at_rest) << "seed " << seed << ": " << d.replicas << " (" << d.reason << ": "
                                       << d.message << ")";
      if (d.reason == kReasonHold) {
        ASSERT_FALSE(d.changed) << "seed " << seed;
      }
    }
  }
}

TEST(EnginePropertyTest, SameInputsGiveSameOutputs) {
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    std::mt19937 rng(seed);
    api::ScaledObject so = RandomSo(rng);
    RandomRun first = RunRandom(so, seed, 80);
    RandomRun second = RunRandom(so, seed, 80);
    ASSERT_EQ(first.decisions, second.decisions) << "seed " << seed;
    ASSERT_EQ(first.state, second.state) << "seed " << seed;
  }
}

TEST(EnginePropertyTest, NoChangeWhileWithinTolerance) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> ratio(0.905, 1.095);
  std::uniform_int_distribution<int> replicas(1, 50);
  for (int run = 0; run < 100; ++run) {
    api::ScaledObject so = MakeSo(1, 50);
    EngineState state;
    const int32_t current = replicas(rng);
    for (int i = 0; i < 20; ++i) {
      const double value = 10.0 * current * ratio(rng);
      Decision d = Decide(so, {Obs(value, 10, 0)}, current, current, At(i * 30), kCreated, state);
      ASSERT_FALSE(d.changed) << current << " at value " << value << ": " << d.message;
    }
  }
}

TEST(EnginePropertyTest, HistoryStaysSmall) {
  api::ScaledObject so = MakeSo(1, 100);
  so.spec.advanced.horizontal_pod_autoscaler_config = api::HorizontalPodAutoscalerConfig{"", api::Behavior{}};
  EngineState state;
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> value(0, 1000);
  int32_t current = 1;
  for (int i = 0; i < 5000; ++i) {
    current = Decide(so, {Obs(value(rng))}, current, current, At(i), kCreated, state).replicas;
  }
  const size_t entries = state.hpa.for_max.size() + state.hpa.for_min.size() + state.hpa.scale_up_events.size() +
                         state.hpa.scale_down_events.size();
  // Bounded by the 300 s window at 1 s polls; in practice far fewer.
  EXPECT_LE(entries * sizeof(TimedReplicas), 8u * 1024u);
}

}  // namespace
}  // namespace ebb::scaling
