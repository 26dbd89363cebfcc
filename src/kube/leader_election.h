// LeaderElector: one active ebb operator per cluster, elected through a
// coordination.k8s.io/v1 Lease as client-go's leaderelection package does,
// as an asynchronous state machine on an EventLoop (common/event_loop.h):
// every step (get, create, update, renew, release) is an asynchronous API
// call whose answer is posted back to the loop; waits are timers on the
// loop's Clock. Nothing blocks and nothing sleeps, so tests run it on a
// SimulatedClock.
//
//   EventLoop loop(clock);                       // a steady clock in production
//   loop.StartThread();
//   LeaderElectionConfig c{.lease_namespace = "keda", .identity = "pod-1_x2y"};
//   if (Status s = ValidateLeaderElection(c); !s.ok()) return s;
//   LeaderElector elector(rest, loop, c,
//                         {.on_started_leading = [&] { op.LeadershipChanged(); },
//                          .on_stopped_leading = [&] { op.LeadershipChanged(); }});
//   elector.Start();
//   ...  if (elector.IsLeader()) Scale(...);   // the fence, checked before acting
//   elector.StopAndWait();                     // stops leading, releases the lease
//   loop.Stop();
//
// The algorithm (facts/kubernetes.md): GET the Lease, creating it on 404.
// Another holder's lease is live until the LOCAL time at which this process
// last saw the record change, plus the record's leaseDurationSeconds: the
// remote renewTime is never compared with the local clock, so clock skew
// between nodes does not matter. A lease that is free, expired or already
// ours is written with a PUT conditional on the resourceVersion last read
// (409: another process won; try again later). Followers try every
// retry_period (jittered up to 1.2x); the leader renews every retry_period;
// when no renew has succeeded for renew_deadline it stops leading at once.
// On stop, a lease it holds is released (empty holder, leaseDurationSeconds
// 1, as client-go's ReleaseOnCancel) so a successor takes over at its next
// attempt instead of after a lease duration.
//
// Safety: IsLeader() is a fence measured from the local time at which the
// last successful renew was *sent* (the start of its attempt). It turns
// false renew_deadline later, which is before any other process can
// consider the lease expired (it counts lease_duration > renew_deadline
// from when it *saw* that renew), even while a request hangs. Each request
// is abandoned after the request timeout (a late answer counts as a
// failure, the safe way). Lease requests use the RestClient's own budget
// (RequestPriority::kLease), so a renew never queues behind status writes.
// Intervals are read from the loop's Clock: production should give a
// steady (monotonic) clock; RealClock is wall time, so a step of the system
// clock skews them (client-go has the same exposure).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "common/clock.h"
#include "common/event_loop.h"
#include "common/log.h"
#include "common/status.h"
#include "kube/rest_client.h"

namespace ebb::kube {

struct LeaderElectionConfig {
  // REQUIRED: the namespace of the Lease (the operator's own namespace).
  std::string lease_namespace;
  // Default: "ebb-operator.ebb.dev" (KEDA's is "operator.keda.sh").
  std::string lease_name = "ebb-operator.ebb.dev";
  // REQUIRED: unique per process (pod name plus a random suffix), so that a
  // restarted pod never mistakes its predecessor's lease for its own.
  std::string identity;
  // How long followers wait, from when they last saw the lease change,
  // before taking it over. Written rounded up to whole seconds.
  // Default 15 s. REQUIRES: > renew_deadline.
  Duration lease_duration = std::chrono::seconds(15);
  // How long the leader keeps acting without a successful renew.
  // Default 10 s. REQUIRES: > 1.2 * retry_period.
  Duration renew_deadline = std::chrono::seconds(10);
  // Interval between attempts to acquire (jittered up to 1.2x) or renew.
  // Default 2 s. REQUIRES: > 0.
  Duration retry_period = std::chrono::seconds(2);
  // Timeout of each GET/POST/PUT on the Lease. Default (zero):
  // renew_deadline / 2, so a hung request cannot hold the renew loop past
  // the deadline. REQUIRES: >= 0 and <= renew_deadline.
  Duration request_timeout{0};
  // Returns a value in [0, 1) for the retry jitter. Default (empty): a
  // Mersenne twister seeded from std::random_device. Tests inject one.
  std::function<double()> random{};
};

// OK, or kInvalidConfig naming what is wrong: an empty identity, a
// namespace or lease name that is not a valid Kubernetes name, or
// durations that break lease_duration > renew_deadline > 1.2 *
// retry_period > 0 (the message names --lease-duration, --renew-deadline
// or --retry-period).
Status ValidateLeaderElection(const LeaderElectionConfig& config);

// Callbacks run on the elector's loop and must return quickly (start or
// stop work elsewhere, by posting to it): the lease is not renewed while
// they run. Each may be empty.
struct LeaderCallbacks {
  std::function<void()> on_started_leading{};
  // Called when leadership ends for any reason (renew deadline, lease taken
  // over, shutdown), before a shutdown releases the lease.
  std::function<void()> on_stopped_leading{};
  // Called when the observed holder changes to a non-empty identity (this
  // process's own included).
  std::function<void(const std::string& identity)> on_new_leader{};
};

// Counters for /metrics.
struct LeaderElectionStats {
  // Changes of the lease holder this process observed (its own
  // acquisitions and releases included; the first observation is not one).
  uint64_t leader_transitions = 0;
  // Renew attempts that failed while leading.
  uint64_t renew_failures = 0;
};

// Runs the election for one identity on `loop`. Ownership: the ApiCaller,
// the EventLoop and the Logger are not owned; the elector's state belongs to
// the loop (the loop owns; answers post). Destroy the elector only after
// its loop has stopped, and stop the loop before the ApiCaller (a request
// abandoned after its timeout may still answer and post). Thread-safety:
// Start, Stop, IsLeader, Leader and Stats are safe from any thread;
// StopAndWait never from the loop's thread.
class LeaderElector {
 public:
  // `logger` null: Logger::Default(). `config` must pass
  // ValidateLeaderElection (programmer error otherwise).
  LeaderElector(ApiCaller& api, EventLoop& loop, LeaderElectionConfig config,
                LeaderCallbacks callbacks, Logger* logger = nullptr);
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Begins the election: the first attempt at once, then one every
  // jittered retry period; renews while leading; tries again after losing.
  void Start();
  // Stops: leadership ends (on_stopped_leading), then, once the request in
  // flight (if any) has ended, a lease this process holds is released.
  // `done` runs on the loop when all that is over (may be empty).
  void Stop(std::function<void()> done);
  // Stop, blocking until done. From the owner's thread, never from the
  // loop's (a test-driven loop uses Stop and runs the loop instead).
  void StopAndWait();

  // True only while leading AND the last successful renew was sent less
  // than renew_deadline ago by the loop's clock. Check it before acting.
  bool IsLeader() const;
  // The last observed holder; "" when unknown or released.
  std::string Leader() const;
  LeaderElectionStats Stats() const;
  const LeaderElectionConfig& config() const { return config_; }

 private:
  // The spec of a Lease, as read or written.
  struct LeaseRecord {
    std::string holder;
    int64_t lease_duration_seconds = 0;
    std::string acquire_time;
    std::string renew_time;
    int64_t transitions = 0;
    friend bool operator==(const LeaseRecord&, const LeaseRecord&) = default;
  };
  // What one attempt to acquire or renew achieved.
  enum class Attempt { kHeld, kHeldByOther, kConflict, kFailed };
  enum class Phase { kIdle, kRunning, kStopping, kStopped };
  using Then = std::function<void(ApiResult)>;

  // One attempt: a GET, then, when the lease is free, expired or ours, a
  // POST or PUT; ends in Finish. `start`: the fence's reference.
  void StartAttempt();
  void OnRead(Time start, ApiResult got);
  void CreateLease(Time start);
  void WriteLease(const nlohmann::json& lease, Time start);
  void OnWritten(Time start, ApiResult r, const char* what);
  void Finish(Attempt a);
  void AfterAttemptWhileLeading(Attempt a);
  // The timer while leading: renew, or stop at the deadline.
  void OnLeadingTimer();
  void ArmTimer(Duration delay, void (LeaderElector::*step)());
  Duration UntilNextRenew() const;
  // Sends one request; `then` runs on the loop with its answer, or with
  // kDeadlineExceeded once the request timeout passes (a later answer is
  // dropped). One request at a time.
  void Send(ApiRequest request, Then then);
  void OnAnswer(uint64_t seq, ApiResult r);
  // Records a lease read or written; a change restarts the expiry clock.
  void Observe(const nlohmann::json& lease);
  void NoteHolder(const std::string& holder);
  bool HeldByLiveOther() const;
  void BecomeLeader();
  void StopLeading(const std::string& why);
  void BeginStop(std::function<void()> done);
  void Release();
  void Stopped();
  bool RenewExpired() const;
  Duration JitteredRetry();
  Duration RequestTimeout() const;
  // The lease and identity, plus `extra` when it has a key.
  LogFields Fields(std::pair<std::string, std::string> extra = {}) const;

  ApiCaller& api_;
  EventLoop& loop_;
  const Clock& clock_;
  const LeaderElectionConfig config_;
  const LeaderCallbacks callbacks_;
  Logger* const logger_;  // never null
  std::function<double()> random_;

  // Owned by the loop: touched only by tasks on it.
  Phase phase_ = Phase::kIdle;
  bool attempt_in_flight_ = false;
  EventLoop::TimerId timer_ = EventLoop::kNoTimer;  // retry or renew
  uint64_t request_seq_ = 0;                        // of the request in flight
  Then pending_;                                    // its continuation
  EventLoop::TimerId request_timer_ = EventLoop::kNoTimer;
  std::function<void()> stop_done_;
  nlohmann::json observed_lease_;  // the last Lease object read or written
  LeaseRecord observed_;           // its spec
  std::string observed_version_;   // its resourceVersion
  Time observed_at_{};             // local time observed_ last changed
  bool have_observed_ = false;

  // Read from any thread.
  std::atomic<bool> leading_{false};
  std::atomic<int64_t> last_renew_ns_{0};  // local send time of the last good renew
  std::atomic<uint64_t> transitions_{0};
  std::atomic<uint64_t> renew_failures_{0};
  mutable std::mutex mu_;
  std::string leader_;  // guarded by mu_
};

}  // namespace ebb::kube
