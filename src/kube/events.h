// EventRecorder: core/v1 Events about ebb's objects (facts/kubernetes.md):
// POST /api/v1/namespaces/{ns}/events, named <object>.<unix-nanos-hex>.
//
//   EventRecorder events(client, clock, "ebb", pod_name);
//   events.Record(ref, EventType::kWarning, "ScaleTargetNotFound", "Deployment shop/web ...");
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "common/clock.h"
#include "kube/rest_client.h"

namespace ebb::kube {

struct ObjectReference {
  std::string api_version;  // "keda.sh/v1alpha1"
  std::string kind;         // "ScaledObject"
  std::string ns;
  std::string name;
  std::string uid;
};

enum class EventType { kNormal, kWarning };

// The Event object (pure; tests read it).
nlohmann::json BuildEvent(const ObjectReference& about, EventType type, const std::string& reason,
                          const std::string& message, Time now, const std::string& component,
                          const std::string& instance);

// Thread-safe. `client` and `clock` must outlive it. Messages must hold no
// secret (they are readable by anyone who may list events).
class EventRecorder {
 public:
  EventRecorder(RestClient& client, const Clock& clock, std::string component = "ebb",
                std::string instance = "");

  // Fire and forget; `done` (optional) gets the outcome.
  void Record(const ObjectReference& about, EventType type, const std::string& reason,
              const std::string& message, std::function<void(Status)> done = nullptr);

 private:
  RestClient& client_;
  const Clock& clock_;
  const std::string component_;
  const std::string instance_;
};

}  // namespace ebb::kube
