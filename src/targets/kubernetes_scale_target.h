// KubernetesScaleTarget: a ScaleTarget (targets/scale_target.h) backed by
// the /scale subresource of any workload (Deployment, StatefulSet, a custom
// resource with a scale subresource), and the resolver that finds it from a
// ScaledObject's scaleTargetRef.
//
//   KubernetesScaleTargetResolver resolver(client, &events);
//   ScaleTargetPtr t = resolver.Resolve(scaled_object).value();
//   t->SetReplicas(3, [](Status s) { ... });
//
// SetReplicas does what the HPA controller and KEDA do: GET the scale, PUT
// it back with the resourceVersion it read, and on 409 Conflict read again
// and retry (up to max_attempts). A 403 becomes kPermissionDenied naming
// the RBAC verb and resource to grant; a 404 kNotFound naming the target.
// Both are also reported as Warning events on the ScaledObject when an
// EventRecorder is given (once per distinct error, not on every poll).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kube/events.h"
#include "kube/resource.h"
#include "kube/rest_client.h"
#include "targets/scale_target.h"

namespace ebb::targets {

// The Kubernetes client types this target is built on.
using kube::ApiResult;
using kube::EventRecorder;
using kube::GroupVersionResource;
using kube::RestClient;
using kube::ObjectReference;
using kube::EventType;
using kube::GuessResource;
using kube::GroupVersionPath;

struct ScaleTargetOptions {
  // GET+PUT rounds before giving up on conflicts. Default 5.
  int max_attempts = 5;
};

// Thread-safe. `client` and `events` (optional) must outlive it, and it
// must outlive the calls it started (their callbacks use it); the resolver
// keeps every target it made for its own lifetime.
class KubernetesScaleTarget final : public targets::ScaleTarget {
 public:
  KubernetesScaleTarget(RestClient& client, GroupVersionResource gvr, std::string kind,
                        std::string ns, std::string name, EventRecorder* events = nullptr,
                        ObjectReference owner = {}, ScaleTargetOptions options = {});

  // replicas = spec.replicas; ready_replicas = status.replicas of the Scale
  // (the Scale carries no readiness).
  void GetScale(std::function<void(Result<targets::ScaleState>)> done) override;
  void SetReplicas(int32_t replicas, std::function<void(Status)> done) override;
  // "Deployment shop/web".
  std::string Describe() const override;

  // The Status for a failed scale call: verb "get" or "update".
  Status Explain(const ApiResult& r, const std::string& verb) const;

 private:
  void Attempt(int32_t replicas, int attempt, std::function<void(Status)> done);
  void Warn(const ApiResult& r, const Status& s);

  RestClient& client_;
  const GroupVersionResource gvr_;
  const std::string kind_;
  const std::string ns_;
  const std::string name_;
  EventRecorder* const events_;
  const ObjectReference owner_;
  const ScaleTargetOptions options_;

  std::mutex mu_;
  std::string last_warning_;  // guarded by mu_: the last event's message
};

// Resolves scaleTargetRef through discovery (GET /apis/{group}/{version},
// cached per group/version): the resource whose kind matches, which must
// have a "<resource>/scale" subresource. When discovery fails, falls back to
// the guessed plural (resource.h). Thread-safe; Resolve blocks on the
// discovery request, so call it from a controller thread, not a callback.
class KubernetesScaleTargetResolver final : public targets::ScaleTargetResolver {
 public:
  KubernetesScaleTargetResolver(RestClient& client, EventRecorder* events = nullptr,
                                ScaleTargetOptions options = {});
  Result<targets::ScaleTargetPtr> Resolve(const api::ScaledObject& so) override;
  // The resource of apiVersion/kind: kInvalidConfig when the kind has no
  // scale subresource, kNotFound when the API does not serve it.
  Result<GroupVersionResource> ResourceFor(const std::string& api_version, const std::string& kind);

 private:
  RestClient& client_;
  EventRecorder* const events_;
  const ScaleTargetOptions options_;
  std::mutex mu_;
  std::map<std::string, nlohmann::json> discovery_;         // guarded by mu_
  std::map<std::string, targets::ScaleTargetPtr> targets_;  // guarded by mu_
};

}  // namespace ebb::targets
