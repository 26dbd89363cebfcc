#include "scaling/hpa.h"

#include <gtest/gtest.h>

#include <limits>

namespace ebb::scaling {
namespace {

using api::MetricType;
using api::ScalingPolicy;
using api::ScalingPolicyType;
using api::SelectPolicy;

const Time kNow = FromUnixSeconds(1'700'000'000);
Time Ago(int seconds) { return kNow - std::chrono::seconds(seconds); }

ScalingPolicy Pods(int32_t v, int32_t period) { return {ScalingPolicyType::kPods, v, period}; }
ScalingPolicy Percent(int32_t v, int32_t period) { return {ScalingPolicyType::kPercent, v, period}; }

// --- One metric's proposal -------------------------------------------------

TEST(ExternalMetricReplicasTest, AverageValueFromKubernetesSuite) {
  // Target 2150m, usage 8600m, current 3: ratio 1.33 -> ceil(8600/2150) = 4.
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kAverageValue, 8.6, 2.15, 3, 3, {}), 4);
  // Target 2900m: ratio 8600 / 8700 = 0.989, within tolerance -> current.
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kAverageValue, 8.6, 2.9, 3, 3, {}), 3);
}

TEST(ExternalMetricReplicasTest, HugeInfiniteAndNanValuesSaturateInsteadOfOverflowing) {
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (MetricType type : {MetricType::kAverageValue, MetricType::kValue}) {
    // 1e17 * 1000 used to overflow llround: INT64_MIN milli, then 1 replica.
    EXPECT_EQ(ExternalMetricReplicas(type, 1e17, 10, 3, 3, {}), kMax);
    EXPECT_EQ(ExternalMetricReplicas(type, 1e300, 10, 3, 3, {}), kMax);
    EXPECT_EQ(ExternalMetricReplicas(type, inf, 10, 3, 3, {}), kMax);
    EXPECT_EQ(ExternalMetricReplicas(type, nan, 10, 0, 0, {}), 0);
    EXPECT_EQ(ExternalMetricReplicas(type, -1e300, 10, 0, 0, {}), std::numeric_limits<int32_t>::min());
    EXPECT_EQ(ExternalMetricReplicas(type, 1, 1e300, 0, 0, {}), 1);
  }
  EXPECT_EQ(ToMilli(1e17), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ToMilli(-inf), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(ToMilli(nan), 0);
  EXPECT_EQ(ToMilli(9.2e15), 9'200'000'000'000'000'000);
}

TEST(ExternalMetricReplicasTest, AverageValueIgnoresReadyReplicas) {
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kAverageValue, 100, 10, 4, 1, {}), 10);
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kAverageValue, 0, 10, 4, 4, {}), 0);
}

TEST(ExternalMetricReplicasTest, ToleranceBoundsAreInclusive) {
  // ratio exactly 1.1 and 0.9 keep current; just outside moves.
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kAverageValue, 44, 10, 4, 4, {}), 4);   // 1.1
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kAverageValue, 36, 10, 4, 4, {}), 4);   // 0.9
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kAverageValue, 44.4, 10, 4, 4, {}), 5);  // 1.11
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kAverageValue, 35.6, 10, 4, 4, {}), 4);  // 0.89 -> ceil(3.56)
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kAverageValue, 29, 10, 4, 4, {}), 3);
}

TEST(ExternalMetricReplicasTest, PerDirectionTolerance) {
  Tolerances wide_up{0.5, 0.05};
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kAverageValue, 52, 10, 4, 4, wide_up), 4);  // 1.3: within
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kAverageValue, 37, 10, 4, 4, wide_up), 4);  // 0.925: ceil 3.7
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kAverageValue, 30, 10, 4, 4, wide_up), 3);  // 0.75: outside
  Tolerances zero{0, 0};
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kAverageValue, 41, 10, 4, 4, zero), 5);
}

TEST(ExternalMetricReplicasTest, ValueUsesReadyReplicas) {
  // usage / target = 5, times 2 ready replicas = 10.
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kValue, 10, 2, 3, 2, {}), 10);
  // Within tolerance of the target: current.
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kValue, 2.1, 2, 3, 2, {}), 3);
  // Current 0: ceil(usage / target).
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kValue, 10, 4, 0, 0, {}), 3);
  // Below target: 0.5 * 4 ready = 2.
  EXPECT_EQ(ExternalMetricReplicas(MetricType::kValue, 1, 2, 4, 4, {}), 2);
}

// --- Without behavior ------------------------------------------------------

struct NoBehaviorCase {
  int32_t current, desired, min, max, expected;
};

class NoBehaviorTest : public ::testing::TestWithParam<NoBehaviorCase> {};

TEST_P(NoBehaviorTest, ClampsToMinAndScaleUpLimit) {
  const NoBehaviorCase& c = GetParam();
  HpaHistory h;
  EXPECT_EQ(NormalizeWithoutBehavior(c.current, c.desired, c.min, c.max, kNow, h), c.expected);
}

INSTANTIATE_TEST_SUITE_P(KubernetesSuite, NoBehaviorTest,
                         ::testing::Values(NoBehaviorCase{5, 7, 3, 8, 7}, NoBehaviorCase{3, 1, 2, 8, 2},
                                           NoBehaviorCase{20, 1000, 1, 10, 10}, NoBehaviorCase{3, 1000, 1, 2000, 6},
                                           NoBehaviorCase{1, 1000, 1, 2000, 4}, NoBehaviorCase{2, 0, 0, 10, 1}));

TEST(NoBehaviorTest, DownscaleStabilizationTakesMaxOfLastFiveMinutes) {
  HpaHistory h;
  NormalizeWithoutBehavior(5, 4, 1, 10, Ago(120), h);
  NormalizeWithoutBehavior(5, 5, 1, 10, Ago(60), h);
  EXPECT_EQ(NormalizeWithoutBehavior(5, 3, 1, 10, kNow, h), 5);
}

TEST(NoBehaviorTest, RecommendationsOlderThanWindowAreForgotten) {
  HpaHistory h;
  NormalizeWithoutBehavior(9, 9, 1, 10, Ago(301), h);
  NormalizeWithoutBehavior(9, 4, 1, 10, Ago(100), h);
  EXPECT_EQ(NormalizeWithoutBehavior(9, 3, 1, 10, kNow, h), 4);
}

TEST(NoBehaviorTest, ASeededHistoryHoldsTheCurrentCountForTheWindow) {
  HpaHistory h;
  SeedHistory(h, 6, Ago(200));
  EXPECT_EQ(NormalizeWithoutBehavior(6, 2, 1, 10, Ago(100), h), 6);
  EXPECT_EQ(NormalizeWithoutBehavior(6, 2, 1, 10, Ago(-101), h), 2) << "the seed outlived the window";
}

TEST(NoBehaviorTest, SeedingKeepsAnExistingHistory) {
  HpaHistory h;
  NormalizeWithoutBehavior(9, 4, 1, 10, Ago(10), h);
  HpaHistory before = h;
  SeedHistory(h, 9, kNow);
  EXPECT_EQ(h, before);
}

TEST(NoBehaviorTest, RecommendationExactlyAtWindowEdgeCounts) {
  HpaHistory h;
  NormalizeWithoutBehavior(9, 9, 1, 10, Ago(300), h);
  EXPECT_EQ(NormalizeWithoutBehavior(9, 3, 1, 10, kNow, h), 9);
}

TEST(NoBehaviorTest, HistoryStaysSmall) {
  HpaHistory h;
  for (int i = 0; i < 1000; ++i) NormalizeWithoutBehavior(5, 5, 1, 10, Ago(1000 - i), h);
  EXPECT_EQ(h.for_max.size(), 1u);
  for (int i = 0; i < 1000; ++i) NormalizeWithoutBehavior(5, 1 + i % 7, 1, 10, kNow + std::chrono::seconds(i), h);
  // Only samples within 300 s that no newer sample dominates remain.
  EXPECT_LE(h.for_max.size(), 8u);
}

// --- With behavior ---------------------------------------------------------

ResolvedBehavior Up(std::vector<ScalingPolicy> policies, SelectPolicy select = SelectPolicy::kMax) {
  api::Behavior b;
  b.scale_up = api::ScalingRules{0, select, std::move(policies), std::nullopt};
  return ResolveBehavior(b);
}

ResolvedBehavior Down(std::vector<ScalingPolicy> policies, SelectPolicy select = SelectPolicy::kMax) {
  api::Behavior b;
  b.scale_down = api::ScalingRules{0, select, std::move(policies), std::nullopt};
  return ResolveBehavior(b);
}

TEST(ResolveBehaviorTest, DefaultsPerDirection) {
  ResolvedBehavior b = ResolveBehavior({});
  EXPECT_EQ(b.scale_up.stabilization_window_seconds, 0);
  EXPECT_EQ(b.scale_up.select_policy, SelectPolicy::kMax);
  ASSERT_EQ(b.scale_up.policies.size(), 2u);
  EXPECT_EQ(b.scale_up.policies[0].type, ScalingPolicyType::kPods);
  EXPECT_EQ(b.scale_up.policies[0].value, 4);
  EXPECT_EQ(b.scale_up.policies[0].period_seconds, 15);
  EXPECT_EQ(b.scale_up.policies[1].type, ScalingPolicyType::kPercent);
  EXPECT_EQ(b.scale_up.policies[1].value, 100);
  EXPECT_EQ(b.scale_down.stabilization_window_seconds, 300);
  ASSERT_EQ(b.scale_down.policies.size(), 1u);
  EXPECT_EQ(b.scale_down.policies[0].type, ScalingPolicyType::kPercent);
  EXPECT_EQ(b.scale_down.policies[0].value, 100);
  EXPECT_DOUBLE_EQ(b.tolerances().scale_up, 0.1);
}

TEST(ResolveBehaviorTest, UserFieldsReplaceDefaultsOneByOne) {
  api::Behavior user;
  user.scale_down = api::ScalingRules{60, std::nullopt, std::nullopt, 0.05};
  ResolvedBehavior b = ResolveBehavior(user);
  EXPECT_EQ(b.scale_down.stabilization_window_seconds, 60);
  EXPECT_EQ(b.scale_down.policies.size(), 1u);  // default list kept
  EXPECT_DOUBLE_EQ(b.tolerances().scale_down, 0.05);
  EXPECT_DOUBLE_EQ(b.tolerances().scale_up, 0.1);
}

struct BehaviorCase {
  const char* name;
  ResolvedBehavior behavior;
  int32_t current, desired, min, max, expected;
};

class BehaviorTest : public ::testing::TestWithParam<BehaviorCase> {};

TEST_P(BehaviorTest, AppliesPolicies) {
  const BehaviorCase& c = GetParam();
  HpaHistory h;
  EXPECT_EQ(NormalizeWithBehavior(c.current, c.desired, c.min, c.max, c.behavior, kNow, h), c.expected) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    KubernetesSuite, BehaviorTest,
    ::testing::Values(
        BehaviorCase{"default up rules", ResolveBehavior({}), 10, 50, 1, 1000, 20},
        BehaviorCase{"up pods+percent", Up({Pods(100, 60), Percent(100, 60)}), 10, 500, 1, 1000, 110},
        BehaviorCase{"up pods 30", Up({Pods(30, 60)}), 10, 50, 1, 1000, 40},
        BehaviorCase{"up percent 200", Up({Percent(200, 60)}), 10, 50, 1, 1000, 30},
        BehaviorCase{"up select min", Up({Pods(4, 60), Percent(100, 60)}, SelectPolicy::kMin), 10, 50, 1, 1000, 14},
        BehaviorCase{"up disabled", Up({Pods(4, 60)}, SelectPolicy::kDisabled), 10, 50, 1, 1000, 10},
        BehaviorCase{"up capped by max", Up({Pods(100, 60)}), 10, 500, 1, 30, 30},
        BehaviorCase{"up percent rounds up", Up({Percent(10, 60)}), 3, 50, 1, 1000, 4},
        BehaviorCase{"down pods+percent", Down({Pods(20, 60), Percent(1, 60)}), 100, 2, 1, 1000, 80},
        BehaviorCase{"down select min", Down({Pods(20, 60), Percent(1, 60)}, SelectPolicy::kMin), 100, 2, 1, 1000,
                     99},
        BehaviorCase{"down pods 5", Down({Pods(5, 60)}), 10, 2, 1, 1000, 5},
        BehaviorCase{"down percent 100 min 5", Down({Percent(100, 60)}), 10, 2, 5, 1000, 5},
        BehaviorCase{"down percent truncates", Down({Percent(50, 60)}), 5, 1, 1, 1000, 2},
        BehaviorCase{"down disabled", Down({Pods(5, 60)}, SelectPolicy::kDisabled), 10, 2, 1, 1000, 10},
        BehaviorCase{"no change", ResolveBehavior({}), 7, 7, 1, 1000, 7}));

TEST(BehaviorTest, ScaleEventsWithinPeriodUseUpTheBudget) {
  ResolvedBehavior b = Up({Pods(4, 60)});
  HpaHistory h;
  RecordScaleEvent(b, 10, 14, Ago(30), h);
  // Period start is 10: limit 14, and never below current.
  EXPECT_EQ(NormalizeWithBehavior(14, 50, 1, 1000, b, kNow, h), 14);
  // 61 s later the event is out of the period: 14 + 4.
  EXPECT_EQ(NormalizeWithBehavior(14, 50, 1, 1000, b, kNow + std::chrono::seconds(31), h), 18);
}

TEST(BehaviorTest, ScaleDownEventsWithinPeriodLimitFurtherScaleDown) {
  ResolvedBehavior b = Down({Pods(5, 60)});
  HpaHistory h;
  RecordScaleEvent(b, 10, 7, Ago(20), h);
  // Period start 10: the limit is 5.
  EXPECT_EQ(NormalizeWithBehavior(7, 1, 1, 1000, b, kNow, h), 5);
}

TEST(BehaviorTest, ScaleUpStabilizationTakesMinOfWindow) {
  api::Behavior user;
  user.scale_up = api::ScalingRules{60, std::nullopt, std::vector<ScalingPolicy>{Pods(100, 15)}, std::nullopt};
  ResolvedBehavior b = ResolveBehavior(user);
  HpaHistory h;
  NormalizeWithBehavior(3, 3, 1, 100, b, Ago(30), h);
  EXPECT_EQ(NormalizeWithBehavior(3, 8, 1, 100, b, kNow, h), 3);
  // Once the low recommendation leaves the window, the lowest in it wins.
  EXPECT_EQ(NormalizeWithBehavior(3, 9, 1, 100, b, kNow + std::chrono::seconds(31), h), 8);
}

TEST(BehaviorTest, ScaleDownStabilizationTakesMaxOfWindow) {
  api::Behavior user;
  user.scale_down = api::ScalingRules{60, std::nullopt, std::nullopt, std::nullopt};
  ResolvedBehavior b = ResolveBehavior(user);
  HpaHistory h;
  NormalizeWithBehavior(8, 8, 1, 100, b, Ago(30), h);
  EXPECT_EQ(NormalizeWithBehavior(8, 3, 1, 100, b, kNow, h), 8);
  EXPECT_EQ(NormalizeWithBehavior(8, 3, 1, 100, b, kNow + std::chrono::seconds(30), h), 3);
}

TEST(BehaviorTest, RecordScaleEventPrunesOutsideLongestPeriod) {
  ResolvedBehavior b = Up({Pods(4, 60), Pods(2, 30)});
  HpaHistory h;
  RecordScaleEvent(b, 1, 2, Ago(100), h);
  RecordScaleEvent(b, 2, 3, Ago(10), h);
  RecordScaleEvent(b, 3, 4, kNow, h);
  ASSERT_EQ(h.scale_up_events.size(), 2u);
  EXPECT_EQ(h.scale_up_events[0].time, Ago(10));
  RecordScaleEvent(b, 4, 4, kNow, h);  // not a change
  EXPECT_EQ(h.scale_up_events.size(), 2u);
  RecordScaleEvent(b, 4, 1, kNow, h);
  ASSERT_EQ(h.scale_down_events.size(), 1u);
  EXPECT_EQ(h.scale_down_events[0].replicas, 3);
}

}  // namespace
}  // namespace ebb::scaling
