#include "api/names.h"

namespace ebb::api {

std::string_view MetricTypeName(MetricType t) {
  return t == MetricType::kValue ? "Value" : "AverageValue";
}

std::optional<MetricType> ParseMetricType(std::string_view s) {
  if (s == "AverageValue" || s.empty()) return MetricType::kAverageValue;
  if (s == "Value") return MetricType::kValue;
  return std::nullopt;
}

std::string_view FallbackBehaviorName(FallbackBehavior b) {
  switch (b) {
    case FallbackBehavior::kStatic: return "static";
    case FallbackBehavior::kCurrentReplicas: return "currentReplicas";
    case FallbackBehavior::kCurrentReplicasIfHigher: return "currentReplicasIfHigher";
    case FallbackBehavior::kCurrentReplicasIfLower: return "currentReplicasIfLower";
  }
  return "static";
}

std::optional<FallbackBehavior> ParseFallbackBehavior(std::string_view s) {
  if (s.empty() || s == "static") return FallbackBehavior::kStatic;
  if (s == "currentReplicas") return FallbackBehavior::kCurrentReplicas;
  if (s == "currentReplicasIfHigher") return FallbackBehavior::kCurrentReplicasIfHigher;
  if (s == "currentReplicasIfLower") return FallbackBehavior::kCurrentReplicasIfLower;
  return std::nullopt;
}

std::string_view SelectPolicyName(SelectPolicy p) {
  switch (p) {
    case SelectPolicy::kMax: return "Max";
    case SelectPolicy::kMin: return "Min";
    case SelectPolicy::kDisabled: return "Disabled";
  }
  return "Max";
}

std::optional<SelectPolicy> ParseSelectPolicy(std::string_view s) {
  if (s == "Max") return SelectPolicy::kMax;
  if (s == "Min") return SelectPolicy::kMin;
  if (s == "Disabled") return SelectPolicy::kDisabled;
  return std::nullopt;
}

std::string_view ScalingPolicyTypeName(ScalingPolicyType t) {
  return t == ScalingPolicyType::kPercent ? "Percent" : "Pods";
}

std::optional<ScalingPolicyType> ParseScalingPolicyType(std::string_view s) {
  if (s == "Pods") return ScalingPolicyType::kPods;
  if (s == "Percent") return ScalingPolicyType::kPercent;
  return std::nullopt;
}

}  // namespace ebb::api
