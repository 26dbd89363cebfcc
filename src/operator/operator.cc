#include "operator/operator.h"

#include <algorithm>
#include <utility>

#include "controller/object_validation.h"
#include "operator/fenced_target.h"

namespace ebb::op {

using nlohmann::json;

// One leadership term: a controller whose writes are fenced on the term.
struct Operator::Term {
  uint64_t id = 0;
  std::unique_ptr<FencedResolver> resolver;
  std::unique_ptr<controller::Controller> controller;
  std::jthread thread;
};

namespace {

bool HasFinalizer(const api::ScaledObject& so) {
  const auto& f = so.metadata.finalizers;
  return std::find(f.begin(), f.end(), kFinalizer) != f.end();
}

// A merge patch replaces lists whole; the resourceVersion makes it fail
// with 409 if the finalizers changed since the copy the list came from.
json FinalizerPatch(const api::ScaledObject& so, std::vector<std::string> finalizers) {
  return json{{"metadata",
               {{"finalizers", std::move(finalizers)},
                {"resourceVersion", so.metadata.resource_version}}}};
}

controller::ControllerOptions TermOptions(controller::ControllerOptions o) {
  o.restore_on_remove = false;
  return o;
}

}  // namespace

Operator::Operator(kube::RestClient& kube, http::HttpClient& http, const Clock& clock,
                   controller::TriggerEnvironment env, OperatorOptions options,
                   std::function<bool()> leading, controller::ControllerObserver* observer,
                   Logger* logger)
    : kube_(kube),
      http_(http),
      clock_(clock),
      env_(std::move(env)),
      options_(std::move(options)),
      leading_(std::move(leading)),
      observer_(observer),
      logger_(logger ? logger : &Logger::Default()),
      caches_(kube, options_.caches, [shared = shared_] {
        {
          std::lock_guard lock(shared->mu);
          shared->changed = true;
        }
        shared->wake.notify_all();
      }),
      resolver_(kube),
      writer_(kube, clock, [this] { return Leading(); },
              [this](const controller::ObjectRef& r) { return UidOf(r); },
              StatusWriterOptions{.instance = options_.instance,
                                  .resource_of =
                                      [this](const std::string& api_version, const std::string& kind) {
                                        Result<kube::GroupVersionResource> r =
                                            resolver_.ResourceFor(api_version, kind);
                                        return r.ok() ? r->resource : std::string();
                                      },
                                  .logger = logger_}) {}

Operator::~Operator() {
  EndTerm();
  caches_.Stop();
}

void Operator::LeadershipChanged() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->leadership_changed = true;
  }
  shared_->wake.notify_all();
}

bool Operator::Synced() const { return caches_.HasSynced(); }

OperatorCounters Operator::Counters() const {
  std::lock_guard lock(shared_->mu);
  return shared_->counters;
}

std::optional<std::string> Operator::UidOf(const controller::ObjectRef& ref) const {
  std::lock_guard lock(shared_->mu);
  auto it = shared_->uids.find(ref.namespace_name + "/" + ref.name);
  if (it == shared_->uids.end()) return std::nullopt;
  return it->second;
}

void Operator::Run(std::stop_token stop) {
  caches_.Start();
  logger_->Info("operator started", {{"leaderElection", leading_ ? "on" : "off"}});
  while (!stop.stop_requested()) {
    WaitForWork(stop);
    if (stop.stop_requested()) break;
    const bool lead = Leading();
    bool started = false;
    if (lead && !term_) {
      caches_.Invalidate();  // the term starts from every object's latest status
      StartTerm();
      started = true;
    } else if (!lead && term_) {
      EndTerm();
    }
    Feed(started);
  }
  EndTerm();
  caches_.Stop();
  logger_->Info("operator stopped");
}

// Sleeps until a cache change (then waits `debounce` for more), a
// leadership change, a stop, or a second passed (leadership is also
// polled: the fence may drop without a callback).
void Operator::WaitForWork(std::stop_token& stop) {
  Shared& sh = *shared_;
  // Before the lock: the callback runs at once if stop was already requested.
  std::stop_callback wake_on_stop(stop, [&sh] {
    std::lock_guard l(sh.mu);  // so the notification cannot fall between check and wait
    sh.wake.notify_all();
  });
  std::unique_lock lock(sh.mu);
  sh.wake.wait_for(lock, std::chrono::seconds(1), [&] {
    return stop.stop_requested() || sh.changed || sh.leadership_changed ||
           (term_ != nullptr) != Leading();
  });
  sh.leadership_changed = false;
  if (sh.changed && !stop.stop_requested()) {
    lock.unlock();
    std::this_thread::sleep_for(options_.debounce);
  }
}

void Operator::StartTerm() {
  auto term = std::make_unique<Term>();
  term->id = ++term_id_;
  const uint64_t id = term->id;
  term->resolver = std::make_unique<FencedResolver>(
      resolver_, [this, id] { return Leading() && term_id_.load() == id; });
  term->controller = std::make_unique<controller::Controller>(
      TermOptions(options_.controller), clock_, http_, *term->resolver, env_, observer_, &writer_,
      logger_);
  controller::Controller* c = term->controller.get();
  term->thread = std::jthread([c](std::stop_token st) { c->Run(st); });
  term_ = std::move(term);
  acting_ = true;
  {
    std::lock_guard lock(shared_->mu);
    ++shared_->counters.terms;
  }
  int flushed = writer_.Flush();
  logger_->Info("acting as leader", {{"term", std::to_string(id)},
                                     {"statusFlushed", std::to_string(flushed)}});
}

void Operator::EndTerm() {
  if (!term_) return;
  acting_ = false;
  logger_->Info("no longer acting", {{"term", std::to_string(term_->id)},
                                     {"leading", Leading() ? "true" : "false"}});
  term_->thread.request_stop();
  term_->thread.join();  // graceful; its writes are fenced once leadership is gone
  term_.reset();
}

// Hands the controller the objects of the caches' latest snapshot (only
// when they changed, or `force` for a new term).
void Operator::Feed(bool force) {
  bool changed;
  {
    std::lock_guard lock(shared_->mu);
    changed = std::exchange(shared_->changed, false);
  }
  if (!caches_.HasSynced()) {
    if (changed) {
      std::lock_guard lock(shared_->mu);
      shared_->changed = true;  // look again once synced
    }
    return;
  }
  if (!changed && !force) return;
  std::shared_ptr<const api::ManifestSet> set = caches_.Snapshot();
  std::vector<controller::ObjectRef> gone;
  {
    std::lock_guard lock(shared_->mu);
    std::map<std::string, std::string> uids;
    for (const api::ScaledObject& so : set->scaled_objects) uids[so.metadata.Key()] = so.metadata.uid;
    for (const auto& [key, uid] : shared_->uids) {
      if (uids.contains(key)) continue;
      size_t slash = key.find('/');
      gone.push_back({key.substr(0, slash), key.substr(slash + 1)});
    }
    shared_->uids = std::move(uids);
  }
  for (const controller::ObjectRef& ref : gone) writer_.Forget(ref);
  std::vector<api::ScaledObject> objects;
  HandleFinalizers(*set, &objects);
  if (!term_) return;
  api::Problems invalid = set->errors;
  api::Problems more = controller::TakeInvalid(objects);
  invalid.insert(invalid.end(), more.begin(), more.end());
  term_->controller->PostUpdate(std::move(objects), set, std::move(invalid));
  std::lock_guard lock(shared_->mu);
  ++shared_->counters.updates;
}

// Objects being deleted are finalized (leader only) and left out of
// `keep`; the rest go to `keep`, with the finalizer added where
// restoreToOriginalReplicaCount needs it.
void Operator::HandleFinalizers(const api::ManifestSet& set, std::vector<api::ScaledObject>* keep) {
  const bool act = term_ != nullptr && Leading();
  for (const api::ScaledObject& so : set.scaled_objects) {
    if (so.metadata.deletion_timestamp) {
      if (act && HasFinalizer(so)) Finalize(so);
      continue;
    }
    if (act && so.spec.advanced.restore_to_original_replica_count && !HasFinalizer(so)) {
      AddFinalizer(so);
    }
    keep->push_back(so);
  }
}

void Operator::AddFinalizer(const api::ScaledObject& so) {
  const std::string key = so.metadata.Key();
  {
    std::lock_guard lock(shared_->mu);
    if (!shared_->adding_finalizer.insert(key).second) return;
  }
  std::vector<std::string> finalizers = so.metadata.finalizers;
  finalizers.push_back(kFinalizer);
  kube_.MergePatch(kube::kScaledObjects, so.metadata.namespace_name, so.metadata.name,
                   FinalizerPatch(so, std::move(finalizers)), "",
                   [shared = shared_, logger = logger_, key](kube::ApiResult r) {
                     std::lock_guard lock(shared->mu);
                     shared->adding_finalizer.erase(key);
                     if (r.ok()) ++shared->counters.finalizers_added;
                     // On failure (409: changed meanwhile) the next snapshot tries again.
                     if (!r.ok() && !r.IsNotFound()) {
                       logger->Warn("adding the finalizer failed",
                                    {{"scaledObject", key}, {"error", r.status.message()}});
                     }
                   });
}

// restoreToOriginalReplicaCount: the target back to the count recorded in
// status, then the finalizer off. Runs on the operator's thread (Resolve
// may block on discovery); the rest continues in callbacks.
void Operator::Finalize(const api::ScaledObject& so) {
  const std::string key = so.metadata.Key();
  {
    std::lock_guard lock(shared_->mu);
    if (!shared_->finalizing.insert(key).second) return;
  }
  const std::optional<int32_t> original = so.status.original_replica_count;
  if (!so.spec.advanced.restore_to_original_replica_count || !original) {
    if (so.spec.advanced.restore_to_original_replica_count) {
      logger_->Warn("no originalReplicaCount in status; deleting without restoring",
                    {{"scaledObject", key}});
    }
    return RemoveFinalizer(kube_, shared_, logger_, so);
  }
  Result<targets::ScaleTargetPtr> target = resolver_.Resolve(so);
  if (!target.ok()) {
    // The target is gone or unusable: nothing to restore, nothing to wait for.
    logger_->Warn("cannot restore the original replicas",
                  {{"scaledObject", key}, {"error", target.status().message()}});
    return RemoveFinalizer(kube_, shared_, logger_, so);
  }
  logger_->Info("restoring original replicas",
                {{"scaledObject", key}, {"to", std::to_string(*original)}});
  // The target is held by the resolver, which the callback does not touch;
  // RestClient and the logger outlive the Operator.
  (*target)->SetReplicas(*original, [&kube = kube_, shared = shared_, logger = logger_, so,
                                     key](Status s) {
    if (!s.ok()) {
      logger->Warn("restoring the original replicas failed; will retry",
                   {{"scaledObject", key}, {"error", s.message()}});
      std::lock_guard lock(shared->mu);
      shared->finalizing.erase(key);
      shared->changed = true;  // the next pass tries again
      return;
    }
    {
      std::lock_guard lock(shared->mu);
      ++shared->counters.restores;
    }
    RemoveFinalizer(kube, shared, logger, so);
  });
}

void Operator::RemoveFinalizer(kube::RestClient& kube, std::shared_ptr<Shared> shared,
                               Logger* logger, const api::ScaledObject& so) {
  const std::string key = so.metadata.Key();
  std::vector<std::string> finalizers;
  for (const std::string& f : so.metadata.finalizers) {
    if (f != kFinalizer) finalizers.push_back(f);
  }
  kube.MergePatch(kube::kScaledObjects, so.metadata.namespace_name, so.metadata.name,
                  FinalizerPatch(so, std::move(finalizers)), "",
                  [shared, logger, key](kube::ApiResult r) {
                    std::lock_guard lock(shared->mu);
                    shared->finalizing.erase(key);
                    if (r.ok()) {
                      ++shared->counters.finalizers_removed;
                      return;
                    }
                    if (!r.IsNotFound()) {
                      shared->changed = true;
                      logger->Warn("removing the finalizer failed; will retry",
                                   {{"scaledObject", key}, {"error", r.status.message()}});
                    }
                  });
}

}  // namespace ebb::op
