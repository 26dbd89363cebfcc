#include "scaling/validate.h"

#include <functional>

#include <gtest/gtest.h>

namespace ebb::scaling {
namespace {

api::ScaledObject Valid() {
  api::ScaledObject so;
  so.spec.min_replica_count = 1;
  so.spec.max_replica_count = 10;
  api::Trigger a;
  a.type = "prometheus";
  a.name = "a";
  api::Trigger b = a;
  b.name = "b";
  so.spec.triggers = {a, b};
  return so;
}

struct InvalidCase {
  const char* name;
  std::function<void(api::ScaledObject&)> mutate;
  const char* message;
};

class ValidateTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(ValidateTest, NamesTheField) {
  const InvalidCase& c = GetParam();
  api::ScaledObject so = Valid();
  c.mutate(so);
  Status s = ValidateForEngine(so);
  EXPECT_EQ(s.code(), StatusCode::kInvalidConfig) << c.name;
  EXPECT_EQ(s.message(), c.message) << c.name;
}

api::Behavior WithUp(api::ScalingRules rules) {
  api::Behavior b;
  b.scale_up = std::move(rules);
  return b;
}

void SetBehavior(api::ScaledObject& so, api::Behavior b) {
  so.spec.advanced.horizontal_pod_autoscaler_config = api::HorizontalPodAutoscalerConfig{"", std::move(b)};
}

void SetModifiers(api::ScaledObject& so, std::string formula, double target) {
  so.spec.advanced.scaling_modifiers = api::ScalingModifiers{std::move(formula), target, 0, api::MetricType::kAverageValue};
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ValidateTest,
    ::testing::Values(
        InvalidCase{"min above max", [](api::ScaledObject& so) { so.spec.min_replica_count = 11; },
                    "spec.minReplicaCount: must not exceed maxReplicaCount (10), got 11"},
        InvalidCase{"negative min", [](api::ScaledObject& so) { so.spec.min_replica_count = -1; },
                    "spec.minReplicaCount: must be >= 0, got -1"},
        InvalidCase{"zero max", [](api::ScaledObject& so) { so.spec.max_replica_count = 0; },
                    "spec.maxReplicaCount: must be >= 1, got 0"},
        InvalidCase{"idle not below min", [](api::ScaledObject& so) { so.spec.idle_replica_count = 1; },
                    "spec.idleReplicaCount: must be less than minReplicaCount (1), got 1"},
        InvalidCase{"negative cooldown", [](api::ScaledObject& so) { so.spec.cooldown_period = -1; },
                    "spec.cooldownPeriod: must be >= 0"},
        InvalidCase{"no triggers", [](api::ScaledObject& so) { so.spec.triggers.clear(); },
                    "spec.triggers: at least one trigger is required"},
        InvalidCase{"duplicate names", [](api::ScaledObject& so) { so.spec.triggers[1].name = "a"; },
                    "spec.triggers[1].name: duplicate trigger name \"a\""},
        InvalidCase{"negative fallback threshold",
                    [](api::ScaledObject& so) { so.spec.fallback = api::Fallback{-1, 3}; },
                    "spec.fallback.failureThreshold: must be >= 0"},
        InvalidCase{"fallback with Value trigger",
                    [](api::ScaledObject& so) {
                      so.spec.fallback = api::Fallback{3, 3};
                      so.spec.triggers[1].metric_type = api::MetricType::kValue;
                    },
                    "spec.fallback: works only with triggers of metricType AverageValue; spec.triggers[1] is Value"},
        InvalidCase{"formula syntax", [](api::ScaledObject& so) { SetModifiers(so, "a + * b", 10); },
                    "spec.advanced.scalingModifiers.formula: position 5: unexpected token \"*\""},
        InvalidCase{"formula unknown trigger", [](api::ScaledObject& so) { SetModifiers(so, "a + c", 10); },
                    "spec.advanced.scalingModifiers.formula: \"c\" names no trigger; give the trigger `name: c`"},
        InvalidCase{"formula empty", [](api::ScaledObject& so) { SetModifiers(so, " ", 10); },
                    "spec.advanced.scalingModifiers.formula: required with scalingModifiers"},
        InvalidCase{"modifiers target", [](api::ScaledObject& so) { SetModifiers(so, "a + b", 0); },
                    "spec.advanced.scalingModifiers.target: must be greater than 0"},
        InvalidCase{"window too long",
                    [](api::ScaledObject& so) {
                      SetBehavior(so, WithUp(api::ScalingRules{3601, std::nullopt, std::nullopt, std::nullopt}));
                    },
                    "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.stabilizationWindowSeconds: "
                    "must be between 0 and 3600"},
        InvalidCase{"policy period",
                    [](api::ScaledObject& so) {
                      SetBehavior(so, WithUp(api::ScalingRules{
                                          std::nullopt, std::nullopt,
                                          std::vector<api::ScalingPolicy>{{api::ScalingPolicyType::kPods, 4, 15},
                                                                          {api::ScalingPolicyType::kPods, 4, 1801}},
                                          std::nullopt}));
                    },
                    "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.policies[1].periodSeconds: "
                    "must be between 1 and 1800, got 1801"},
        InvalidCase{"policy value",
                    [](api::ScaledObject& so) {
                      api::Behavior b;
                      b.scale_down = api::ScalingRules{
                          std::nullopt, std::nullopt,
                          std::vector<api::ScalingPolicy>{{api::ScalingPolicyType::kPercent, 0, 15}}, std::nullopt};
                      SetBehavior(so, b);
                    },
                    "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.policies[0].value: "
                    "must be greater than 0"},
        InvalidCase{"empty policies",
                    [](api::ScaledObject& so) {
                      SetBehavior(so, WithUp(api::ScalingRules{std::nullopt, std::nullopt,
                                                               std::vector<api::ScalingPolicy>{}, std::nullopt}));
                    },
                    "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.policies: "
                    "must hold at least one policy"},
        InvalidCase{"negative tolerance",
                    [](api::ScaledObject& so) {
                      SetBehavior(so, WithUp(api::ScalingRules{std::nullopt, std::nullopt, std::nullopt, -0.1}));
                    },
                    "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.tolerance: must be >= 0"}));

TEST(ValidateForEngineTest, AcceptsAValidObject) {
  api::ScaledObject so = Valid();
  EXPECT_TRUE(ValidateForEngine(so).ok());
  so.spec.min_replica_count = 2;
  so.spec.idle_replica_count = 0;
  so.spec.fallback = api::Fallback{3, 4};
  SetModifiers(so, "a > 5 ? max(a, b) : 0", 10);
  SetBehavior(so, WithUp(api::ScalingRules{60, api::SelectPolicy::kMin, std::nullopt, 0.05}));
  EXPECT_TRUE(ValidateForEngine(so).ok()) << ValidateForEngine(so).ToString();
}

TEST(ValidateForEngineTest, IdleZeroWithMinZeroIsAccepted) {
  api::ScaledObject so = Valid();
  so.spec.min_replica_count = 0;
  so.spec.idle_replica_count = 0;
  EXPECT_TRUE(ValidateForEngine(so).ok());
  so.spec.idle_replica_count = 1;
  EXPECT_FALSE(ValidateForEngine(so).ok());
}

TEST(ValidateForEngineTest, UnnamedTriggersAreFineWithoutModifiers) {
  api::ScaledObject so = Valid();
  so.spec.triggers[0].name = "";
  so.spec.triggers[1].name = "";
  EXPECT_TRUE(ValidateForEngine(so).ok());
}

}  // namespace
}  // namespace ebb::scaling
