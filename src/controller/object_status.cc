#include "controller/object_status.h"

#include <utility>

namespace ebb::controller {

const scaling::Condition* ObjectStatus::Find(const std::string& type) const {
  for (const scaling::Condition& c : conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

std::string MetricName(size_t index, const std::string& type) {
  return "s" + std::to_string(index) + "-" + type;
}

std::string KeyOf(const ObjectRef& ref) {
  return ref.namespace_name.empty() ? ref.name : ref.namespace_name + "/" + ref.name;
}

ObjectStatus BuildStatus(const api::ScaledObject& so, const scaling::Decision& decision,
                         const scaling::EngineState& state) {
  ObjectStatus s;
  s.conditions = decision.conditions;
  s.last_active_time = state.last_active_time;
  s.original_replica_count = state.original_replica_count;
  const auto& ref = so.spec.scale_target_ref;
  s.scale_target_kind = ref.api_version + "." + ref.kind;
  for (size_t i = 0; i < so.spec.triggers.size(); ++i) {
    const std::string metric = MetricName(i, so.spec.triggers[i].type);
    s.external_metric_names.push_back(metric);
    // A paused object is not polled: its engine state holds no counts.
    if (i >= state.consecutive_failures.size()) continue;
    const int32_t failures = state.consecutive_failures[i];
    s.health[metric] = TriggerHealth{failures, failures > 0 ? kHealthFailing : kHealthHappy};
  }
  return s;
}

ObjectStatus NotReadyStatus(ObjectStatus previous, const std::string& reason,
                            const std::string& message) {
  scaling::Condition ready{"Ready", scaling::ConditionStatus::kFalse, reason, message};
  for (scaling::Condition& c : previous.conditions) {
    if (c.type != "Ready") continue;
    c = std::move(ready);
    return previous;
  }
  previous.conditions.insert(previous.conditions.begin(), std::move(ready));
  return previous;
}

void LoggingStatusSink::Publish(const ObjectRef& object, const ObjectStatus& status) {
  LogFields fields{{"scaledObject", KeyOf(object)}};
  for (const scaling::Condition& c : status.conditions) {
    fields.push_back({c.type, std::string(scaling::ConditionStatusName(c.status)) + "/" + c.reason});
  }
  if (status.last_active_time) fields.push_back({"lastActiveTime", FormatRfc3339(*status.last_active_time)});
  for (const auto& [metric, h] : status.health) {
    if (h.number_of_failures > 0) fields.push_back({"failures." + metric, std::to_string(h.number_of_failures)});
  }
  const scaling::Condition* ready = status.Find("Ready");
  if (ready && ready->status != scaling::ConditionStatus::kTrue) fields.push_back({"message", ready->message});
  logger_.Info("status", fields);
}

void LoggingStatusSink::RecordEvent(const ObjectRef& object, const std::string& type,
                                    const std::string& reason, const std::string& message) {
  LogFields fields{{"scaledObject", KeyOf(object)}, {"type", type}, {"reason", reason}, {"message", message}};
  if (type == "Warning") {
    logger_.Warn("event", fields);
  } else {
    logger_.Info("event", fields);
  }
}

}  // namespace ebb::controller
