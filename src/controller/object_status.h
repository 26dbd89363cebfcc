// ObjectStatus: what the controller reports about one ScaledObject, in
// KEDA's status shape (conditions Ready/Active/Fallback/Paused,
// lastActiveTime, originalReplicaCount, health per metric), and StatusSink,
// where it goes: the operator writes it to the status subresource, `ebb
// run` logs it (LoggingStatusSink), tests record it.
//
//   ObjectStatus s = BuildStatus(so, triggers, decision, engine_state);
//   if (s != last_published) sink.Publish(ref, s);
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/scaled_object.h"
#include "common/log.h"
#include "controller/observer.h"
#include "scaling/engine.h"

namespace ebb::controller {

inline constexpr char kHealthHappy[] = "Happy";
inline constexpr char kHealthFailing[] = "Failing";

// status.health[<metric>] as KEDA writes it.
struct TriggerHealth {
  int32_t number_of_failures = 0;
  std::string status = kHealthHappy;  // kHealthHappy | kHealthFailing
  friend bool operator==(const TriggerHealth&, const TriggerHealth&) = default;
};

// Value type.
struct ObjectStatus {
  std::vector<scaling::Condition> conditions;     // Ready first
  std::optional<Time> last_active_time;
  std::optional<int32_t> original_replica_count;
  std::map<std::string, TriggerHealth> health;    // by metric name ("s0-prometheus")
  std::vector<std::string> external_metric_names;
  std::string scale_target_kind;                  // "apps/v1.Deployment"

  // The condition of `type`, or nullptr.
  const scaling::Condition* Find(const std::string& type) const;
  friend bool operator==(const ObjectStatus&, const ObjectStatus&) = default;
};

// KEDA's external metric name of trigger `index`: "s0-prometheus".
std::string MetricName(size_t index, const std::string& type);

// The status after a decision: the decision's conditions, the engine's
// lastActiveTime, originalReplicaCount and failure counts.
ObjectStatus BuildStatus(const api::ScaledObject& so, const scaling::Decision& decision,
                         const scaling::EngineState& state);

// The status of an object that cannot be scaled: `previous` with Ready set
// to False with `reason` and `message` (the rest is kept, so what was known
// stays visible).
ObjectStatus NotReadyStatus(ObjectStatus previous, const std::string& reason,
                            const std::string& message);

// Where statuses and events go. Called on the controller's thread;
// implementations must not block (queue the write) and say whether they
// are thread-safe.
class StatusSink {
 public:
  virtual ~StatusSink() = default;
  // The object's status changed (called only on change).
  virtual void Publish(const ObjectRef& object, const ObjectStatus& status) = 0;
  // A Kubernetes-style event: type "Normal" or "Warning", a CamelCase reason.
  virtual void RecordEvent(const ObjectRef& object, const std::string& type,
                           const std::string& reason, const std::string& message) {}
};

// Logs every status change and event as one line ("status", "event").
// Thread-safe (Logger is).
class LoggingStatusSink final : public StatusSink {
 public:
  // `logger` must outlive the sink.
  explicit LoggingStatusSink(Logger& logger) : logger_(logger) {}
  void Publish(const ObjectRef& object, const ObjectStatus& status) override;
  void RecordEvent(const ObjectRef& object, const std::string& type, const std::string& reason,
                   const std::string& message) override;

 private:
  Logger& logger_;
};

// "namespace/name".
std::string KeyOf(const ObjectRef& ref);

}  // namespace ebb::controller
