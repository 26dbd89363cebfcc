#include "kube/informer.h"

#include <algorithm>

#include "common/log.h"

namespace ebb::kube {

using nlohmann::json;

std::vector<json> WatchDecoder::Feed(std::string_view chunk) {
  buffer_.append(chunk);
  std::vector<json> events;
  size_t start = 0;
  size_t nl;
  while ((nl = buffer_.find('\n', start)) != std::string::npos) {
    std::string_view line(buffer_.data() + start, nl - start);
    start = nl + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    json e = json::parse(line, nullptr, false);
    if (e.is_discarded() || !e.is_object() || !e.contains("type")) {
      e = {{"type", "ERROR"},
           {"object",
            {{"kind", "Status"},
             {"code", 500},
             {"reason", "InternalError"},
             {"message", "watch stream holds a line that is not a JSON event"}}}};
    }
    events.push_back(std::move(e));
  }
  buffer_.erase(0, start);
  return events;
}

namespace {

std::string KeyOf(const json& obj) {
  const json& m = obj.contains("metadata") ? obj["metadata"] : json::object();
  std::string ns = m.value("namespace", "");
  std::string name = m.value("name", "");
  return ns.empty() ? name : ns + "/" + name;
}

std::string RvOf(const json& obj) {
  if (!obj.is_object() || !obj.contains("metadata")) return "";
  return obj["metadata"].value("resourceVersion", "");
}

}  // namespace

// Everything the asynchronous callbacks touch; they hold it by shared_ptr
// so that it outlives the Informer object if they run late.
struct Informer::Core : std::enable_shared_from_this<Informer::Core> {
  RestClient& client;
  InformerOptions options;
  InformerHandlers handlers;

  mutable std::mutex mu;
  std::map<std::string, json> cache;     // guarded by mu
  std::string rv;                        // guarded by mu
  bool synced = false;                   // guarded by mu
  bool stopped = false;                  // guarded by mu
  bool relist = false;                   // guarded by mu: an ERROR 410 arrived
  InformerStats stats;                   // guarded by mu
  Status last_error;                     // guarded by mu
  Status stream_error;                   // guarded by mu: an ERROR event in the current stream
  const BackoffPolicy backoff_policy;
  Backoff backoff{backoff_policy};       // guarded by mu

  // A notification to deliver once the lock is released.
  struct Change {
    std::string type;
    json old_obj;
    json new_obj;
  };

  Core(RestClient& c, InformerOptions o, InformerHandlers h)
      : client(c), options(std::move(o)), handlers(std::move(h)), backoff_policy(options.backoff) {}

  bool Stopped() {
    std::lock_guard lock(mu);
    return stopped;
  }

  void Deliver(const std::vector<Change>& changes) {
    for (const Change& c : changes) {
      if (c.type == "ADDED" && handlers.on_add) handlers.on_add(c.new_obj);
      if (c.type == "MODIFIED" && handlers.on_update) handlers.on_update(c.old_obj, c.new_obj);
      if (c.type == "DELETED" && handlers.on_delete) handlers.on_delete(c.old_obj);
    }
  }

  void After(Duration delay, std::function<void()> fn) {
    auto self = shared_from_this();
    client.timers().PostAfter(delay, [self, fn = std::move(fn)] {
      if (!self->Stopped()) fn();
    });
  }

  Duration NextBackoff(const Status& error) {
    std::lock_guard lock(mu);
    stats.failures++;
    last_error = error;
    return backoff.Next();
  }

  void List() {
    auto self = shared_from_this();
    ListOptions o;
    o.label_selector = options.label_selector;
    o.limit = options.page_size;
    client.ListAll(options.gvr, options.ns, o, [self](ApiResult r) { self->OnList(std::move(r)); });
  }

  void OnList(ApiResult r) {
    if (Stopped()) return;
    if (!r.ok()) {
      Logger::Default().Warn("list failed", {{"error", r.status.ToString()}});
      auto self = shared_from_this();
      return After(NextBackoff(r.status), [self] { self->List(); });
    }
    std::vector<Change> changes = Replace(r.object);
    Deliver(changes);
    Watch();
  }

  // Swaps in the listed objects and computes what changed.
  std::vector<Change> Replace(json& list) {
    std::map<std::string, json> fresh;
    for (json& item : list["items"]) {
      std::string key = KeyOf(item);
      fresh.emplace(std::move(key), std::move(item));
    }
    std::vector<Change> changes;
    std::lock_guard lock(mu);
    for (auto& [key, obj] : fresh) {
      auto it = cache.find(key);
      if (it == cache.end()) {
        changes.push_back({"ADDED", nullptr, obj});
      } else if (RvOf(it->second) != RvOf(obj)) {
        changes.push_back({"MODIFIED", it->second, obj});
      }
    }
    for (auto& [key, obj] : cache) {
      if (!fresh.count(key)) changes.push_back({"DELETED", obj, nullptr});
    }
    cache = std::move(fresh);
    rv = list["metadata"].value("resourceVersion", "");
    synced = true;
    relist = false;
    stats.lists++;
    last_error = Status::Ok();
    backoff.Reset();
    return changes;
  }

  void Watch() {
    ApiRequest req;
    req.path = CollectionPath(options.gvr, options.ns);
    {
      std::lock_guard lock(mu);
      if (stopped) return;
      stats.watches++;
      stream_error = Status::Ok();
      req.query = {{"watch", "1"},
                   {"resourceVersion", rv},
                   {"allowWatchBookmarks", "true"},
                   {"timeoutSeconds", std::to_string(options.watch_timeout.count())}};
    }
    if (!options.label_selector.empty())
      req.query.emplace_back("labelSelector", options.label_selector);
    req.timeout = options.watch_timeout + std::chrono::seconds(30);  // the server ends it first
    auto self = shared_from_this();
    auto decoder = std::make_shared<WatchDecoder>();
    client.Stream(
        std::move(req),
        [self, decoder](std::string_view chunk) {
          if (self->Stopped()) return false;
          std::vector<Change> changes;
          for (json& e : decoder->Feed(chunk)) self->Apply(e, &changes);
          self->Deliver(changes);
          return true;
        },
        [self](ApiResult r) { self->OnWatchEnd(std::move(r)); });
  }

  void Apply(json& event, std::vector<Change>* changes) {
    std::string type = event.value("type", "");
    json& obj = event["object"];
    std::lock_guard lock(mu);
    if (type == "ERROR") {
      ApiResult err = FromStatusObject(obj, "watch " + options.gvr.GroupResource());
      // Only an expired resourceVersion needs a new list; anything else ends
      // this stream and the watch resumes.
      if (err.IsExpired()) relist = true;
      last_error = err.status;
      stream_error = err.status;
      return;
    }
    std::string new_rv = RvOf(obj);
    if (!new_rv.empty()) rv = new_rv;
    if (type == "BOOKMARK") {
      stats.bookmarks++;
      return;
    }
    stats.events++;
    std::string key = KeyOf(obj);
    auto it = cache.find(key);
    if (type == "DELETED") {
      if (it != cache.end()) cache.erase(it);
      changes->push_back({"DELETED", obj, nullptr});
      return;
    }
    if (it == cache.end()) {
      changes->push_back({"ADDED", nullptr, obj});
      cache.emplace(key, obj);
    } else {
      changes->push_back({"MODIFIED", it->second, obj});
      it->second = obj;
    }
  }

  void OnWatchEnd(ApiResult r) {
    if (r.status.code() == StatusCode::kCancelled) return;  // stopped or shutting down
    bool relist_now, failed_stream;
    {
      std::lock_guard lock(mu);
      if (stopped) return;
      relist_now = relist || r.IsExpired();
      if (relist_now) stats.expired_relists++;
      // An ERROR event other than 410 ends the stream "successfully".
      failed_stream = !r.ok() || !stream_error.ok();
      if (!failed_stream) backoff.Reset();
    }
    if (relist_now) return List();
    if (!failed_stream) return Watch();  // the server ended it: resume at once
    auto self = shared_from_this();
    Status error = r.ok() ? StreamError() : r.status;
    After(NextBackoff(error), [self] { self->Watch(); });
  }

  Status StreamError() {
    std::lock_guard lock(mu);
    return stream_error;
  }
};

Informer::Informer(RestClient& client, InformerOptions options, InformerHandlers handlers)
    : core_(std::make_shared<Core>(client, std::move(options), std::move(handlers))) {}

Informer::~Informer() { Stop(); }

void Informer::Start() { core_->List(); }

void Informer::Stop() {
  std::lock_guard lock(core_->mu);
  core_->stopped = true;
}

bool Informer::HasSynced() const {
  std::lock_guard lock(core_->mu);
  return core_->synced;
}

std::optional<json> Informer::Get(const std::string& ns, const std::string& name) const {
  std::lock_guard lock(core_->mu);
  std::string key = core_->options.gvr.namespaced && !ns.empty() ? ns + "/" + name : name;
  auto it = core_->cache.find(key);
  if (it == core_->cache.end()) return std::nullopt;
  return it->second;
}

std::vector<json> Informer::List() const {
  std::lock_guard lock(core_->mu);
  std::vector<json> out;
  out.reserve(core_->cache.size());
  for (const auto& [key, obj] : core_->cache) out.push_back(obj);
  return out;
}

std::string Informer::ResourceVersion() const {
  std::lock_guard lock(core_->mu);
  return core_->rv;
}

InformerStats Informer::Stats() const {
  std::lock_guard lock(core_->mu);
  return core_->stats;
}

Status Informer::LastError() const {
  std::lock_guard lock(core_->mu);
  return core_->last_error;
}

}  // namespace ebb::kube
