// ControllerObserver: what the scaling loop reports as it works, for ebb's
// /metrics (KEDA's metric names, metrics/keda_metrics.h), logs and tests.
// Every method has an empty default, so an observer implements only what it
// needs. Called from the controller's thread; implementations must not
// block and must be thread-safe if they are read elsewhere (/metrics).
#pragma once

#include <string>

#include "common/clock.h"
#include "common/status.h"

namespace ebb::controller {

struct ObjectRef {
  std::string namespace_name;
  std::string name;
};

// One trigger evaluated (KEDA labels: namespace, scaledObject, scaler,
// triggerIndex, metric).
struct TriggerEvaluated {
  ObjectRef object;
  int trigger_index = 0;
  std::string trigger_name;  // name or index
  std::string scaler;        // "prometheusScaler" (KEDA's label value)
  std::string metric;        // "s0-prometheus" (KEDA's external metric name)
  bool ok = false;
  double value = 0;          // when ok
  bool active = false;       // when ok
  bool empty_response = false;
  Status error;              // when !ok
  Duration latency{0};       // query round trip
};

// One decision made (scale loop latency: due time -> decision).
struct DecisionMade {
  ObjectRef object;
  int32_t from_replicas = 0;
  int32_t to_replicas = 0;
  bool changed = false;
  bool applied = false;      // false in --dry-run or when the target failed
  std::string reason;        // scaling::Decision reason
  std::string message;
  bool active = false;
  bool paused = false;
  Duration loop_latency{0};
};

class ControllerObserver {
 public:
  virtual ~ControllerObserver() = default;
  virtual void OnObjectRegistered(const ObjectRef&) {}
  virtual void OnObjectRemoved(const ObjectRef&) {}
  virtual void OnTriggerEvaluated(const TriggerEvaluated&) {}
  virtual void OnDecision(const DecisionMade&) {}
  // Errors of the object as a whole: invalid manifest, target missing,
  // applying a decision failed.
  virtual void OnObjectError(const ObjectRef&, const Status&) {}
  // A request sent for `triggers` triggers (coalesced when > 1).
  virtual void OnQuerySent(int triggers) {}
};

}  // namespace ebb::controller
