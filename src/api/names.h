// Names of api enums as KEDA manifests spell them, both ways.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/scaled_object.h"

namespace ebb::api {

std::string_view MetricTypeName(MetricType t);  // "AverageValue" | "Value"
std::optional<MetricType> ParseMetricType(std::string_view s);
std::string_view FallbackBehaviorName(FallbackBehavior b);  // "static", "currentReplicas", ...
std::optional<FallbackBehavior> ParseFallbackBehavior(std::string_view s);
std::string_view SelectPolicyName(SelectPolicy p);  // "Max" | "Min" | "Disabled"
std::optional<SelectPolicy> ParseSelectPolicy(std::string_view s);
std::string_view ScalingPolicyTypeName(ScalingPolicyType t);  // "Pods" | "Percent"
std::optional<ScalingPolicyType> ParseScalingPolicyType(std::string_view s);

}  // namespace ebb::api
