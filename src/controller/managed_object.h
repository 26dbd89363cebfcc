// ManagedObject: everything the controller keeps about one ScaledObject
// between polls (spec, built triggers, target, engine state, published
// status) and PollState, the one poll of it that may be in flight.
//
// A poll goes through two phases: kQuerying (trigger answers and the
// target's current scale are awaited, in parallel) and kApplying (the
// decision changed the replica count and SetReplicas is in flight). Every
// poll has a controller-wide unique id; answers carry it, and an answer
// whose id is not the object's current poll (object removed, edited, or
// poll timed out) is dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/scaled_object.h"
#include "common/clock.h"
#include "common/status.h"
#include "controller/object_status.h"
#include "controller/observer.h"
#include "controller/trigger_factory.h"
#include "prometheus/trigger.h"
#include "scaling/engine.h"
#include "targets/scale_target.h"

namespace ebb::controller {

enum class PollPhase { kQuerying, kApplying };

struct PollState {
  uint64_t id = 0;
  PollPhase phase = PollPhase::kQuerying;
  Time due;       // when the scheduler wanted it (loop latency is measured from here)
  Time started;   // when the queries were sent
  Time deadline;  // answers still missing then count as timed out
  std::vector<std::optional<Result<prometheus::TriggerValue>>> answers;  // per trigger
  size_t outstanding = 0;                                 // answers still missing
  std::optional<Result<targets::ScaleState>> scale;       // the target's scale, once read
  bool paused = false;                                    // no queries were sent
  // kApplying: the decision being applied and the replicas it started from.
  scaling::Decision decision;
  int32_t from_replicas = 0;
};

// Not thread-safe: owned by the controller's thread.
struct ManagedObject {
  ObjectRef ref;
  std::string key;  // "namespace/name"
  api::ScaledObject so;
  std::string fingerprint;                   // SpecFingerprint(so)
  std::vector<Result<BuiltTrigger>> triggers;  // per spec trigger; a failed build fails that trigger each poll
  targets::ScaleTargetPtr target;            // nullptr until resolved
  scaling::EngineState engine;
  // The HPA's recommendation history starts with the replicas found at the
  // first decision, as the HPA controller seeds it when it first sees an
  // HPA: a new leader or a restart does not scale in before the
  // stabilization window has passed.
  bool history_seeded = false;
  Time created;                              // creationTimestamp, else first registration
  Duration interval{0};                      // pollingInterval
  std::optional<PollState> poll;

  bool invalid = false;            // its manifest is invalid: not polled, target left alone
  std::string invalid_message;
  ObjectStatus status;             // last published
  bool status_published = false;
  std::optional<int32_t> replicas;  // last known replica count of the target
  Status last_error;               // last object-level error (ok when the last poll decided)
  uint64_t polls = 0;              // polls started
  uint64_t skipped_polls = 0;      // due while the previous poll was still in flight
  // Last error of each trigger ("" when it answered), so that a trigger
  // failing the same way every poll is logged once, not every poll.
  std::vector<std::string> trigger_errors;
};

// Whether the pause annotations stop the loop (paused, paused-replicas):
// the engine then ignores observations, so no query is sent.
bool StopsPolling(const api::ScaledObject& so);

// The longest trigger timeout of `o` (the HTTP client's own bound on each
// answer); 0 when no trigger was built.
Duration LongestTriggerTimeout(const ManagedObject& o);

// One observation per trigger, from the answers of `poll`.
std::vector<scaling::TriggerObservation> Observations(const ManagedObject& o, const PollState& poll);

// ObjectRef from "namespace/name" (or "name").
ObjectRef RefFromKey(const std::string& key);

}  // namespace ebb::controller
