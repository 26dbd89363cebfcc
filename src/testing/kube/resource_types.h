// Resource types the fake API server serves, the metav1.Status error
// bodies it answers with (worded as the real kube-apiserver words them, see
// facts/kubernetes.md), and its discovery documents.
//
//   const ResourceType* rt = FindResourceType(types, "apps", "v1", "deployments");
//   Reply r = NotFoundReply(*rt, "web");   // 404, reason NotFound
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ebb::testing::kube {

// One served resource (a group/version/resource and what it supports).
// Plain value type.
struct ResourceType {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string resource;  // plural: "deployments"
  std::string kind;      // "Deployment"
  bool namespaced = true;
  bool status_subresource = false;  // .../status exists; main writes ignore .status
  bool scale_subresource = false;   // .../scale exists (spec.replicas, status.replicas)
  bool tracks_generation = false;   // metadata.generation counts spec changes
  bool custom = false;              // a CRD: rejects strategic merge patch with 415
  bool workload = false;            // simulated: status follows spec.replicas

  // "deployments.apps", or "secrets" in the core group: how messages name it.
  std::string GroupResource() const { return group.empty() ? resource : resource + "." + group; }
  // "apps/v1", or "v1" in the core group.
  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
};

// Core secrets, configmaps, events, namespaces, pods, serviceaccounts;
// admissionregistration.k8s.io/v1 mutatingwebhookconfigurations; apps/v1 deployments and
// statefulsets; keda.sh/v1alpha1 scaledobjects, triggerauthentications,
// clustertriggerauthentications; coordination.k8s.io/v1 leases; and
// example.com/v1 widgets, a custom resource with status and scale
// subresources.
std::vector<ResourceType> DefaultResourceTypes();

// nullptr when not served.
const ResourceType* FindResourceType(const std::vector<ResourceType>& types,
                                     const std::string& group, const std::string& version,
                                     const std::string& resource);

// An HTTP status and a JSON body (an object, a list or a metav1.Status).
struct Reply {
  int code = 200;
  nlohmann::json body;
  bool ok() const { return code >= 200 && code < 300; }
};

// A metav1.Status failure body.
nlohmann::json StatusBody(int code, const std::string& reason, const std::string& message,
                          const nlohmann::json& details = nullptr);
Reply ErrorReply(int code, const std::string& reason, const std::string& message,
                 const nlohmann::json& details = nullptr);

// {"name":..,"group":..,"kind":<resource>} as the real server fills details.
nlohmann::json Details(const ResourceType& rt, const std::string& name);

// 404 `deployments.apps "web" not found`.
Reply NotFoundReply(const ResourceType& rt, const std::string& name);
// 409 Conflict: "Operation cannot be fulfilled on deployments.apps "web": the
// object has been modified; ...".
Reply ConflictReply(const ResourceType& rt, const std::string& name);
// 409 AlreadyExists: `deployments.apps "web" already exists`.
Reply AlreadyExistsReply(const ResourceType& rt, const std::string& name);
// 410 Expired "too old resource version: 5 (10)".
nlohmann::json ExpiredStatus(int64_t requested, int64_t oldest);
// 403 `<res> "name" is forbidden: User "u" cannot <verb> resource "<res[/sub]>"
// in API group "<g>" in the namespace "<ns>"` (or "at the cluster scope").
Reply ForbiddenReply(const ResourceType& rt, const std::string& name, const std::string& user,
                     const std::string& verb, const std::string& subresource,
                     const std::string& ns);
Reply UnauthorizedReply();

// Discovery: /api, /apis, /api/v1 and /apis/{group}/{version}.
nlohmann::json CoreApiVersions();
nlohmann::json ApiGroupList(const std::vector<ResourceType>& types);
// nullptr-json when no type has this group/version.
nlohmann::json ApiResourceList(const std::vector<ResourceType>& types, const std::string& group,
                               const std::string& version);

}  // namespace ebb::testing::kube
