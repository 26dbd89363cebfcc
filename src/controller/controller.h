// Controller: the scaling loop. It polls every registered ScaledObject on
// its pollingInterval, coalesces equal Prometheus queries due in the same
// tick into one request, decides with the pure engine (scaling/engine.h),
// applies changed replica counts through the object's ScaleTarget, and
// publishes status only when it changed.
//
//   Controller c(options, clock, http, resolver, env, &observer, &status_sink, &logger);
//   c.Update(set.scaled_objects, lookup, loaded.errors);   // (re)register objects
//   std::jthread loop([&](std::stop_token st) { c.Run(st); });
//   ...
//   loop.request_stop();   // Run returns after in-flight work finished or the grace passed
//
// Inputs are abstract (a set of ScaledObjects and an ObjectLookup for auth),
// so `ebb run` (files) and the operator (API server) share it; outputs are
// the ScaleTarget, the StatusSink and the ControllerObserver.
//
// Threading: one controller thread owns all object state and runs every
// method below except PostUpdate (any thread). Nothing here blocks on I/O:
// HTTP and scale-target callbacks only post to the controller's EventLoop
// (common/event_loop.h; shared, so that a callback arriving after the
// controller is gone posts into a stopped loop and is dropped), and the
// controller thread runs those tasks in DrainResults(). Run() is that
// thread's loop; tests call the step functions (RunDue, DrainResults,
// NextDue, BeginShutdown, CancelInFlight) directly with a SimulatedClock.
//
// Polling rules:
// - first poll at a phase of the interval derived from the object's
//   queries (or registration time + jitter() * pollingInterval when a
//   jitter is injected), so a thousand distinct objects spread over one
//   interval while objects sharing a query poll together;
// - next poll at due + pollingInterval (the grid does not drift with the
//   time a poll takes; slots missed while far behind are skipped);
// - an object whose previous poll is still in flight when due again skips
//   that slot (counted in skipped_polls) instead of piling polls up; a poll
//   is bounded by its longest trigger timeout (or scale_timeout, if longer)
//   + answer_grace, after which missing answers count as failures
//   (deadline_exceeded) and late ones are dropped;
// - paused objects (paused, paused-replicas) send no queries: the engine
//   ignores observations for them;
// - status goes to the StatusSink only when it changed (lastActiveTime
//   alone: at most every last_active_refresh); events on applied scale
//   changes and on new errors; every scale change is logged ("scaled",
//   with from, to, reason and message).
// - a slow or failing trigger delays only its own object.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/lookup.h"
#include "api/problem.h"
#include "api/scaled_object.h"
#include "common/clock.h"
#include "common/event_loop.h"
#include "common/log.h"
#include "controller/managed_object.h"
#include "controller/object_status.h"
#include "controller/observer.h"
#include "controller/poll_scheduler.h"
#include "controller/query_coalescer.h"
#include "controller/trigger_factory.h"
#include "http/http_client.h"
#include "targets/scale_target.h"

namespace ebb::controller {

struct ControllerOptions {
  // Decide and log, never call SetReplicas. Default: false.
  bool dry_run = false;
  // How long shutdown waits for in-flight polls (and SetReplicas calls)
  // before cancelling them. Default: 10 s.
  Duration shutdown_grace = std::chrono::seconds(10);
  // Extra time past a poll's longest trigger timeout before its missing
  // answers (and a GetScale that did not answer) count as timed out; the
  // HTTP client normally answers within the timeout itself. Default: 1 s.
  Duration answer_grace = std::chrono::seconds(1);
  // How long a GetScale may take: a poll's deadline is its start plus the
  // longest of this and its trigger timeouts, plus answer_grace. Default: 3 s.
  Duration scale_timeout = std::chrono::seconds(3);
  // How long a SetReplicas may take before the poll gives up on it (a late
  // answer is ignored; the next poll reads the target again). Default: 30 s.
  Duration apply_timeout = std::chrono::seconds(30);
  // A status whose only change is lastActiveTime is republished only when
  // it moved by at least this much, so that always-active objects do not
  // write their status every poll (KEDA's status-PATCH storm). Default: 30 s.
  Duration last_active_refresh = std::chrono::seconds(30);
  // Returns a value in [0, 1) placing each object's first poll within its
  // interval. Default (empty): the phase is a hash of the object's queries
  // (every trigger's coalescing key and the interval) on a grid anchored at
  // the epoch, so objects that share a query fall due in the same tick and
  // share one request, while distinct queries spread over the interval.
  // Tests inject a deterministic sequence.
  std::function<double()> jitter;
  // An object removed from the set with restoreToOriginalReplicaCount gets
  // its original replica count back (fire and forget). The operator turns
  // this off: it restores before removing its finalizer, so that the
  // ScaledObject is not gone until the restore has landed. Default: true.
  bool restore_on_remove = true;
};

// One object as the controller sees it, for tests, logs and /readyz.
struct ObjectSnapshot {
  ObjectRef ref;
  ObjectStatus status;
  bool status_published = false;
  std::optional<int32_t> replicas;  // last known replica count
  std::optional<Time> next_due;     // nullopt when not scheduled (invalid, shut down)
  bool in_flight = false;
  bool invalid = false;
  Status last_error;
  uint64_t polls = 0;
  uint64_t skipped_polls = 0;
};

class Controller {
 public:
  // `clock`, `http`, `resolver` and the non-null `observer`, `status_sink`
  // and `logger` must outlive the Controller (null: reports go nowhere,
  // logs are discarded). The HttpClient may outlive it: late callbacks are
  // dropped.
  Controller(ControllerOptions options, const Clock& clock, http::HttpClient& http,
             targets::ScaleTargetResolver& resolver, TriggerEnvironment env,
             ControllerObserver* observer, StatusSink* status_sink, Logger* logger);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Replaces the set of objects, matched by namespace/name:
  // - new: registered, first poll jittered over its interval; the engine
  //   starts from the object's observed status (lastActiveTime,
  //   originalReplicaCount), as KEDA does after a restart;
  // - known and edited (spec, annotations): triggers and target rebuilt, an
  //   in-flight poll dropped, the engine state (HPA history, lastActiveTime,
  //   original replicas; failure counts unless the trigger count changed)
  //   kept, as KEDA keeps status across edits; rescheduled only if its
  //   interval changed;
  // - known and unchanged: triggers rebuilt all the same, since `lookup`
  //   (Secrets, TriggerAuthentications) may have changed; polls go on;
  // - absent: unscheduled, in-flight answers dropped (with
  //   restoreToOriginalReplicaCount, the original count is set back);
  // - named in `invalid` (a ScaledObject problem, "ns/name"): not polled,
  //   its target keeps its last replicas, status Ready=False with the
  //   problem. Invalid wins over a valid copy in `objects`. Objects that
  //   fail scaling::ValidateForEngine are treated the same way.
  void Update(std::vector<api::ScaledObject> objects, std::shared_ptr<const api::ObjectLookup> lookup,
              const api::Problems& invalid);
  // Thread-safe: queues Update for the controller's thread (Run).
  void PostUpdate(std::vector<api::ScaledObject> objects, std::shared_ptr<const api::ObjectLookup> lookup,
                  api::Problems invalid);

  // Starts the polls due at `now` (nothing after BeginShutdown) and times
  // out polls past their deadline.
  void RunDue(Time now);
  // Processes everything callbacks posted: answers, scales, apply results.
  // Returns how many events ran.
  int DrainResults();
  // The earliest time RunDue has work: a poll due or a deadline.
  std::optional<Time> NextDue();

  // Runs the loop until `stop` is requested, then shuts down: waits up to
  // shutdown_grace for in-flight polls, then CancelInFlight(). Waits in real
  // time: use it with RealClock.
  void Run(std::stop_token stop);
  // No new polls from now on; in-flight ones may still finish and apply.
  void BeginShutdown();
  // Drops every in-flight poll; afterwards no answer is processed and
  // nothing is applied. Returns how many polls were dropped.
  int CancelInFlight();
  // Polls in flight.
  int InFlight() const;

  // Every object (valid and invalid), sorted by namespace/name.
  std::vector<ObjectSnapshot> Snapshot() const;

 private:
  // Registration (controller.cc).
  void Register(const api::ScaledObject& so, const api::ObjectLookup& lookup);
  void Reconfigure(ManagedObject& o, const api::ScaledObject& so, const api::ObjectLookup& lookup);
  void MarkInvalid(const std::string& key, const api::Problem& problem);
  void Remove(const std::string& key);
  void RestoreOriginal(ManagedObject& o);
  std::vector<Result<BuiltTrigger>> BuildTriggers(const api::ScaledObject& so,
                                                  const api::ObjectLookup& lookup);
  Time FirstPoll(const ManagedObject& o);
  void DropPoll(ManagedObject& o);

  // Polling (controller_poll.cc).
  void StartPoll(const PollScheduler::Due& due, Time now, QueryCoalescer& coalescer);
  bool EnsureTarget(ManagedObject& o);
  void RequestScale(ManagedObject& o, uint64_t poll_id);
  void SendGroups(std::vector<QueryGroup> groups, Time sent);
  void ExpireDeadlines(Time now);
  void OnQueryAnswer(const std::vector<QueryMember>& members, const Result<http::HttpResponse>& response,
                     Time sent);
  void OnScale(const std::string& key, uint64_t poll_id, Result<targets::ScaleState> scale);
  void RecordAnswer(ManagedObject& o, size_t index, Result<prometheus::TriggerValue> value, Duration latency);
  void LogTriggerChange(ManagedObject& o, size_t index, const TriggerEvaluated& e);
  ManagedObject* FindPoll(const std::string& key, uint64_t poll_id);

  // Deciding and applying (controller_decide.cc).
  void MaybeDecide(ManagedObject& o);
  void Apply(ManagedObject& o, const scaling::Decision& d, int32_t from);
  void OnApplied(const std::string& key, uint64_t poll_id, Status status);
  void Complete(ManagedObject& o, scaling::Decision d, int32_t from, bool applied, Status error);
  void LogDecision(const ManagedObject& o, const scaling::Decision& d, int32_t from, bool applied,
                   const Status& error);
  void FailPoll(ManagedObject& o, const Status& error, const std::string& reason);
  void ReportError(ManagedObject& o, const Status& error, const std::string& reason);
  void PublishIfChanged(ManagedObject& o, ObjectStatus status);

  const ControllerOptions options_;
  const Clock& clock_;
  http::HttpClient& http_;
  targets::ScaleTargetResolver& resolver_;
  const TriggerEnvironment env_;
  ControllerObserver* observer_;  // never null (a no-op when none was given)
  StatusSink* status_sink_;       // never null
  Logger* logger_;                // never null
  std::unique_ptr<ControllerObserver> own_observer_;
  std::unique_ptr<StatusSink> own_status_sink_;
  std::unique_ptr<Logger> own_logger_;
  std::function<double()> jitter_;
  // Driven by the controller thread (no thread of its own); callbacks hold
  // it by shared_ptr and only post.
  std::shared_ptr<EventLoop> loop_;

  // Controller thread only.
  std::unordered_map<std::string, ManagedObject> objects_;
  std::shared_ptr<const api::ObjectLookup> lookup_;
  PollScheduler polls_;      // next poll of each valid object
  PollScheduler deadlines_;  // deadline of each in-flight poll
  uint64_t next_poll_id_ = 1;
  bool shutting_down_ = false;
  bool cancelled_ = false;   // after CancelInFlight: nothing is processed or applied
};

}  // namespace ebb::controller
