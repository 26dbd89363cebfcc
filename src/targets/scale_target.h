// ScaleTarget: what the controller scales. Implementations: ProcessPool
// (local copies of a command, targets/process_pool.h) and, with the
// operator, KubernetesScaleTarget (the /scale subresource).
//
//   target->GetScale([](Result<ScaleState> s) { ... });
//   target->SetReplicas(3, [](Status s) { ... });
//
// Asynchronous because a Kubernetes target is an HTTP round trip: the
// controller never blocks on I/O. Callbacks may run synchronously inside
// the call (local targets) or later on another thread (HTTP targets).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/scaled_object.h"
#include "common/status.h"

namespace ebb::targets {

struct ScaleState {
  int32_t replicas = 0;        // desired (spec) replicas
  int32_t ready_replicas = 0;  // replicas ready to serve
};

// Implementations say whether they are thread-safe (both shipped ones are).
class ScaleTarget {
 public:
  virtual ~ScaleTarget() = default;
  // The current scale. kNotFound when the target does not exist,
  // kPermissionDenied when ebb may not read it.
  virtual void GetScale(std::function<void(Result<ScaleState>)> done) = 0;
  // Sets the desired replicas. Same errors as GetScale, plus kUnavailable.
  virtual void SetReplicas(int32_t replicas, std::function<void(Status)> done) = 0;
  // "ProcessPool default/workers", "Deployment shop/checkout".
  virtual std::string Describe() const = 0;
};

using ScaleTargetPtr = std::shared_ptr<ScaleTarget>;

// Finds the target a ScaledObject's scaleTargetRef names. Thread-safe.
class ScaleTargetResolver {
 public:
  virtual ~ScaleTargetResolver() = default;
  // The same pointer for the same target while it exists. kNotFound naming
  // the apiVersion, kind and name when it is unknown; kInvalidConfig for a
  // kind this resolver cannot scale.
  virtual Result<ScaleTargetPtr> Resolve(const api::ScaledObject& so) = 0;
};

}  // namespace ebb::targets
