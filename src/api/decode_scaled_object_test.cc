#include <gtest/gtest.h>

#include "api/decode.h"
#include "api/names.h"

namespace ebb::api {
namespace {

struct Decoded {
  std::optional<ScaledObject> so;
  Problems errors;
  Problems warnings;
  std::string AllErrors() const {
    std::string s;
    for (const auto& e : errors) s += e.ToString() + "\n";
    return s;
  }
};

Decoded Decode(const std::string& yaml) {
  Decoded d;
  auto docs = ParseDocuments(yaml, "so.yaml");
  EXPECT_TRUE(docs.ok()) << docs.status().ToString();
  d.so = DecodeScaledObject((*docs)[0], &d.errors, &d.warnings);
  return d;
}

constexpr char kMinimal[] = R"(apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: web
spec:
  scaleTargetRef:
    name: web
  triggers:
  - type: prometheus
    metadata:
      serverAddress: http://prometheus:9090
      query: sum(rate(http_requests_total[1m]))
      threshold: "100"
)";

TEST(DecodeScaledObject, ReadsWhatAnEarlierControllerLeftInStatus) {
  Decoded d = Decode(std::string(kMinimal) + R"(status:
  lastActiveTime: "2026-11-26T10:00:00Z"
  originalReplicaCount: 4
  conditions: [{type: Ready, status: "True"}]
)");
  ASSERT_TRUE(d.so) << d.AllErrors();
  Time t;
  ASSERT_TRUE(ParseRfc3339("2026-11-26T10:00:00Z", &t));
  EXPECT_EQ(d.so->status.last_active_time, t);
  EXPECT_EQ(d.so->status.original_replica_count, 4);
  EXPECT_TRUE(d.warnings.empty());
}

TEST(DecodeScaledObject, AMalformedStatusIsIgnoredNotAnError) {
  Decoded d = Decode(std::string(kMinimal) + R"(status:
  lastActiveTime: yesterday
  originalReplicaCount: "four"
)");
  ASSERT_TRUE(d.so) << d.AllErrors();
  EXPECT_FALSE(d.so->status.last_active_time);
  EXPECT_FALSE(d.so->status.original_replica_count);
}

TEST(DecodeScaledObject, DefaultsFollowKeda) {
  Decoded d = Decode(kMinimal);
  ASSERT_TRUE(d.so) << d.AllErrors();
  const ScaledObjectSpec& s = d.so->spec;
  EXPECT_EQ(d.so->metadata.namespace_name, "default");
  EXPECT_EQ(s.scale_target_ref.api_version, "apps/v1");
  EXPECT_EQ(s.scale_target_ref.kind, "Deployment");
  EXPECT_EQ(s.polling_interval, 30);
  EXPECT_EQ(s.cooldown_period, 300);
  EXPECT_EQ(s.initial_cooldown_period, 0);
  EXPECT_EQ(s.min_replica_count, 0);
  EXPECT_EQ(s.max_replica_count, 100);
  EXPECT_FALSE(s.idle_replica_count);
  EXPECT_FALSE(s.fallback);
  ASSERT_EQ(s.triggers.size(), 1u);
  EXPECT_EQ(s.triggers[0].metric_type, MetricType::kAverageValue);
  EXPECT_EQ(s.triggers[0].metadata.at("threshold"), "100");
  EXPECT_TRUE(d.warnings.empty());
}

TEST(DecodeScaledObject, EveryFieldIsRead) {
  Decoded d = Decode(R"(apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: worker
  namespace: jobs
  annotations:
    autoscaling.keda.sh/paused-replicas: "2"
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: StatefulSet, name: worker, envSourceContainerName: main}
  pollingInterval: 15
  cooldownPeriod: 60
  initialCooldownPeriod: 120
  minReplicaCount: 2
  maxReplicaCount: 20
  idleReplicaCount: 0
  fallback: {failureThreshold: 3, replicas: 6, behavior: currentReplicasIfHigher}
  advanced:
    restoreToOriginalReplicaCount: true
    horizontalPodAutoscalerConfig:
      name: custom-hpa
      behavior:
        scaleDown:
          stabilizationWindowSeconds: 60
          selectPolicy: Min
          tolerance: 50m
          policies:
          - {type: Percent, value: 50, periodSeconds: 30}
        scaleUp:
          policies:
          - {type: Pods, value: 4, periodSeconds: 15}
    scalingModifiers:
      formula: "a + b"
      target: "10"
      activationTarget: "2"
      metricType: Value
  triggers:
  - type: prometheus
    name: a
    metricType: Value
    useCachedMetrics: true
    authenticationRef: {name: prom-auth, kind: ClusterTriggerAuthentication}
    metadata: {serverAddress: "http://p:9090", query: "x", threshold: "1"}
  - type: prometheus
    name: b
    metadata: {serverAddress: "http://p:9090", query: "y", threshold: "1"}
)");
  ASSERT_TRUE(d.so) << d.AllErrors();
  const ScaledObjectSpec& s = d.so->spec;
  EXPECT_EQ(d.so->metadata.Key(), "jobs/worker");
  EXPECT_EQ(d.so->Annotation(kAnnotationPausedReplicas), "2");
  EXPECT_EQ(s.scale_target_ref.kind, "StatefulSet");
  EXPECT_EQ(s.scale_target_ref.env_source_container_name, "main");
  EXPECT_EQ(s.polling_interval, 15);
  EXPECT_EQ(s.cooldown_period, 60);
  EXPECT_EQ(s.initial_cooldown_period, 120);
  EXPECT_EQ(s.min_replica_count, 2);
  EXPECT_EQ(s.max_replica_count, 20);
  EXPECT_EQ(s.idle_replica_count, 0);
  ASSERT_TRUE(s.fallback);
  EXPECT_EQ(s.fallback->failure_threshold, 3);
  EXPECT_EQ(s.fallback->replicas, 6);
  EXPECT_EQ(s.fallback->behavior, FallbackBehavior::kCurrentReplicasIfHigher);
  EXPECT_TRUE(s.advanced.restore_to_original_replica_count);
  const auto& hpa = *s.advanced.horizontal_pod_autoscaler_config;
  EXPECT_EQ(hpa.name, "custom-hpa");
  const ScalingRules& down = *hpa.behavior->scale_down;
  EXPECT_EQ(down.stabilization_window_seconds, 60);
  EXPECT_EQ(down.select_policy, SelectPolicy::kMin);
  EXPECT_DOUBLE_EQ(*down.tolerance, 0.05);
  ASSERT_EQ(down.policies->size(), 1u);
  EXPECT_EQ((*down.policies)[0].type, ScalingPolicyType::kPercent);
  EXPECT_EQ((*down.policies)[0].value, 50);
  EXPECT_EQ((*down.policies)[0].period_seconds, 30);
  EXPECT_FALSE(hpa.behavior->scale_up->stabilization_window_seconds);
  const ScalingModifiers& m = *s.advanced.scaling_modifiers;
  EXPECT_EQ(m.formula, "a + b");
  EXPECT_DOUBLE_EQ(m.target, 10);
  EXPECT_DOUBLE_EQ(m.activation_target, 2);
  EXPECT_EQ(m.metric_type, MetricType::kValue);
  EXPECT_EQ(s.triggers[0].name, "a");
  EXPECT_EQ(s.triggers[0].metric_type, MetricType::kValue);
  EXPECT_TRUE(s.triggers[0].use_cached_metrics);
  EXPECT_EQ(s.triggers[0].authentication_ref->kind, "ClusterTriggerAuthentication");
  EXPECT_EQ(s.triggers[0].authentication_ref->name, "prom-auth");
}

struct BadCase {
  const char* name;
  std::string spec_patch;  // replaces the spec body after scaleTargetRef
  std::string field;
  std::string message_part;
};

std::string WithSpec(const std::string& spec_tail) {
  return "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: web, namespace: ns}\n"
         "spec:\n  scaleTargetRef: {name: web}\n" + spec_tail;
}

constexpr char kTrigger[] =
    "  triggers:\n  - type: prometheus\n    metadata: {serverAddress: x, query: y, threshold: '1'}\n";

class DecodeErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(DecodeErrors, NameTheFieldAndTheFix) {
  const BadCase& c = GetParam();
  Decoded d = Decode(WithSpec(c.spec_patch));
  EXPECT_FALSE(d.so);
  bool found = false;
  for (const Problem& p : d.errors) {
    if (p.field == c.field && p.message.find(c.message_part) != std::string::npos) found = true;
  }
  EXPECT_TRUE(found) << "wanted " << c.field << ": ..." << c.message_part << "\ngot:\n" << d.AllErrors();
  for (const Problem& p : d.errors) {
    EXPECT_EQ(p.object, "ns/web");
    EXPECT_EQ(p.kind, "ScaledObject");
    EXPECT_EQ(p.file, "so.yaml");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DecodeErrors,
    ::testing::Values(
        BadCase{"MinAboveMax", std::string("  minReplicaCount: 5\n  maxReplicaCount: 2\n") + kTrigger,
                "spec.minReplicaCount", "greater than maxReplicaCount 2"},
        BadCase{"IdleNotBelowMin",
                std::string("  minReplicaCount: 1\n  idleReplicaCount: 1\n") + kTrigger,
                "spec.idleReplicaCount", "must be lower than minReplicaCount 1"},
        BadCase{"PollingZero", std::string("  pollingInterval: 0\n") + kTrigger,
                "spec.pollingInterval", "at least 1"},
        BadCase{"IntAsString", std::string("  pollingInterval: \"30\"\n") + kTrigger,
                "spec.pollingInterval", "must be an integer, not a string"},
        BadCase{"NotANumber", std::string("  maxReplicaCount: lots\n") + kTrigger,
                "spec.maxReplicaCount", "\"lots\" is not an integer"},
        BadCase{"NoTriggers", "  minReplicaCount: 0\n", "spec.triggers", "at least one trigger"},
        BadCase{"UnknownType",
                "  triggers:\n  - type: cpu\n    metadata: {value: '50'}\n",
                "spec.triggers[0].type", "\"cpu\" is not a trigger type ebb supports"},
        BadCase{"NoMetadata", "  triggers:\n  - type: prometheus\n", "spec.triggers[0].metadata",
                "is required"},
        BadCase{"BadMetricType",
                "  triggers:\n  - type: prometheus\n    metricType: Utilization\n    metadata: {a: b}\n",
                "spec.triggers[0].metricType", "cpu/memory"},
        BadCase{"BadAuthKind",
                "  triggers:\n  - type: prometheus\n    authenticationRef: {name: a, kind: Secret}\n"
                "    metadata: {a: b}\n",
                "spec.triggers[0].authenticationRef.kind", "\"Secret\" is not"},
        BadCase{"DuplicateNames",
                "  triggers:\n  - {type: prometheus, name: a, metadata: {a: b}}\n"
                "  - {type: prometheus, name: a, metadata: {a: b}}\n",
                "spec.triggers[1].name", "must be unique"},
        BadCase{"FallbackBehavior",
                std::string("  fallback: {failureThreshold: 3, replicas: 1, behavior: sometimes}\n") + kTrigger,
                "spec.fallback.behavior", "\"sometimes\" is not one of"},
        BadCase{"FallbackMissingReplicas", std::string("  fallback: {failureThreshold: 3}\n") + kTrigger,
                "spec.fallback.replicas", "is required"},
        BadCase{"PolicyPeriod",
                std::string("  advanced:\n    horizontalPodAutoscalerConfig:\n      behavior:\n"
                            "        scaleUp:\n          policies: [{type: Pods, value: 1, periodSeconds: 4000}]\n") +
                    kTrigger,
                "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.policies[0].periodSeconds",
                "between 1 and 1800"},
        BadCase{"SelectPolicy",
                std::string("  advanced:\n    horizontalPodAutoscalerConfig:\n      behavior:\n"
                            "        scaleDown: {selectPolicy: Maximum}\n") + kTrigger,
                "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.selectPolicy",
                "\"Maximum\" is not Max, Min or Disabled"},
        BadCase{"ModifierTarget",
                std::string("  advanced:\n    scalingModifiers: {formula: a}\n") + kTrigger,
                "spec.advanced.scalingModifiers.target", "is required with a formula"},
        BadCase{"NoTargetName", "  triggers: []\n", "spec.triggers", "at least one trigger"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DecodeScaledObject, ErrorsCarryTheLine) {
  Decoded d = Decode(WithSpec(std::string("  maxReplicaCount: lots\n") + kTrigger));
  ASSERT_FALSE(d.errors.empty());
  EXPECT_EQ(d.errors[0].line, 6);
  EXPECT_EQ(d.errors[0].ToString(),
            "so.yaml:6 (document 1, ScaledObject ns/web): spec.maxReplicaCount: \"lots\" is not an integer");
}

TEST(DecodeScaledObject, UnknownFieldsWarnAndDoNotFail) {
  Decoded d = Decode(WithSpec(std::string("  pollingIntervall: 10\n") + kTrigger));
  ASSERT_TRUE(d.so) << d.AllErrors();
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0].field, "spec.pollingIntervall");
}

TEST(DecodeScaledObject, UnquotedMetadataValuesWarn) {
  Decoded d = Decode(WithSpec(
      "  triggers:\n  - type: prometheus\n    metadata: {serverAddress: x, query: y, threshold: 5}\n"));
  ASSERT_TRUE(d.so) << d.AllErrors();
  EXPECT_EQ(d.so->spec.triggers[0].metadata.at("threshold"), "5");
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0].field, "spec.triggers[0].metadata.threshold");
}

}  // namespace
}  // namespace ebb::api
