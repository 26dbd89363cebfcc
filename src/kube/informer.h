// Watches and informers: WatchDecoder splits a watch stream into events;
// Informer keeps a cache of one resource (one namespace or all) current by
// listing (paginated) and then watching from the list's resourceVersion,
// as client-go's reflector does:
//  - the watch asks for bookmarks and resumes from the last resourceVersion
//    seen (event or BOOKMARK) whenever the server ends the stream;
//  - a 410 Expired (as HTTP status or as an ERROR event) makes it list
//    again and watch from the new list's resourceVersion; the cache is
//    replaced and the differences are delivered as add/update/delete;
//  - other failures retry the watch after a jittered exponential backoff
//    (common/backoff.h), so informers cut off together do not reconnect
//    together.
//
//   Informer so(client, {.gvr = kScaledObjects, .ns = ""}, {.on_add = ..., .on_update = ...});
//   so.Start();
//   if (so.HasSynced()) for (const json& o : so.List()) ...
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/backoff.h"
#include "common/status.h"
#include "kube/rest_client.h"

namespace ebb::kube {

// Not thread-safe (one stream, one decoder).
class WatchDecoder {
 public:
  // Appends a piece of the stream; returns the complete events in it
  // ({"type":..,"object":..}). A line that is not JSON becomes an ERROR
  // event with a Status object (code 500), so the stream is re-established.
  std::vector<nlohmann::json> Feed(std::string_view chunk);

 private:
  std::string buffer_;
};

struct InformerOptions {
  GroupVersionResource gvr{};
  std::string ns{};  // "" watches every namespace (or a cluster-scoped resource)
  std::string label_selector{};
  // List page size. Default 500, client-go's.
  int64_t page_size = 500;
  // timeoutSeconds asked of the server per watch. Default 5 min.
  std::chrono::seconds watch_timeout{300};
  // Backoff after a failed list or watch: doubles from initial to max,
  // each delay shortened at random by up to jitter_fraction. Defaults
  // 500 ms, 30 s, jitter 0.2.
  BackoffOptions backoff{.initial = std::chrono::milliseconds(500), .max = std::chrono::seconds(30)};
};

// Called on the HttpClient's I/O thread (or the client's timer loop), without
// the informer's lock: they may call Get/List. Must not block.
struct InformerHandlers {
  std::function<void(const nlohmann::json& object)> on_add;
  std::function<void(const nlohmann::json& old_object, const nlohmann::json& new_object)> on_update;
  std::function<void(const nlohmann::json& object)> on_delete;
};

struct InformerStats {
  uint64_t lists = 0;            // complete lists (all pages)
  uint64_t watches = 0;          // watch requests started
  uint64_t expired_relists = 0;  // lists caused by 410 Expired
  uint64_t events = 0;           // ADDED/MODIFIED/DELETED applied
  uint64_t bookmarks = 0;
  uint64_t failures = 0;  // failed lists and watches
};

// Thread-safe. The RestClient must outlive the informer's requests (see
// rest_client.h); Stop() ends it at the next chunk or answer.
class Informer {
 public:
  Informer(RestClient& client, InformerOptions options, InformerHandlers handlers = {});
  ~Informer();  // Stop()
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void Start();
  void Stop();

  // True once the first list has been applied.
  bool HasSynced() const;
  // `ns` is ignored for cluster-scoped resources.
  std::optional<nlohmann::json> Get(const std::string& ns, const std::string& name) const;
  std::vector<nlohmann::json> List() const;
  // The last resourceVersion seen (list, event or bookmark).
  std::string ResourceVersion() const;
  InformerStats Stats() const;
  // The last list or watch failure; ok when the last attempt worked.
  Status LastError() const;

 private:
  struct Core;
  std::shared_ptr<Core> core_;
};

}  // namespace ebb::kube
