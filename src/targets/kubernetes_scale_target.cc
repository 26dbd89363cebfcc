#include "targets/kubernetes_scale_target.h"

namespace ebb::targets {

using nlohmann::json;

namespace {

int32_t IntAt(const json& obj, const char* part, const char* field) {
  if (!obj.contains(part) || !obj[part].is_object()) return 0;
  const json& p = obj[part];
  return p.contains(field) && p[field].is_number_integer() ? p[field].get<int32_t>() : 0;
}

}  // namespace

KubernetesScaleTarget::KubernetesScaleTarget(RestClient& client, GroupVersionResource gvr,
                                             std::string kind, std::string ns, std::string name,
                                             EventRecorder* events, ObjectReference owner,
                                             ScaleTargetOptions options)
    : client_(client),
      gvr_(std::move(gvr)),
      kind_(std::move(kind)),
      ns_(std::move(ns)),
      name_(std::move(name)),
      events_(events),
      owner_(std::move(owner)),
      options_(options) {}

std::string KubernetesScaleTarget::Describe() const { return kind_ + " " + ns_ + "/" + name_; }

Status KubernetesScaleTarget::Explain(const ApiResult& r, const std::string& verb) const {
  if (r.IsForbidden()) {
    return PermissionDenied("ebb may not " + verb + " " + gvr_.resource + "/scale in API group \"" +
                            gvr_.group + "\" in namespace \"" + ns_ + "\": grant the \"" + verb +
                            "\" verb on " + gvr_.resource + "/scale to ebb's service account (" +
                            r.status.message() + ")");
  }
  if (r.IsNotFound()) {
    return NotFound(Describe() + " (" + gvr_.ApiVersion() +
                    ") not found: fix scaleTargetRef or create the target (" + r.status.message() +
                    ")");
  }
  return r.status;
}

void KubernetesScaleTarget::Warn(const ApiResult& r, const Status& s) {
  if (!events_ || owner_.name.empty() || (!r.IsForbidden() && !r.IsNotFound())) return;
  {
    std::lock_guard lock(mu_);
    if (last_warning_ == s.message()) return;  // already said
    last_warning_ = s.message();
  }
  events_->Record(owner_, EventType::kWarning,
                  r.IsForbidden() ? "ScaleTargetForbidden" : "ScaleTargetNotFound", s.message());
}

void KubernetesScaleTarget::GetScale(std::function<void(Result<targets::ScaleState>)> done) {
  client_.GetScale(gvr_, ns_, name_, [this, done = std::move(done)](ApiResult r) {
    if (!r.ok()) {
      Status s = Explain(r, "get");
      Warn(r, s);
      return done(s);
    }
    targets::ScaleState state;
    state.replicas = IntAt(r.object, "spec", "replicas");
    state.ready_replicas = IntAt(r.object, "status", "replicas");
    done(state);
  });
}

void KubernetesScaleTarget::SetReplicas(int32_t replicas, std::function<void(Status)> done) {
  Attempt(replicas, 1, std::move(done));
}

void KubernetesScaleTarget::Attempt(int32_t replicas, int attempt,
                                    std::function<void(Status)> done) {
  client_.GetScale(
      gvr_, ns_, name_, [this, replicas, attempt, done = std::move(done)](ApiResult r) {
        if (!r.ok()) {
          Status s = Explain(r, "get");
          Warn(r, s);
          return done(s);
        }
        if (IntAt(r.object, "spec", "replicas") == replicas) return done(Status::Ok());
        json scale = std::move(r.object);
        scale["spec"]["replicas"] = replicas;  // keeps metadata.resourceVersion: a conditional PUT
        client_.UpdateScale(
            gvr_, ns_, name_, std::move(scale), [this, replicas, attempt, done](ApiResult w) {
              if (w.IsConflict() && attempt < options_.max_attempts) {
                return Attempt(replicas, attempt + 1, done);
              }
              if (w.IsConflict()) {
                return done(Unavailable(Describe() + ": scale conflicted " +
                                        std::to_string(attempt) + " times in a row; will retry"));
              }
              if (!w.ok()) {
                Status s = Explain(w, "update");
                Warn(w, s);
                return done(s);
              }
              done(Status::Ok());
            });
      });
}

KubernetesScaleTargetResolver::KubernetesScaleTargetResolver(RestClient& client,
                                                             EventRecorder* events,
                                                             ScaleTargetOptions options)
    : client_(client), events_(events), options_(options) {}

Result<GroupVersionResource> KubernetesScaleTargetResolver::ResourceFor(
    const std::string& api_version, const std::string& kind) {
  GroupVersionResource guess = GuessResource(api_version, kind);
  json doc;
  {
    std::lock_guard lock(mu_);
    auto it = discovery_.find(api_version);
    if (it != discovery_.end()) doc = it->second;
  }
  if (doc.is_null()) {
    ApiResult r =
        client_.CallSync({.method = "GET", .path = GroupVersionPath(guess.group, guess.version)});
    if (r.IsNotFound()) return NotFound("the API server does not serve " + api_version);
    if (!r.ok()) return guess;  // discovery unavailable or forbidden: guess as kubectl would
    doc = r.object;
    std::lock_guard lock(mu_);
    discovery_[api_version] = doc;
  }
  std::string resource;
  bool namespaced = true, has_scale = false;
  for (const json& res : doc.value("resources", json::array())) {
    std::string name = res.value("name", "");
    if (name.find('/') == std::string::npos && res.value("kind", "") == kind) {
      resource = name;
      namespaced = res.value("namespaced", true);
    }
  }
  for (const json& res : doc.value("resources", json::array())) {
    has_scale |= !resource.empty() && res.value("name", "") == resource + "/scale";
  }
  if (resource.empty()) return NotFound("kind " + kind + " is not served in " + api_version);
  if (!has_scale) {
    return InvalidConfig(kind + " (" + api_version +
                         ") has no scale subresource: it cannot be "
                         "a scaleTargetRef");
  }
  return GroupVersionResource{guess.group, guess.version, resource, namespaced};
}

Result<targets::ScaleTargetPtr> KubernetesScaleTargetResolver::Resolve(
    const api::ScaledObject& so) {
  const api::ScaleTargetRef& ref = so.spec.scale_target_ref;
  const std::string& ns = so.metadata.namespace_name;
  std::string key = ref.api_version + "/" + ref.kind + "/" + ns + "/" + ref.name;
  {
    std::lock_guard lock(mu_);
    auto it = targets_.find(key);
    if (it != targets_.end()) return it->second;
  }
  Result<GroupVersionResource> gvr = ResourceFor(ref.api_version, ref.kind);
  if (!gvr.ok()) return gvr.status().WithContext("spec.scaleTargetRef");
  ObjectReference owner{api::kKedaApiVersion, "ScaledObject", ns, so.metadata.name,
                        so.metadata.uid};
  targets::ScaleTargetPtr target = std::make_shared<KubernetesScaleTarget>(
      client_, *gvr, ref.kind, ns, ref.name, events_, owner, options_);
  std::lock_guard lock(mu_);
  return targets_.emplace(key, target).first->second;
}

}  // namespace ebb::targets
