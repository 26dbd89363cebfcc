// ValidateForEngine: the checks the decision engine needs on a ScaledObject
// (after defaults) before Decide may run on it. Errors name the field path
// and the fix, e.g.
//   spec.advanced.scalingModifiers.formula: position 4: unexpected token "*"
//   spec.idleReplicaCount: must be less than minReplicaCount (2), got 2
#pragma once

#include "api/scaled_object.h"
#include "common/status.h"

namespace ebb::scaling {

// Ok, or kInvalidConfig naming the first bad field. Checks replica counts
// (min <= max, max >= 1, 0 <= idle < max(min, 1) as KEDA), periods, fallback (thresholds
// >= 0, AverageValue only, as KEDA), trigger names (unique), scalingModifiers
// (formula parses and reads only named triggers, target > 0) and HPA
// behavior (windows 0..3600, policies value > 0 and period 1..1800,
// tolerance >= 0, a policies list not empty).
Status ValidateForEngine(const api::ScaledObject& so);

}  // namespace ebb::scaling
