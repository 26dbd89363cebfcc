// LeaderElector: one active ebb operator per cluster, elected through a
// coordination.k8s.io/v1 Lease as client-go's leaderelection package does.
//
//   LeaderElectionConfig c{.lease_namespace = "keda", .identity = pod + "_" + suffix};
//   if (Status s = ValidateLeaderElection(c); !s.ok()) return s;
//   LeaderElector elector(rest, RealClock::Instance(), c,
//                         {.on_started_leading = [&] { controller.Resume(); },
//                          .on_stopped_leading = [&] { controller.Pause(); }});
//   std::jthread election([&](std::stop_token st) { elector.Run(st); });
//   ...  if (elector.IsLeader()) Scale(...);   // the fence, checked before acting
//
// The algorithm (facts/kubernetes.md): GET the Lease, creating it on 404.
// Another holder's lease is live until the LOCAL time at which this process
// last saw the record change, plus the record's leaseDurationSeconds: the
// remote renewTime is never compared with the local clock, so clock skew
// between nodes does not matter. A lease that is free, expired or already
// ours is written with a PUT conditional on the resourceVersion last read
// (409: another process won; try again later). The leader renews every
// retry_period; when no renew has succeeded for renew_deadline it stops
// leading at once. On stop, Run releases a lease it holds (empty holder,
// leaseDurationSeconds 1, as client-go's ReleaseOnCancel) so a successor
// takes over at its next attempt instead of after a lease duration.
//
// Safety: IsLeader() is a fence measured from the local time at which the
// last successful renew was *sent*. It turns false renew_deadline later,
// which is before any other process can consider the lease expired (it
// counts lease_duration > renew_deadline from when it *saw* that renew),
// even while Run is stuck in a slow request. Intervals are read from the
// Clock given: RealClock is wall time, so a step of the system clock
// during an election skews them (client-go has the same exposure).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <stop_token>
#include <string>
#include <utility>

#include "common/clock.h"
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
};

// OK, or kInvalidConfig naming what is wrong: an empty identity, a
// namespace or lease name that is not a valid Kubernetes name, or
// durations that break lease_duration > renew_deadline > 1.2 *
// retry_period > 0 (the message names --lease-duration, --renew-deadline
// or --retry-period).
Status ValidateLeaderElection(const LeaderElectionConfig& config);

// Callbacks run on the thread that calls Run and must return quickly (start
// or stop work elsewhere): the lease is not renewed while they run. Each
// may be empty.
struct LeaderCallbacks {
  std::function<void()> on_started_leading;
  // Called when leadership ends for any reason (renew deadline, lease taken
  // over, shutdown), before a shutdown releases the lease.
  std::function<void()> on_stopped_leading;
  // Called when the observed holder changes to a non-empty identity (this
  // process's own included).
  std::function<void(const std::string& identity)> on_new_leader;
};

// Counters for /metrics.
struct LeaderElectionStats {
  // Changes of the lease holder this process observed (its own
  // acquisitions and releases included; the first observation is not one).
  uint64_t leader_transitions = 0;
  // Renew attempts that failed while leading.
  uint64_t renew_failures = 0;
};

// Runs the election for one identity. Ownership: the RestClient, the Clock
// and the Logger are not owned and must outlive the elector. Thread-safety:
// Run is called by one thread at a time; IsLeader, Leader and Stats are
// safe from any thread at any time.
class LeaderElector {
 public:
  // `logger` null: Logger::Default(). `config` must pass
  // ValidateLeaderElection (programmer error otherwise).
  LeaderElector(RestClient& client, const Clock& clock, LeaderElectionConfig config,
                LeaderCallbacks callbacks, Logger* logger = nullptr);
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Blocks: tries to acquire the lease every retry_period (jittered up to
  // 1.2x), renews it while leading, and tries again after losing it.
  // Returns once `stop` is requested (after at most the request in flight
  // and the release, each bounded by the request timeout), having stopped
  // leading and released the lease if it held it.
  void Run(std::stop_token stop);

  // True only while leading AND the last successful renew was sent less
  // than renew_deadline ago by the local clock. Check it before acting.
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

  bool Acquire(std::stop_token stop);
  void RenewWhileLeading(std::stop_token stop);
  // One GET then, when the lease is free, expired or ours, one POST or PUT.
  // `start`: the local time before the attempt, the fence's reference.
  Attempt TryAcquireOrRenew(Time start);
  Attempt CreateLease(Time start);
  Attempt WriteLease(const nlohmann::json& lease, Time start);
  // Records a lease read or written; a change restarts the expiry clock.
  void Observe(const nlohmann::json& lease);
  void NoteHolder(const std::string& holder);
  bool HeldByLiveOther() const;
  ApiResult Call(ApiRequest request);
  void BecomeLeader();
  void StopLeading(const std::string& why);
  void Release();
  bool RenewExpired() const;
  // Waits `d` or until stop; false when stop was requested.
  bool Sleep(std::stop_token stop, Duration d);
  Duration JitteredRetry();
  Duration RequestTimeout() const;
  // The lease and identity, plus `extra` when it has a key.
  LogFields Fields(std::pair<std::string, std::string> extra = {}) const;

  RestClient& client_;
  const Clock& clock_;
  const LeaderElectionConfig config_;
  const LeaderCallbacks callbacks_;
  Logger* const logger_;  // never null

  // Used by the Run thread only.
  std::mt19937_64 rng_;
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

  std::mutex sleep_mu_;
  std::condition_variable_any sleep_cv_;  // never notified: only the stop token wakes it
};

}  // namespace ebb::kube
