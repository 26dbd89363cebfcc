// KubeStatusWriter: the operator's controller::StatusSink. It writes each
// ScaledObject's status to the API server's status subresource in KEDA's
// shape (keda_status.h) and records core/v1 Events about ScaledObjects,
// deduplicated as client-go's event correlator does, so that hundreds of
// objects do not flood the API server (KEDA's status-PATCH storm,
// facts/keda-compat.md).
//
//   KubeStatusWriter writer(rest, clock, [&] { return elector.IsLeader(); },
//                           [&](const ObjectRef& r) { return cache.UidOf(r); }, {});
//   Controller controller(options, clock, http, resolver, env, &observer, &writer, &logger);
//   ...
//   elector.OnStartedLeading([&] { writer.Flush(); });   // what was held back while a follower
//   informer.OnDelete([&](const ObjectRef& r) { writer.Forget(r); });
//
// Status writes (Publish):
// - never block: the write is queued and sent by the HTTP client;
// - at most one write in flight per object; a status published while one is
//   in flight (or waiting to retry) replaces the pending one (coalescing),
//   so only the latest is ever sent;
// - a JSON merge patch {"status": {...}} on .../scaledobjects/NAME/status
//   (the spec and metadata.generation stay untouched); keys of nested maps
//   (health) written before and absent now are sent as null;
// - 5xx, 429, 409, timeouts and transport failures: retried with
//   jittered exponential backoff on the RestClient's timer loop until written or
//   superseded; 404: dropped (the object was deleted); 403: dropped and
//   logged once per writer with the RBAC rule to grant (verb patch on
//   scaledobjects/status in keda.sh); other errors: dropped and logged.
//
// Events (RecordEvent), keyed by (object, type, reason, message):
// - the first occurrence creates an Event (count 1);
// - repeats within event_window bump count and lastTimestamp of that Event
//   (merge patch on events/NAME), at most once per event_patch_interval per
//   key: repeats in between are only counted (suppressed) and the next patch
//   carries the full count;
// - after event_window, or when the Event is gone (404), a new Event;
// - at most events_per_object keys are remembered per object (the least
//   recently seen goes first); Forget(ref) drops an object's state.
// Events are best effort: a failed create or patch is counted, not retried.
//
// Leadership fence: while may_write() is false, Publish and RecordEvent send
// nothing (counted in skipped_not_leader); the latest status of each object
// is still kept, and Flush() writes every status not yet written (call it
// on becoming leader, since the controller publishes only on change).
//
// Thread-safe: Publish/RecordEvent run on the controller thread, answers on
// the HTTP client's I/O thread and retries on the RestClient's timer
// thread; one mutex guards the state and is never held while sending a
// request or calling the callbacks. may_write must be thread-safe and must not
// block (it is also called on those threads); uid_of and resource_of are
// called only on the threads calling RecordEvent and Publish.
//
// Lifetime: `client`, `clock` and the logger must outlive the writer. The
// writer may be destroyed while its requests are in flight (never from one
// of the callbacks it calls): the destructor waits for answer and timer
// callbacks already running, and later answers do nothing, so may_write,
// uid_of and resource_of are never called after it returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/log.h"
#include "controller/object_status.h"
#include "kube/resource.h"
#include "kube/rest_client.h"

namespace ebb::op {

struct StatusWriterOptions {
  // Where ScaledObjects live. Default keda.sh/v1alpha1 scaledobjects.
  kube::GroupVersionResource scaled_objects = kube::kScaledObjects;
  // Backoff of failed status writes: doubles from initial to max, each
  // delay shortened at random by up to jitter_fraction (so that writes
  // failed by one API server outage do not all retry at once). Defaults
  // 1 s, 5 min, jitter 0.2.
  BackoffOptions backoff{.initial = std::chrono::seconds(1), .max = std::chrono::minutes(5)};
  // Repeats of an event within this window aggregate into one Event.
  // Default 10 min (client-go's).
  Duration event_window = std::chrono::minutes(10);
  // At most one count bump of one Event per this interval. Default 30 s.
  Duration event_patch_interval = std::chrono::seconds(30);
  // Event keys remembered per object. Default 16.
  size_t events_per_object = 16;
  // The Events' source.component/reportingComponent and reportingInstance
  // (the pod name). Defaults "ebb" and "".
  std::string component = "ebb";
  std::string instance;
  // The plural resource of a scale target's apiVersion and kind, for
  // status.scaleTargetGVKR (e.g. discovery). Called only on the thread
  // calling Publish (so it may block briefly), once per kind while it
  // answers non-empty. Empty function or empty answer: guessed from the
  // kind.
  std::function<std::string(const std::string& api_version, const std::string& kind)> resource_of;
  // Where failures are logged. Default (null): Logger::Default().
  Logger* logger = nullptr;
};

// Monotonic counts since construction, for /metrics and tests.
struct StatusWriterCounters {
  uint64_t status_writes = 0;       // status patches that succeeded
  uint64_t status_coalesced = 0;    // statuses replaced before they were sent
  uint64_t skipped_not_leader = 0;  // Publish/RecordEvent calls while may_write() was false
  uint64_t status_failed = 0;       // failed status patches (each retry counts)
  uint64_t status_retries = 0;      // retries scheduled after a failure
  uint64_t status_dropped = 0;      // statuses given up: object gone (404), 403, invalid
  uint64_t events_created = 0;      // Events created
  uint64_t events_aggregated = 0;   // count bumps sent (patches of an existing Event)
  uint64_t events_suppressed = 0;   // repeats only counted, within event_patch_interval
  uint64_t events_failed = 0;       // Event creates or patches that failed
};

class KubeStatusWriter final : public controller::StatusSink {
 public:
  using MayWrite = std::function<bool()>;
  // The ScaledObject's metadata.uid (Events' involvedObject.uid); nullopt
  // when unknown (the Event is sent without it).
  using UidOf = std::function<std::optional<std::string>(const controller::ObjectRef&)>;

  // `may_write` empty: always true. `uid_of` empty: no uid.
  KubeStatusWriter(kube::RestClient& client, const Clock& clock, MayWrite may_write, UidOf uid_of,
                   StatusWriterOptions options = {});
  ~KubeStatusWriter() override;
  KubeStatusWriter(const KubeStatusWriter&) = delete;
  KubeStatusWriter& operator=(const KubeStatusWriter&) = delete;

  // controller::StatusSink. Non-blocking.
  void Publish(const controller::ObjectRef& object, const controller::ObjectStatus& status) override;
  // `type`: "Normal" or "Warning" (anything else is sent as Normal).
  void RecordEvent(const controller::ObjectRef& object, const std::string& type,
                   const std::string& reason, const std::string& message) override;

  // Seeds what the server holds (e.g. from the informer's copy at start), so
  // the first write also removes keys ebb no longer reports.
  void Adopt(const controller::ObjectRef& object, const nlohmann::json& current_status);
  // Writes every status published but not yet written (held back while
  // may_write() was false). Returns how many writes it started.
  int Flush();
  // Drops the object's state (pending status, retry, event keys); answers
  // still in flight are ignored.
  void Forget(const controller::ObjectRef& object);

  StatusWriterCounters counters() const;
  // Objects with a write in flight or waiting to retry.
  int Pending() const;

  struct Core;  // the shared state (status_writer.cc)

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace ebb::op
