// ProcessPool: the ScaleTarget of `ebb run` -- N local copies of the
// command a ProcessPool manifest names (process_pool_spec.h), started and
// stopped to match the replica count the controller sets.
//
//   Result<std::shared_ptr<ProcessPool>> pool = ProcessPool::Create(spec);
//   (*pool)->SetReplicas(3, [](Status s) { ... });  // starts copies 0, 1, 2
//   (*pool)->SetReplicas(1, [](Status s) { ... });  // stops 2, then 1
//   (*pool)->Shutdown();                            // stops 0 and waits
//
// What the pool does (targets/README.md says it for users):
// - Copy i gets ebb's environment + spec.env + EBB_REPLICA_INDEX=i and
//   EBB_POOL_NAME=namespace/name. Indexes are 0..replicas-1.
// - Scaling down stops the newest copies first: the highest indexes, which
//   are started last, so the running indexes stay 0..N-1 (workers that
//   shard by index rely on it). Stopping is SIGTERM to the copy's process
//   group, then SIGKILL after spec.gracePeriodSeconds.
// - A copy that exits on its own is restarted with the same index after a
//   backoff (common/backoff.h, unjittered: options.restart_backoff, doubling up to
//   options.max_restart_backoff; reset once a copy has run that long), and
//   whatever it left in its process group is killed first.
// - An index that is still stopping is not started again until the old
//   copy is gone, so two copies never share an index.
// - Ready replicas: copies with an index below the desired count that have
//   been running for at least options.ready_after. There is no health
//   probe: "ready" means "started and did not exit".
//
// All copies are launched, reaped and signalled by one supervisor thread
// per pool (pools are few: one per manifest). It polls the copies every
// options.poll_interval; the copies get SIGKILL if that thread (hence ebb)
// dies (PR_SET_PDEATHSIG).
//
// Time is real (std::chrono::steady_clock), not a common/clock.h Clock:
// the pool waits on real processes, which a simulated clock cannot hurry.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/status.h"
#include "targets/process_pool_spec.h"
#include "targets/scale_target.h"

namespace ebb::targets {

// Environment variables each copy gets.
inline constexpr char kReplicaIndexEnv[] = "EBB_REPLICA_INDEX";
inline constexpr char kPoolNameEnv[] = "EBB_POOL_NAME";

struct ProcessPoolOptions {
  // Where the copies' stdout and stderr go. "" inherits ebb's (default);
  // otherwise appended to this file ("/dev/null" discards them).
  std::string output_path;
  // A copy counts as ready once it has run this long. Default: 1 s.
  Duration ready_after = std::chrono::seconds(1);
  // First delay before restarting a copy that exited. Default: 1 s.
  Duration restart_backoff = std::chrono::seconds(1);
  // The delay doubles after each exit up to this. A copy that ran at least
  // this long before exiting starts again from restart_backoff. Default: 30 s.
  Duration max_restart_backoff = std::chrono::seconds(30);
  // How often the supervisor checks for exited copies. Default: 100 ms.
  Duration poll_interval = std::chrono::milliseconds(100);
  // SetReplicas above this is kInvalidConfig (guards against a runaway
  // scaler forking without bound). Default: 1000.
  int32_t max_replicas = 1000;
  // Not owned; must outlive the pool. nullptr: Logger::Default().
  Logger* logger = nullptr;
};

// One copy as the pool sees it (for status output and tests).
struct CopyInfo {
  int32_t index = 0;
  pid_t pid = 0;  // 0 while waiting to be (re)started
  bool ready = false;
  bool stopping = false;  // SIGTERM sent; index >= desired replicas
  int32_t restarts = 0;   // times this index was restarted after an exit
};

// Owns its copies (child processes) and its supervisor thread. Thread-safe.
class ProcessPool : public ScaleTarget {
 public:
  // Checks the spec (the command resolves to an executable, the working
  // directory exists) and starts the supervisor with 0 replicas.
  // kInvalidConfig naming the field otherwise.
  static Result<std::shared_ptr<ProcessPool>> Create(ProcessPoolSpec spec,
                                                     ProcessPoolOptions options = {});

  // Shutdown(): blocks until every copy is gone (at most the grace period).
  ~ProcessPool() override;
  ProcessPool(const ProcessPool&) = delete;
  ProcessPool& operator=(const ProcessPool&) = delete;

  // {replicas = desired count, ready_replicas}. Calls `done` synchronously.
  // kUnavailable once the pool is shutting down.
  void GetScale(std::function<void(Result<ScaleState>)> done) override;
  // Records the desired count and wakes the supervisor; `done` runs
  // synchronously once the request is accepted (starting follows at once;
  // stopping honours the grace period in the background). kInvalidConfig
  // for a negative count or one above options.max_replicas; kUnavailable
  // once the pool is shutting down.
  void SetReplicas(int32_t replicas, std::function<void(Status)> done) override;
  // "ProcessPool default/workers".
  std::string Describe() const override;

  // Stops every copy (SIGTERM, SIGKILL after the grace period) without
  // waiting. Idempotent; SetReplicas fails afterwards.
  void BeginShutdown();
  // BeginShutdown(), then waits until every copy is reaped and the
  // supervisor has exited. Idempotent. Must not be called from a callback
  // of this pool.
  void Shutdown();
  // True once Shutdown's work is complete (every copy reaped).
  bool IsShutDown() const;

  int32_t desired_replicas() const;
  // Running, waiting and stopping copies, by index (stopping ones last).
  std::vector<CopyInfo> Copies() const;
  const ProcessPoolSpec& spec() const { return spec_; }

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // A copy with an index below the desired count.
  struct Slot {
    pid_t pid = 0;          // 0 while waiting to (re)start
    SteadyTime started{};   // when pid was launched
    SteadyTime start_at{};  // when pid == 0: earliest (re)start
    int failures = 0;       // exits and failed starts in a row (restart backoff)
    int32_t restarts = 0;
  };
  // A copy sent SIGTERM, until its whole process group is gone.
  struct Stopping {
    int32_t index = 0;
    pid_t pid = 0;
    SteadyTime kill_at{};  // SIGKILL if anything is left by then
    bool leader_exited = false;
    bool killed = false;
  };

  ProcessPool(ProcessPoolSpec spec, ProcessPoolOptions options, std::string program);

  void Supervise();
  // One pass of the supervisor; returns indexes to launch (outside mu_).
  std::vector<int32_t> ReconcileLocked(SteadyTime now);
  void ReapSlotsLocked(SteadyTime now);
  void ReapStoppingLocked(SteadyTime now);
  // Moves one stop along (reap, SIGKILL when due); true when it is over.
  bool AdvanceStopLocked(Stopping& s, SteadyTime now);
  void ResizeLocked(SteadyTime now);
  void StopSlotLocked(int32_t index, SteadyTime now);
  bool IndexStoppingLocked(int32_t index) const;
  void LaunchCopy(int32_t index);
  bool ReadyLocked(const Slot& slot, SteadyTime now) const;
  LogFields Fields(int32_t index, pid_t pid) const;

  const ProcessPoolSpec spec_;
  const ProcessPoolOptions options_;
  // Unjittered: the copies are local processes, with no shared server for
  // simultaneous restarts to overwhelm.
  const BackoffPolicy restart_backoff_;
  const std::string program_;           // resolved spec.command
  const std::vector<std::string> env_;  // without EBB_REPLICA_INDEX
  Logger& log_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  int32_t desired_ = 0;             // guarded by mu_
  bool shutting_down_ = false;      // guarded by mu_
  bool finished_ = false;           // guarded by mu_
  bool woken_ = false;              // guarded by mu_
  std::vector<Slot> slots_;         // guarded by mu_; index = position
  std::vector<Stopping> stopping_;  // guarded by mu_

  std::mutex join_mu_;      // serialises joining supervisor_
  std::thread supervisor_;  // started last in the constructor
};

}  // namespace ebb::targets
