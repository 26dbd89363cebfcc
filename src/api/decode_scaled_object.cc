// Decoding and validation of keda.sh/v1alpha1 ScaledObject.
#include <algorithm>
#include <set>

#include "api/decode.h"
#include "api/decoder.h"
#include "api/names.h"

namespace ebb::api {

namespace {

using json = nlohmann::json;

void DecodeTargetRef(Decoder& d, const json& spec, ScaleTargetRef* out) {
  const json* ref = d.Object(spec, "scaleTargetRef", "spec");
  if (!ref) {
    d.Error("spec.scaleTargetRef", "is required: name the Deployment (or other scalable resource)");
    return;
  }
  const std::string p = "spec.scaleTargetRef";
  d.String(*ref, "apiVersion", p, &out->api_version);
  d.String(*ref, "kind", p, &out->kind);
  if (!d.String(*ref, "name", p, &out->name) || out->name.empty()) {
    d.Error(p + ".name", "is required");
  }
  d.String(*ref, "envSourceContainerName", p, &out->env_source_container_name);
  d.WarnUnknown(*ref, p, {"apiVersion", "kind", "name", "envSourceContainerName"});
}

void DecodeMetricType(Decoder& d, const json& obj, const std::string& path, MetricType* out) {
  std::string text;
  if (!d.String(obj, "metricType", path, &text)) return;
  if (auto t = ParseMetricType(text)) {
    *out = *t;
  } else if (text == "Utilization") {
    d.Error(Decoder::Join(path, "metricType"),
            "\"Utilization\" applies only to cpu/memory triggers; use AverageValue or Value");
  } else {
    d.Error(Decoder::Join(path, "metricType"),
            "\"" + text + "\" is not a metric type (AverageValue or Value)");
  }
}

void DecodeTrigger(Decoder& d, const json& t, const std::string& path, Trigger* out) {
  if (!t.is_object()) {
    d.Error(path, "must be a map with type and metadata");
    return;
  }
  if (!d.String(t, "type", path, &out->type) || out->type.empty()) {
    d.Error(path + ".type", "is required (e.g. prometheus)");
  }
  d.String(t, "name", path, &out->name);
  if (!d.StringMap(t, "metadata", path, &out->metadata)) {
    d.Error(path + ".metadata", "is required");
  }
  if (const json* ref = d.Object(t, "authenticationRef", path)) {
    AuthenticationRef a;
    const std::string rp = path + ".authenticationRef";
    if (!d.String(*ref, "name", rp, &a.name) || a.name.empty()) d.Error(rp + ".name", "is required");
    d.String(*ref, "kind", rp, &a.kind);
    if (a.kind.empty()) a.kind = "TriggerAuthentication";
    if (a.kind != "TriggerAuthentication" && a.kind != "ClusterTriggerAuthentication") {
      d.Error(rp + ".kind", "\"" + a.kind +
                                "\" is not TriggerAuthentication or ClusterTriggerAuthentication");
    }
    d.WarnUnknown(*ref, rp, {"name", "kind"});
    out->authentication_ref = a;
  }
  DecodeMetricType(d, t, path, &out->metric_type);
  d.Bool(t, "useCachedMetrics", path, &out->use_cached_metrics);
  d.WarnUnknown(t, path,
                {"type", "name", "metadata", "authenticationRef", "metricType", "useCachedMetrics"});
}

void DecodeTriggers(Decoder& d, const json& spec, std::vector<Trigger>* out) {
  const json* triggers = d.Array(spec, "triggers", "spec");
  if (!triggers || triggers->empty()) {
    d.Error("spec.triggers", "needs at least one trigger");
    return;
  }
  for (size_t i = 0; i < triggers->size(); ++i) {
    Trigger t;
    DecodeTrigger(d, (*triggers)[i], Decoder::Index("spec.triggers", i), &t);
    out->push_back(std::move(t));
  }
}

void DecodeFallback(Decoder& d, const json& spec, std::optional<Fallback>* out) {
  const json* f = d.Object(spec, "fallback", "spec");
  if (!f) return;
  Fallback fb;
  const std::string p = "spec.fallback";
  if (!d.Int32(*f, "failureThreshold", p, &fb.failure_threshold)) {
    d.Error(p + ".failureThreshold", "is required with a fallback");
  }
  if (!d.Int32(*f, "replicas", p, &fb.replicas)) d.Error(p + ".replicas", "is required with a fallback");
  std::string behavior;
  if (d.String(*f, "behavior", p, &behavior)) {
    if (auto b = ParseFallbackBehavior(behavior)) {
      fb.behavior = *b;
    } else {
      d.Error(p + ".behavior", "\"" + behavior +
                                   "\" is not one of static, currentReplicas, "
                                   "currentReplicasIfHigher, currentReplicasIfLower");
    }
  }
  d.WarnUnknown(*f, p, {"failureThreshold", "replicas", "behavior"});
  *out = fb;
}

void DecodePolicy(Decoder& d, const json& item, const std::string& p, ScalingPolicy* out) {
  std::string type;
  if (!d.String(item, "type", p, &type)) {
    d.Error(p + ".type", "is required (Pods or Percent)");
  } else if (auto t = ParseScalingPolicyType(type)) {
    out->type = *t;
  } else {
    d.Error(p + ".type", "\"" + type + "\" is not Pods or Percent");
  }
  if (!d.Int32(item, "value", p, &out->value)) d.Error(p + ".value", "is required");
  if (!d.Int32(item, "periodSeconds", p, &out->period_seconds)) {
    d.Error(p + ".periodSeconds", "is required");
  }
  d.WarnUnknown(item, p, {"type", "value", "periodSeconds"});
}

void DecodeRules(Decoder& d, const json& behavior, const std::string& key,
                 std::optional<ScalingRules>* out) {
  const std::string p = "spec.advanced.horizontalPodAutoscalerConfig.behavior." + key;
  const json* r = d.Object(behavior, key, "spec.advanced.horizontalPodAutoscalerConfig.behavior");
  if (!r) return;
  ScalingRules rules;
  int32_t window = 0;
  if (d.Int32(*r, "stabilizationWindowSeconds", p, &window)) rules.stabilization_window_seconds = window;
  std::string select;
  if (d.String(*r, "selectPolicy", p, &select)) {
    if (auto s = ParseSelectPolicy(select)) {
      rules.select_policy = *s;
    } else {
      d.Error(p + ".selectPolicy", "\"" + select + "\" is not Max, Min or Disabled");
    }
  }
  if (const json* list = d.Array(*r, "policies", p)) {
    std::vector<ScalingPolicy> policies;
    for (size_t i = 0; i < list->size(); ++i) {
      ScalingPolicy policy;
      DecodePolicy(d, (*list)[i], Decoder::Index(p + ".policies", i), &policy);
      policies.push_back(policy);
    }
    rules.policies = std::move(policies);
  }
  double tolerance = 0;
  if (d.Number(*r, "tolerance", p, &tolerance)) rules.tolerance = tolerance;
  d.WarnUnknown(*r, p, {"stabilizationWindowSeconds", "selectPolicy", "policies", "tolerance"});
  *out = std::move(rules);
}

void DecodeScalingModifiers(Decoder& d, const json& adv, std::optional<ScalingModifiers>* out) {
  const std::string p = "spec.advanced.scalingModifiers";
  const json* m = d.Object(adv, "scalingModifiers", "spec.advanced");
  if (!m) return;
  ScalingModifiers sm;
  d.String(*m, "formula", p, &sm.formula);
  bool has_target = d.Number(*m, "target", p, &sm.target);
  d.Number(*m, "activationTarget", p, &sm.activation_target);
  DecodeMetricType(d, *m, p, &sm.metric_type);
  d.WarnUnknown(*m, p, {"formula", "target", "activationTarget", "metricType"});
  if (sm.formula.empty()) return;  // KEDA ignores modifiers without a formula
  if (!has_target) d.Error(p + ".target", "is required with a formula");
  *out = std::move(sm);
}

void DecodeAdvanced(Decoder& d, const json& spec, Advanced* out) {
  const json* adv = d.Object(spec, "advanced", "spec");
  if (!adv) return;
  if (const json* hpa = d.Object(*adv, "horizontalPodAutoscalerConfig", "spec.advanced")) {
    const std::string p = "spec.advanced.horizontalPodAutoscalerConfig";
    HorizontalPodAutoscalerConfig cfg;
    d.String(*hpa, "name", p, &cfg.name);
    if (const json* b = d.Object(*hpa, "behavior", p)) {
      Behavior behavior;
      DecodeRules(d, *b, "scaleUp", &behavior.scale_up);
      DecodeRules(d, *b, "scaleDown", &behavior.scale_down);
      d.WarnUnknown(*b, p + ".behavior", {"scaleUp", "scaleDown"});
      cfg.behavior = behavior;
    }
    d.WarnUnknown(*hpa, p, {"name", "behavior"});
    out->horizontal_pod_autoscaler_config = cfg;
  }
  d.Bool(*adv, "restoreToOriginalReplicaCount", "spec.advanced",
         &out->restore_to_original_replica_count);
  DecodeScalingModifiers(d, *adv, &out->scaling_modifiers);
  d.WarnUnknown(*adv, "spec.advanced",
                {"horizontalPodAutoscalerConfig", "restoreToOriginalReplicaCount", "scalingModifiers"});
}

void DecodeSpec(Decoder& d, const json& spec, ScaledObjectSpec* out) {
  DecodeTargetRef(d, spec, &out->scale_target_ref);
  d.Int32(spec, "pollingInterval", "spec", &out->polling_interval);
  d.Int32(spec, "cooldownPeriod", "spec", &out->cooldown_period);
  d.Int32(spec, "initialCooldownPeriod", "spec", &out->initial_cooldown_period);
  d.Int32(spec, "minReplicaCount", "spec", &out->min_replica_count);
  d.Int32(spec, "maxReplicaCount", "spec", &out->max_replica_count);
  int32_t idle = 0;
  if (d.Int32(spec, "idleReplicaCount", "spec", &idle)) out->idle_replica_count = idle;
  DecodeFallback(d, spec, &out->fallback);
  DecodeAdvanced(d, spec, &out->advanced);
  DecodeTriggers(d, spec, &out->triggers);
  d.WarnUnknown(spec, "spec",
                {"scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod",
                 "minReplicaCount", "maxReplicaCount", "idleReplicaCount", "fallback", "advanced",
                 "triggers"});
}

void ValidateReplicaCounts(Decoder& d, const ScaledObjectSpec& s) {
  if (s.polling_interval < 1) d.Error("spec.pollingInterval", "must be at least 1 (seconds)");
  if (s.cooldown_period < 0) d.Error("spec.cooldownPeriod", "must not be negative");
  if (s.initial_cooldown_period < 0) d.Error("spec.initialCooldownPeriod", "must not be negative");
  if (s.min_replica_count < 0) d.Error("spec.minReplicaCount", "must not be negative");
  if (s.max_replica_count < 1) d.Error("spec.maxReplicaCount", "must be at least 1");
  if (s.min_replica_count > s.max_replica_count) {
    d.Error("spec.minReplicaCount", std::to_string(s.min_replica_count) +
                                        " is greater than maxReplicaCount " +
                                        std::to_string(s.max_replica_count));
  }
  if (s.idle_replica_count) {
    if (*s.idle_replica_count < 0) d.Error("spec.idleReplicaCount", "must not be negative");
    // KEDA compares with the HPA's minimum, max(min, 1): idle 0 with min 0 is valid.
    if (*s.idle_replica_count >= std::max(s.min_replica_count, 1)) {
      d.Error("spec.idleReplicaCount",
              std::to_string(*s.idle_replica_count) + " must be lower than minReplicaCount " +
                  std::to_string(std::max(s.min_replica_count, 1)) +
                  " (idle replicas apply when no trigger is active; set minReplicaCount higher "
                  "or remove idleReplicaCount)");
    }
  }
  if (s.fallback) {
    if (s.fallback->failure_threshold < 0) d.Error("spec.fallback.failureThreshold", "must not be negative");
    if (s.fallback->replicas < 0) d.Error("spec.fallback.replicas", "must not be negative");
  }
}

void ValidateRules(Decoder& d, const std::optional<ScalingRules>& rules, const std::string& p) {
  if (!rules) return;
  if (rules->stabilization_window_seconds &&
      (*rules->stabilization_window_seconds < 0 || *rules->stabilization_window_seconds > 3600)) {
    d.Error(p + ".stabilizationWindowSeconds", "must be between 0 and 3600");
  }
  if (rules->tolerance && (*rules->tolerance < 0 || *rules->tolerance >= 1)) {
    d.Error(p + ".tolerance", "must be at least 0 and below 1 (e.g. 0.05 for 5%)");
  }
  if (!rules->policies) return;
  if (rules->policies->empty() && rules->select_policy != SelectPolicy::kDisabled) {
    d.Error(p + ".policies", "must not be empty unless selectPolicy is Disabled");
  }
  for (size_t i = 0; i < rules->policies->size(); ++i) {
    const ScalingPolicy& policy = (*rules->policies)[i];
    std::string pp = Decoder::Index(p + ".policies", i);
    if (policy.value <= 0) d.Error(pp + ".value", "must be greater than 0");
    if (policy.period_seconds <= 0 || policy.period_seconds > 1800) {
      d.Error(pp + ".periodSeconds", "must be between 1 and 1800");
    }
  }
}

bool IsSupportedType(const std::string& type) {
  for (const char* t : kSupportedTriggerTypes) {
    if (type == t) return true;
  }
  return false;
}

void ValidateTriggers(Decoder& d, const ScaledObjectSpec& s) {
  std::set<std::string> names;
  for (size_t i = 0; i < s.triggers.size(); ++i) {
    const Trigger& t = s.triggers[i];
    std::string p = Decoder::Index("spec.triggers", i);
    if (!t.type.empty() && !IsSupportedType(t.type)) {
      d.Error(p + ".type", "\"" + t.type + "\" is not a trigger type ebb supports (supported: prometheus)");
    }
    if (!t.name.empty() && !names.insert(t.name).second) {
      d.Error(p + ".name", "\"" + t.name + "\" is used by another trigger; names must be unique");
    }
  }
  if (s.advanced.scaling_modifiers && s.advanced.scaling_modifiers->target <= 0) {
    d.Error("spec.advanced.scalingModifiers.target", "must be greater than 0");
  }
}

// Lenient on purpose: status is written by controllers, not users, and a
// field ebb cannot read must not make the object invalid.
ObservedStatus DecodeObservedStatus(const json& object) {
  ObservedStatus out;
  auto status = object.find("status");
  if (status == object.end() || !status->is_object()) return out;
  auto last = status->find("lastActiveTime");
  Time t;
  if (last != status->end() && last->is_string() && ParseRfc3339(last->get<std::string>(), &t)) {
    out.last_active_time = t;
  }
  auto original = status->find("originalReplicaCount");
  if (original != status->end() && original->is_number_integer()) {
    int64_t v = original->get<int64_t>();
    if (v >= 0 && v <= INT32_MAX) out.original_replica_count = static_cast<int32_t>(v);
  }
  return out;
}

void Validate(Decoder& d, const ScaledObjectSpec& s) {
  ValidateReplicaCounts(d, s);
  const auto& hpa = s.advanced.horizontal_pod_autoscaler_config;
  if (hpa && hpa->behavior) {
    const std::string p = "spec.advanced.horizontalPodAutoscalerConfig.behavior";
    ValidateRules(d, hpa->behavior->scale_up, p + ".scaleUp");
    ValidateRules(d, hpa->behavior->scale_down, p + ".scaleDown");
  }
  ValidateTriggers(d, s);
}

}  // namespace

std::optional<ScaledObject> DecodeScaledObject(const Document& doc, Problems* errors,
                                               Problems* warnings) {
  Decoder d(doc, "ScaledObject", "", errors, warnings);
  ScaledObject so;
  so.metadata = DecodeObjectMeta(d, doc.value, /*namespaced=*/true);
  const json* spec = d.Object(doc.value, "spec", "");
  if (!spec) {
    d.Error("spec", "is required");
    return std::nullopt;
  }
  DecodeSpec(d, *spec, &so.spec);
  if (d.ok()) Validate(d, so.spec);
  if (!d.ok()) return std::nullopt;
  if (doc.value.is_object()) so.status = DecodeObservedStatus(doc.value);
  so.source.file = doc.file;
  so.source.document = doc.index;
  if (!doc.lines.empty()) {
    so.source.lines = std::make_shared<const std::unordered_map<std::string, int>>(doc.lines);
  }
  return so;
}

}  // namespace ebb::api
