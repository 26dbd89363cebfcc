#include "scaling/engine.h"

#include <algorithm>
#include <map>

#include "common/strings.h"
#include "scaling/formula.h"

namespace ebb::scaling {
namespace {

using api::MetricType;

// KEDA's condition types, reasons and messages, verbatim.
constexpr char kReady[] = "Ready";
constexpr char kActive[] = "Active";
constexpr char kFallback[] = "Fallback";
constexpr char kPaused[] = "Paused";

// One metric the HPA reads: a trigger, or the scalingModifiers composite.
struct Metric {
  std::string name;
  std::optional<double> value;
  std::string error;
  double target = 0;
  double activation_target = 0;
  MetricType type = MetricType::kAverageValue;
  bool falling_back = false;  // failed, and fallback replaces its value
  bool IsActive() const { return value && *value > activation_target; }
};

// How the annotations pause the object.
struct Pause {
  bool leave = false;                  // "paused": keep whatever replicas the target has
  std::optional<int32_t> hold;         // "paused-replicas": scale to and hold this
  std::string problem;                 // an annotation value we could not read
  bool scale_in = false;               // "paused-scale-in": never decrease
  bool scale_out = false;              // "paused-scale-out": never increase
  bool Any() const { return leave || hold || scale_in || scale_out; }
};

// KEDA reads a present annotation that is not a boolean as "true".
bool AnnotationTrue(const api::ScaledObject& so, const char* key) {
  if (!so.metadata.annotations.contains(key)) return false;
  return ParseBool(so.Annotation(key)).value_or(true);
}

Pause ReadPause(const api::ScaledObject& so) {
  Pause p;
  if (so.metadata.annotations.contains(api::kAnnotationPausedReplicas)) {
    const std::string text = so.Annotation(api::kAnnotationPausedReplicas);
    std::optional<int64_t> n = ParseInt(text);
    if (n && *n >= 0 && *n <= INT32_MAX) {
      p.hold = static_cast<int32_t>(*n);
    } else {
      p.leave = true;
      p.problem = std::string(api::kAnnotationPausedReplicas) + " \"" + text + "\" is not a replica count";
    }
  }
  if (AnnotationTrue(so, api::kAnnotationPaused) && !p.hold) p.leave = true;
  p.scale_in = AnnotationTrue(so, api::kAnnotationPausedScaleIn);
  p.scale_out = AnnotationTrue(so, api::kAnnotationPausedScaleOut);
  return p;
}

void UpdateFailures(const std::vector<TriggerObservation>& obs, EngineState& state) {
  state.consecutive_failures.resize(obs.size(), 0);
  for (size_t i = 0; i < obs.size(); ++i) {
    state.consecutive_failures[i] = obs[i].value ? 0 : state.consecutive_failures[i] + 1;
  }
}

// KEDA falls back only for AverageValue metrics, after more than
// failureThreshold consecutive failures.
bool FallbackApplies(const api::ScaledObjectSpec& spec, MetricType type, int32_t failures) {
  return spec.fallback && type == MetricType::kAverageValue && failures > spec.fallback->failure_threshold;
}

Metric FromObservation(const TriggerObservation& o) {
  return {o.name, o.value, o.error, o.target, o.activation_target, o.metric_type, false};
}

// The composite metric of scalingModifiers: the formula over trigger values.
Metric CompositeMetric(const api::ScalingModifiers& mod, const std::vector<TriggerObservation>& obs) {
  Metric m{"composite", std::nullopt, "", mod.target, mod.activation_target, mod.metric_type, false};
  std::map<std::string, double> values;
  for (const auto& o : obs) {
    if (o.value) values[o.name] = *o.value;
    else if (m.error.empty()) m.error = o.name + ": " + o.error;
  }
  if (!m.error.empty()) return m;
  Result<Formula> f = ParseFormula(mod.formula);
  Result<double> v = f.ok() ? f->Evaluate(values) : Result<double>(f.status());
  if (v.ok()) m.value = *v;
  else m.error = "formula: " + v.status().message();
  return m;
}

std::vector<Metric> BuildMetrics(const api::ScaledObjectSpec& spec, const std::vector<TriggerObservation>& obs,
                                 const EngineState& state) {
  std::vector<Metric> metrics;
  if (spec.advanced.scaling_modifiers && !spec.advanced.scaling_modifiers->formula.empty()) {
    Metric m = CompositeMetric(*spec.advanced.scaling_modifiers, obs);
    int32_t worst = 0;
    for (int32_t f : state.consecutive_failures) worst = std::max(worst, f);
    m.falling_back = !m.value && FallbackApplies(spec, m.type, worst);
    metrics.push_back(std::move(m));
    return metrics;
  }
  for (size_t i = 0; i < obs.size(); ++i) {
    Metric m = FromObservation(obs[i]);
    m.falling_back = !m.value && FallbackApplies(spec, m.type, state.consecutive_failures[i]);
    metrics.push_back(std::move(m));
  }
  return metrics;
}

int32_t FallbackReplicas(const api::Fallback& fb, int32_t current) {
  switch (fb.behavior) {
    case api::FallbackBehavior::kStatic: return fb.replicas;
    case api::FallbackBehavior::kCurrentReplicas: return current;
    case api::FallbackBehavior::kCurrentReplicasIfHigher: return std::max(current, fb.replicas);
    case api::FallbackBehavior::kCurrentReplicasIfLower: return std::min(current, fb.replicas);
  }
  return fb.replicas;
}

// Everything one decision looks at, computed once.
struct Inputs {
  const api::ScaledObjectSpec& spec;
  int32_t current;
  int32_t ready;
  Time now;
  Time created;
  Pause pause;
  std::vector<Metric> metrics;
  bool active = false;
  bool any_error = false;
  bool falling_back = false;
};

// Facts gathered while deciding, for the conditions.
struct Outcome {
  Decision decision;
  bool cooling_down = false;
};

Outcome Make(const Inputs& in, int32_t replicas, std::string reason, std::string message) {
  Outcome o;
  o.decision.replicas = replicas;
  o.decision.changed = replicas != in.current;
  o.decision.reason = std::move(reason);
  o.decision.message = std::move(message);
  o.decision.active = in.active;
  return o;
}

std::string FromTo(const Inputs& in, int32_t to) {
  return "from " + std::to_string(in.current) + " to " + std::to_string(to);
}

std::string FirstError(const std::vector<Metric>& metrics) {
  for (const auto& m : metrics) {
    if (!m.value) return m.name.empty() ? m.error : m.name + ": " + m.error;
  }
  return "";
}

// Replicas at 0 or idleReplicaCount: KEDA's executor activates or holds.
bool AtZeroOrIdle(const Inputs& in) {
  return in.current == 0 || (in.spec.idle_replica_count && in.current <= *in.spec.idle_replica_count);
}

Outcome DecideFromZeroOrIdle(const Inputs& in) {
  const int32_t lowest = std::max(in.spec.min_replica_count, 1);
  if (in.active) {
    if (in.pause.scale_out) return Make(in, in.current, kReasonHold, "triggers active, but scale-out is paused");
    return Make(in, lowest, kReasonActivate, "triggers active: " + FromTo(in, lowest));
  }
  if (in.falling_back && !in.pause.scale_out) {
    // KEDA leaves a target at 0 alone while its metrics fail (its HPA is
    // off at 0); ebb applies the fallback there too, as the user asked.
    const int32_t to = std::clamp(FallbackReplicas(*in.spec.fallback, in.current), in.spec.min_replica_count,
                                  in.spec.max_replica_count);
    return Make(in, to, kReasonFallback, "metrics failing, fallback " + FromTo(in, to));
  }
  if (!in.spec.idle_replica_count && in.current < in.spec.min_replica_count && !in.pause.scale_out) {
    return Make(in, in.spec.min_replica_count, kReasonScaleUp,
                  "below minReplicaCount: " + FromTo(in, in.spec.min_replica_count));
  }
  return Make(in, in.current, kReasonHold, "triggers not active");
}

// KEDA: since lastActiveTime when known, else since creation with
// initialCooldownPeriod; strictly after, as KEDA's Before(now).
bool CooldownPassed(const Inputs& in, const EngineState& state) {
  if (state.last_active_time) {
    return *state.last_active_time + std::chrono::seconds(in.spec.cooldown_period) < in.now;
  }
  return in.created + std::chrono::seconds(in.spec.initial_cooldown_period) < in.now;
}

// The behavior the HPA runs with: the user's, with a paused direction
// disabled (as KEDA sets selectPolicy Disabled on its HPA).
std::optional<ResolvedBehavior> EffectiveBehavior(const Inputs& in) {
  const auto& hpa_config = in.spec.advanced.horizontal_pod_autoscaler_config;
  const bool has_behavior = hpa_config && hpa_config->behavior;
  if (!has_behavior && !in.pause.scale_in && !in.pause.scale_out) return std::nullopt;
  ResolvedBehavior b = ResolveBehavior(has_behavior ? *hpa_config->behavior : api::Behavior{});
  if (in.pause.scale_in) b.scale_down.select_policy = api::SelectPolicy::kDisabled;
  if (in.pause.scale_out) b.scale_up.select_policy = api::SelectPolicy::kDisabled;
  return b;
}

std::string_view DirectionReason(int32_t from, int32_t to) {
  if (to > from) return kReasonScaleUp;
  if (to < from) return kReasonScaleDown;
  return kReasonHold;
}

// The metrics' proposal (max over metrics), or nullopt when the HPA must
// not act: every metric failed, or some failed and the rest would scale down.
std::optional<int32_t> MetricProposal(const Inputs& in, const Tolerances& tol, std::string* why) {
  int32_t desired = 0;
  size_t invalid = 0;
  for (const auto& m : in.metrics) {
    if (m.value) {
      desired = std::max(desired, ExternalMetricReplicas(m.type, *m.value, m.target, in.current, in.ready, tol));
    } else if (m.falling_back) {
      desired = std::max(desired, FallbackReplicas(*in.spec.fallback, in.current));
    } else {
      ++invalid;
    }
  }
  if (invalid == in.metrics.size()) {
    *why = "no metric could be read (" + FirstError(in.metrics) + ")";
    return std::nullopt;
  }
  if (invalid > 0 && desired < in.current) {
    *why = "not scaling down while " + std::to_string(invalid) + " of " + std::to_string(in.metrics.size()) +
           " metrics fail (" + FirstError(in.metrics) + ")";
    return std::nullopt;
  }
  return desired;
}

Outcome RunHpa(const Inputs& in, EngineState& state) {
  const int32_t min = std::max(in.spec.min_replica_count, 1);
  const int32_t max = in.spec.max_replica_count;
  if (in.current > max) return Make(in, max, kReasonScaleDown, "above maxReplicaCount: " + FromTo(in, max));
  if (in.current < min) return Make(in, min, kReasonScaleUp, "below minReplicaCount: " + FromTo(in, min));

  const std::optional<ResolvedBehavior> behavior = EffectiveBehavior(in);
  std::string why;
  const std::optional<int32_t> desired =
      MetricProposal(in, behavior ? behavior->tolerances() : Tolerances{}, &why);
  if (!desired) return Make(in, in.current, kReasonHold, why);

  const int32_t next = behavior ? NormalizeWithBehavior(in.current, *desired, min, max, *behavior, in.now, state.hpa)
                                : NormalizeWithoutBehavior(in.current, *desired, min, max, in.now, state.hpa);
  if (behavior) RecordScaleEvent(*behavior, in.current, next, in.now, state.hpa);
  std::string message = "metrics ask for " + std::to_string(*desired) + ", " +
                        (next == in.current ? "keeping " + std::to_string(next) : FromTo(in, next));
  std::string reason(in.falling_back ? kReasonFallback : DirectionReason(in.current, next));
  if (in.falling_back) message = "fallback: " + message;
  Outcome o = Make(in, next, std::move(reason), std::move(message));
  o.decision.desired = *desired;
  return o;
}

Outcome DecideRunning(const Inputs& in, EngineState& state) {
  const bool may_deactivate = in.spec.idle_replica_count || in.spec.min_replica_count == 0;
  // KEDA never deactivates while a trigger reports errors.
  if (in.active || in.any_error || !may_deactivate) return RunHpa(in, state);
  if (!CooldownPassed(in, state)) {
    Outcome o = RunHpa(in, state);
    o.cooling_down = true;
    return o;
  }
  if (in.pause.scale_in) return RunHpa(in, state);
  const int32_t to = in.spec.idle_replica_count.value_or(0);
  return Make(in, to, kReasonDeactivate, "triggers not active after cooldown: " + FromTo(in, to));
}

Condition ReadyCondition(const Inputs& in) {
  if (!in.pause.problem.empty()) return {kReady, ConditionStatus::kFalse, "InvalidAnnotation", in.pause.problem};
  if (!in.any_error) {
    return {kReady, ConditionStatus::kTrue, "ScaledObjectReady",
            "ScaledObject is defined correctly and is ready for scaling"};
  }
  const std::string detail = ": " + FirstError(in.metrics);
  if (in.active) {
    return {kReady, ConditionStatus::kUnknown, "PartialTriggerError",
            "Some triggers defined in ScaledObject are not working correctly" + detail};
  }
  return {kReady, ConditionStatus::kFalse, "TriggerError",
          "Triggers defined in ScaledObject are not working correctly" + detail};
}

Condition ActiveCondition(const Inputs& in, bool cooling_down) {
  if (in.active) {
    return {kActive, ConditionStatus::kTrue, "ScalerActive", "Scaling is performed because triggers are active"};
  }
  if (cooling_down) {
    return {kActive, ConditionStatus::kFalse, "ScalerCooldown", "Scaler cooling down because triggers are not active"};
  }
  return {kActive, ConditionStatus::kFalse, "ScalerNotActive",
          "Scaling is not performed because triggers are not active"};
}

Condition PausedCondition(const Inputs& in) {
  if (in.pause.Any()) return {kPaused, ConditionStatus::kTrue, "ScaledObjectPaused", "ScaledObject is paused"};
  return {kPaused, ConditionStatus::kFalse, "ScaledObjectUnpaused", "ScaledObject is not paused"};
}

Condition FallbackCondition(const Inputs& in) {
  if (in.falling_back) {
    return {kFallback, ConditionStatus::kTrue, "FallbackExists",
            "At least one trigger is falling back on this scaled object"};
  }
  return {kFallback, ConditionStatus::kFalse, "NoFallbackFound", "No fallbacks are active on this scaled object"};
}

// Fully paused: KEDA stops its loop; only paused-replicas moves the target.
Decision DecidePaused(const Inputs& in) {
  Outcome o = in.pause.hold ? Make(in, *in.pause.hold, kReasonPaused,
                                     "paused at " + std::to_string(*in.pause.hold) + " replicas")
                            : Make(in, in.current, kReasonPaused, "paused");
  o.decision.conditions = {ReadyCondition(in), PausedCondition(in)};
  return o.decision;
}

}  // namespace

std::string_view ConditionStatusName(ConditionStatus s) {
  switch (s) {
    case ConditionStatus::kTrue: return "True";
    case ConditionStatus::kFalse: return "False";
    case ConditionStatus::kUnknown: return "Unknown";
  }
  return "Unknown";
}

Decision Decide(const api::ScaledObject& so, const std::vector<TriggerObservation>& observations,
                int32_t current_replicas, int32_t ready_replicas, Time now, Time created,
                EngineState& state) {
  if (!state.original_replica_count) state.original_replica_count = current_replicas;
  Inputs in{so.spec, current_replicas, ready_replicas, now, created, ReadPause(so), {}};
  if (in.pause.leave || in.pause.hold) return DecidePaused(in);

  UpdateFailures(observations, state);
  in.metrics = BuildMetrics(so.spec, observations, state);
  for (const auto& m : in.metrics) {
    in.active = in.active || m.IsActive();
    in.any_error = in.any_error || !m.value;
    in.falling_back = in.falling_back || m.falling_back;
  }
  if (in.active) state.last_active_time = now;

  Outcome o = AtZeroOrIdle(in) ? DecideFromZeroOrIdle(in) : DecideRunning(in, state);
  o.decision.conditions = {ReadyCondition(in), ActiveCondition(in, o.cooling_down), PausedCondition(in)};
  if (so.spec.fallback) o.decision.conditions.push_back(FallbackCondition(in));
  return o.decision;
}

}  // namespace ebb::scaling
