// The decision engine: one ScaledObject's spec, one observation per trigger,
// the target's replicas, the time and the engine's own state in; the new
// replica count, its reason, KEDA's status conditions and the new state out.
//
//   EngineState state;                            // one per ScaledObject
//   Decision d = Decide(so, observations, current, ready, clock.Now(), created, state);
//   if (d.changed) target.SetReplicas(d.replicas);
//
// The split follows KEDA: between 0 (or idleReplicaCount) and active, KEDA's
// executor decides (activate, deactivate after cooldownPeriod); from
// max(min, 1) up to max, the Kubernetes HPA algorithm decides (hpa.h).
// Around both: fallback after failureThreshold, pause annotations,
// scalingModifiers. Pure and deterministic: no I/O, no clock reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/scaled_object.h"
#include "common/clock.h"
#include "scaling/hpa.h"

namespace ebb::scaling {

// What one trigger's query gave this poll.
struct TriggerObservation {
  std::string name;                  // the trigger's name (scalingModifiers refer to it)
  std::optional<double> value;       // nullopt: the query failed
  std::string error;                 // why it failed (no secrets)
  double target = 0;                 // threshold; > 0
  double activation_target = 0;      // active when value > activation_target
  api::MetricType metric_type = api::MetricType::kAverageValue;
};

// Everything the engine remembers about one object between decisions.
// Value type; a few hundred bytes for a typical object (history is pruned
// to the largest window or policy period). Not thread-safe: one decision at
// a time per object.
struct EngineState {
  HpaHistory hpa;
  std::optional<Time> last_active_time;
  std::vector<int32_t> consecutive_failures;       // per trigger index
  std::optional<int32_t> original_replica_count;   // replicas first seen
  friend bool operator==(const EngineState&, const EngineState&) = default;
};

enum class ConditionStatus { kTrue, kFalse, kUnknown };
std::string_view ConditionStatusName(ConditionStatus s);  // "True" | "False" | "Unknown"

// A status condition as KEDA writes it (types Ready, Active, Fallback, Paused).
struct Condition {
  std::string type;
  ConditionStatus status = ConditionStatus::kUnknown;
  std::string reason;
  std::string message;
  friend bool operator==(const Condition&, const Condition&) = default;
};

// Reasons of a Decision.
inline constexpr char kReasonScaleUp[] = "scale-up";
inline constexpr char kReasonScaleDown[] = "scale-down";
inline constexpr char kReasonActivate[] = "activate";
inline constexpr char kReasonDeactivate[] = "deactivate";
inline constexpr char kReasonHold[] = "hold";
inline constexpr char kReasonFallback[] = "fallback";
inline constexpr char kReasonPaused[] = "paused";

struct Decision {
  int32_t replicas = 0;        // what the target should have (== current when unchanged)
  bool changed = false;        // replicas != current
  std::string reason;          // one of the kReason* values
  std::string message;         // for events and logs
  bool active = false;         // some trigger (or the composite metric) is active
  // The HPA's raw proposal from the metrics before stabilization and limits;
  // nullopt when the HPA did not run.
  std::optional<int32_t> desired;
  std::vector<Condition> conditions;  // Ready, Active, Paused, and Fallback when configured
  friend bool operator==(const Decision&, const Decision&) = default;
};

// Decides for one poll. `observations` are in the order of
// `so.spec.triggers` (one per trigger). `created` is the object's creation
// time (for initialCooldownPeriod). Updates `state` in place. REQUIRES: the
// spec passed ValidateForEngine (validate.h).
Decision Decide(const api::ScaledObject& so, const std::vector<TriggerObservation>& observations,
                int32_t current_replicas, int32_t ready_replicas, Time now, Time created,
                EngineState& state);

}  // namespace ebb::scaling
