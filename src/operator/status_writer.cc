#include "operator/status_writer.h"

#include <algorithm>
#include <condition_variable>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "kube/events.h"
#include "operator/keda_status.h"

namespace ebb::op {

using controller::ObjectRef;
using controller::ObjectStatus;
using nlohmann::json;

namespace {

// One (type, reason, message) of one object, as client-go's aggregator
// keeps it.
struct EventEntry {
  uint64_t id = 0;
  std::string type, reason, message;
  std::string name;         // the Event's metadata.name
  Time first{};             // when the Event was created: the window starts here
  Time last_sent{};         // the last create or count bump sent
  int32_t count = 1;        // occurrences so far
  bool in_flight = false;   // a create or patch not answered yet
};

struct ObjectState {
  ObjectRef ref;
  uint64_t id = 0;                      // tells a re-created state from a forgotten one
  std::optional<json> desired;          // the latest status published, as KEDA's JSON
  bool dirty = false;                   // `desired` not sent yet
  bool busy = false;                    // a write in flight or a retry timer pending
  json written;                         // the status last written (or adopted); null: unknown
  int write_failures = 0;               // consecutive retryable failures (backoff)
  std::list<EventEntry> events;         // most recently seen first
};

// A status write taken out of the lock, to be sent.
struct WriteJob {
  ObjectRef ref;
  uint64_t id = 0;
  json body;     // the status to write
  json written;  // the status last written, for the nulls of the merge patch
};

// An event create or patch taken out of the lock.
struct EventJob {
  std::string key;
  uint64_t object_id = 0;
  uint64_t entry_id = 0;
  std::string ns;
  std::string name;  // the Event's name
  json body;         // the Event (create) or the patch
  bool create = false;
};

std::string Seconds(Time t) { return FormatRfc3339(std::chrono::floor<std::chrono::seconds>(t)); }

}  // namespace

struct KubeStatusWriter::Core : std::enable_shared_from_this<Core> {
  Core(kube::RestClient& c, const Clock& k, MayWrite m, UidOf u, StatusWriterOptions o)
      : client(c),
        clock(k),
        may_write(std::move(m)),
        uid_of(std::move(u)),
        options(std::move(o)),
        backoff_policy(options.backoff),
        logger(options.logger ? *options.logger : Logger::Default()) {}

  bool Allowed() const { return !may_write || may_write(); }

  // Held by every answer and timer callback while it runs. The destructor
  // waits until none is held, so no callback calls may_write, resource_of,
  // the client or the logger after the writer is gone.
  class Guard {
   public:
    explicit Guard(Core& core) : core_(core) {
      std::lock_guard<std::mutex> lock(core_.mu);
      open_ = !core_.closed;
      if (open_) ++core_.callbacks_running;
    }
    ~Guard() {
      if (!open_) return;
      std::lock_guard<std::mutex> lock(core_.mu);
      if (--core_.callbacks_running == 0) core_.idle.notify_all();
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    bool open() const { return open_; }

   private:
    Core& core_;
    bool open_ = false;
  };
  ObjectState& StateFor(const ObjectRef& ref);          // REQUIRES: mu
  ObjectState* Find(const std::string& key, uint64_t id);  // REQUIRES: mu
  std::optional<WriteJob> TakeWrite(ObjectState& st);   // REQUIRES: mu

  // Status writes.
  void Send(WriteJob job);
  void OnWritten(const std::string& key, uint64_t id, json body, const kube::ApiResult& r);
  void OnFailed(ObjectState& st, const kube::ApiResult& r);  // REQUIRES: mu
  void ScheduleRetry(const std::string& key, uint64_t id, Duration delay);
  void OnRetry(const std::string& key, uint64_t id);
  std::string ResourceOf(const std::string& scale_target_kind);

  // Events.
  std::optional<EventJob> TakeEvent(ObjectState& st, const std::string& type, const std::string& reason,
                                    const std::string& message, const std::string& uid);  // REQUIRES: mu
  EventJob CreateJob(ObjectState& st, EventEntry& e, const std::string& uid, Time now);  // REQUIRES: mu
  EventJob PatchJob(ObjectState& st, EventEntry& e, Time now);                            // REQUIRES: mu
  void SendEvent(EventJob job);
  void OnEventAnswer(const EventJob& job, const kube::ApiResult& r);

  kube::RestClient& client;
  const Clock& clock;
  const MayWrite may_write;
  const UidOf uid_of;
  const StatusWriterOptions options;
  const BackoffPolicy backoff_policy;
  Logger& logger;

  mutable std::mutex mu;
  std::condition_variable idle;                          // callbacks_running fell to 0
  bool closed = false;                                   // guarded by mu
  int callbacks_running = 0;                             // guarded by mu
  std::unordered_map<std::string, ObjectState> objects;  // guarded by mu; by "ns/name"
  StatusWriterCounters counters;                         // guarded by mu
  uint64_t next_id = 1;                                  // guarded by mu
  bool forbidden_logged = false;                         // guarded by mu
  Time last_event_stamp{};                               // guarded by mu
  std::unordered_map<std::string, std::string> resources;  // guarded by mu; by scaleTargetKind
};

// ---- state ----

ObjectState& KubeStatusWriter::Core::StateFor(const ObjectRef& ref) {
  auto [it, inserted] = objects.try_emplace(controller::KeyOf(ref));
  if (inserted) {
    it->second.ref = ref;
    it->second.id = next_id++;
  }
  return it->second;
}

ObjectState* KubeStatusWriter::Core::Find(const std::string& key, uint64_t id) {
  if (closed) return nullptr;
  auto it = objects.find(key);
  if (it == objects.end() || it->second.id != id) return nullptr;
  return &it->second;
}

std::optional<WriteJob> KubeStatusWriter::Core::TakeWrite(ObjectState& st) {
  if (st.busy || !st.dirty || !st.desired) return std::nullopt;
  st.busy = true;
  st.dirty = false;
  return WriteJob{st.ref, st.id, *st.desired, st.written};
}

// ---- status writes ----

// Called on the publishing thread only: resource_of may block on discovery
// (a synchronous request), which must never happen on the HTTP I/O thread.
// Answers are cached, since they change only with the cluster's API.
std::string KubeStatusWriter::Core::ResourceOf(const std::string& scale_target_kind) {
  if (!options.resource_of) return "";
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = resources.find(scale_target_kind);
    if (it != resources.end()) return it->second;
  }
  const size_t dot = scale_target_kind.rfind('.');
  if (dot == std::string::npos) return "";
  std::string resource =
      options.resource_of(scale_target_kind.substr(0, dot), scale_target_kind.substr(dot + 1));
  std::lock_guard<std::mutex> lock(mu);
  if (!resource.empty()) resources[scale_target_kind] = resource;  // empty: ask again next time
  return resource;
}

void KubeStatusWriter::Core::Send(WriteJob job) {
  json patch = {{"status", StatusMergePatch(job.written, job.body)}};
  std::string key = controller::KeyOf(job.ref);
  client.MergePatch(options.scaled_objects, job.ref.namespace_name, job.ref.name, patch, "status",
                    [core = shared_from_this(), key, id = job.id, body = std::move(job.body)](
                        kube::ApiResult r) mutable { core->OnWritten(key, id, std::move(body), r); });
}

void KubeStatusWriter::Core::OnWritten(const std::string& key, uint64_t id, json body,
                                       const kube::ApiResult& r) {
  Guard guard(*this);
  if (!guard.open()) return;
  const bool allowed = Allowed();
  std::optional<WriteJob> next;
  {
    std::lock_guard<std::mutex> lock(mu);
    ObjectState* st = Find(key, id);
    if (st == nullptr) return;  // forgotten, or the writer is gone
    if (!r.ok()) return OnFailed(*st, r);
    ++counters.status_writes;
    st->written = std::move(body);
    st->write_failures = 0;
    st->busy = false;
    if (allowed) next = TakeWrite(*st);
  }
  if (next) Send(std::move(*next));
}

void KubeStatusWriter::Core::OnFailed(ObjectState& st, const kube::ApiResult& r) {
  ++counters.status_failed;
  if (IsRetryable(r.status.code())) {
    // The latest status goes out after the backoff, whether or not a newer
    // one arrived meanwhile.
    st.dirty = true;
    const Duration delay = backoff_policy.Delay(++st.write_failures);
    ++counters.status_retries;
    // The timer loop never runs a task on the calling thread (a stopped one
    // drops it), so the lock held here cannot deadlock.
    return ScheduleRetry(controller::KeyOf(st.ref), st.id, delay);
  }
  ++counters.status_dropped;
  st.busy = false;
  st.write_failures = 0;
  const std::string key = controller::KeyOf(st.ref);
  if (r.IsNotFound()) {
    // Deleted: nothing to write to. A newer Publish starts again.
    st.desired.reset();
    st.dirty = false;
    st.written = nullptr;
    return;
  }
  if (r.IsForbidden()) {
    if (forbidden_logged) return;
    forbidden_logged = true;
    logger.Error("cannot write ScaledObject status; grant RBAC verb \"patch\" on \"" +
                     options.scaled_objects.resource + "/status\" in API group \"" +
                     options.scaled_objects.group + "\"",
                 {{"scaledObject", key}, {"error", r.status.message()}});
    return;
  }
  logger.Warn("writing ScaledObject status failed", {{"scaledObject", key}, {"error", r.status.message()}});
}

void KubeStatusWriter::Core::ScheduleRetry(const std::string& key, uint64_t id, Duration delay) {
  client.timers().PostAfter(delay, [core = shared_from_this(), key, id] { core->OnRetry(key, id); });
}

void KubeStatusWriter::Core::OnRetry(const std::string& key, uint64_t id) {
  Guard guard(*this);
  if (!guard.open()) return;
  const bool allowed = Allowed();
  std::optional<WriteJob> next;
  {
    std::lock_guard<std::mutex> lock(mu);
    ObjectState* st = Find(key, id);
    if (st == nullptr) return;
    st->busy = false;
    // Not leader any more: the status stays dirty for Flush().
    if (allowed) next = TakeWrite(*st);
  }
  if (next) Send(std::move(*next));
}

// ---- events ----

std::optional<EventJob> KubeStatusWriter::Core::TakeEvent(ObjectState& st, const std::string& type,
                                                          const std::string& reason,
                                                          const std::string& message,
                                                          const std::string& uid) {
  const Time now = clock.Now();
  auto it = std::find_if(st.events.begin(), st.events.end(), [&](const EventEntry& e) {
    return e.type == type && e.reason == reason && e.message == message;
  });
  if (it != st.events.end() && now - it->first <= options.event_window) {
    st.events.splice(st.events.begin(), st.events, it);  // most recently seen first
    EventEntry& e = st.events.front();
    ++e.count;
    if (e.in_flight || now - e.last_sent < options.event_patch_interval) {
      ++counters.events_suppressed;
      return std::nullopt;
    }
    return PatchJob(st, e, now);
  }
  if (it != st.events.end()) st.events.erase(it);  // past the window: a new Event
  EventEntry entry;
  entry.id = next_id++;
  entry.type = type;
  entry.reason = reason;
  entry.message = message;
  st.events.push_front(std::move(entry));
  while (st.events.size() > std::max<size_t>(options.events_per_object, 1)) st.events.pop_back();
  return CreateJob(st, st.events.front(), uid, now);
}

EventJob KubeStatusWriter::Core::CreateJob(ObjectState& st, EventEntry& e, const std::string& uid,
                                           Time now) {
  // Event names carry the creation time in nanoseconds; two Events of one
  // object created at the same instant (a simulated clock) must not clash.
  const Time stamp = std::max(now, last_event_stamp + Duration(1));
  last_event_stamp = stamp;
  kube::ObjectReference about{options.scaled_objects.ApiVersion(), "ScaledObject",
                              st.ref.namespace_name, st.ref.name, uid};
  json event = kube::BuildEvent(about, e.type == "Warning" ? kube::EventType::kWarning : kube::EventType::kNormal,
                                e.reason, e.message, stamp, options.component, options.instance);
  e.name = event["metadata"]["name"].get<std::string>();
  e.first = now;
  e.last_sent = now;
  e.in_flight = true;
  return EventJob{controller::KeyOf(st.ref), st.id, e.id, st.ref.namespace_name, e.name,
                  std::move(event), true};
}

EventJob KubeStatusWriter::Core::PatchJob(ObjectState& st, EventEntry& e, Time now) {
  e.last_sent = now;
  e.in_flight = true;
  json patch = {{"count", e.count}, {"lastTimestamp", Seconds(now)}};
  return EventJob{controller::KeyOf(st.ref), st.id, e.id, st.ref.namespace_name, e.name,
                  std::move(patch), false};
}

void KubeStatusWriter::Core::SendEvent(EventJob job) {
  auto done = [core = shared_from_this(), job](kube::ApiResult r) { core->OnEventAnswer(job, r); };
  if (job.create) {
    client.Create(kube::kEvents, job.ns, job.body, std::move(done));
  } else {
    client.MergePatch(kube::kEvents, job.ns, job.name, job.body, "", std::move(done));
  }
}

void KubeStatusWriter::Core::OnEventAnswer(const EventJob& job, const kube::ApiResult& r) {
  Guard guard(*this);
  if (!guard.open()) return;
  std::lock_guard<std::mutex> lock(mu);
  // Counted even when the key was evicted or forgotten meanwhile: the
  // request reached the server all the same.
  if (r.ok()) {
    ++(job.create ? counters.events_created : counters.events_aggregated);
  } else {
    ++counters.events_failed;
  }
  ObjectState* st = Find(job.key, job.object_id);
  if (st == nullptr) return;
  auto it = std::find_if(st->events.begin(), st->events.end(),
                         [&](const EventEntry& e) { return e.id == job.entry_id; });
  if (it == st->events.end()) return;
  it->in_flight = false;
  // A failed create, or an Event gone (the server expires Events after an
  // hour): forget the key so the next occurrence creates a new Event.
  if (!r.ok() && (job.create || r.IsNotFound())) st->events.erase(it);
}

// ---- KubeStatusWriter ----

KubeStatusWriter::KubeStatusWriter(kube::RestClient& client, const Clock& clock, MayWrite may_write,
                                   UidOf uid_of, StatusWriterOptions options)
    : core_(std::make_shared<Core>(client, clock, std::move(may_write), std::move(uid_of),
                                   std::move(options))) {}

KubeStatusWriter::~KubeStatusWriter() {
  std::unique_lock<std::mutex> lock(core_->mu);
  core_->closed = true;
  core_->idle.wait(lock, [this] { return core_->callbacks_running == 0; });
  core_->objects.clear();
}

void KubeStatusWriter::Publish(const ObjectRef& object, const ObjectStatus& status) {
  const bool allowed = core_->Allowed();
  json body = KedaStatusJson(status, core_->ResourceOf(status.scale_target_kind));
  std::optional<WriteJob> job;
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    ObjectState& st = core_->StateFor(object);
    if (st.dirty) ++core_->counters.status_coalesced;
    st.desired = std::move(body);
    st.dirty = true;
    if (!allowed) {
      ++core_->counters.skipped_not_leader;
      return;
    }
    job = core_->TakeWrite(st);  // nullopt while busy: the answer sends the latest
  }
  if (job) core_->Send(std::move(*job));
}

void KubeStatusWriter::RecordEvent(const ObjectRef& object, const std::string& type,
                                   const std::string& reason, const std::string& message) {
  if (!core_->Allowed()) {
    std::lock_guard<std::mutex> lock(core_->mu);
    ++core_->counters.skipped_not_leader;
    return;
  }
  const std::string uid = core_->uid_of ? core_->uid_of(object).value_or("") : "";
  std::optional<EventJob> job;
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    job = core_->TakeEvent(core_->StateFor(object), type, reason, message, uid);
  }
  if (job) core_->SendEvent(std::move(*job));
}

void KubeStatusWriter::Adopt(const ObjectRef& object, const json& current_status) {
  std::lock_guard<std::mutex> lock(core_->mu);
  core_->StateFor(object).written = current_status.is_object() ? current_status : json();
}

int KubeStatusWriter::Flush() {
  if (!core_->Allowed()) return 0;
  std::vector<WriteJob> jobs;
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    for (auto& [key, st] : core_->objects) {
      if (auto job = core_->TakeWrite(st)) jobs.push_back(std::move(*job));
    }
  }
  for (WriteJob& job : jobs) core_->Send(std::move(job));
  return static_cast<int>(jobs.size());
}

void KubeStatusWriter::Forget(const ObjectRef& object) {
  std::lock_guard<std::mutex> lock(core_->mu);
  core_->objects.erase(controller::KeyOf(object));
}

StatusWriterCounters KubeStatusWriter::counters() const {
  std::lock_guard<std::mutex> lock(core_->mu);
  return core_->counters;
}

int KubeStatusWriter::Pending() const {
  std::lock_guard<std::mutex> lock(core_->mu);
  return static_cast<int>(std::count_if(core_->objects.begin(), core_->objects.end(),
                                        [](const auto& kv) { return kv.second.busy; }));
}

}  // namespace ebb::op
