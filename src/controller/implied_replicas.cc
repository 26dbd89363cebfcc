#include "controller/implied_replicas.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "scaling/formula.h"

namespace ebb::controller {

namespace {

struct Composite {
  double value = 0;
  double target = 0;
  double activation = 0;
};

// The scalingModifiers formula over the readings, when configured.
std::optional<Composite> FromFormula(const api::ScalingModifiers& m,
                                     const std::vector<TriggerReading>& readings) {
  std::map<std::string, double> values;
  for (const TriggerReading& r : readings) {
    if (r.value) values[r.name] = *r.value;
  }
  Result<scaling::Formula> f = scaling::ParseFormula(m.formula);
  if (!f.ok()) return std::nullopt;
  Result<double> v = f->Evaluate(values);
  if (!v.ok()) return std::nullopt;
  return Composite{*v, m.target, m.activation_target};
}

// Saturates at 1e9 (above any maxReplicaCount); NaN counts as 0. Written
// with negated comparisons so that NaN never reaches the cast.
int64_t Ceil(double value, double target) {
  if (!(target > 0) || !(value > 0)) return 0;
  double r = std::ceil(value / target - 1e-9);
  return !(r <= 1e9) ? int64_t{1'000'000'000} : static_cast<int64_t>(r);
}

}  // namespace

std::optional<int32_t> ImpliedReplicas(const api::ScaledObject& so,
                                       const std::vector<TriggerReading>& readings) {
  std::vector<Composite> metrics;
  if (so.spec.advanced.scaling_modifiers) {
    auto c = FromFormula(*so.spec.advanced.scaling_modifiers, readings);
    if (!c) return std::nullopt;
    metrics.push_back(*c);
  } else {
    for (const TriggerReading& r : readings) {
      if (r.value) metrics.push_back({*r.value, r.target, r.activation_target});
    }
  }
  if (metrics.empty()) return std::nullopt;
  bool active = false;
  int64_t desired = 0;
  for (const Composite& c : metrics) {
    active = active || c.value > c.activation;
    desired = std::max(desired, Ceil(c.value, c.target));
  }
  const auto& spec = so.spec;
  if (!active) return spec.idle_replica_count.value_or(spec.min_replica_count);
  int64_t low = std::max(spec.min_replica_count, 1);
  return static_cast<int32_t>(std::clamp<int64_t>(desired, low, spec.max_replica_count));
}

}  // namespace ebb::controller
