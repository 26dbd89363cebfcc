// threshold.values: the value against threshold and activationThreshold,
// and the replicas that implies now (controller/implied_replicas.h).
#include <cmath>

#include "common/strings.h"
#include "controller/implied_replicas.h"
#include "controller/trigger_factory.h"
#include "doctor/checks.h"
#include "prometheus/trigger.h"

namespace ebb::doctor {

namespace {

// "Orders of magnitude away": the value asks for more than ten times the
// maximum, or is below a hundredth of the threshold.
constexpr double kFarAboveFactor = 10;
constexpr double kFarBelowFactor = 0.01;

void Warn(CheckResult& r, const std::string& cause, const std::string& fix) {
  r.status = CheckResult::kWarn;
  r.detail += (r.detail.empty() ? "" : "; ") + cause;
  r.fix += (r.fix.empty() ? "" : "; ") + fix;
}

void WarnStatic(CheckResult& r, double threshold, double activation) {
  if (threshold <= 0) {
    Warn(r, "threshold " + FormatDouble(threshold) + " is not positive: no replica count follows",
         "set threshold to the value one replica can handle");
  }
  if (activation >= threshold) {
    Warn(r,
         "activationThreshold " + FormatDouble(activation) + " >= threshold " +
             FormatDouble(threshold) +
             ": from zero, values that already ask for replicas do not activate the ScaledObject",
         "set activationThreshold below threshold (it decides 0 <-> 1 replicas only)");
  }
}

void WarnFar(CheckResult& r, double value, double threshold, int32_t max_replicas) {
  if (threshold <= 0 || value <= 0) return;
  double ratio = value / threshold;
  if (ratio >= kFarAboveFactor * max_replicas) {
    Warn(r,
         "value/threshold = " + FormatDouble(ratio) + ", more than ten times maxReplicaCount " +
             std::to_string(max_replicas) + ": replicas would sit at the maximum",
         "check the threshold's unit against the query's (per second vs per minute, bytes vs MiB)");
  } else if (ratio <= kFarBelowFactor) {
    Warn(r,
         "value/threshold = " + FormatDouble(ratio) +
             ", orders of magnitude below 1: replicas would sit at the minimum",
         "check the threshold's unit against the query's (per second vs per minute, bytes vs MiB)");
  }
}

}  // namespace

CheckResult CheckThreshold(const TriggerUnderTest& t) {
  CheckResult r = NewCheck("threshold.values", t.Scope());
  double threshold = t.config->threshold;
  double activation = t.config->activation_threshold;
  const api::ScaledObjectSpec& spec = t.so->spec;
  if (!t.value) {
    r.detail = "threshold " + FormatDouble(threshold) + ", activationThreshold " +
               FormatDouble(activation) +
               "; no value (query not run: give --value to see the replicas implied)";
  } else {
    double v = *t.value;
    bool active = v > activation;
    controller::TriggerReading reading;
    reading.name = controller::TriggerName(t.trigger(), t.index);
    reading.value = v;
    reading.target = threshold;
    reading.activation_target = activation;
    std::optional<int32_t> replicas = controller::ImpliedReplicas(*t.so, {reading});
    r.detail = "value " + FormatDouble(v) + (active ? " > " : " <= ") + "activationThreshold " +
               FormatDouble(activation) + ": " + (active ? "active" : "not active") +
               "; ceil(value / threshold " + FormatDouble(threshold) +
               ") = " + std::to_string(prometheus::ImpliedReplicas(v, threshold)) + " -> " +
               (replicas ? std::to_string(*replicas) : std::string("unknown")) +
               " replicas now (min " + std::to_string(spec.min_replica_count) + ", max " +
               std::to_string(spec.max_replica_count) + ")";
  }
  WarnStatic(r, threshold, activation);
  if (t.value) WarnFar(r, *t.value, threshold, spec.max_replica_count);
  return r;
}

}  // namespace ebb::doctor
