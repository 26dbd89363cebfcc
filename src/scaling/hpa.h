// The Kubernetes HPA's arithmetic for external metrics, as pure functions:
// the replica proposal of one metric (AverageValue / Value, tolerance), the
// behavior defaults per direction, stabilization windows and rate-limit
// policies (see shared/facts/kubernetes.md, "The HPA algorithm").
//
//   HpaHistory history;                       // kept between decisions
//   ResolvedBehavior b = ResolveBehavior(spec_behavior);
//   int32_t proposal = ExternalMetricReplicas(MetricType::kAverageValue, usage, target,
//                                             current, ready, b.Tolerances());
//   int32_t next = NormalizeWithBehavior(current, proposal, min, max, b, now, history);
//   if (next != current) RecordScaleEvent(b, current, next, now, history);
//
// History is the only state, passed explicitly: same inputs, same outputs.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "api/scaled_object.h"
#include "common/clock.h"

namespace ebb::scaling {

inline constexpr double kDefaultTolerance = 0.1;
// Without behavior, recommendations are stabilized over 5 minutes (downscale).
inline constexpr int32_t kDefaultDownscaleWindowSeconds = 300;

// A ratio within [1 - scale_down, 1 + scale_up] leaves the replicas alone.
struct Tolerances {
  double scale_up = kDefaultTolerance;
  double scale_down = kDefaultTolerance;
  bool Within(double ratio) const { return ratio >= 1.0 - scale_down && ratio <= 1.0 + scale_up; }
};

// Rounds a metric value to the milli-units a Kubernetes quantity carries, so
// that ratios such as 8.6 / 2.15 are exact (4, not 4.000000000000001).
int64_t ToMilli(double value);

// The replicas one external metric asks for (Kubernetes
// GetExternalPerPodMetricReplicas / GetExternalMetricReplicas):
//  AverageValue: ceil(usage / target), or `current` when
//                usage / (target * current) is within tolerance;
//  Value:        ceil(usage / target * ready), or `current` when usage / target
//                is within tolerance; ceil(usage / target) when current == 0.
// REQUIRES: target > 0, current >= 0.
int32_t ExternalMetricReplicas(api::MetricType type, double usage, double target, int32_t current,
                               int32_t ready, const Tolerances& tolerances);

// One direction of behavior with every Kubernetes default filled in.
struct ResolvedRules {
  int32_t stabilization_window_seconds = 0;
  api::SelectPolicy select_policy = api::SelectPolicy::kMax;
  std::vector<api::ScalingPolicy> policies;
  double tolerance = kDefaultTolerance;
};

struct ResolvedBehavior {
  ResolvedRules scale_up;
  ResolvedRules scale_down;
  Tolerances tolerances() const { return {scale_up.tolerance, scale_down.tolerance}; }
};

// Fills the defaults per rule: scaleUp window 0, Max, [Pods 4/15 s,
// Percent 100/15 s]; scaleDown window 300, Max, [Percent 100/15 s]. A user's
// policies list replaces the default list whole.
ResolvedBehavior ResolveBehavior(const api::Behavior& behavior);

// A replica count (recommendation) or change (scale event) at a time.
struct TimedReplicas {
  Time time;
  int32_t replicas = 0;
  friend bool operator==(const TimedReplicas&, const TimedReplicas&) = default;
};

// What the HPA remembers between decisions for one object. Kept small:
// the recommendation lists are monotonic (a sample dominated by a newer one
// can never decide a window query again, so it is dropped), and everything
// older than the largest window or policy period is pruned.
struct HpaHistory {
  // Raw recommendations, decreasing values from oldest to newest: answers
  // "max within a window".
  std::vector<TimedReplicas> for_max;
  // Raw recommendations, increasing values: answers "min within a window".
  std::vector<TimedReplicas> for_min;
  std::vector<TimedReplicas> scale_up_events;    // replicas = size of the change
  std::vector<TimedReplicas> scale_down_events;  // replicas = size of the change
  friend bool operator==(const HpaHistory&, const HpaHistory&) = default;
};

// Starts an empty history with `current` at `now`, as the HPA controller
// does when it first sees an HPA (its recommendations begin with the
// current replica count), so that the first decisions do not scale in
// within the stabilization window. No-op when the history has samples.
void SeedHistory(HpaHistory& history, int32_t current, Time now);

// Without behavior (Kubernetes normalizeDesiredReplicas): the max of
// `desired` and the recommendations of the last 5 minutes, clamped to
// [max(min, 1), min(max, max(2 * current, 4))]. Records `desired`.
int32_t NormalizeWithoutBehavior(int32_t current, int32_t desired, int32_t min, int32_t max, Time now,
                                 HpaHistory& history);

// With behavior (normalizeDesiredReplicasWithBehaviors): stabilization over
// both windows, then the rate limits of the policies, then [min, max].
// Records `desired`.
int32_t NormalizeWithBehavior(int32_t current, int32_t desired, int32_t min, int32_t max,
                              const ResolvedBehavior& behavior, Time now, HpaHistory& history);

// The most replicas the scale-up policies allow now (never below current).
int32_t ScaleUpLimit(int32_t current, const ResolvedRules& rules, const HpaHistory& history, Time now);
// The fewest replicas the scale-down policies allow now (never above current).
int32_t ScaleDownLimit(int32_t current, const ResolvedRules& rules, const HpaHistory& history, Time now);

// Records an applied change from `from` to `to` and prunes events older
// than the longest policy period of that direction.
void RecordScaleEvent(const ResolvedBehavior& behavior, int32_t from, int32_t to, Time now,
                      HpaHistory& history);

}  // namespace ebb::scaling
