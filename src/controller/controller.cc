// Controller: construction, registration (Update) and the Run loop. Polling
// is in controller_poll.cc, deciding and applying in controller_decide.cc.
#include "controller/controller.h"

#include <algorithm>
#include <random>
#include <unordered_set>
#include <utility>

#include "api/manifest_set.h"
#include "controller/spec_fingerprint.h"
#include "scaling/validate.h"

namespace ebb::controller {
namespace {

class NullStatusSink final : public StatusSink {
 public:
  void Publish(const ObjectRef&, const ObjectStatus&) override {}
};

// The longest the Run loop sleeps without a due time: Update and answers
// wake it earlier anyway.
constexpr Duration kIdleWait = std::chrono::seconds(1);

// KEDA's reason for a ScaledObject that fails validation.
constexpr char kReasonCheckFailed[] = "ScaledObjectCheckFailed";

}  // namespace

Controller::Controller(ControllerOptions options, const Clock& clock, http::HttpClient& http,
                       targets::ScaleTargetResolver& resolver, TriggerEnvironment env,
                       ControllerObserver* observer, StatusSink* status_sink, Logger* logger)
    : options_(std::move(options)),
      clock_(clock),
      http_(http),
      resolver_(resolver),
      env_(std::move(env)),
      observer_(observer),
      status_sink_(status_sink),
      logger_(logger),
      loop_(std::make_shared<EventLoop>(clock)) {
  if (!observer_) observer_ = (own_observer_ = std::make_unique<ControllerObserver>()).get();
  if (!status_sink_) status_sink_ = (own_status_sink_ = std::make_unique<NullStatusSink>()).get();
  if (!logger_) {
    own_logger_ = std::make_unique<Logger>();
    own_logger_->SetSink([](std::string_view) {});
    logger_ = own_logger_.get();
  }
  jitter_ = options_.jitter;
}

Controller::~Controller() { loop_->Stop(); }

void Controller::Update(std::vector<api::ScaledObject> objects,
                        std::shared_ptr<const api::ObjectLookup> lookup, const api::Problems& invalid) {
  std::unordered_map<std::string, api::Problem> invalid_by_key;
  for (const api::Problem& p : invalid) {
    if (p.kind == "ScaledObject" && !p.object.empty()) invalid_by_key.try_emplace(p.object, p);
  }
  // The engine's preconditions are checked here too, so that a caller that
  // skipped validation (or an API server object) cannot reach Decide.
  for (const api::ScaledObject& so : objects) {
    Status valid = scaling::ValidateForEngine(so);
    if (valid.ok()) continue;
    const std::string key = so.metadata.Key();
    invalid_by_key.try_emplace(key, so.source.At("ScaledObject", key, "", valid.message()));
  }
  if (!lookup) lookup = std::make_shared<const api::ManifestSet>();
  std::unordered_set<std::string> present;
  for (const api::ScaledObject& so : objects) {
    const std::string key = so.metadata.Key();
    if (invalid_by_key.contains(key) || !present.insert(key).second) continue;
    Register(so, *lookup);
  }
  for (const auto& [key, problem] : invalid_by_key) {
    present.insert(key);
    MarkInvalid(key, problem);
  }
  std::vector<std::string> gone;
  for (const auto& [key, o] : objects_) {
    if (!present.contains(key)) gone.push_back(key);
  }
  for (const std::string& key : gone) Remove(key);
  lookup_ = std::move(lookup);
}

void Controller::PostUpdate(std::vector<api::ScaledObject> objects,
                            std::shared_ptr<const api::ObjectLookup> lookup, api::Problems invalid) {
  // std::function needs a copyable closure: share the payload.
  auto payload = std::make_shared<std::tuple<std::vector<api::ScaledObject>,
                                             std::shared_ptr<const api::ObjectLookup>, api::Problems>>(
      std::move(objects), std::move(lookup), std::move(invalid));
  loop_->Post([this, payload] {
    auto& [o, l, i] = *payload;
    Update(std::move(o), std::move(l), i);
  });
}

std::vector<Result<BuiltTrigger>> Controller::BuildTriggers(const api::ScaledObject& so,
                                                            const api::ObjectLookup& lookup) {
  std::vector<Result<BuiltTrigger>> built;
  built.reserve(so.spec.triggers.size());
  for (size_t i = 0; i < so.spec.triggers.size(); ++i) built.push_back(BuildTrigger(so, i, lookup, env_));
  return built;
}

namespace {

// What objects whose polls could share requests have in common: every
// trigger's coalescing key (at a fixed time) and the interval.
std::string PhaseKey(const ManagedObject& o) {
  std::string key = std::to_string(o.interval.count());
  for (const Result<BuiltTrigger>& t : o.triggers) {
    key += '\n';
    if (t.ok() && t->prometheus) key += t->prometheus->CoalescingKey(Time{});
  }
  return key;
}

// The first slot at or after `now` on the grid {phase + k * interval}.
Time NextOnGrid(Time now, Duration interval, double phase) {
  const int64_t step = interval.count();
  const int64_t offset = static_cast<int64_t>(phase * static_cast<double>(step));
  const int64_t since = now.time_since_epoch().count() - offset;
  const int64_t k = since <= 0 ? 0 : (since + step - 1) / step;
  return Time(Duration(offset + k * step));
}

}  // namespace

Time Controller::FirstPoll(const ManagedObject& o) {
  if (options_.jitter) {
    const double j = std::clamp(jitter_(), 0.0, 1.0);
    return clock_.Now() + std::chrono::duration_cast<Duration>(o.interval * j);
  }
  const uint64_t h = std::hash<std::string>{}(PhaseKey(o));
  const double phase = static_cast<double>(h >> 11) / static_cast<double>(uint64_t{1} << 53);
  return NextOnGrid(clock_.Now(), o.interval, phase);
}

void Controller::Register(const api::ScaledObject& so, const api::ObjectLookup& lookup) {
  const std::string key = so.metadata.Key();
  auto it = objects_.find(key);
  if (it != objects_.end()) return Reconfigure(it->second, so, lookup);
  ManagedObject o;
  o.key = key;
  o.ref = ObjectRef{so.metadata.namespace_name, so.metadata.name};
  o.so = so;
  o.fingerprint = SpecFingerprint(so);
  o.triggers = BuildTriggers(so, lookup);
  o.created = so.metadata.creation_timestamp.value_or(clock_.Now());
  o.interval = std::chrono::seconds(std::max(so.spec.polling_interval, 1));
  // Carry on from the status a previous controller (another leader, a
  // restart, KEDA) left: the cooldown counts from its lastActiveTime.
  o.engine.last_active_time = so.status.last_active_time;
  o.engine.original_replica_count = so.status.original_replica_count;
  polls_.Schedule(key, FirstPoll(o));
  observer_->OnObjectRegistered(o.ref);
  logger_->Info("registered", {{"scaledObject", key}, {"pollingInterval", std::to_string(so.spec.polling_interval)}});
  objects_.emplace(key, std::move(o));
}

void Controller::Reconfigure(ManagedObject& o, const api::ScaledObject& so, const api::ObjectLookup& lookup) {
  const bool was_invalid = std::exchange(o.invalid, false);
  o.invalid_message.clear();
  std::string fingerprint = SpecFingerprint(so);
  const bool edited = fingerprint != o.fingerprint;
  if (edited) {
    DropPoll(o);
    if (so.spec.triggers.size() != o.so.spec.triggers.size()) o.engine.consecutive_failures.clear();
    o.so = so;
    o.fingerprint = std::move(fingerprint);
    o.target = nullptr;  // scaleTargetRef may name another target
    logger_->Info("reconfigured", {{"scaledObject", o.key}});
  }
  o.triggers = BuildTriggers(o.so, lookup);
  const Duration interval = std::chrono::seconds(std::max(so.spec.polling_interval, 1));
  if (was_invalid || interval != o.interval || !polls_.DueOf(o.key)) {
    o.interval = interval;
    polls_.Schedule(o.key, FirstPoll(o));
  }
}

void Controller::MarkInvalid(const std::string& key, const api::Problem& problem) {
  auto [it, inserted] = objects_.try_emplace(key);
  ManagedObject& o = it->second;
  if (inserted) {
    o.key = key;
    o.ref = RefFromKey(key);
    o.so.metadata.namespace_name = o.ref.namespace_name;
    o.so.metadata.name = o.ref.name;
    o.created = clock_.Now();
    observer_->OnObjectRegistered(o.ref);
  }
  polls_.Cancel(key);
  DropPoll(o);
  // The spec is forgotten so that the same spec, once valid again, counts
  // as an edit and gets fresh triggers and target.
  o.fingerprint.clear();
  const std::string message = problem.ToString();
  if (o.invalid && o.invalid_message == message) return;
  o.invalid = true;
  o.invalid_message = message;
  ReportError(o, InvalidConfig(message), kReasonCheckFailed);
}

void Controller::Remove(const std::string& key) {
  auto it = objects_.find(key);
  if (it == objects_.end()) return;
  ManagedObject& o = it->second;
  polls_.Cancel(key);
  DropPoll(o);
  if (options_.restore_on_remove && !o.invalid && o.so.spec.advanced.restore_to_original_replica_count) {
    RestoreOriginal(o);
  }
  observer_->OnObjectRemoved(o.ref);
  logger_->Info("unregistered", {{"scaledObject", key}});
  objects_.erase(it);
}

void Controller::RestoreOriginal(ManagedObject& o) {
  const std::optional<int32_t> original = o.engine.original_replica_count;
  if (!original || options_.dry_run || cancelled_ || !EnsureTarget(o)) return;
  logger_->Info("restoring original replicas", {{"scaledObject", o.key}, {"to", std::to_string(*original)}});
  // Fire and forget: the object is gone, the result is only logged.
  o.target->SetReplicas(*original, [loop = loop_, logger = logger_, key = o.key](Status s) {
    if (s.ok()) return;
    loop->Post([logger, key, s] { logger->Warn("restore failed", {{"scaledObject", key}, {"error", s.ToString()}}); });
  });
}

void Controller::DropPoll(ManagedObject& o) {
  o.poll.reset();
  deadlines_.Cancel(o.key);
}

std::optional<Time> Controller::NextDue() {
  std::optional<Time> poll = shutting_down_ ? std::nullopt : polls_.NextDue();
  std::optional<Time> deadline = deadlines_.NextDue();
  if (!poll) return deadline;
  if (!deadline) return poll;
  return std::min(*poll, *deadline);
}

void Controller::Run(std::stop_token stop) {
  std::stop_callback wake(stop, [loop = loop_] { loop->Interrupt(); });
  while (!stop.stop_requested()) {
    RunDue(clock_.Now());
    DrainResults();
    const std::optional<Time> next = NextDue();
    const Duration wait = next ? std::min<Duration>(*next - clock_.Now(), kIdleWait) : kIdleWait;
    if (wait > Duration::zero() && !stop.stop_requested()) loop_->WaitForWork(wait);
  }
  BeginShutdown();
  const Time limit = clock_.Now() + options_.shutdown_grace;
  for (DrainResults(); InFlight() > 0 && clock_.Now() < limit; DrainResults()) {
    RunDue(clock_.Now());
    loop_->WaitForWork(std::min<Duration>(limit - clock_.Now(), kIdleWait));
  }
  const int dropped = CancelInFlight();
  logger_->Info("controller stopped", {{"cancelledPolls", std::to_string(dropped)}});
}

void Controller::BeginShutdown() { shutting_down_ = true; }

int Controller::CancelInFlight() {
  shutting_down_ = true;
  cancelled_ = true;
  int dropped = 0;
  for (auto& [key, o] : objects_) {
    if (o.poll) ++dropped;
    DropPoll(o);
  }
  loop_->Stop();
  return dropped;
}

int Controller::InFlight() const {
  return static_cast<int>(std::count_if(objects_.begin(), objects_.end(),
                                        [](const auto& kv) { return kv.second.poll.has_value(); }));
}

std::vector<ObjectSnapshot> Controller::Snapshot() const {
  std::vector<ObjectSnapshot> out;
  out.reserve(objects_.size());
  for (const auto& [key, o] : objects_) {
    out.push_back(ObjectSnapshot{o.ref, o.status, o.status_published, o.replicas,
                                 shutting_down_ ? std::nullopt : polls_.DueOf(key), o.poll.has_value(),
                                 o.invalid, o.last_error, o.polls, o.skipped_polls});
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectSnapshot& a, const ObjectSnapshot& b) { return KeyOf(a.ref) < KeyOf(b.ref); });
  return out;
}

}  // namespace ebb::controller
