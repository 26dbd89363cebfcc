#include "scaling/hpa.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ebb::scaling {
namespace {

using api::ScalingPolicy;
using api::ScalingPolicyType;
using api::SelectPolicy;

constexpr int32_t kDefaultScaleUpPods = 4;
constexpr int32_t kDefaultScaleUpPercent = 100;
constexpr int32_t kDefaultScaleDownPercent = 100;
constexpr int32_t kDefaultPolicyPeriodSeconds = 15;
// Without behavior, one decision may at most double the replicas (or reach 4).
constexpr int32_t kScaleUpLimitFactor = 2;
constexpr int32_t kScaleUpLimitMinimum = 4;

int32_t ClampToInt32(int64_t v) {
  return static_cast<int32_t>(std::clamp<int64_t>(v, std::numeric_limits<int32_t>::min(),
                                                  std::numeric_limits<int32_t>::max()));
}

// Saturates: a metric of 1e17 (or inf) means "as many as allowed", and
// casting a double outside int32_t's range is undefined behaviour.
int32_t CeilToInt32(double v) {
  if (std::isnan(v)) return 0;
  if (!(v < static_cast<double>(std::numeric_limits<int32_t>::max()))) {
    return std::numeric_limits<int32_t>::max();
  }
  if (!(v > static_cast<double>(std::numeric_limits<int32_t>::min()))) {
    return std::numeric_limits<int32_t>::min();
  }
  return static_cast<int32_t>(std::ceil(v));
}

Duration Seconds(int32_t s) { return std::chrono::seconds(s); }

ResolvedRules ResolveRules(const std::optional<api::ScalingRules>& user, ResolvedRules defaults) {
  if (!user) return defaults;
  ResolvedRules r = std::move(defaults);
  if (user->stabilization_window_seconds) r.stabilization_window_seconds = *user->stabilization_window_seconds;
  if (user->select_policy) r.select_policy = *user->select_policy;
  if (user->policies) r.policies = *user->policies;
  if (user->tolerance) r.tolerance = *user->tolerance;
  return r;
}

// Drops samples from the front (oldest) while `expired` says so.
template <typename Pred>
void DropOldest(std::vector<TimedReplicas>& list, Pred expired) {
  auto first_kept = std::find_if_not(list.begin(), list.end(), expired);
  list.erase(list.begin(), first_kept);
}

// Appends keeping `list` monotonic: samples that `dominated(old, new)`
// are removed first, since the newer sample outlives them in every window.
template <typename Pred>
void PushMonotonic(std::vector<TimedReplicas>& list, TimedReplicas sample, Pred dominated) {
  while (!list.empty() && dominated(list.back().replicas, sample.replicas)) list.pop_back();
  list.push_back(sample);
}

// Sum of the changes recorded after `now - period`.
int64_t ChangesWithin(const std::vector<TimedReplicas>& events, int32_t period_seconds, Time now) {
  const Time cutoff = now - Seconds(period_seconds);
  int64_t sum = 0;
  for (const auto& e : events) {
    if (e.time > cutoff) sum += e.replicas;
  }
  return sum;
}

int64_t PeriodStart(int32_t current, const ScalingPolicy& p, const HpaHistory& h, Time now) {
  return int64_t{current} - ChangesWithin(h.scale_up_events, p.period_seconds, now) +
         ChangesWithin(h.scale_down_events, p.period_seconds, now);
}

int32_t LongestPeriod(const ResolvedRules& rules) {
  int32_t longest = 0;
  for (const auto& p : rules.policies) longest = std::max(longest, p.period_seconds);
  return longest;
}

}  // namespace

int64_t ToMilli(double value) {
  // llround outside int64_t's range is unspecified (it gave INT64_MIN, so
  // 1e17 scaled down); saturate instead. 2^63 is exact as a double.
  constexpr double kLimit = 9223372036854775808.0;
  const double milli = value * 1000.0;
  if (std::isnan(milli)) return 0;
  if (milli >= kLimit) return std::numeric_limits<int64_t>::max();
  if (milli <= -kLimit) return std::numeric_limits<int64_t>::min();
  return std::llround(milli);
}

int32_t ExternalMetricReplicas(api::MetricType type, double usage, double target, int32_t current,
                               int32_t ready, const Tolerances& tolerances) {
  const double usage_milli = static_cast<double>(ToMilli(usage));
  const double target_milli = static_cast<double>(std::max<int64_t>(ToMilli(target), 1));
  if (type == api::MetricType::kAverageValue) {
    if (current > 0 && tolerances.Within(usage_milli / (target_milli * current))) return current;
    return CeilToInt32(usage_milli / target_milli);
  }
  const double ratio = usage_milli / target_milli;
  if (current == 0) return CeilToInt32(ratio);
  if (tolerances.Within(ratio)) return current;
  return CeilToInt32(ratio * ready);
}

ResolvedBehavior ResolveBehavior(const api::Behavior& behavior) {
  ResolvedRules up;
  up.stabilization_window_seconds = 0;
  up.policies = {{ScalingPolicyType::kPods, kDefaultScaleUpPods, kDefaultPolicyPeriodSeconds},
                 {ScalingPolicyType::kPercent, kDefaultScaleUpPercent, kDefaultPolicyPeriodSeconds}};
  ResolvedRules down;
  down.stabilization_window_seconds = kDefaultDownscaleWindowSeconds;
  down.policies = {{ScalingPolicyType::kPercent, kDefaultScaleDownPercent, kDefaultPolicyPeriodSeconds}};
  return {ResolveRules(behavior.scale_up, std::move(up)), ResolveRules(behavior.scale_down, std::move(down))};
}

void SeedHistory(HpaHistory& history, int32_t current, Time now) {
  if (!history.for_max.empty() || !history.for_min.empty()) return;
  history.for_max.push_back({now, current});
  history.for_min.push_back({now, current});
}

int32_t NormalizeWithoutBehavior(int32_t current, int32_t desired, int32_t min, int32_t max, Time now,
                                 HpaHistory& history) {
  // Kubernetes keeps samples at exactly now - window (it drops only older ones).
  const Time cutoff = now - Seconds(kDefaultDownscaleWindowSeconds);
  DropOldest(history.for_max, [&](const TimedReplicas& r) { return r.time < cutoff; });
  history.for_min.clear();
  int32_t stabilized = desired;
  if (!history.for_max.empty()) stabilized = std::max(stabilized, history.for_max.front().replicas);
  PushMonotonic(history.for_max, {now, desired}, [](int32_t old, int32_t v) { return old <= v; });

  const int32_t lowest = std::max(min, 1);
  const int64_t up_limit = std::max<int64_t>(int64_t{kScaleUpLimitFactor} * current, kScaleUpLimitMinimum);
  const int32_t highest = ClampToInt32(std::min<int64_t>(max, up_limit));
  if (stabilized < lowest) return lowest;
  if (stabilized > highest) return highest;
  return stabilized;
}

int32_t NormalizeWithBehavior(int32_t current, int32_t desired, int32_t min, int32_t max,
                              const ResolvedBehavior& behavior, Time now, HpaHistory& history) {
  // Here Kubernetes keeps only samples strictly after now - window.
  const Time up_cutoff = now - Seconds(behavior.scale_up.stabilization_window_seconds);
  const Time down_cutoff = now - Seconds(behavior.scale_down.stabilization_window_seconds);
  DropOldest(history.for_min, [&](const TimedReplicas& r) { return r.time <= up_cutoff; });
  DropOldest(history.for_max, [&](const TimedReplicas& r) { return r.time <= down_cutoff; });
  int32_t up_rec = desired;
  int32_t down_rec = desired;
  if (!history.for_min.empty()) up_rec = std::min(up_rec, history.for_min.front().replicas);
  if (!history.for_max.empty()) down_rec = std::max(down_rec, history.for_max.front().replicas);
  PushMonotonic(history.for_min, {now, desired}, [](int32_t old, int32_t v) { return old >= v; });
  PushMonotonic(history.for_max, {now, desired}, [](int32_t old, int32_t v) { return old <= v; });

  int32_t stabilized = current;
  if (stabilized < up_rec) stabilized = up_rec;
  if (stabilized > down_rec) stabilized = down_rec;

  if (stabilized > current) {
    const int32_t highest = std::min(max, ScaleUpLimit(current, behavior.scale_up, history, now));
    return std::min(stabilized, highest);
  }
  if (stabilized < current) {
    const int32_t lowest = std::max(min, ScaleDownLimit(current, behavior.scale_down, history, now));
    return std::max(stabilized, lowest);
  }
  return stabilized;
}

int32_t ScaleUpLimit(int32_t current, const ResolvedRules& rules, const HpaHistory& history, Time now) {
  if (rules.select_policy == SelectPolicy::kDisabled) return current;
  const bool take_min = rules.select_policy == SelectPolicy::kMin;
  int64_t result = take_min ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  for (const auto& p : rules.policies) {
    const int64_t start = PeriodStart(current, p, history, now);
    const int64_t proposed =
        p.type == ScalingPolicyType::kPods
            ? start + p.value
            // Rounded up, or a small percentage of few replicas would never grow.
            : static_cast<int64_t>(std::ceil(static_cast<double>(start) * (1.0 + p.value / 100.0)));
    result = take_min ? std::min(result, proposed) : std::max(result, proposed);
  }
  return ClampToInt32(std::max<int64_t>(result, current));
}

int32_t ScaleDownLimit(int32_t current, const ResolvedRules& rules, const HpaHistory& history, Time now) {
  if (rules.select_policy == SelectPolicy::kDisabled) return current;
  // For scaling down the biggest change is the smallest count: "Max" takes the min.
  const bool take_max = rules.select_policy == SelectPolicy::kMin;
  int64_t result = take_max ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  for (const auto& p : rules.policies) {
    const int64_t start = PeriodStart(current, p, history, now);
    const int64_t proposed = p.type == ScalingPolicyType::kPods
                                 ? start - p.value
                                 : static_cast<int64_t>(static_cast<double>(start) * (1.0 - p.value / 100.0));
    result = take_max ? std::max(result, proposed) : std::min(result, proposed);
  }
  return ClampToInt32(std::min<int64_t>(result, current));
}

void RecordScaleEvent(const ResolvedBehavior& behavior, int32_t from, int32_t to, Time now,
                      HpaHistory& history) {
  if (from == to) return;
  const bool up = to > from;
  const ResolvedRules& rules = up ? behavior.scale_up : behavior.scale_down;
  std::vector<TimedReplicas>& events = up ? history.scale_up_events : history.scale_down_events;
  const Time cutoff = now - Seconds(LongestPeriod(rules));
  DropOldest(events, [&](const TimedReplicas& e) { return e.time <= cutoff; });
  events.push_back({now, up ? to - from : from - to});
}

}  // namespace ebb::scaling
