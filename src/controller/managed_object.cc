#include "controller/managed_object.h"

#include <algorithm>

#include "common/strings.h"

namespace ebb::controller {

bool StopsPolling(const api::ScaledObject& so) {
  // As the engine reads them: a present paused-replicas always pauses (an
  // unreadable value leaves the replicas alone); "paused" is true unless it
  // reads as false.
  const auto& a = so.metadata.annotations;
  if (a.contains(api::kAnnotationPausedReplicas)) return true;
  if (!a.contains(api::kAnnotationPaused)) return false;
  return ParseBool(so.Annotation(api::kAnnotationPaused)).value_or(true);
}

Duration LongestTriggerTimeout(const ManagedObject& o) {
  Duration longest{0};
  for (const Result<BuiltTrigger>& t : o.triggers) {
    if (t.ok() && t->prometheus) longest = std::max<Duration>(longest, t->prometheus->config().timeout);
  }
  return longest;
}

std::vector<scaling::TriggerObservation> Observations(const ManagedObject& o, const PollState& poll) {
  std::vector<scaling::TriggerObservation> out;
  out.reserve(o.so.spec.triggers.size());
  for (size_t i = 0; i < o.so.spec.triggers.size(); ++i) {
    scaling::TriggerObservation obs;
    obs.name = TriggerName(o.so.spec.triggers[i], i);
    obs.metric_type = o.so.spec.triggers[i].metric_type;
    if (i < o.triggers.size() && o.triggers[i].ok()) {
      obs.target = o.triggers[i]->target;
      obs.activation_target = o.triggers[i]->activation_target;
    }
    const auto& answer = i < poll.answers.size() ? poll.answers[i] : std::nullopt;
    if (answer && answer->ok()) {
      obs.value = (*answer)->value;
    } else {
      obs.error = answer ? answer->status().ToString() : "no answer";
    }
    out.push_back(std::move(obs));
  }
  return out;
}

ObjectRef RefFromKey(const std::string& key) {
  const size_t slash = key.find('/');
  if (slash == std::string::npos) return ObjectRef{"", key};
  return ObjectRef{key.substr(0, slash), key.substr(slash + 1)};
}

}  // namespace ebb::controller
