#include "kube/leader_election.h"

#include <algorithm>
#include <cassert>
#include <future>
#include <memory>
#include <random>

#include "common/duration.h"
#include "common/strings.h"

namespace ebb::kube {

using nlohmann::json;

namespace {

// client-go's JitterFactor: the retry period is stretched by up to this.
constexpr double kJitterFactor = 1.2;
constexpr size_t kMaxNameLength = 253;
constexpr size_t kMaxLabelLength = 63;
// leaseDurationSeconds of a released lease: successors need not wait.
constexpr int64_t kReleasedLeaseSeconds = 1;

bool IsAlnumLower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// A DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool IsDnsLabel(const std::string& s) {
  if (s.empty() || s.size() > kMaxLabelLength) return false;
  if (!IsAlnumLower(s.front()) || !IsAlnumLower(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlnumLower(c) || c == '-'; });
}

// A DNS-1123 subdomain: dot-separated labels, at most 253 characters.
bool IsDnsSubdomain(const std::string& s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  for (const std::string& label : Split(s, '.')) {
    if (!IsDnsLabel(label)) return false;
  }
  return true;
}

std::string Flag(const char* name, Duration d) {
  return std::string(name) + " (" + FormatDuration(d) + ")";
}

Status ValidateDurations(const LeaderElectionConfig& c) {
  if (c.retry_period <= Duration::zero()) {
    return InvalidConfig("leader election: " + Flag("--retry-period", c.retry_period) +
                         " must be greater than zero");
  }
  if (c.renew_deadline <= c.retry_period * kJitterFactor) {
    return InvalidConfig("leader election: " + Flag("--renew-deadline", c.renew_deadline) +
                         " must be greater than 1.2 x " + Flag("--retry-period", c.retry_period));
  }
  if (c.lease_duration <= c.renew_deadline) {
    return InvalidConfig("leader election: " + Flag("--lease-duration", c.lease_duration) +
                         " must be greater than " + Flag("--renew-deadline", c.renew_deadline));
  }
  if (c.request_timeout < Duration::zero() || c.request_timeout > c.renew_deadline) {
    return InvalidConfig("leader election: the request timeout (" +
                         FormatDuration(c.request_timeout) + ") must be between 0 and " +
                         Flag("--renew-deadline", c.renew_deadline));
  }
  return Status::Ok();
}

// Whole seconds, rounded up: rounding down could make followers wait less
// than the leader's renew deadline (1.5 s lease, 1.2 s deadline).
int64_t CeilSeconds(Duration d) { return std::chrono::ceil<std::chrono::seconds>(d).count(); }

std::string MetaString(const json& object, const char* key) {
  const json& meta = object.value("metadata", json::object());
  auto it = meta.find(key);
  return it != meta.end() && it->is_string() ? it->get<std::string>() : std::string();
}

template <typename T>
T SpecValue(const json& spec, const char* key, T fallback) {
  auto it = spec.find(key);
  if (it == spec.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return fallback;  // a malformed field reads as absent, as a free lease
  }
}

}  // namespace

Status ValidateLeaderElection(const LeaderElectionConfig& config) {
  if (config.identity.empty()) {
    return InvalidConfig("leader election: the identity is empty (it must be unique per process)");
  }
  if (!IsDnsLabel(config.lease_namespace)) {
    return InvalidConfig("leader election: lease namespace \"" + config.lease_namespace +
                         "\" is not a valid namespace name");
  }
  if (!IsDnsSubdomain(config.lease_name)) {
    return InvalidConfig("leader election: lease name \"" + config.lease_name +
                         "\" is not a valid object name (lower-case DNS subdomain)");
  }
  return ValidateDurations(config);
}

LeaderElector::LeaderElector(ApiCaller& api, EventLoop& loop, LeaderElectionConfig config,
                             LeaderCallbacks callbacks, Logger* logger)
    : api_(api),
      loop_(loop),
      clock_(loop.clock()),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      logger_(logger != nullptr ? logger : &Logger::Default()),
      random_(config_.random) {
  assert(ValidateLeaderElection(config_).ok() && "LeaderElectionConfig not validated");
  if (!random_) {
    auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
    random_ = [rng] { return std::uniform_real_distribution<double>(0.0, 1.0)(*rng); };
  }
}

void LeaderElector::Start() {
  loop_.Post([this] {
    if (phase_ != Phase::kIdle) return;
    phase_ = Phase::kRunning;
    StartAttempt();
  });
}

void LeaderElector::Stop(std::function<void()> done) {
  if (!loop_.Post([this, done]() mutable { BeginStop(std::move(done)); })) {
    if (done) done();  // the loop is gone: nothing of ours can run any more
  }
}

void LeaderElector::StopAndWait() {
  assert(!loop_.InLoopThread() && "StopAndWait would wait for its own thread");
  std::promise<void> stopped;
  std::future<void> wait = stopped.get_future();
  Stop([&stopped] { stopped.set_value(); });
  wait.wait();
}

bool LeaderElector::IsLeader() const {
  if (!leading_.load()) return false;
  Time last_renew{Duration(last_renew_ns_.load())};
  return clock_.Now() - last_renew < config_.renew_deadline;
}

std::string LeaderElector::Leader() const {
  std::lock_guard lock(mu_);
  return leader_;
}

LeaderElectionStats LeaderElector::Stats() const {
  return {.leader_transitions = transitions_.load(), .renew_failures = renew_failures_.load()};
}

void LeaderElector::StartAttempt() {
  attempt_in_flight_ = true;
  const Time start = clock_.Now();
  Send({.path = ObjectPath(kLeases, config_.lease_namespace, config_.lease_name)},
       [this, start](ApiResult got) { OnRead(start, std::move(got)); });
}

void LeaderElector::OnRead(Time start, ApiResult got) {
  if (got.IsNotFound()) return CreateLease(start);
  if (!got.ok()) {
    logger_->Warn("leader election: reading the lease failed",
                  Fields({"error", got.status.ToString()}));
    return Finish(Attempt::kFailed);
  }
  Observe(got.object);
  if (HeldByLiveOther()) return Finish(Attempt::kHeldByOther);
  // Stopping: the read still serves Release (the latest resourceVersion).
  if (phase_ != Phase::kRunning) return Finish(Attempt::kFailed);
  WriteLease(got.object, start);
}

void LeaderElector::CreateLease(Time start) {
  if (phase_ != Phase::kRunning) return Finish(Attempt::kFailed);
  std::string now = FormatRfc3339Micros(start);
  json lease = {
      {"apiVersion", kLeases.ApiVersion()},
      {"kind", "Lease"},
      {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}},
      {"spec",
       {{"holderIdentity", config_.identity},
        {"leaseDurationSeconds", CeilSeconds(config_.lease_duration)},
        {"acquireTime", now},
        {"renewTime", now},
        {"leaseTransitions", 0}}}};
  Send({.method = "POST",
        .path = CollectionPath(kLeases, config_.lease_namespace),
        .body = lease.dump()},
       [this, start](ApiResult r) {
         if (r.IsAlreadyExists()) return Finish(Attempt::kConflict);  // another process was first
         OnWritten(start, std::move(r), "creating");
       });
}

// `lease` is the object just read: its resourceVersion makes the PUT
// conditional, so of two processes that saw the same expired lease only
// one wins.
void LeaderElector::WriteLease(const json& lease, Time start) {
  std::string now = FormatRfc3339Micros(start);
  json next = lease;
  json& spec = next["spec"];
  if (observed_.holder != config_.identity) {
    spec["acquireTime"] = now;
    spec["leaseTransitions"] = observed_.transitions + 1;
  }
  spec["holderIdentity"] = config_.identity;
  spec["leaseDurationSeconds"] = CeilSeconds(config_.lease_duration);
  spec["renewTime"] = now;
  Send({.method = "PUT",
        .path = ObjectPath(kLeases, config_.lease_namespace, config_.lease_name),
        .body = next.dump()},
       [this, start](ApiResult r) {
         if (r.IsConflict()) {
           logger_->Debug("leader election: the lease changed under us", Fields());
           return Finish(Attempt::kConflict);
         }
         OnWritten(start, std::move(r), "writing");
       });
}

void LeaderElector::OnWritten(Time start, ApiResult r, const char* what) {
  if (!r.ok()) {
    logger_->Warn(std::string("leader election: ") + what + " the lease failed",
                  Fields({"error", r.status.ToString()}));
    return Finish(Attempt::kFailed);
  }
  last_renew_ns_.store(start.time_since_epoch().count());
  Observe(r.object);
  Finish(Attempt::kHeld);
}

void LeaderElector::Finish(Attempt a) {
  attempt_in_flight_ = false;
  if (phase_ == Phase::kStopping) return Release();
  if (phase_ != Phase::kRunning) return;
  if (leading_.load()) return AfterAttemptWhileLeading(a);
  if (a == Attempt::kHeld) {
    BecomeLeader();
    return ArmTimer(UntilNextRenew(), &LeaderElector::OnLeadingTimer);
  }
  ArmTimer(JitteredRetry(), &LeaderElector::StartAttempt);
}

void LeaderElector::AfterAttemptWhileLeading(Attempt a) {
  if (a != Attempt::kHeld) {
    renew_failures_.fetch_add(1);
    if (a == Attempt::kHeldByOther) {
      StopLeading("the lease is held by " + Leader());
      return ArmTimer(JitteredRetry(), &LeaderElector::StartAttempt);
    }
  }
  ArmTimer(UntilNextRenew(), &LeaderElector::OnLeadingTimer);
}

// Fires every retry period while leading, and at the renew deadline itself
// when that comes first, so that on_stopped_leading is not late.
void LeaderElector::OnLeadingTimer() {
  timer_ = EventLoop::kNoTimer;
  if (RenewExpired()) {
    StopLeading("no successful renew within --renew-deadline");
    if (!attempt_in_flight_) StartAttempt();  // as a follower, at once
    return;
  }
  // Armed while the renew is in flight too, so the deadline is kept even
  // if the request hangs.
  if (!attempt_in_flight_) StartAttempt();
  ArmTimer(UntilNextRenew(), &LeaderElector::OnLeadingTimer);
}

Duration LeaderElector::UntilNextRenew() const {
  Time deadline = Time(Duration(last_renew_ns_.load())) + config_.renew_deadline;
  return std::max(std::min(config_.retry_period, deadline - clock_.Now()), Duration::zero());
}

void LeaderElector::ArmTimer(Duration delay, void (LeaderElector::*step)()) {
  loop_.Cancel(timer_);
  timer_ = loop_.PostAfter(delay, [this, step] {
    timer_ = EventLoop::kNoTimer;
    (this->*step)();
  });
}

// The answer is posted back to the loop; the request timeout is a loop
// timer, so a hung request costs at most that long (the HTTP timeout is the
// same, so the connection does not linger either).
void LeaderElector::Send(ApiRequest request, Then then) {
  const Duration timeout = RequestTimeout();
  request.timeout =
      std::max(std::chrono::ceil<std::chrono::milliseconds>(timeout), std::chrono::milliseconds(1));
  request.priority = RequestPriority::kLease;
  const uint64_t seq = ++request_seq_;
  pending_ = std::move(then);
  std::string what = request.method + " " + request.path;
  request_timer_ = loop_.PostAfter(timeout, [this, seq, what, timeout] {
    request_timer_ = EventLoop::kNoTimer;
    OnAnswer(seq, {DeadlineExceeded(what + ": no answer within " + FormatDuration(timeout))});
  });
  api_.Call(std::move(request), [this, seq](ApiResult r) {
    loop_.Post([this, seq, r = std::move(r)]() mutable { OnAnswer(seq, std::move(r)); });
  });
}

void LeaderElector::OnAnswer(uint64_t seq, ApiResult r) {
  if (seq != request_seq_ || !pending_) return;  // late: its attempt already failed
  loop_.Cancel(std::exchange(request_timer_, EventLoop::kNoTimer));
  Then then = std::exchange(pending_, nullptr);
  then(std::move(r));
}

void LeaderElector::Observe(const json& lease) {
  const json& spec = lease.value("spec", json::object());
  LeaseRecord record{
      .holder = SpecValue<std::string>(spec, "holderIdentity", ""),
      .lease_duration_seconds = SpecValue<int64_t>(spec, "leaseDurationSeconds", 0),
      .acquire_time = SpecValue<std::string>(spec, "acquireTime", ""),
      .renew_time = SpecValue<std::string>(spec, "renewTime", ""),
      .transitions = SpecValue<int64_t>(spec, "leaseTransitions", 0),
  };
  std::string version = MetaString(lease, "resourceVersion");
  observed_lease_ = lease;
  if (have_observed_ && record == observed_ && version == observed_version_) return;
  // Taken after the answer arrived: the later, the longer followers wait.
  observed_at_ = clock_.Now();
  bool first = !have_observed_;
  have_observed_ = true;
  observed_version_ = version;
  std::string previous = observed_.holder;
  observed_ = std::move(record);
  if (first || previous != observed_.holder) NoteHolder(observed_.holder);
  if (!first && previous != observed_.holder) transitions_.fetch_add(1);
}

void LeaderElector::NoteHolder(const std::string& holder) {
  {
    std::lock_guard lock(mu_);
    leader_ = holder;
  }
  if (holder.empty()) return;
  logger_->Info("new leader observed", Fields({"leader", holder}));
  if (callbacks_.on_new_leader) callbacks_.on_new_leader(holder);
}

// Live: held by another identity and not yet expired, where expiry counts
// from when this process saw the record change, never from renewTime.
bool LeaderElector::HeldByLiveOther() const {
  if (observed_.holder.empty() || observed_.holder == config_.identity) return false;
  Time expiry = observed_at_ + std::chrono::seconds(observed_.lease_duration_seconds);
  return clock_.Now() < expiry;
}

void LeaderElector::BecomeLeader() {
  leading_.store(true);
  logger_->Info("became leader", Fields());
  if (callbacks_.on_started_leading) callbacks_.on_started_leading();
}

void LeaderElector::StopLeading(const std::string& why) {
  if (!leading_.exchange(false)) return;
  logger_->Info("stopped leading", Fields({"reason", why}));
  if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
}

void LeaderElector::BeginStop(std::function<void()> done) {
  if (phase_ == Phase::kStopping || phase_ == Phase::kStopped) {
    // A second Stop: runs when the first completes (or at once).
    if (phase_ == Phase::kStopped) {
      if (done) done();
      return;
    }
    auto first = std::move(stop_done_);
    stop_done_ = [first = std::move(first), done = std::move(done)] {
      if (first) first();
      if (done) done();
    };
    return;
  }
  const bool started = phase_ == Phase::kRunning;
  phase_ = Phase::kStopping;
  stop_done_ = std::move(done);
  loop_.Cancel(std::exchange(timer_, EventLoop::kNoTimer));
  StopLeading("shutting down");
  if (!started || !attempt_in_flight_) Release();  // else Finish releases
}

// After StopLeading, so that work has stopped before a successor may start.
void LeaderElector::Release() {
  if (!have_observed_ || observed_.holder != config_.identity) return Stopped();
  std::string now = FormatRfc3339Micros(clock_.Now());
  json next = observed_lease_;
  json& spec = next["spec"];
  spec["holderIdentity"] = "";
  spec["leaseDurationSeconds"] = kReleasedLeaseSeconds;
  spec["acquireTime"] = now;
  spec["renewTime"] = now;
  Send({.method = "PUT",
        .path = ObjectPath(kLeases, config_.lease_namespace, config_.lease_name),
        .body = next.dump()},
       [this](ApiResult r) {
         if (!r.ok()) {
           logger_->Warn("leader election: releasing the lease failed",
                         Fields({"error", r.status.ToString()}));
         } else {
           Observe(r.object);
           logger_->Info("released the lease", Fields());
         }
         Stopped();
       });
}

void LeaderElector::Stopped() {
  phase_ = Phase::kStopped;
  if (auto done = std::exchange(stop_done_, nullptr)) done();
}

bool LeaderElector::RenewExpired() const {
  Time last_renew{Duration(last_renew_ns_.load())};
  return clock_.Now() - last_renew >= config_.renew_deadline;
}

Duration LeaderElector::JitteredRetry() {
  double r = std::clamp(random_(), 0.0, 1.0);
  return std::chrono::duration_cast<Duration>(config_.retry_period * (1.0 + (kJitterFactor - 1.0) * r));
}

Duration LeaderElector::RequestTimeout() const {
  if (config_.request_timeout > Duration::zero()) return config_.request_timeout;
  return config_.renew_deadline / 2;
}

LogFields LeaderElector::Fields(std::pair<std::string, std::string> extra) const {
  LogFields f = {{"lease", config_.lease_namespace + "/" + config_.lease_name},
                 {"identity", config_.identity}};
  if (!extra.first.empty()) f.push_back(std::move(extra));
  return f;
}

}  // namespace ebb::kube
