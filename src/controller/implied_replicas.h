// The replica count a set of trigger readings implies right now, without
// history (no stabilization, no cooldown): what `ebb query` and `ebb doctor`
// show next to the values. The engine (scaling/engine.h) makes the real
// decisions; this is its arithmetic at a glance.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/scaled_object.h"

namespace ebb::controller {

struct TriggerReading {
  std::string name;              // trigger name or index, as formulas refer to it
  std::optional<double> value;   // nullopt: the trigger failed
  double target = 0;             // threshold
  double activation_target = 0;  // activationThreshold
};

// With no trigger active: idleReplicaCount if set, else minReplicaCount.
// Otherwise the largest ceil(value / target) (or the scalingModifiers
// formula's value over its target), clamped to [max(min, 1), max].
// nullopt when every trigger failed, or the formula cannot be evaluated.
std::optional<int32_t> ImpliedReplicas(const api::ScaledObject& so,
                                       const std::vector<TriggerReading>& readings);

}  // namespace ebb::controller
