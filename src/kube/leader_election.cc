#include "kube/leader_election.h"

#include <algorithm>
#include <cassert>
#include <future>
#include <memory>

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

LeaderElector::LeaderElector(RestClient& client, const Clock& clock, LeaderElectionConfig config,
                             LeaderCallbacks callbacks, Logger* logger)
    : client_(client),
      clock_(clock),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      logger_(logger != nullptr ? logger : &Logger::Default()),
      rng_(std::random_device{}()) {
  assert(ValidateLeaderElection(config_).ok() && "LeaderElectionConfig not validated");
}

void LeaderElector::Run(std::stop_token stop) {
  while (Acquire(stop)) RenewWhileLeading(stop);
  StopLeading("shutting down");
  Release();
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

// client-go's acquire loop: the first attempt at once, then one every
// jittered retry period, so that followers restarted together spread out.
bool LeaderElector::Acquire(std::stop_token stop) {
  while (!stop.stop_requested()) {
    if (TryAcquireOrRenew(clock_.Now()) == Attempt::kHeld) {
      BecomeLeader();
      return true;
    }
    if (!Sleep(stop, JitteredRetry())) return false;
  }
  return false;
}

void LeaderElector::RenewWhileLeading(std::stop_token stop) {
  while (leading_.load()) {
    // Wake at the deadline itself when it comes before the next period, so
    // that on_stopped_leading is not late.
    Time deadline = Time(Duration(last_renew_ns_.load())) + config_.renew_deadline;
    Duration wait = std::min(config_.retry_period, deadline - clock_.Now());
    if (!Sleep(stop, std::max(wait, Duration::zero()))) return;
    if (RenewExpired()) return StopLeading("no successful renew within --renew-deadline");
    Attempt a = TryAcquireOrRenew(clock_.Now());
    if (a == Attempt::kHeld) continue;
    renew_failures_.fetch_add(1);
    if (a == Attempt::kHeldByOther) return StopLeading("the lease is held by " + Leader());
    if (RenewExpired()) return StopLeading("no successful renew within --renew-deadline");
  }
}

LeaderElector::Attempt LeaderElector::TryAcquireOrRenew(Time start) {
  ApiResult got = Call({.path = ObjectPath(kLeases, config_.lease_namespace, config_.lease_name)});
  if (got.IsNotFound()) return CreateLease(start);
  if (!got.ok()) {
    logger_->Warn("leader election: reading the lease failed",
                  Fields({"error", got.status.ToString()}));
    return Attempt::kFailed;
  }
  Observe(got.object);
  if (HeldByLiveOther()) return Attempt::kHeldByOther;
  return WriteLease(got.object, start);
}

LeaderElector::Attempt LeaderElector::CreateLease(Time start) {
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
  ApiResult r = Call({.method = "POST",
                      .path = CollectionPath(kLeases, config_.lease_namespace),
                      .body = lease.dump()});
  if (r.IsAlreadyExists()) return Attempt::kConflict;  // another process created it first
  if (!r.ok()) {
    logger_->Warn("leader election: creating the lease failed",
                  Fields({"error", r.status.ToString()}));
    return Attempt::kFailed;
  }
  last_renew_ns_.store(start.time_since_epoch().count());
  Observe(r.object);
  return Attempt::kHeld;
}

// `lease` is the object just read: its resourceVersion makes the PUT
// conditional, so of two processes that saw the same expired lease only
// one wins.
LeaderElector::Attempt LeaderElector::WriteLease(const json& lease, Time start) {
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
  ApiResult r = Call({.method = "PUT",
                      .path = ObjectPath(kLeases, config_.lease_namespace, config_.lease_name),
                      .body = next.dump()});
  if (r.IsConflict()) {
    logger_->Debug("leader election: the lease changed under us", Fields());
    return Attempt::kConflict;
  }
  if (!r.ok()) {
    logger_->Warn("leader election: writing the lease failed",
                  Fields({"error", r.status.ToString()}));
    return Attempt::kFailed;
  }
  last_renew_ns_.store(start.time_since_epoch().count());
  Observe(r.object);
  return Attempt::kHeld;
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

// Waits at most the request timeout even when the client retries (Retry-
// After) or rate-limits: a late answer is dropped, which errs the safe way
// (a renew that may have landed counts as failed).
ApiResult LeaderElector::Call(ApiRequest request) {
  Duration timeout = RequestTimeout();
  request.timeout =
      std::max(std::chrono::ceil<std::chrono::milliseconds>(timeout), std::chrono::milliseconds(1));
  std::string what = request.method + " " + request.path;
  auto promise = std::make_shared<std::promise<ApiResult>>();
  std::future<ApiResult> answer = promise->get_future();
  client_.Call(std::move(request), [promise](ApiResult r) { promise->set_value(std::move(r)); });
  if (answer.wait_for(timeout) == std::future_status::ready) return answer.get();
  return {DeadlineExceeded(what + ": no answer within " + FormatDuration(timeout))};
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

// After StopLeading, so that work has stopped before a successor may start.
void LeaderElector::Release() {
  if (!have_observed_ || observed_.holder != config_.identity) return;
  std::string now = FormatRfc3339Micros(clock_.Now());
  json next = observed_lease_;
  json& spec = next["spec"];
  spec["holderIdentity"] = "";
  spec["leaseDurationSeconds"] = kReleasedLeaseSeconds;
  spec["acquireTime"] = now;
  spec["renewTime"] = now;
  ApiResult r = Call({.method = "PUT",
                      .path = ObjectPath(kLeases, config_.lease_namespace, config_.lease_name),
                      .body = next.dump()});
  if (!r.ok()) {
    logger_->Warn("leader election: releasing the lease failed",
                  Fields({"error", r.status.ToString()}));
    return;
  }
  Observe(r.object);
  logger_->Info("released the lease", Fields());
}

bool LeaderElector::RenewExpired() const {
  Time last_renew{Duration(last_renew_ns_.load())};
  return clock_.Now() - last_renew >= config_.renew_deadline;
}

bool LeaderElector::Sleep(std::stop_token stop, Duration d) {
  std::unique_lock lock(sleep_mu_);
  sleep_cv_.wait_for(lock, stop, d, [] { return false; });
  return !stop.stop_requested();
}

Duration LeaderElector::JitteredRetry() {
  std::uniform_real_distribution<double> factor(1.0, kJitterFactor);
  return std::chrono::duration_cast<Duration>(config_.retry_period * factor(rng_));
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
