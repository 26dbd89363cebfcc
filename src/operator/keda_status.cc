#include "operator/keda_status.h"

#include <chrono>
#include <utility>

#include "kube/resource.h"

namespace ebb::op {

using nlohmann::json;

namespace {

json ConditionJson(const scaling::Condition& c) {
  json j = {{"type", c.type}, {"status", std::string(scaling::ConditionStatusName(c.status))}};
  // KEDA's Condition has reason/message `omitempty`.
  if (!c.reason.empty()) j["reason"] = c.reason;
  if (!c.message.empty()) j["message"] = c.message;
  return j;
}

json HealthJson(const std::map<std::string, controller::TriggerHealth>& health) {
  json j = json::object();
  for (const auto& [metric, h] : health) {
    j[metric] = {{"numberOfFailures", h.number_of_failures}, {"status", h.status}};
  }
  return j;
}

json GvkrJson(const ScaleTargetGvkr& g) {
  return {{"group", g.group}, {"version", g.version}, {"kind", g.kind}, {"resource", g.resource}};
}

scaling::ConditionStatus ParseConditionStatus(const std::string& s) {
  if (s == "True") return scaling::ConditionStatus::kTrue;
  if (s == "False") return scaling::ConditionStatus::kFalse;
  return scaling::ConditionStatus::kUnknown;
}

// The parsers below throw nlohmann's type_error on wrong types; the caller
// turns that into kInvalidConfig.
std::vector<scaling::Condition> ParseConditions(const json& list) {
  std::vector<scaling::Condition> out;
  for (const json& c : list) {
    out.push_back({c.value("type", ""), ParseConditionStatus(c.value("status", "")),
                   c.value("reason", ""), c.value("message", "")});
  }
  return out;
}

std::map<std::string, controller::TriggerHealth> ParseHealth(const json& health) {
  std::map<std::string, controller::TriggerHealth> out;
  for (const auto& [metric, h] : health.items()) {
    out[metric] = {h.value("numberOfFailures", 0),
                   h.value("status", std::string(controller::kHealthHappy))};
  }
  return out;
}

Status ParseInto(const json& j, controller::ObjectStatus& s) {
  if (j.contains("conditions")) s.conditions = ParseConditions(j.at("conditions"));
  if (j.contains("lastActiveTime")) {
    Time t;
    if (!ParseRfc3339(j.at("lastActiveTime").get<std::string>(), &t)) {
      return InvalidConfig("status.lastActiveTime: not an RFC 3339 time");
    }
    s.last_active_time = t;
  }
  if (j.contains("originalReplicaCount")) {
    s.original_replica_count = j.at("originalReplicaCount").get<int32_t>();
  }
  if (j.contains("health")) s.health = ParseHealth(j.at("health"));
  if (j.contains("externalMetricNames")) {
    s.external_metric_names = j.at("externalMetricNames").get<std::vector<std::string>>();
  }
  s.scale_target_kind = j.value("scaleTargetKind", "");
  return Status::Ok();
}

}  // namespace

std::optional<ScaleTargetGvkr> ParseScaleTargetKind(const std::string& scale_target_kind,
                                                    const std::string& resource) {
  // Kinds hold no dot; groups may ("argoproj.io/v1alpha1.Rollout"), so the
  // kind starts after the last one.
  const size_t dot = scale_target_kind.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == scale_target_kind.size()) return std::nullopt;
  const std::string api_version = scale_target_kind.substr(0, dot);
  ScaleTargetGvkr g;
  g.kind = scale_target_kind.substr(dot + 1);
  kube::SplitApiVersion(api_version, &g.group, &g.version);
  if (g.version.empty()) return std::nullopt;
  g.resource = resource.empty() ? kube::GuessResource(api_version, g.kind).resource : resource;
  return g;
}

json KedaStatusJson(const controller::ObjectStatus& s, const std::string& resource) {
  json j = json::object();
  if (!s.conditions.empty()) {
    json conditions = json::array();
    for (const scaling::Condition& c : s.conditions) conditions.push_back(ConditionJson(c));
    j["conditions"] = std::move(conditions);
  }
  if (s.last_active_time) {
    // metav1.Time: whole seconds, UTC, "Z".
    j["lastActiveTime"] =
        FormatRfc3339(std::chrono::floor<std::chrono::seconds>(*s.last_active_time));
  }
  if (s.original_replica_count) j["originalReplicaCount"] = *s.original_replica_count;
  if (!s.health.empty()) j["health"] = HealthJson(s.health);
  if (!s.external_metric_names.empty()) j["externalMetricNames"] = s.external_metric_names;
  if (!s.scale_target_kind.empty()) {
    j["scaleTargetKind"] = s.scale_target_kind;
    if (auto g = ParseScaleTargetKind(s.scale_target_kind, resource)) j["scaleTargetGVKR"] = GvkrJson(*g);
  }
  return j;
}

Result<controller::ObjectStatus> FromKedaStatusJson(const json& status) {
  if (!status.is_object()) return InvalidConfig("status: not an object");
  controller::ObjectStatus s;
  try {
    Status parsed = ParseInto(status, s);
    if (!parsed.ok()) return parsed;
  } catch (const json::exception& e) {
    return InvalidConfig(std::string("status: ") + e.what());
  }
  return s;
}

json StatusMergePatch(const json& before, const json& after) {
  if (!before.is_object() || !after.is_object()) return after;
  json patch = after;
  for (const auto& [key, old_value] : before.items()) {
    auto it = after.find(key);
    if (it == after.end()) {
      patch[key] = nullptr;
    } else if (old_value.is_object() && it->is_object()) {
      patch[key] = StatusMergePatch(old_value, *it);
    }
  }
  return patch;
}

}  // namespace ebb::op
