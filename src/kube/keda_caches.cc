#include "kube/keda_caches.h"

namespace ebb::kube {

using nlohmann::json;

namespace {

// Equal but for what controllers write: .status and the bookkeeping of
// metadata. ebb's own status writes come back as MODIFIED events; without
// this every status write would rebuild the whole snapshot and hand the
// controller every object again (the cost grows with N x writes). The
// status fields ebb reads (lastActiveTime, originalReplicaCount) matter
// only when an object is registered or deleted, and those changes
// rebuild the snapshot anyway.
bool OnlyStatusChanged(const json& before, const json& after) {
  auto strip = [](json o) {
    o.erase("status");
    if (auto m = o.find("metadata"); m != o.end() && m->is_object()) {
      m->erase("resourceVersion");
      m->erase("managedFields");
    }
    return o;
  };
  return strip(before) == strip(after);
}

}  // namespace

KedaCaches::KedaCaches(RestClient& client, KedaCacheOptions options,
                       std::function<void()> on_change)
    : client_(client), options_(std::move(options)), hook_(std::make_shared<Hook>()) {
  hook_->on_change = std::move(on_change);
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) namespaces.push_back("");  // all namespaces
  for (const std::string& ns : namespaces) {
    Add(kScaledObjects, "ScaledObject", ns);
    Add(kTriggerAuthentications, "TriggerAuthentication", ns);
    if (options_.secrets) Add(kSecrets, "Secret", ns);
    if (options_.config_maps) Add(kConfigMaps, "ConfigMap", ns);
  }
  Add(kClusterTriggerAuthentications, "ClusterTriggerAuthentication", "");
}

KedaCaches::~KedaCaches() { Stop(); }

void KedaCaches::Add(const GroupVersionResource& gvr, const std::string& kind,
                     const std::string& ns) {
  // Informers may deliver on the I/O thread after Stop() or even after
  // this object is gone: the callback holds only the shared hook, and runs
  // under its lock so that once Stop() returns, on_change never runs again.
  auto changed = [hook = hook_] {
    std::lock_guard lock(hook->mu);
    hook->dirty = true;
    if (!hook->stopped && hook->on_change) hook->on_change();
  };
  InformerHandlers h;
  h.on_add = [changed](const json&) { changed(); };
  const bool has_status = kind == "ScaledObject";
  h.on_update = [changed, has_status](const json& before, const json& after) {
    if (has_status && OnlyStatusChanged(before, after)) return;
    changed();
  };
  h.on_delete = [changed](const json&) { changed(); };
  InformerOptions o;
  o.gvr = gvr;
  o.ns = ns;
  o.page_size = options_.page_size;
  watched_.push_back({kind, gvr.ApiVersion(), std::make_unique<Informer>(client_, o, h)});
}

void KedaCaches::Start() {
  for (Watched& w : watched_) w.informer->Start();
}

void KedaCaches::Stop() {
  for (Watched& w : watched_) w.informer->Stop();
  std::lock_guard lock(hook_->mu);
  hook_->stopped = true;
  hook_->on_change = nullptr;
}

bool KedaCaches::HasSynced() const {
  for (const Watched& w : watched_) {
    if (!w.informer->HasSynced()) return false;
  }
  return true;
}

void KedaCaches::Invalidate() {
  std::lock_guard lock(hook_->mu);
  hook_->dirty = true;
}

std::shared_ptr<const api::ManifestSet> KedaCaches::Snapshot() {
  {
    std::lock_guard lock(hook_->mu);
    if (!hook_->dirty && snapshot_) return snapshot_;
    hook_->dirty = false;  // changes from here on make the next call rebuild
  }
  std::vector<api::Document> docs;
  for (const Watched& w : watched_) {
    for (json& obj : w.informer->List()) {
      // List items of built-in types come without kind and apiVersion.
      obj["kind"] = w.kind;
      obj["apiVersion"] = w.api_version;
      api::Document doc;
      doc.index = static_cast<int>(docs.size()) + 1;
      doc.value = std::move(obj);
      docs.push_back(std::move(doc));
    }
  }
  auto set = std::make_shared<const api::ManifestSet>(api::BuildManifestSet(std::move(docs)));
  std::lock_guard lock(hook_->mu);
  snapshot_ = set;
  return set;
}

std::vector<std::pair<std::string, InformerStats>> KedaCaches::Stats() const {
  std::vector<std::pair<std::string, InformerStats>> out;
  for (const Watched& w : watched_) out.emplace_back(w.kind, w.informer->Stats());
  return out;
}

}  // namespace ebb::kube
