#include "testing/kube/resource_types.h"

#include <set>

namespace ebb::testing::kube {

using nlohmann::json;

std::vector<ResourceType> DefaultResourceTypes() {
  auto t = [](std::string g, std::string v, std::string r, std::string k, bool ns) {
    ResourceType rt;
    rt.group = std::move(g);
    rt.version = std::move(v);
    rt.resource = std::move(r);
    rt.kind = std::move(k);
    rt.namespaced = ns;
    return rt;
  };
  std::vector<ResourceType> types = {
      t("", "v1", "namespaces", "Namespace", false),
      t("", "v1", "secrets", "Secret", true),
      t("", "v1", "configmaps", "ConfigMap", true),
      t("", "v1", "events", "Event", true),
      t("", "v1", "pods", "Pod", true),
      t("", "v1", "serviceaccounts", "ServiceAccount", true),
      t("apps", "v1", "deployments", "Deployment", true),
      t("apps", "v1", "statefulsets", "StatefulSet", true),
      t("keda.sh", "v1alpha1", "scaledobjects", "ScaledObject", true),
      t("keda.sh", "v1alpha1", "triggerauthentications", "TriggerAuthentication", true),
      t("keda.sh", "v1alpha1", "clustertriggerauthentications", "ClusterTriggerAuthentication",
        false),
      t("coordination.k8s.io", "v1", "leases", "Lease", true),
      t("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration", false),
      t("example.com", "v1", "widgets", "Widget", true),
  };
  for (ResourceType& rt : types) {
    bool apps = rt.group == "apps";
    rt.custom = rt.group == "keda.sh" || rt.group == "example.com";
    rt.status_subresource = apps || rt.custom;
    rt.tracks_generation = apps || rt.custom;
    rt.scale_subresource = apps || rt.resource == "widgets";
    rt.workload = apps;
  }
  return types;
}

const ResourceType* FindResourceType(const std::vector<ResourceType>& types,
                                     const std::string& group, const std::string& version,
                                     const std::string& resource) {
  for (const ResourceType& rt : types) {
    if (rt.group == group && rt.version == version && rt.resource == resource) return &rt;
  }
  return nullptr;
}

json StatusBody(int code, const std::string& reason, const std::string& message,
                const json& details) {
  json s = {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
            {"status", "Failure"}, {"message", message}, {"reason", reason},
            {"code", code}};
  if (!details.is_null()) s["details"] = details;
  return s;
}

Reply ErrorReply(int code, const std::string& reason, const std::string& message,
                 const json& details) {
  return {code, StatusBody(code, reason, message, details)};
}

json Details(const ResourceType& rt, const std::string& name) {
  json d = json::object();
  if (!name.empty()) d["name"] = name;
  if (!rt.group.empty()) d["group"] = rt.group;
  d["kind"] = rt.resource;
  return d;
}

namespace {
std::string Named(const ResourceType& rt, const std::string& name) {
  return rt.GroupResource() + " \"" + name + "\"";
}
}  // namespace

Reply NotFoundReply(const ResourceType& rt, const std::string& name) {
  return ErrorReply(404, "NotFound", Named(rt, name) + " not found", Details(rt, name));
}

Reply ConflictReply(const ResourceType& rt, const std::string& name) {
  return ErrorReply(409, "Conflict",
                    "Operation cannot be fulfilled on " + Named(rt, name) +
                        ": the object has been modified; please apply your changes to the "
                        "latest version and try again",
                    Details(rt, name));
}

Reply AlreadyExistsReply(const ResourceType& rt, const std::string& name) {
  return ErrorReply(409, "AlreadyExists", Named(rt, name) + " already exists", Details(rt, name));
}

json ExpiredStatus(int64_t requested, int64_t oldest) {
  return StatusBody(410, "Expired",
                    "too old resource version: " + std::to_string(requested) + " (" +
                        std::to_string(oldest) + ")");
}

Reply ForbiddenReply(const ResourceType& rt, const std::string& name, const std::string& user,
                     const std::string& verb, const std::string& subresource,
                     const std::string& ns) {
  std::string subject = name.empty() ? rt.GroupResource() : Named(rt, name);
  std::string resource = subresource.empty() ? rt.resource : rt.resource + "/" + subresource;
  std::string scope = ns.empty() ? "at the cluster scope" : "in the namespace \"" + ns + "\"";
  return ErrorReply(403, "Forbidden",
                    subject + " is forbidden: User \"" + user + "\" cannot " + verb +
                        " resource \"" + resource + "\" in API group \"" + rt.group + "\" " + scope,
                    Details(rt, name));
}

Reply UnauthorizedReply() { return ErrorReply(401, "Unauthorized", "Unauthorized"); }

json CoreApiVersions() {
  return {
      {"kind", "APIVersions"}, {"versions", {"v1"}}, {"serverAddressByClientCIDRs", json::array()}};
}

json ApiGroupList(const std::vector<ResourceType>& types) {
  json groups = json::array();
  std::set<std::string> seen;
  for (const ResourceType& rt : types) {
    if (rt.group.empty() || !seen.insert(rt.group).second) continue;
    json gv = {{"groupVersion", rt.ApiVersion()}, {"version", rt.version}};
    groups.push_back({{"name", rt.group}, {"versions", {gv}}, {"preferredVersion", gv}});
  }
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

json ApiResourceList(const std::vector<ResourceType>& types, const std::string& group,
                     const std::string& version) {
  json resources = json::array();
  for (const ResourceType& rt : types) {
    if (rt.group != group || rt.version != version) continue;
    json verbs = {"create", "delete", "get", "list", "patch", "update", "watch"};
    resources.push_back({{"name", rt.resource},
                         {"singularName", ""},
                         {"namespaced", rt.namespaced},
                         {"kind", rt.kind},
                         {"verbs", verbs}});
    if (rt.status_subresource) {
      resources.push_back({{"name", rt.resource + "/status"},
                           {"singularName", ""},
                           {"namespaced", rt.namespaced},
                           {"kind", rt.kind},
                           {"verbs", {"get", "patch", "update"}}});
    }
    if (rt.scale_subresource) {
      resources.push_back({{"name", rt.resource + "/scale"},
                           {"singularName", ""},
                           {"namespaced", rt.namespaced},
                           {"group", "autoscaling"},
                           {"version", "v1"},
                           {"kind", "Scale"},
                           {"verbs", {"get", "patch", "update"}}});
    }
  }
  if (resources.empty()) return nullptr;
  std::string gv = group.empty() ? version : group + "/" + version;
  return {{"kind", "APIResourceList"},
          {"apiVersion", "v1"},
          {"groupVersion", gv},
          {"resources", resources}};
}

}  // namespace ebb::testing::kube
