#include "testing/kube/object_store.h"

#include <cstdio>

#include "common/strings.h"
#include "testing/kube/patch.h"

namespace ebb::testing::kube {

using nlohmann::json;

namespace {

std::string Label(const json& obj, const std::string& key) {
  const json* labels = obj.contains("metadata") ? &obj["metadata"] : nullptr;
  if (!labels || !labels->contains("labels") || !(*labels)["labels"].contains(key)) return "";
  const json& v = (*labels)["labels"][key];
  return v.is_string() ? v.get<std::string>() : "";
}

bool HasLabel(const json& obj, const std::string& key) {
  return obj.contains("metadata") && obj["metadata"].contains("labels") &&
         obj["metadata"]["labels"].contains(key);
}

std::string MetaString(const json& obj, const char* field) {
  if (!obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object()) return "";
  const json& m = obj["metadata"];
  return m.contains(field) && m[field].is_string() ? m[field].get<std::string>() : "";
}

// The parts of an object that metadata.generation counts.
json SpecPart(json obj) {
  if (obj.is_object()) {
    obj.erase("metadata");
    obj.erase("status");
  }
  return obj;
}

std::string EncodeContinue(int64_t rv, const std::string& ns, const std::string& name) {
  return Base64UrlEncode(json{{"rv", rv}, {"ns", ns}, {"name", name}}.dump());
}

bool DecodeContinue(const std::string& token, int64_t* rv,
                    std::pair<std::string, std::string>* after) {
  std::optional<std::string> text = Base64Decode(token);
  if (!text) return false;
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("rv") || !j["rv"].is_number_integer()) return false;
  *rv = j["rv"].get<int64_t>();
  *after = {j.value("ns", ""), j.value("name", "")};
  return true;
}

Reply BadRequest(const std::string& message) { return ErrorReply(400, "BadRequest", message); }

}  // namespace

bool MatchesSelectors(const json& obj, const ListOptions& opts) {
  for (const std::string& item : Split(opts.label_selector, ',')) {
    std::string_view term = Trim(item);
    if (term.empty()) continue;
    size_t eq = term.find('=');
    if (eq == std::string_view::npos) {
      if (!HasLabel(obj, std::string(term))) return false;
      continue;
    }
    bool negate = eq > 0 && term[eq - 1] == '!';
    std::string key(Trim(term.substr(0, negate ? eq - 1 : eq)));
    std::string_view value = term.substr(eq + 1);
    if (!value.empty() && value[0] == '=') value.remove_prefix(1);  // "=="
    bool equal = HasLabel(obj, key) && Label(obj, key) == Trim(value);
    if (equal == negate) return false;
  }
  for (const std::string& item : Split(opts.field_selector, ',')) {
    std::string_view term = Trim(item);
    size_t eq = term.find('=');
    if (term.empty() || eq == std::string_view::npos) continue;
    std::string field(Trim(term.substr(0, eq)));
    std::string value(Trim(term.substr(eq + 1)));
    if (field == "metadata.name" && MetaString(obj, "name") != value) return false;
    if (field == "metadata.namespace" && MetaString(obj, "namespace") != value) return false;
  }
  return true;
}

ObjectStore::ObjectStore(std::vector<ResourceType> types, const Clock& clock, size_t history_limit)
    : types_(std::move(types)), clock_(clock), history_limit_(history_limit) {}

const ResourceType* ObjectStore::Find(const std::string& group, const std::string& version,
                                      const std::string& resource) const {
  return FindResourceType(types_, group, version, resource);
}

void ObjectStore::SetWriteObserver(WriteObserver observer) {
  std::lock_guard lock(mu_);
  observer_ = std::move(observer);
}

ObjectStore::Objects& ObjectStore::ObjectsOf(const ResourceType& rt) {
  return objects_[rt.GroupResource()];
}

const json* ObjectStore::FindLocked(const ResourceType& rt, const Key& key) const {
  auto by_type = objects_.find(rt.GroupResource());
  if (by_type == objects_.end()) return nullptr;
  auto it = by_type->second.find(key);
  return it == by_type->second.end() ? nullptr : &it->second;
}

Reply ObjectStore::Get(const ResourceType& rt, const std::string& ns,
                       const std::string& name) const {
  std::lock_guard lock(mu_);
  const json* obj = FindLocked(rt, {rt.namespaced ? ns : "", name});
  if (!obj) return NotFoundReply(rt, name);
  return {200, *obj};
}

Reply ObjectStore::List(const ResourceType& rt, const std::string& ns,
                        const ListOptions& opts) const {
  std::lock_guard lock(mu_);
  int64_t list_rv = rv_;
  Key after;
  bool paging = !opts.continue_token.empty();
  if (paging) {
    if (!DecodeContinue(opts.continue_token, &list_rv, &after)) {
      return BadRequest("continue key is not valid");
    }
    if (list_rv < oldest_rv_) {
      return ErrorReply(410, "Expired",
                        "The provided continue parameter is too old to display a consistent list "
                        "result. You can start a new list without the continue parameter, or use "
                        "the continue token in this response to retrieve the remainder of the "
                        "results. Continuing with the provided token results in an inconsistent "
                        "list - objects that were created, modified, or deleted between the time "
                        "the first chunk was returned and now may show up in the list.");
    }
  }
  json items = json::array();
  std::string next;
  auto by_type = objects_.find(rt.GroupResource());
  if (by_type != objects_.end()) {
    auto it = paging ? by_type->second.upper_bound(after) : by_type->second.begin();
    for (; it != by_type->second.end(); ++it) {
      if (!ns.empty() && it->first.first != ns) continue;
      if (!MatchesSelectors(it->second, opts)) continue;
      if (opts.limit > 0 && static_cast<int64_t>(items.size()) == opts.limit) {
        const Key& last = std::prev(it)->first;
        next = EncodeContinue(list_rv, last.first, last.second);
        break;
      }
      items.push_back(it->second);
    }
  }
  json meta = {{"resourceVersion", std::to_string(list_rv)}};
  if (!next.empty()) meta["continue"] = next;
  return {200,
          {{"kind", rt.kind + "List"},
           {"apiVersion", rt.ApiVersion()},
           {"metadata", meta},
           {"items", items}}};
}

json ObjectStore::CommitLocked(const ResourceType& rt, const Key& key, json obj,
                               const std::string& type) {
  ++rv_;
  obj["metadata"]["resourceVersion"] = std::to_string(rv_);
  if (type == "DELETED") {
    ObjectsOf(rt).erase(key);
  } else {
    ObjectsOf(rt)[key] = obj;
  }
  history_.push_back({rv_, type, &rt, key.first, obj});
  while (history_.size() > history_limit_) {
    oldest_rv_ = history_.front().rv;
    history_.pop_front();
  }
  cv_.notify_all();
  return obj;
}

void ObjectStore::Notify(const ResourceType& rt, const json& obj) {
  WriteObserver observer;
  {
    std::lock_guard lock(mu_);
    observer = observer_;
  }
  if (observer) observer(rt, obj);
}

Reply ObjectStore::Create(const ResourceType& rt, const std::string& ns, json obj) {
  if (!obj.is_object()) return BadRequest("the body of the request is not a JSON object");
  json& meta = obj["metadata"];
  if (!meta.is_object()) meta = json::object();
  std::string body_ns = MetaString(obj, "namespace");
  if (rt.namespaced && !body_ns.empty() && body_ns != ns) {
    return BadRequest(
        "the namespace of the provided object does not match the namespace sent "
        "on the request");
  }
  Reply out;
  {
    std::lock_guard lock(mu_);
    std::string name = MetaString(obj, "name");
    if (name.empty() && !MetaString(obj, "generateName").empty()) {
      name = MetaString(obj, "generateName") + std::to_string(++uid_counter_);
      meta["name"] = name;
    }
    if (name.empty()) {
      return ErrorReply(422, "Invalid",
                        rt.kind +
                            " \"\" is invalid: metadata.name: Required value: "
                            "name or generateName is required");
    }
    Key key{rt.namespaced ? ns : "", name};
    if (FindLocked(rt, key)) return AlreadyExistsReply(rt, name);
    obj["kind"] = rt.kind;
    obj["apiVersion"] = rt.ApiVersion();
    if (rt.namespaced)
      meta["namespace"] = ns;
    else
      meta.erase("namespace");
    char uid[48];
    std::snprintf(uid, sizeof uid, "00000000-0000-4000-8000-%012lld",
                  static_cast<long long>(++uid_counter_));
    meta["uid"] = uid;
    meta["creationTimestamp"] =
        FormatRfc3339(std::chrono::time_point_cast<std::chrono::seconds>(clock_.Now()));
    if (rt.tracks_generation) meta["generation"] = 1;
    if (rt.status_subresource) obj.erase("status");
    if (rt.workload && !obj["spec"].contains("replicas")) obj["spec"]["replicas"] = 1;
    out = {201, CommitLocked(rt, key, std::move(obj), "ADDED")};
  }
  Notify(rt, out.body);
  return out;
}

Reply ObjectStore::Seed(const ResourceType& rt, json obj) {
  Reply out;
  {
    std::lock_guard lock(mu_);
    Key key{rt.namespaced ? MetaString(obj, "namespace") : "", MetaString(obj, "name")};
    obj["kind"] = rt.kind;
    obj["apiVersion"] = rt.ApiVersion();
    bool exists = FindLocked(rt, key) != nullptr;
    if (!obj["metadata"].contains("uid")) {
      obj["metadata"]["uid"] = "seed-" + std::to_string(++uid_counter_);
    }
    if (rt.tracks_generation && !obj["metadata"].contains("generation")) {
      obj["metadata"]["generation"] = 1;
    }
    out = {200, CommitLocked(rt, key, std::move(obj), exists ? "MODIFIED" : "ADDED")};
  }
  Notify(rt, out.body);
  return out;
}

Reply ObjectStore::Update(const ResourceType& rt, const std::string& ns, const std::string& name,
                          json obj) {
  Reply out;
  {
    std::lock_guard lock(mu_);
    out = UpdateLocked(rt, {rt.namespaced ? ns : "", name}, std::move(obj), false);
  }
  if (out.ok()) Notify(rt, out.body);
  return out;
}

Reply ObjectStore::UpdateStatus(const ResourceType& rt, const std::string& ns,
                                const std::string& name, json obj) {
  Reply out;
  {
    std::lock_guard lock(mu_);
    out = UpdateLocked(rt, {rt.namespaced ? ns : "", name}, std::move(obj), true);
  }
  if (out.ok()) Notify(rt, out.body);
  return out;
}

Reply ObjectStore::UpdateLocked(const ResourceType& rt, const Key& key, json obj, bool status) {
  if (!obj.is_object()) return BadRequest("the body of the request is not a JSON object");
  const json* stored = FindLocked(rt, key);
  if (!stored) return NotFoundReply(rt, key.second);
  std::string body_name = MetaString(obj, "name");
  if (!body_name.empty() && body_name != key.second) {
    return BadRequest("the name of the object (" + body_name +
                      ") does not match the name on the URL (" + key.second + ")");
  }
  std::string rv = MetaString(obj, "resourceVersion");
  if (!rv.empty() && rv != MetaString(*stored, "resourceVersion")) {
    return ConflictReply(rt, key.second);
  }
  json next;
  if (status) {
    next = *stored;
    if (obj.contains("status"))
      next["status"] = obj["status"];
    else
      next.erase("status");
  } else {
    next = std::move(obj);
    json& meta = next["metadata"];
    if (!meta.is_object()) meta = json::object();
    for (const char* f : {"name", "namespace", "uid", "creationTimestamp", "generation",
                          "deletionTimestamp", "deletionGracePeriodSeconds"}) {
      if ((*stored)["metadata"].contains(f))
        meta[f] = (*stored)["metadata"][f];
      else
        meta.erase(f);
    }
    next["kind"] = rt.kind;
    next["apiVersion"] = rt.ApiVersion();
    if (rt.status_subresource) {
      if (stored->contains("status"))
        next["status"] = (*stored)["status"];
      else
        next.erase("status");
    }
    if (rt.tracks_generation && SpecPart(next) != SpecPart(*stored)) {
      meta["generation"] = (*stored)["metadata"].value("generation", 0) + 1;
    }
  }
  next["metadata"]["resourceVersion"] = (*stored)["metadata"]["resourceVersion"];
  // A write that changes nothing is a no-op: same resourceVersion, no event.
  if (next == *stored) return {200, *stored};
  // The last finalizer of an object being deleted is gone: now it goes.
  const json& meta = next["metadata"];
  if (meta.contains("deletionTimestamp") &&
      (!meta.contains("finalizers") || !meta["finalizers"].is_array() || meta["finalizers"].empty())) {
    return {200, CommitLocked(rt, key, std::move(next), "DELETED")};
  }
  return {200, CommitLocked(rt, key, std::move(next), "MODIFIED")};
}

Reply ObjectStore::Patch(const ResourceType& rt, const std::string& ns, const std::string& name,
                         const std::string& content_type, const std::string& patch, bool status) {
  Reply out;
  {
    std::lock_guard lock(mu_);
    Key key{rt.namespaced ? ns : "", name};
    const json* stored = FindLocked(rt, key);
    if (!stored) return NotFoundReply(rt, name);
    Result<json> patched = ApplyPatch(*stored, content_type, patch, rt.custom);
    if (!patched.ok()) return PatchErrorReply(patched.status(), content_type);
    out = UpdateLocked(rt, key, std::move(patched).value(), status);
  }
  if (out.ok()) Notify(rt, out.body);
  return out;
}

Reply ObjectStore::Delete(const ResourceType& rt, const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  Key key{rt.namespaced ? ns : "", name};
  const json* stored = FindLocked(rt, key);
  if (!stored) return NotFoundReply(rt, name);
  json obj = *stored;
  // With finalizers the object stays, marked, until they are all removed
  // (each controller removes its own once its clean-up is done).
  const json& finalizers = obj["metadata"].value("finalizers", json::array());
  if (finalizers.is_array() && !finalizers.empty()) {
    if (obj["metadata"].contains("deletionTimestamp")) return {200, obj};
    obj["metadata"]["deletionTimestamp"] =
        FormatRfc3339(std::chrono::time_point_cast<std::chrono::seconds>(clock_.Now()));
    obj["metadata"]["deletionGracePeriodSeconds"] = 0;
    return {200, CommitLocked(rt, key, std::move(obj), "MODIFIED")};
  }
  return {200, CommitLocked(rt, key, std::move(obj), "DELETED")};
}

int64_t ObjectStore::CurrentRv() const {
  std::lock_guard lock(mu_);
  return rv_;
}

int64_t ObjectStore::OldestRv() const {
  std::lock_guard lock(mu_);
  return oldest_rv_;
}

void ObjectStore::Compact() {
  std::lock_guard lock(mu_);
  history_.clear();
  oldest_rv_ = rv_;
  cv_.notify_all();
}

void ObjectStore::Wake() {
  std::lock_guard lock(mu_);
  cv_.notify_all();
}

std::vector<WatchEvent> ObjectStore::WaitEvents(const ResourceType& rt, const std::string& ns,
                                                const ListOptions& selectors, int64_t after,
                                                std::chrono::steady_clock::time_point deadline,
                                                const std::function<bool()>& stop, bool* expired,
                                                int64_t* scanned) {
  std::vector<WatchEvent> out;
  std::unique_lock lock(mu_);
  *expired = false;
  while (true) {
    if (after < oldest_rv_) {
      *expired = true;
      return out;
    }
    for (const WatchEvent& e : history_) {
      if (e.rv <= after || e.rt != &rt) continue;
      if (!ns.empty() && e.ns != ns) continue;
      if (!MatchesSelectors(e.object, selectors)) continue;
      out.push_back(e);
    }
    *scanned = rv_;
    if (!out.empty() || stop() || std::chrono::steady_clock::now() >= deadline) return out;
    cv_.wait_until(lock, deadline);
  }
}

}  // namespace ebb::testing::kube
