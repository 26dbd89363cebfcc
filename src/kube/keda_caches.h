// KedaCaches: the informer caches the operator reads: ScaledObjects,
// TriggerAuthentications, Secrets and ConfigMaps in every namespace or in a
// --watch-namespace list, and the cluster-scoped
// ClusterTriggerAuthentications; decoded on demand into an api::ManifestSet
// (the same type `ebb run` builds from files, so the engine is fed the same
// way from both sources).
//
//   KedaCaches caches(client, {.namespaces = {"shop", "web"}}, [&] { wake_controller(); });
//   caches.Start();
//   ... once caches.HasSynced():
//   std::shared_ptr<const api::ManifestSet> set = caches.Snapshot();
//   for (const api::ScaledObject& so : set->scaled_objects) ...
//   const api::SecretObject* s = set->FindSecret("shop", "prom-auth");
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/manifest_set.h"
#include "kube/informer.h"

namespace ebb::kube {

struct KedaCacheOptions {
  // Namespaces to watch; empty: all of them (one cluster-wide watch each).
  std::vector<std::string> namespaces{};
  // Secrets and ConfigMaps are cached whole in the watched namespaces (what
  // TriggerAuthentications reference may change at any time). Default true.
  bool secrets = true;
  bool config_maps = true;
  int64_t page_size = 500;
};

// Thread-safe. `client` must outlive it (see rest_client.h for the order
// of shutdown).
class KedaCaches {
 public:
  // `on_change` (optional) runs on an I/O thread after any cached object
  // changed, never after Stop() returned; it must not block (schedule work
  // instead) and must not call back into this object.
  KedaCaches(RestClient& client, KedaCacheOptions options, std::function<void()> on_change = {});
  ~KedaCaches();

  void Start();
  void Stop();
  bool HasSynced() const;

  // Every cached object decoded (bad ones reported in `errors` and left
  // out). Rebuilt only after a change; otherwise the same pointer. A
  // ScaledObject whose status alone changed does not count as a change
  // (see Invalidate).
  std::shared_ptr<const api::ManifestSet> Snapshot();
  // Makes the next Snapshot() rebuild, with every object's current status
  // (a new leader must start from the latest lastActiveTime).
  void Invalidate();

  // Per resource, for /metrics and tests.
  std::vector<std::pair<std::string, InformerStats>> Stats() const;

 private:
  struct Watched {
    std::string kind;
    std::string api_version;
    std::unique_ptr<Informer> informer;
  };

  void Add(const GroupVersionResource& gvr, const std::string& kind, const std::string& ns);

  // Shared with the informers' callbacks, which may outlive this object.
  struct Hook {
    std::mutex mu;
    bool dirty = true;     // guarded by mu
    bool stopped = false;  // guarded by mu: on_change no longer runs
    std::function<void()> on_change;  // guarded by mu
  };

  RestClient& client_;
  const KedaCacheOptions options_;
  const std::shared_ptr<Hook> hook_;
  std::vector<Watched> watched_;  // fixed after construction

  std::shared_ptr<const api::ManifestSet> snapshot_;  // guarded by hook_->mu
};

}  // namespace ebb::kube
