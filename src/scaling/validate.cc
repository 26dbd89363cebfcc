#include "scaling/validate.h"

#include <algorithm>
#include <set>
#include <string>

#include "common/strings.h"
#include "scaling/formula.h"

namespace ebb::scaling {
namespace {

constexpr int32_t kMaxStabilizationWindowSeconds = 3600;
constexpr int32_t kMaxPolicyPeriodSeconds = 1800;

Status FieldError(const std::string& path, const std::string& message) {
  return InvalidConfig(path + ": " + message);
}

Status ValidateReplicaCounts(const api::ScaledObjectSpec& spec) {
  if (spec.min_replica_count < 0) {
    return FieldError("spec.minReplicaCount", "must be >= 0, got " + std::to_string(spec.min_replica_count));
  }
  if (spec.max_replica_count < 1) {
    return FieldError("spec.maxReplicaCount", "must be >= 1, got " + std::to_string(spec.max_replica_count));
  }
  if (spec.min_replica_count > spec.max_replica_count) {
    return FieldError("spec.minReplicaCount", "must not exceed maxReplicaCount (" +
                                                  std::to_string(spec.max_replica_count) + "), got " +
                                                  std::to_string(spec.min_replica_count));
  }
  if (spec.idle_replica_count) {
    const int32_t idle = *spec.idle_replica_count;
    if (idle < 0) return FieldError("spec.idleReplicaCount", "must be >= 0, got " + std::to_string(idle));
    // KEDA compares with the HPA's minimum, max(min, 1): idle 0 with min 0 is fine.
    if (idle >= std::max(spec.min_replica_count, 1)) {
      return FieldError("spec.idleReplicaCount", "must be less than minReplicaCount (" +
                                                     std::to_string(spec.min_replica_count) + "), got " +
                                                     std::to_string(idle));
    }
  }
  return Status::Ok();
}

Status ValidatePeriods(const api::ScaledObjectSpec& spec) {
  if (spec.polling_interval < 1) return FieldError("spec.pollingInterval", "must be >= 1");
  if (spec.cooldown_period < 0) return FieldError("spec.cooldownPeriod", "must be >= 0");
  if (spec.initial_cooldown_period < 0) return FieldError("spec.initialCooldownPeriod", "must be >= 0");
  return Status::Ok();
}

Status ValidateFallback(const api::ScaledObjectSpec& spec) {
  if (!spec.fallback) return Status::Ok();
  if (spec.fallback->failure_threshold < 0) return FieldError("spec.fallback.failureThreshold", "must be >= 0");
  if (spec.fallback->replicas < 0) return FieldError("spec.fallback.replicas", "must be >= 0");
  const auto& mod = spec.advanced.scaling_modifiers;
  if (mod && !mod->formula.empty()) {
    if (mod->metric_type != api::MetricType::kAverageValue) {
      return FieldError("spec.fallback", "works only with scalingModifiers.metricType AverageValue");
    }
    return Status::Ok();
  }
  for (size_t i = 0; i < spec.triggers.size(); ++i) {
    if (spec.triggers[i].metric_type != api::MetricType::kAverageValue) {
      return FieldError("spec.fallback", "works only with triggers of metricType AverageValue; spec.triggers[" +
                                             std::to_string(i) + "] is Value");
    }
  }
  return Status::Ok();
}

Status ValidateTriggerNames(const api::ScaledObjectSpec& spec) {
  if (spec.triggers.empty()) return FieldError("spec.triggers", "at least one trigger is required");
  std::set<std::string> seen;
  for (size_t i = 0; i < spec.triggers.size(); ++i) {
    const std::string& name = spec.triggers[i].name;
    if (!name.empty() && !seen.insert(name).second) {
      return FieldError("spec.triggers[" + std::to_string(i) + "].name", "duplicate trigger name \"" + name + "\"");
    }
  }
  return Status::Ok();
}

Status ValidateModifiers(const api::ScaledObjectSpec& spec) {
  const auto& mod = spec.advanced.scaling_modifiers;
  if (!mod) return Status::Ok();
  const std::string path = "spec.advanced.scalingModifiers";
  if (Trim(mod->formula).empty()) return FieldError(path + ".formula", "required with scalingModifiers");
  Result<Formula> f = ParseFormula(mod->formula);
  if (!f.ok()) return f.status().WithContext(path + ".formula");
  std::set<std::string> names;
  for (const auto& t : spec.triggers) names.insert(t.name);
  for (const auto& v : f->Variables()) {
    if (!names.contains(v)) {
      return FieldError(path + ".formula", "\"" + v + "\" names no trigger; give the trigger `name: " + v + "`");
    }
  }
  if (!(mod->target > 0)) return FieldError(path + ".target", "must be greater than 0");
  if (mod->activation_target < 0) return FieldError(path + ".activationTarget", "must be >= 0");
  return Status::Ok();
}

Status ValidatePolicy(const api::ScalingPolicy& p, const std::string& path) {
  if (p.value <= 0) return FieldError(path + ".value", "must be greater than 0");
  if (p.period_seconds < 1 || p.period_seconds > kMaxPolicyPeriodSeconds) {
    return FieldError(path + ".periodSeconds", "must be between 1 and 1800, got " + std::to_string(p.period_seconds));
  }
  return Status::Ok();
}

Status ValidateRules(const std::optional<api::ScalingRules>& rules, const std::string& path) {
  if (!rules) return Status::Ok();
  if (rules->stabilization_window_seconds &&
      (*rules->stabilization_window_seconds < 0 || *rules->stabilization_window_seconds > kMaxStabilizationWindowSeconds)) {
    return FieldError(path + ".stabilizationWindowSeconds", "must be between 0 and 3600");
  }
  if (rules->tolerance && !(*rules->tolerance >= 0)) return FieldError(path + ".tolerance", "must be >= 0");
  if (!rules->policies) return Status::Ok();
  if (rules->policies->empty()) return FieldError(path + ".policies", "must hold at least one policy");
  for (size_t i = 0; i < rules->policies->size(); ++i) {
    EBB_RETURN_IF_ERROR(ValidatePolicy((*rules->policies)[i], path + ".policies[" + std::to_string(i) + "]"));
  }
  return Status::Ok();
}

Status ValidateBehavior(const api::ScaledObjectSpec& spec) {
  const auto& config = spec.advanced.horizontal_pod_autoscaler_config;
  if (!config || !config->behavior) return Status::Ok();
  const std::string path = "spec.advanced.horizontalPodAutoscalerConfig.behavior";
  EBB_RETURN_IF_ERROR(ValidateRules(config->behavior->scale_up, path + ".scaleUp"));
  return ValidateRules(config->behavior->scale_down, path + ".scaleDown");
}

}  // namespace

Status ValidateForEngine(const api::ScaledObject& so) {
  const api::ScaledObjectSpec& spec = so.spec;
  EBB_RETURN_IF_ERROR(ValidateReplicaCounts(spec));
  EBB_RETURN_IF_ERROR(ValidatePeriods(spec));
  EBB_RETURN_IF_ERROR(ValidateTriggerNames(spec));
  EBB_RETURN_IF_ERROR(ValidateFallback(spec));
  EBB_RETURN_IF_ERROR(ValidateModifiers(spec));
  return ValidateBehavior(spec);
}

}  // namespace ebb::scaling
