// The scale subresource of ObjectStore: an autoscaling/v1 Scale view of a
// workload's spec.replicas, sharing the workload's resourceVersion.
#include "common/strings.h"
#include "testing/kube/object_store.h"
#include "testing/kube/patch.h"

namespace ebb::testing::kube {

using nlohmann::json;

namespace {

// "app=web,tier=front" from a Deployment's spec.selector.matchLabels, or a
// custom resource's status.selector (its labelSelectorPath).
std::string SelectorOf(const ResourceType& rt, const json& obj) {
  if (rt.custom) {
    if (obj.contains("status") && obj["status"].contains("selector") &&
        obj["status"]["selector"].is_string()) {
      return obj["status"]["selector"].get<std::string>();
    }
    return "";
  }
  std::string out;
  const json* spec = obj.contains("spec") ? &obj["spec"] : nullptr;
  if (!spec || !spec->contains("selector") || !(*spec)["selector"].contains("matchLabels"))
    return "";
  for (const auto& [k, v] : (*spec)["selector"]["matchLabels"].items()) {
    if (!out.empty()) out += ",";
    out += k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

int64_t IntAt(const json& obj, const char* part, const char* field) {
  if (!obj.contains(part) || !obj[part].is_object() || !obj[part].contains(field)) return 0;
  const json& v = obj[part][field];
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}

json ScaleOf(const ResourceType& rt, const json& obj) {
  const json& m = obj["metadata"];
  json meta = {{"name", m.value("name", "")},
               {"uid", m.value("uid", "")},
               {"resourceVersion", m.value("resourceVersion", "")}};
  if (m.contains("namespace")) meta["namespace"] = m["namespace"];
  if (m.contains("creationTimestamp")) meta["creationTimestamp"] = m["creationTimestamp"];
  json status = {{"replicas", IntAt(obj, "status", "replicas")}};
  std::string selector = SelectorOf(rt, obj);
  if (!selector.empty()) status["selector"] = selector;
  return {{"kind", "Scale"},
          {"apiVersion", "autoscaling/v1"},
          {"metadata", meta},
          {"spec", {{"replicas", IntAt(obj, "spec", "replicas")}}},
          {"status", status}};
}

Reply NoScale(const ResourceType& rt) {
  return ErrorReply(404, "NotFound", "the server could not find the requested resource",
                    Details(rt, ""));
}

}  // namespace

Reply ObjectStore::GetScale(const ResourceType& rt, const std::string& ns,
                            const std::string& name) const {
  if (!rt.scale_subresource) return NoScale(rt);
  std::lock_guard lock(mu_);
  const json* obj = FindLocked(rt, {rt.namespaced ? ns : "", name});
  if (!obj) return NotFoundReply(rt, name);
  return {200, ScaleOf(rt, *obj)};
}

Reply ObjectStore::UpdateScaleLocked(const ResourceType& rt, const Key& key, const json& scale) {
  const json* obj = FindLocked(rt, key);
  if (!obj) return NotFoundReply(rt, key.second);
  if (!scale.is_object() || !scale.contains("spec") || !scale["spec"].contains("replicas") ||
      !scale["spec"]["replicas"].is_number_integer()) {
    return ErrorReply(
        422, "Invalid",
        "Scale.autoscaling \"" + key.second + "\" is invalid: spec.replicas: Required value",
        Details(rt, key.second));
  }
  int64_t replicas = scale["spec"]["replicas"].get<int64_t>();
  if (replicas < 0) {
    return ErrorReply(422, "Invalid",
                      "Scale.autoscaling \"" + key.second + "\" is invalid: spec.replicas: " +
                          "Invalid value: " + std::to_string(replicas) +
                          ": must be greater than or equal to 0",
                      Details(rt, key.second));
  }
  std::string rv = scale.contains("metadata") ? scale["metadata"].value("resourceVersion", "") : "";
  if (!rv.empty() && rv != (*obj)["metadata"].value("resourceVersion", "")) {
    return ConflictReply(rt, key.second);
  }
  if (IntAt(*obj, "spec", "replicas") == replicas) return {200, ScaleOf(rt, *obj)};
  json next = *obj;
  next["spec"]["replicas"] = replicas;
  if (rt.tracks_generation) {
    next["metadata"]["generation"] = next["metadata"].value("generation", 0) + 1;
  }
  return {200, ScaleOf(rt, CommitLocked(rt, key, std::move(next), "MODIFIED"))};
}

Reply ObjectStore::UpdateScale(const ResourceType& rt, const std::string& ns,
                               const std::string& name, json scale) {
  if (!rt.scale_subresource) return NoScale(rt);
  Reply out;
  json workload;
  {
    std::lock_guard lock(mu_);
    Key key{rt.namespaced ? ns : "", name};
    out = UpdateScaleLocked(rt, key, scale);
    if (out.ok()) workload = *FindLocked(rt, key);
  }
  if (out.ok()) Notify(rt, workload);
  return out;
}

Reply ObjectStore::PatchScale(const ResourceType& rt, const std::string& ns,
                              const std::string& name, const std::string& content_type,
                              const std::string& patch) {
  if (!rt.scale_subresource) return NoScale(rt);
  Reply out;
  json workload;
  {
    std::lock_guard lock(mu_);
    Key key{rt.namespaced ? ns : "", name};
    const json* obj = FindLocked(rt, key);
    if (!obj) return NotFoundReply(rt, name);
    Result<json> patched = ApplyPatch(ScaleOf(rt, *obj), content_type, patch, rt.custom);
    if (!patched.ok()) return PatchErrorReply(patched.status(), content_type);
    out = UpdateScaleLocked(rt, key, *patched);
    if (out.ok()) workload = *FindLocked(rt, key);
  }
  if (out.ok()) Notify(rt, workload);
  return out;
}

}  // namespace ebb::testing::kube
