// ScaledObject (keda.sh/v1alpha1) as ebb keeps it after parsing: every
// field KEDA reads, defaults applied (see ../shared/facts/keda-compat.md).
// Plain value types: copyable, no behaviour beyond small helpers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/object_meta.h"
#include "api/problem.h"

namespace ebb::api {

inline constexpr char kKedaApiVersion[] = "keda.sh/v1alpha1";

// Annotations KEDA honours on a ScaledObject.
inline constexpr char kAnnotationPaused[] = "autoscaling.keda.sh/paused";
inline constexpr char kAnnotationPausedReplicas[] = "autoscaling.keda.sh/paused-replicas";
inline constexpr char kAnnotationPausedScaleIn[] = "autoscaling.keda.sh/paused-scale-in";
inline constexpr char kAnnotationPausedScaleOut[] = "autoscaling.keda.sh/paused-scale-out";

enum class MetricType { kAverageValue, kValue };

struct ScaleTargetRef {
  std::string api_version = "apps/v1";
  std::string kind = "Deployment";
  std::string name;
  std::string env_source_container_name;
};

struct AuthenticationRef {
  std::string name;
  // "TriggerAuthentication" (default) or "ClusterTriggerAuthentication".
  std::string kind = "TriggerAuthentication";
};

struct Trigger {
  std::string type;                             // "prometheus", ...
  std::string name;                             // optional; used by scalingModifiers
  std::map<std::string, std::string> metadata;  // KEDA passes every value as a string
  std::optional<AuthenticationRef> authentication_ref;
  MetricType metric_type = MetricType::kAverageValue;
  bool use_cached_metrics = false;
};

enum class FallbackBehavior { kStatic, kCurrentReplicas, kCurrentReplicasIfHigher, kCurrentReplicasIfLower };

struct Fallback {
  int32_t failure_threshold = 0;  // required, >= 0
  int32_t replicas = 0;           // required, >= 0
  FallbackBehavior behavior = FallbackBehavior::kStatic;
};

enum class ScalingPolicyType { kPods, kPercent };
enum class SelectPolicy { kMax, kMin, kDisabled };

struct ScalingPolicy {
  ScalingPolicyType type = ScalingPolicyType::kPods;
  int32_t value = 0;           // > 0
  int32_t period_seconds = 0;  // 1..1800
};

// One direction of HPA behavior, as the user wrote it (unset fields stay
// unset; the engine fills the Kubernetes defaults per direction).
struct ScalingRules {
  std::optional<int32_t> stabilization_window_seconds;  // 0..3600
  std::optional<SelectPolicy> select_policy;
  std::optional<std::vector<ScalingPolicy>> policies;   // replaces the default list whole
  std::optional<double> tolerance;                       // e.g. 0.05; default 0.1
};

struct Behavior {
  std::optional<ScalingRules> scale_up;
  std::optional<ScalingRules> scale_down;
};

struct HorizontalPodAutoscalerConfig {
  std::string name;
  std::optional<Behavior> behavior;
};

struct ScalingModifiers {
  std::string formula;
  double target = 0;             // required with a formula
  double activation_target = 0;
  MetricType metric_type = MetricType::kAverageValue;
};

struct Advanced {
  std::optional<HorizontalPodAutoscalerConfig> horizontal_pod_autoscaler_config;
  bool restore_to_original_replica_count = false;
  std::optional<ScalingModifiers> scaling_modifiers;
};

struct ScaledObjectSpec {
  ScaleTargetRef scale_target_ref;
  int32_t polling_interval = 30;      // seconds, >= 1
  int32_t cooldown_period = 300;      // seconds
  int32_t initial_cooldown_period = 0;
  int32_t min_replica_count = 0;
  int32_t max_replica_count = 100;
  std::optional<int32_t> idle_replica_count;  // < min_replica_count
  std::optional<Fallback> fallback;
  Advanced advanced;
  std::vector<Trigger> triggers;
};

// What an earlier controller (ebb or KEDA) left in `.status` that the
// next one must carry on from: without lastActiveTime a new leader would
// scale an active object's cooldown from zero, and without
// originalReplicaCount restoreToOriginalReplicaCount could not restore
// after a restart. Read leniently: a malformed field is ignored.
struct ObservedStatus {
  std::optional<Time> last_active_time;
  std::optional<int32_t> original_replica_count;
};

struct ScaledObject {
  ObjectMeta metadata;
  ScaledObjectSpec spec;
  ObservedStatus status;
  SourceLocation source;  // file, document and lines when read from a file

  // The annotation's value, or "" when absent.
  std::string Annotation(const std::string& key) const {
    auto it = metadata.annotations.find(key);
    return it == metadata.annotations.end() ? "" : it->second;
  }
};

}  // namespace ebb::api
