// GroupVersionResource and the REST paths of the Kubernetes API, plus the
// resources ebb uses, and the derivation of a resource from a
// scaleTargetRef's apiVersion and kind when discovery is not available.
//
//   ObjectPath(kDeployments, "ns", "web", "scale")
//     -> "/apis/apps/v1/namespaces/ns/deployments/web/scale"
#pragma once

#include <string>

namespace ebb::kube {

struct GroupVersionResource {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string resource;  // plural, lower case: "deployments"
  bool namespaced = true;

  // "apps/v1", or "v1" in the core group.
  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "deployments.apps", or "secrets": how the API server names it.
  std::string GroupResource() const { return group.empty() ? resource : resource + "." + group; }
  friend bool operator==(const GroupVersionResource&, const GroupVersionResource&) = default;
};

inline const GroupVersionResource kDeployments{"apps", "v1", "deployments", true};
inline const GroupVersionResource kStatefulSets{"apps", "v1", "statefulsets", true};
inline const GroupVersionResource kSecrets{"", "v1", "secrets", true};
inline const GroupVersionResource kConfigMaps{"", "v1", "configmaps", true};
inline const GroupVersionResource kEvents{"", "v1", "events", true};
inline const GroupVersionResource kLeases{"coordination.k8s.io", "v1", "leases", true};
inline const GroupVersionResource kScaledObjects{"keda.sh", "v1alpha1", "scaledobjects", true};
inline const GroupVersionResource kTriggerAuthentications{"keda.sh", "v1alpha1",
                                                          "triggerauthentications", true};
inline const GroupVersionResource kClusterTriggerAuthentications{
    "keda.sh", "v1alpha1", "clustertriggerauthentications", false};

// "/api/v1" or "/apis/apps/v1".
std::string GroupVersionPath(const std::string& group, const std::string& version);
// The collection: ".../namespaces/{ns}/{resource}", or ".../{resource}" for
// cluster-scoped resources and for every namespace (`ns` empty).
std::string CollectionPath(const GroupVersionResource& gvr, const std::string& ns);
// One object, optionally a subresource ("status", "scale").
std::string ObjectPath(const GroupVersionResource& gvr, const std::string& ns,
                       const std::string& name, const std::string& subresource = "");

// Splits "apps/v1" into group "apps", version "v1" ("v1" -> "", "v1").
void SplitApiVersion(const std::string& api_version, std::string* group, std::string* version);

// The resource a kind most likely is, as kubectl guesses without discovery:
// the lower-case kind made plural (Deployment -> deployments, Policy ->
// policies, Ingress -> ingresses). Always namespaced.
GroupVersionResource GuessResource(const std::string& api_version, const std::string& kind);

// Percent-encodes a query parameter value.
std::string QueryEscape(const std::string& value);

}  // namespace ebb::kube
