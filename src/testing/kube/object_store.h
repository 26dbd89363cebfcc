// ObjectStore: the fake API server's storage. Objects are JSON, keyed by
// resource type, namespace and name; every write takes the next value of
// one global resourceVersion counter (as etcd's revision does) and appends
// a watch event to a bounded history.
//
//   ObjectStore store(DefaultResourceTypes());
//   const ResourceType& deploy = *store.Find("apps", "v1", "deployments");
//   Reply r = store.Create(deploy, "ns", {{"metadata", {{"name", "web"}}}, ...});
//   Reply s = store.GetScale(deploy, "ns", "web");
//
// Semantics follow facts/kubernetes.md: a write carrying a stale
// metadata.resourceVersion is 409 Conflict (an empty one is unconditional);
// metadata.generation counts spec changes only; the status subresource
// changes only .status and main writes ignore .status; the scale
// subresource reads and writes spec.replicas with the workload's
// resourceVersion; a write that changes nothing keeps the resourceVersion.
//
// Thread-safe: one mutex guards everything; watchers block in WaitEvents.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "testing/kube/resource_types.h"

namespace ebb::testing::kube {

struct ListOptions {
  std::string label_selector;  // "k=v,k2=v2" (equality only)
  std::string field_selector;  // "metadata.name=x", "metadata.namespace=y"
  int64_t limit = 0;           // 0: everything
  std::string continue_token;  // from a previous page
};

struct WatchEvent {
  int64_t rv = 0;
  std::string type;  // ADDED, MODIFIED, DELETED
  const ResourceType* rt = nullptr;
  std::string ns;
  nlohmann::json object;
};

// True when `obj` matches the selectors of `opts` (limit/continue ignored).
bool MatchesSelectors(const nlohmann::json& obj, const ListOptions& opts);

class ObjectStore {
 public:
  // Called after each committed write with the type and the new object,
  // without the store's lock held (the workload simulation hooks in here).
  using WriteObserver = std::function<void(const ResourceType&, const nlohmann::json&)>;

  // `clock` (not owned, must outlive the store) stamps creationTimestamp.
  // `history_limit`: watch events kept; older resourceVersions expire (410).
  explicit ObjectStore(std::vector<ResourceType> types, const Clock& clock = RealClock::Instance(),
                       size_t history_limit = 10000);

  const std::vector<ResourceType>& types() const { return types_; }
  const ResourceType* Find(const std::string& group, const std::string& version,
                           const std::string& resource) const;
  void SetWriteObserver(WriteObserver observer);

  Reply Get(const ResourceType& rt, const std::string& ns, const std::string& name) const;
  // `ns` "" lists every namespace. Pages: limit + continue.
  Reply List(const ResourceType& rt, const std::string& ns, const ListOptions& opts) const;
  Reply Create(const ResourceType& rt, const std::string& ns, nlohmann::json obj);
  Reply Update(const ResourceType& rt, const std::string& ns, const std::string& name,
               nlohmann::json obj);
  Reply UpdateStatus(const ResourceType& rt, const std::string& ns, const std::string& name,
                     nlohmann::json obj);
  // content_type: application/merge-patch+json, application/json-patch+json or
  // application/strategic-merge-patch+json (415 on custom resources).
  Reply Patch(const ResourceType& rt, const std::string& ns, const std::string& name,
              const std::string& content_type, const std::string& patch, bool status);
  Reply Delete(const ResourceType& rt, const std::string& ns, const std::string& name);

  Reply GetScale(const ResourceType& rt, const std::string& ns, const std::string& name) const;
  Reply UpdateScale(const ResourceType& rt, const std::string& ns, const std::string& name,
                    nlohmann::json scale);
  Reply PatchScale(const ResourceType& rt, const std::string& ns, const std::string& name,
                   const std::string& content_type, const std::string& patch);

  // Stores `obj` as given, status included (test set-up), creating or
  // replacing it.
  Reply Seed(const ResourceType& rt, nlohmann::json obj);

  int64_t CurrentRv() const;
  // Watches and continue tokens from a resourceVersion below this get 410.
  int64_t OldestRv() const;
  // Forgets the watch history: every resourceVersion seen so far expires.
  void Compact();

  // Blocks until there are events of `rt` in `ns` ("" = all) newer than
  // `after`, `deadline` passes, or `stop()` is true after a Wake(). Sets
  // *expired (and returns nothing) when `after` is older than OldestRv().
  // *scanned is the resourceVersion up to which the history was examined
  // (what a BOOKMARK may announce).
  std::vector<WatchEvent> WaitEvents(const ResourceType& rt, const std::string& ns,
                                     const ListOptions& selectors, int64_t after,
                                     std::chrono::steady_clock::time_point deadline,
                                     const std::function<bool()>& stop, bool* expired,
                                     int64_t* scanned);
  // Wakes every WaitEvents call to re-check its stop predicate.
  void Wake();

 private:
  using Key = std::pair<std::string, std::string>;  // namespace, name
  using Objects = std::map<Key, nlohmann::json>;

  Objects& ObjectsOf(const ResourceType& rt);
  const nlohmann::json* FindLocked(const ResourceType& rt, const Key& key) const;
  Reply UpdateLocked(const ResourceType& rt, const Key& key, nlohmann::json obj, bool status);
  Reply UpdateScaleLocked(const ResourceType& rt, const Key& key, const nlohmann::json& scale);
  // Assigns the next resourceVersion, stores, records the event.
  nlohmann::json CommitLocked(const ResourceType& rt, const Key& key, nlohmann::json obj,
                              const std::string& type);
  void Notify(const ResourceType& rt, const nlohmann::json& obj);

  const std::vector<ResourceType> types_;
  const Clock& clock_;
  const size_t history_limit_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Objects> objects_;  // guarded by mu_; by GroupResource()
  std::deque<WatchEvent> history_;          // guarded by mu_
  int64_t rv_ = 1;                          // guarded by mu_
  int64_t oldest_rv_ = 1;                   // guarded by mu_
  int64_t uid_counter_ = 0;                 // guarded by mu_
  WriteObserver observer_;                  // guarded by mu_
};

}  // namespace ebb::testing::kube
