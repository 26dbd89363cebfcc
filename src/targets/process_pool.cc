#include "targets/process_pool.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>

#include "common/strings.h"
#include "targets/group_warden.h"
#include "targets/process_launch.h"

namespace ebb::targets {
namespace {

using std::chrono::steady_clock;

constexpr char kDefaultPath[] = "/usr/local/bin:/usr/bin:/bin";

// The PATH the command is looked up in: the pool's own if spec.env sets
// it (the copy will run with it), else ebb's.
std::string SearchPath(const ProcessPoolSpec& spec) {
  std::string path;
  bool found = false;
  for (const auto& [name, value] : spec.env) {
    if (name == "PATH") {
      path = value;
      found = true;
    }
  }
  if (found) return path;
  const char* own = std::getenv("PATH");
  return own ? own : kDefaultPath;
}

Status CheckWorkingDir(const std::string& dir) {
  if (dir.empty()) return Status::Ok();
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return InvalidConfig("spec.workingDir: \"" + dir + "\" is not a directory");
  }
  return Status::Ok();
}

std::vector<std::string> PoolEnvironment(const ProcessPoolSpec& spec) {
  auto overrides = spec.env;
  overrides.emplace_back(kPoolNameEnv, spec.metadata.Key());
  return MergeEnvironment(CurrentEnvironment(), overrides);
}

std::string Seconds(Duration d) {
  return FormatDouble(std::chrono::duration<double>(d).count()) + "s";
}

}  // namespace

Result<std::shared_ptr<ProcessPool>> ProcessPool::Create(ProcessPoolSpec spec,
                                                         ProcessPoolOptions options) {
  std::string what = std::string(kProcessPoolKind) + " " + spec.metadata.Key();
  Status dir = CheckWorkingDir(spec.working_dir);
  if (!dir.ok()) return dir.WithContext(what);
  Result<std::string> program = ResolveProgram(spec.command, spec.working_dir, SearchPath(spec));
  if (!program.ok()) return program.status().WithContext(what + ": spec.command");
  if (spec.grace_period_seconds < 0) {
    return InvalidConfig(what + ": spec.gracePeriodSeconds must be 0 or more");
  }
  std::shared_ptr<ProcessPool> pool(
      new ProcessPool(std::move(spec), std::move(options), std::move(*program)));
  return pool;
}

ProcessPool::ProcessPool(ProcessPoolSpec spec, ProcessPoolOptions options, std::string program)
    : spec_(std::move(spec)),
      options_(std::move(options)),
      restart_backoff_({.initial = options_.restart_backoff,
                        .max = options_.max_restart_backoff,
                        .jitter_fraction = 0}),
      program_(std::move(program)),
      env_(PoolEnvironment(spec_)),
      log_(options_.logger ? *options_.logger : Logger::Default()) {
  // The supervisor launches every copy, so their death signal is tied to
  // its life (see process_launch.h): it must outlive them, and does.
  supervisor_ = std::thread([this] { Supervise(); });
}

ProcessPool::~ProcessPool() { Shutdown(); }

void ProcessPool::GetScale(std::function<void(Result<ScaleState>)> done) {
  ScaleState state;
  bool stopped = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped = shutting_down_;
    SteadyTime now = steady_clock::now();
    state.replicas = desired_;
    size_t n = std::min(slots_.size(), static_cast<size_t>(desired_));
    for (size_t i = 0; i < n; ++i) state.ready_replicas += ReadyLocked(slots_[i], now) ? 1 : 0;
  }
  // A retired pool's count means nothing any more: the caller must resolve again.
  if (stopped) {
    done(Unavailable(Describe() + " is shutting down"));
    return;
  }
  done(state);
}

void ProcessPool::SetReplicas(int32_t replicas, std::function<void(Status)> done) {
  if (replicas < 0 || replicas > options_.max_replicas) {
    done(InvalidConfig(Describe() + ": " + std::to_string(replicas) + " replicas is outside 0.." +
                       std::to_string(options_.max_replicas)));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutting_down_) {
      done(Unavailable(Describe() + " is shutting down"));
      return;
    }
    desired_ = replicas;
    woken_ = true;
  }
  wake_.notify_all();
  done(Status::Ok());
}

std::string ProcessPool::Describe() const {
  return std::string(kProcessPoolKind) + " " + spec_.metadata.Key();
}

void ProcessPool::BeginShutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
    woken_ = true;
  }
  wake_.notify_all();
}

void ProcessPool::Shutdown() {
  BeginShutdown();
  std::lock_guard<std::mutex> lock(join_mu_);
  if (supervisor_.joinable()) supervisor_.join();
}

bool ProcessPool::IsShutDown() const {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_;
}

int32_t ProcessPool::desired_replicas() const {
  std::lock_guard<std::mutex> lock(mu_);
  return desired_;
}

std::vector<CopyInfo> ProcessPool::Copies() const {
  std::lock_guard<std::mutex> lock(mu_);
  SteadyTime now = steady_clock::now();
  std::vector<CopyInfo> out;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    out.push_back({static_cast<int32_t>(i), s.pid, ReadyLocked(s, now), false, s.restarts});
  }
  for (const Stopping& s : stopping_) {
    if (!s.leader_exited) out.push_back({s.index, s.pid, false, true, 0});
  }
  return out;
}

bool ProcessPool::ReadyLocked(const Slot& slot, SteadyTime now) const {
  return slot.pid != 0 && now - slot.started >= options_.ready_after;
}

LogFields ProcessPool::Fields(int32_t index, pid_t pid) const {
  return {{"pool", spec_.metadata.Key()},
          {"index", std::to_string(index)},
          {"pid", std::to_string(pid)}};
}

void ProcessPool::Supervise() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!finished_) {
    std::vector<int32_t> launches = ReconcileLocked(steady_clock::now());
    // Launching waits for exec; readers of the state need not wait with it.
    // Only this thread changes slots_, so the indexes stay valid.
    for (int32_t index : launches) {
      lock.unlock();
      LaunchCopy(index);
      lock.lock();
    }
    if (!launches.empty() || finished_) continue;
    wake_.wait_for(lock, options_.poll_interval, [this] { return woken_; });
    woken_ = false;
  }
}

std::vector<int32_t> ProcessPool::ReconcileLocked(SteadyTime now) {
  ReapSlotsLocked(now);
  ReapStoppingLocked(now);
  ResizeLocked(now);
  std::vector<int32_t> launches;
  for (size_t i = 0; i < slots_.size(); ++i) {
    int32_t index = static_cast<int32_t>(i);
    const Slot& s = slots_[i];
    if (s.pid == 0 && now >= s.start_at && !IndexStoppingLocked(index)) launches.push_back(index);
  }
  if (shutting_down_ && slots_.empty() && stopping_.empty()) finished_ = true;
  return launches;
}

void ProcessPool::ReapSlotsLocked(SteadyTime now) {
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.pid == 0) continue;
    std::optional<int> status = TryReap(s.pid);
    if (!status) continue;
    // Leftovers of the group would otherwise run beside the restarted copy.
    SignalGroup(s.pid, SIGKILL);
    ForgetGroup(s.pid);
    if (now - s.started >= options_.max_restart_backoff) s.failures = 0;
    const Duration delay = restart_backoff_.Delay(++s.failures);
    LogFields f = Fields(static_cast<int32_t>(i), s.pid);
    f.push_back({"status", DescribeExit(*status)});
    f.push_back({"restartIn", Seconds(delay)});
    log_.Warn("process pool copy exited; restarting", f);
    s.pid = 0;
    s.start_at = now + delay;
    ++s.restarts;
  }
}

void ProcessPool::ReapStoppingLocked(SteadyTime now) {
  std::erase_if(stopping_, [&](Stopping& s) { return AdvanceStopLocked(s, now); });
}

bool ProcessPool::AdvanceStopLocked(Stopping& s, SteadyTime now) {
  if (!s.leader_exited) {
    if (std::optional<int> status = TryReap(s.pid)) {
      s.leader_exited = true;
      LogFields f = Fields(s.index, s.pid);
      f.push_back({"status", DescribeExit(*status)});
      log_.Info("process pool copy stopped", f);
    }
  }
  if (s.leader_exited) {
    ReapGroup(s.pid);
    // Done once nothing it started runs on; after SIGKILL, what is left is
    // dying (or stuck in the kernel, where waiting would not help).
    if (s.killed || !GroupHasLiveProcesses(s.pid)) {
      ForgetGroup(s.pid);
      return true;
    }
  }
  if (now >= s.kill_at && !s.killed) {
    s.killed = true;
    SignalGroup(s.pid, SIGKILL);
    log_.Warn("process pool copy outlived its grace period; sent SIGKILL", Fields(s.index, s.pid));
  }
  return false;
}

void ProcessPool::ResizeLocked(SteadyTime now) {
  size_t target = shutting_down_ ? 0 : static_cast<size_t>(desired_);
  while (slots_.size() > target) {
    StopSlotLocked(static_cast<int32_t>(slots_.size() - 1), now);
    slots_.pop_back();
  }
  while (slots_.size() < target) {
    slots_.push_back(Slot{.start_at = now});
  }
}

void ProcessPool::StopSlotLocked(int32_t index, SteadyTime now) {
  const Slot& slot = slots_[index];
  if (slot.pid == 0) return;
  Duration grace = std::chrono::seconds(spec_.grace_period_seconds);
  stopping_.push_back({.index = index, .pid = slot.pid, .kill_at = now + grace});
  SignalGroup(slot.pid, SIGTERM);
  LogFields f = Fields(index, slot.pid);
  f.push_back({"grace", Seconds(grace)});
  log_.Info("process pool copy stopping", f);
}

bool ProcessPool::IndexStoppingLocked(int32_t index) const {
  return std::any_of(stopping_.begin(), stopping_.end(),
                     [index](const Stopping& s) { return s.index == index; });
}

void ProcessPool::LaunchCopy(int32_t index) {
  LaunchRequest request{.program = program_,
                        .argv = {spec_.command},
                        .env = MergeEnvironment(env_, {{kReplicaIndexEnv, std::to_string(index)}}),
                        .working_dir = spec_.working_dir,
                        .output_path = options_.output_path};
  request.argv.insert(request.argv.end(), spec_.args.begin(), spec_.args.end());
  Result<pid_t> pid = Launch(request);
  std::lock_guard<std::mutex> lock(mu_);
  Slot& slot = slots_[index];
  SteadyTime now = steady_clock::now();
  if (!pid.ok()) {
    LogFields f = Fields(index, 0);
    f.push_back({"error", pid.status().ToString()});
    const Duration delay = restart_backoff_.Delay(++slot.failures);
    f.push_back({"retryIn", Seconds(delay)});
    log_.Error("process pool cannot start a copy", f);
    slot.start_at = now + delay;
    return;
  }
  slot.pid = *pid;
  slot.started = now;
  log_.Info("process pool copy started", Fields(index, *pid));
}

}  // namespace ebb::targets
