#include "api/manifest_set.h"

#include <set>

#include "api/decode.h"
#include "api/decoder.h"

namespace ebb::api {

namespace {

template <typename T>
const T* FindIn(const std::vector<T>& items, const std::string& ns, const std::string& name) {
  for (const T& item : items) {
    if (item.metadata.namespace_name == ns && item.metadata.name == name) return &item;
  }
  return nullptr;
}

Problem DocProblem(const Document& doc, std::string kind, std::string message) {
  return Problem{doc.file, doc.LineOf(""), doc.index, std::move(kind), "", "", std::move(message)};
}

// Routes one document to its decoder; false when it is not a kind ebb reads.
bool DecodeInto(const Document& doc, const std::string& api_version, const std::string& kind,
                ManifestSet* set) {
  if (api_version == "keda.sh/v1alpha1") {
    if (kind == "ScaledObject") {
      if (auto so = DecodeScaledObject(doc, &set->errors, &set->warnings)) {
        set->scaled_objects.push_back(std::move(*so));
      }
    } else if (kind == "TriggerAuthentication" || kind == "ClusterTriggerAuthentication") {
      if (auto ta = DecodeTriggerAuthentication(doc, kind == "ClusterTriggerAuthentication",
                                                &set->errors, &set->warnings)) {
        set->trigger_authentications.push_back(std::move(*ta));
      }
    } else if (kind == "ScaledJob") {
      set->warnings.push_back(DocProblem(doc, kind, "ScaledJob is not supported by ebb yet; ignored"));
    } else {
      return false;
    }
    return true;
  }
  if (api_version == "v1" && kind == "Secret") {
    if (auto s = DecodeSecret(doc, &set->errors, &set->warnings)) set->secrets.push_back(std::move(*s));
    return true;
  }
  if (api_version == "v1" && kind == "ConfigMap") {
    if (auto c = DecodeConfigMap(doc, &set->errors, &set->warnings)) {
      set->config_maps.push_back(std::move(*c));
    }
    return true;
  }
  return false;
}

void Route(Document doc, ManifestSet* set) {
  if (!doc.value.is_object()) {
    set->errors.push_back(DocProblem(doc, "", "is not a map; a manifest needs apiVersion and kind"));
    return;
  }
  std::string api_version;
  std::string kind;
  for (auto [key, out] : {std::pair{"apiVersion", &api_version}, std::pair{"kind", &kind}}) {
    auto it = doc.value.find(key);
    if (it == doc.value.end() || it->is_null()) continue;
    if (!it->is_string()) {
      set->errors.push_back(Problem{doc.file, doc.LineOf(key), doc.index, "", "", key,
                                    "must be a string, not " + JsonTypeName(*it)});
      return;
    }
    *out = it->get<std::string>();
  }
  if (kind.empty() || api_version.empty()) {
    set->warnings.push_back(DocProblem(doc, kind, "has no apiVersion or kind; ignored"));
    return;
  }
  if (api_version == "keda.k8s.io/v1alpha1") {
    set->errors.push_back(DocProblem(doc, kind,
        "apiVersion keda.k8s.io/v1alpha1 is KEDA v1's; change it to keda.sh/v1alpha1"));
    return;
  }
  if (!DecodeInto(doc, api_version, kind, set)) set->other_documents.push_back(std::move(doc));
}

// A second object with the same kind, namespace and name replaces nothing:
// it is an error, and the first one wins.
template <typename T>
void RejectDuplicates(std::vector<T>* items, const std::string& kind, Problems* errors) {
  std::set<std::string> seen;
  std::vector<T> kept;
  for (T& item : *items) {
    std::string key = item.metadata.Key();
    if constexpr (std::is_same_v<T, TriggerAuthentication>) key = item.KindName() + "/" + key;
    if (!seen.insert(key).second) {
      errors->push_back({"", 0, 0, kind, item.metadata.Key(), "metadata.name",
                         "is defined twice; the first definition is used"});
      continue;
    }
    kept.push_back(std::move(item));
  }
  *items = std::move(kept);
}

}  // namespace

const TriggerAuthentication* ManifestSet::FindTriggerAuthentication(const std::string& ns,
                                                                    const std::string& name) const {
  for (const auto& ta : trigger_authentications) {
    if (!ta.cluster_scoped && ta.metadata.namespace_name == ns && ta.metadata.name == name) return &ta;
  }
  return nullptr;
}

const TriggerAuthentication* ManifestSet::FindClusterTriggerAuthentication(
    const std::string& name) const {
  for (const auto& ta : trigger_authentications) {
    if (ta.cluster_scoped && ta.metadata.name == name) return &ta;
  }
  return nullptr;
}

const SecretObject* ManifestSet::FindSecret(const std::string& ns, const std::string& name) const {
  return FindIn(secrets, ns, name);
}

const ConfigMapObject* ManifestSet::FindConfigMap(const std::string& ns,
                                                  const std::string& name) const {
  return FindIn(config_maps, ns, name);
}

const ScaledObject* ManifestSet::FindScaledObject(const std::string& ns,
                                                  const std::string& name) const {
  return FindIn(scaled_objects, ns, name);
}

ManifestSet BuildManifestSet(std::vector<Document> documents, Problems load_problems) {
  ManifestSet set;
  set.errors = std::move(load_problems);
  for (Document& doc : documents) Route(std::move(doc), &set);
  RejectDuplicates(&set.scaled_objects, "ScaledObject", &set.errors);
  RejectDuplicates(&set.trigger_authentications, "TriggerAuthentication", &set.errors);
  RejectDuplicates(&set.secrets, "Secret", &set.errors);
  RejectDuplicates(&set.config_maps, "ConfigMap", &set.errors);
  return set;
}

ManifestSet LoadManifestSet(const std::vector<std::string>& paths) {
  Problems problems;
  std::vector<Document> docs = LoadDocuments(paths, &problems);
  return BuildManifestSet(std::move(docs), std::move(problems));
}

}  // namespace ebb::api
