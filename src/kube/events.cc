#include "kube/events.h"

#include <cstdio>

namespace ebb::kube {

using nlohmann::json;

json BuildEvent(const ObjectReference& about, EventType type, const std::string& reason,
                const std::string& message, Time now, const std::string& component,
                const std::string& instance) {
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "%llx",
                static_cast<unsigned long long>(now.time_since_epoch().count()));
  std::string stamp = FormatRfc3339(std::chrono::time_point_cast<std::chrono::seconds>(now));
  json involved = {{"kind", about.kind},
                   {"namespace", about.ns},
                   {"name", about.name},
                   {"apiVersion", about.api_version}};
  if (!about.uid.empty()) involved["uid"] = about.uid;
  return {{"apiVersion", "v1"},
          {"kind", "Event"},
          {"metadata", {{"name", about.name + "." + suffix}, {"namespace", about.ns}}},
          {"involvedObject", involved},
          {"reason", reason},
          {"message", message},
          {"type", type == EventType::kWarning ? "Warning" : "Normal"},
          {"firstTimestamp", stamp},
          {"lastTimestamp", stamp},
          {"count", 1},
          {"source", {{"component", component}}},
          {"reportingComponent", component},
          {"reportingInstance", instance}};
}

EventRecorder::EventRecorder(RestClient& client, const Clock& clock, std::string component,
                             std::string instance)
    : client_(client),
      clock_(clock),
      component_(std::move(component)),
      instance_(std::move(instance)) {}

void EventRecorder::Record(const ObjectReference& about, EventType type, const std::string& reason,
                           const std::string& message, std::function<void(Status)> done) {
  json event = BuildEvent(about, type, reason, message, clock_.Now(), component_, instance_);
  client_.Create(kEvents, about.ns, std::move(event), [done = std::move(done)](ApiResult r) {
    if (done) done(r.status);
  });
}

}  // namespace ebb::kube
