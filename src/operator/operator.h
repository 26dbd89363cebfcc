// Operator: the scaling loop of `ebb operator` on resources watched from
// the Kubernetes API. It feeds the informer caches (kube/keda_caches.h)
// into a controller::Controller, scales through the /scale subresource
// (targets/kubernetes_scale_target.h), writes status and events through
// KubeStatusWriter, and handles the ScaledObject finalizer.
//
//   Operator op(kube, http, clock, env, options, [&] { return elector.IsLeader(); },
//               &keda_metrics, &log);
//   LeaderCallbacks cb{.on_started_leading = [&] { op.LeadershipChanged(); }, ...};
//   std::jthread t([&](std::stop_token st) { op.Run(st); });
//
// Leadership: only while `leading()` holds does a controller run. Each
// leadership term gets a fresh controller whose targets and status writes
// are fenced on "leading, in this term" (fenced_target.h), so a controller
// winding down after leadership was lost cannot write; the engine starts
// each term from the objects' status (lastActiveTime,
// originalReplicaCount), as a KEDA operator does after a restart. Followers
// keep their caches warm and take over within a poll interval.
//
// Finalizer (`finalizer.keda.sh`, KEDA's, so objects KEDA managed are
// handled too): added only to ScaledObjects with
// advanced.restoreToOriginalReplicaCount (nothing else needs work at
// deletion, and an operator that is uninstalled should not leave objects
// that cannot be deleted). On deletion the leader sets the target back to
// status.originalReplicaCount, then removes the finalizer; a ScaledObject
// being deleted is no longer scaled.
//
// Threading: Run() is the operator's thread; it owns the controller of the
// current term (which runs on its own thread). LeadershipChanged(),
// Synced(), Acting() and Counters() are thread-safe. Lifetime: `kube`,
// `http`, `clock`, the observer and the logger must outlive the Operator.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <map>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "controller/controller.h"
#include "controller/observer.h"
#include "controller/trigger_factory.h"
#include "http/http_client.h"
#include "kube/keda_caches.h"
#include "kube/rest_client.h"
#include "operator/status_writer.h"
#include "targets/kubernetes_scale_target.h"

namespace ebb::op {

// KEDA's finalizer on ScaledObjects.
inline constexpr char kFinalizer[] = "finalizer.keda.sh";

struct OperatorOptions {
  // Namespaces watched (empty: all) and paging of the caches.
  kube::KedaCacheOptions caches{};
  // The controller of each term (restore_on_remove is turned off: the
  // finalizer restores).
  controller::ControllerOptions controller{};
  // Events' reportingInstance (the pod name).
  std::string instance{};
  // How long after a cache change the operator waits for more changes
  // before it hands the controller a new snapshot. Default 200 ms.
  Duration debounce = std::chrono::milliseconds(200);
};

struct OperatorCounters {
  uint64_t terms = 0;             // leadership terms started
  uint64_t updates = 0;           // snapshots handed to the controller
  uint64_t finalizers_added = 0;
  uint64_t finalizers_removed = 0;
  uint64_t restores = 0;          // original replica counts set back
};

class Operator {
 public:
  // `leading` empty: always leading (--leader-elect=false).
  Operator(kube::RestClient& kube, http::HttpClient& http, const Clock& clock,
           controller::TriggerEnvironment env, OperatorOptions options,
           std::function<bool()> leading, controller::ControllerObserver* observer,
           Logger* logger);
  ~Operator();
  Operator(const Operator&) = delete;
  Operator& operator=(const Operator&) = delete;

  // Runs until `stop`: starts the caches, starts and ends controller terms
  // as leadership comes and goes, hands every cache change to the
  // controller. On stop, the running term shuts down gracefully (in-flight
  // work finishes within the controller's shutdown_grace).
  void Run(std::stop_token stop);
  // Wakes Run to look at leadership again (call from the elector's
  // callbacks). Thread-safe.
  void LeadershipChanged();

  // The caches have listed everything once (for /readyz).
  bool Synced() const;
  // A controller term is running (this process scales).
  bool Acting() const { return acting_.load(); }
  OperatorCounters Counters() const;
  const StatusWriterCounters StatusCounters() const { return writer_.counters(); }

 private:
  struct Term;

  bool Leading() const { return !leading_ || leading_(); }
  void WaitForWork(std::stop_token& stop);
  void StartTerm();
  void EndTerm();
  void Feed(bool force);
  void HandleFinalizers(const api::ManifestSet& set, std::vector<api::ScaledObject>* keep);
  void AddFinalizer(const api::ScaledObject& so);
  void Finalize(const api::ScaledObject& so);
  std::optional<std::string> UidOf(const controller::ObjectRef& ref) const;

  // What callbacks on the I/O threads touch: shared with them, so that an
  // answer arriving after the Operator is gone finds it alive.
  struct Shared {
    std::mutex mu;
    std::condition_variable wake;
    bool changed = true;                     // guarded by mu
    bool leadership_changed = false;         // guarded by mu
    std::map<std::string, std::string> uids; // guarded by mu: "ns/name" -> uid
    std::set<std::string> finalizing;        // guarded by mu: "ns/name" being finalized
    std::set<std::string> adding_finalizer;  // guarded by mu
    OperatorCounters counters;               // guarded by mu
  };
  static void RemoveFinalizer(kube::RestClient& kube, std::shared_ptr<Shared> shared, Logger* logger,
                              const api::ScaledObject& so);

  kube::RestClient& kube_;
  http::HttpClient& http_;
  const Clock& clock_;
  const controller::TriggerEnvironment env_;
  const OperatorOptions options_;
  const std::function<bool()> leading_;
  controller::ControllerObserver* observer_;
  Logger* logger_;
  const std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();

  kube::KedaCaches caches_;
  targets::KubernetesScaleTargetResolver resolver_;
  KubeStatusWriter writer_;

  std::atomic<uint64_t> term_id_{0};
  std::atomic<bool> acting_{false};
  std::unique_ptr<Term> term_;  // Run's thread only
};

}  // namespace ebb::op
