// cluster.*: what the Azure workload identity webhook needs in the cluster
// (facts/azure-identity.md, "What the mutating webhook does to a pod"): the
// operator pod's label, its service account's annotations, the webhook
// itself, and the variables it injected into the pod.
#include <algorithm>
#include <cctype>

#include "common/clock.h"
#include "common/strings.h"
#include "doctor/checks.h"

namespace ebb::doctor {

const std::vector<std::string_view> kClusterIds = {"cluster.operator-pod", "cluster.pod-label",
                                                   "cluster.service-account", "cluster.webhook",
                                                   "cluster.pod-injected"};

namespace {

using nlohmann::json;

const kube::GroupVersionResource kPods{"", "v1", "pods", true};
const kube::GroupVersionResource kServiceAccounts{"", "v1", "serviceaccounts", true};
const kube::GroupVersionResource kMutatingWebhooks{"admissionregistration.k8s.io", "v1",
                                                   "mutatingwebhookconfigurations", false};

constexpr char kUseLabel[] = "azure.workload.identity/use";
constexpr char kClientIdAnnotation[] = "azure.workload.identity/client-id";
constexpr char kTenantIdAnnotation[] = "azure.workload.identity/tenant-id";
const char* const kInjectedVars[] = {"AZURE_CLIENT_ID", "AZURE_TENANT_ID",
                                     "AZURE_FEDERATED_TOKEN_FILE"};

constexpr char kPointAtPod[] =
    "name the operator's pod with --operator-pod NAMESPACE/NAME (kubectl get pods -A | grep "
    "ebb), or run doctor inside it with --in-cluster and POD_NAMESPACE/POD_NAME set from the "
    "downward API (fieldRef metadata.namespace, metadata.name)";

CheckResult Fail(CheckResult r, std::string detail, std::string fix) {
  r.status = CheckResult::kFail;
  r.detail = std::move(detail);
  r.fix = std::move(fix);
  return r;
}

std::string Str(const json& j, const json::json_pointer& p) {
  if (!j.contains(p)) return "";
  const json& v = j.at(p);
  return v.is_string() ? v.get<std::string>() : "";
}

// metadata.labels[key] / metadata.annotations[key]; nullopt when absent.
std::optional<std::string> MetaMap(const json& obj, const char* map, const std::string& key) {
  if (!obj.contains("metadata") || !obj["metadata"].contains(map)) return std::nullopt;
  const json& m = obj["metadata"][map];
  if (!m.is_object() || !m.contains(key)) return std::nullopt;
  return m[key].is_string() ? m[key].get<std::string>() : m[key].dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Created(const json& obj) {
  return Str(obj, "/metadata/creationTimestamp"_json_pointer);
}

std::optional<Time> CreatedAt(const json& obj) {
  Time t;
  std::string s = Created(obj);
  if (s.empty() || !ParseRfc3339(s, &t)) return std::nullopt;
  return t;
}

std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// A failed API call as a check failure. 403: the verb and resource doctor
// needs, and how to grant them.
CheckResult ApiFailure(CheckResult r, const kube::ApiResult& a, const std::string& verb,
                       const std::string& resource, const std::string& ns,
                       const std::string& what) {
  std::string where = ns.empty() ? "at the cluster scope" : "in namespace " + ns;
  if (a.IsForbidden()) {
    std::string grant =
        ns.empty()
            ? "kubectl create clusterrole ebb-doctor --verb=" + verb + " --resource=" + resource +
                  " && kubectl create clusterrolebinding ebb-doctor --clusterrole=ebb-doctor "
                  "--user=USER (or --serviceaccount=NS:SA)"
            : "kubectl create role ebb-doctor -n " + ns + " --verb=" + verb +
                  " --resource=" + resource + " && kubectl create rolebinding ebb-doctor -n " + ns +
                  " --role=ebb-doctor --user=USER (or --serviceaccount=NS:SA)";
    return Fail(r,
                "the API server refused to let doctor " + verb + " " + resource + " " + where +
                    " (403 Forbidden): " + a.status.message(),
                "doctor needs `" + verb + "` on " + resource + " " + where +
                    "; grant it to the identity doctor runs as: " + grant);
  }
  if (a.IsUnauthorized()) {
    return Fail(r,
                "the API server did not accept doctor's credentials (401) for " + what + ": " +
                    a.status.message(),
                "check the kubeconfig's user (or the pod's service-account token with "
                "--in-cluster)");
  }
  return Fail(r, "cannot " + verb + " " + what + ": " + a.status.message(),
              "check that the API server is reachable from where doctor runs (--kubeconfig, "
              "--in-cluster)");
}

bool IsWorkloadIdentityWebhook(const json& config, std::string* which) {
  std::string name = Str(config, "/metadata/name"_json_pointer);
  if (name.find("azure-wi-webhook") != std::string::npos) {
    *which = name;
    return true;
  }
  if (config.contains("webhooks") && config["webhooks"].is_array()) {
    for (const json& w : config["webhooks"]) {
      std::string wn = w.value("name", "");
      if (wn.find("workload-identity") != std::string::npos) {
        *which = name + " (webhook " + wn + ")";
        return true;
      }
    }
  }
  return false;
}

// The container names of the pod lacking any injected variable, with what
// they lack: "ebb (AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE)".
std::vector<std::string> MissingInjection(const json& pod, std::vector<std::string>* names) {
  std::vector<std::string> missing;
  const json* containers = nullptr;
  if (pod.contains("spec") && pod["spec"].contains("containers"))
    containers = &pod["spec"]["containers"];
  if (containers == nullptr || !containers->is_array()) return missing;
  for (const json& c : *containers) {
    std::string name = c.value("name", "?");
    names->push_back(name);
    std::vector<std::string> lacks;
    for (const char* var : kInjectedVars) {
      bool found = false;
      if (c.contains("env") && c["env"].is_array()) {
        for (const json& e : c["env"]) {
          if (e.value("name", "") == var) found = true;
        }
      }
      if (!found) lacks.push_back(var);
    }
    if (!lacks.empty()) missing.push_back(name + " (" + Join(lacks, ", ") + ")");
  }
  return missing;
}

// The literal value of variable `var` in the pod's first container that sets it.
std::string EnvValue(const json& pod, const std::string& var) {
  if (!pod.contains("spec") || !pod["spec"].contains("containers")) return "";
  for (const json& c : pod["spec"]["containers"]) {
    if (!c.contains("env") || !c["env"].is_array()) continue;
    for (const json& e : c["env"]) {
      if (e.value("name", "") == var && e.contains("value") && e["value"].is_string()) {
        return e["value"].get<std::string>();
      }
    }
  }
  return "";
}

std::string RestartFix(const std::string& ns, const std::string& name) {
  return "restart the pod so that the webhook mutates its replacement at CREATE: kubectl rollout "
         "restart deployment -n " +
         ns + " <the operator's deployment> (or kubectl delete pod -n " + ns + " " + name + ")";
}

}  // namespace

std::vector<CheckResult> CheckCluster(const TriggerUnderTest& t, const DoctorContext& ctx) {
  std::vector<CheckResult> out;
  const std::string scope = t.Scope();

  // --- cluster.operator-pod ---
  CheckResult r = NewCheck("cluster.operator-pod", scope);
  if (ctx.kube == nullptr) {
    out.push_back(
        Fail(r,
             "cannot load the cluster configuration: " +
                 (ctx.kube_error.empty() ? std::string("no cluster given") : ctx.kube_error),
             "give --kubeconfig FILE with a usable context, or run doctor in a pod "
             "with --in-cluster (KUBERNETES_SERVICE_HOST set, service-account token "
             "mounted)"));
    return out;
  }
  std::string ns, name, origin;
  if (!ctx.operator_pod.empty()) {
    size_t slash = ctx.operator_pod.find('/');
    ns = ctx.operator_pod.substr(0, slash);
    name = slash == std::string::npos ? "" : ctx.operator_pod.substr(slash + 1);
    origin = "--operator-pod";
  } else if (ctx.in_cluster) {
    auto get = [&](const char* var) {
      auto it = ctx.env.find(var);
      return it == ctx.env.end() ? std::string() : std::string(Trim(it->second));
    };
    ns = get("POD_NAMESPACE");
    name = get("POD_NAME");
    origin = "POD_NAMESPACE/POD_NAME";
  }
  if (ns.empty() || name.empty()) {
    out.push_back(Fail(r,
                       ctx.in_cluster ? "no operator pod to examine: --operator-pod is not given "
                                        "and POD_NAMESPACE or POD_NAME is not set"
                                      : "no operator pod to examine: --operator-pod is not given",
                       kPointAtPod));
    return out;
  }
  kube::ApiResult pod_result = ctx.kube->CallSync({.path = kube::ObjectPath(kPods, ns, name)});
  if (pod_result.IsNotFound()) {
    out.push_back(Fail(r,
                       "pod " + ns + "/" + name + " (from " + origin + ") not found in " +
                           ctx.kube->config().source,
                       kPointAtPod));
    return out;
  }
  if (!pod_result.ok()) {
    out.push_back(ApiFailure(r, pod_result, "get", "pods", ns, "pod " + ns + "/" + name));
    return out;
  }
  const json& pod = pod_result.object;
  std::string sa_name = Str(pod, "/spec/serviceAccountName"_json_pointer);
  if (sa_name.empty()) sa_name = "default";
  r.detail = "pod " + ns + "/" + name + " (from " + origin + "), service account " + sa_name +
             ", created " + Created(pod);
  out.push_back(r);

  // The service account, read once for the label remark and its own check.
  kube::ApiResult sa_result =
      ctx.kube->CallSync({.path = kube::ObjectPath(kServiceAccounts, ns, sa_name)});

  // --- cluster.pod-label ---
  r = NewCheck("cluster.pod-label", scope);
  std::optional<std::string> label = MetaMap(pod, "labels", kUseLabel);
  if (!label || *label != "true") {
    std::string detail =
        label ? "pod " + ns + "/" + name + " has label " + kUseLabel + ": \"" + *label +
                    "\": the webhook acts only on exactly \"true\" (lower case)"
              : "pod " + ns + "/" + name + " has no label " + kUseLabel +
                    ": the webhook leaves it alone and injects no AZURE_* variables";
    if (sa_result.ok() && MetaMap(sa_result.object, "labels", kUseLabel)) {
      detail += "; service account " + sa_name +
                " carries the label, but a label on the service account does nothing";
    }
    out.push_back(Fail(r, detail,
                       std::string("set the label on the pod template of the operator's "
                                   "Deployment (spec.template.metadata.labels: ") +
                           kUseLabel +
                           ": \"true\", quoted in YAML), not on the service account (a label "
                           "there does nothing), then restart the pod"));
    return out;
  }
  r.detail = std::string("pod carries ") + kUseLabel + ": \"true\"";
  out.push_back(r);

  // --- cluster.service-account ---
  r = NewCheck("cluster.service-account", scope);
  if (sa_result.IsNotFound()) {
    out.push_back(Fail(r, "service account " + ns + "/" + sa_name + " of the pod not found",
                       "create it, or set the pod template's serviceAccountName to the one "
                       "annotated for workload identity"));
    return out;
  }
  if (!sa_result.ok()) {
    out.push_back(ApiFailure(r, sa_result, "get", "serviceaccounts", ns,
                             "service account " + ns + "/" + sa_name));
    return out;
  }
  const json& sa = sa_result.object;
  std::optional<std::string> client = MetaMap(sa, "annotations", kClientIdAnnotation);
  std::string annotate = "kubectl annotate serviceaccount -n " + ns + " " + sa_name + " " +
                         kClientIdAnnotation + "=<client id of the managed identity>";
  if (!client || Trim(*client).empty()) {
    out.push_back(Fail(r,
                       "service account " + ns + "/" + sa_name + " has no annotation " +
                           kClientIdAnnotation +
                           ": the webhook does not know which identity to inject",
                       annotate + ", then restart the pod"));
    return out;
  }
  // What doctor uses: the podIdentity override, else the variable.
  const api::PodIdentity* pi = t.authentication && t.authentication->spec.pod_identity
                                   ? &*t.authentication->spec.pod_identity
                                   : nullptr;
  auto env_of = [&](const char* var) {
    auto it = ctx.env.find(var);
    return it == ctx.env.end() ? std::string() : std::string(Trim(it->second));
  };
  std::string want_client =
      pi && !pi->identity_id.empty() ? pi->identity_id : env_of("AZURE_CLIENT_ID");
  std::string client_origin =
      pi && !pi->identity_id.empty() ? "podIdentity.identityId" : "AZURE_CLIENT_ID";
  std::string want_tenant =
      pi && !pi->identity_tenant_id.empty() ? pi->identity_tenant_id : env_of("AZURE_TENANT_ID");
  std::string tenant_origin =
      pi && !pi->identity_tenant_id.empty() ? "podIdentity.identityTenantId" : "AZURE_TENANT_ID";
  std::string have_client(Trim(*client));
  if (!want_client.empty() && Lower(have_client) != Lower(want_client)) {
    out.push_back(Fail(r,
                       "service account " + ns + "/" + sa_name + " has " + kClientIdAnnotation +
                           " \"" + have_client + "\", but doctor sees " + client_origin + " \"" +
                           want_client + "\"",
                       "make them the same client id: correct the annotation (" + annotate +
                           ") or " + client_origin + ", then restart the pod"));
    return out;
  }
  std::optional<std::string> tenant = MetaMap(sa, "annotations", kTenantIdAnnotation);
  if (tenant && !Trim(*tenant).empty() && !want_tenant.empty() &&
      Lower(std::string(Trim(*tenant))) != Lower(want_tenant)) {
    out.push_back(Fail(r,
                       "service account " + ns + "/" + sa_name + " has " + kTenantIdAnnotation +
                           " \"" + std::string(Trim(*tenant)) + "\", but doctor sees " +
                           tenant_origin + " \"" + want_tenant + "\"",
                       "make them the same tenant: correct the annotation or " + tenant_origin +
                           ", then restart the pod"));
    return out;
  }
  r.detail = "service account " + ns + "/" + sa_name + ": " + kClientIdAnnotation + " " +
             have_client +
             (tenant ? std::string(", ") + kTenantIdAnnotation + " " + *tenant
                     : std::string(", no tenant-id annotation (the cluster's tenant)"));
  out.push_back(r);

  // --- cluster.webhook ---
  r = NewCheck("cluster.webhook", scope);
  kube::ApiResult hooks = ctx.kube->CallSync({.path = kube::CollectionPath(kMutatingWebhooks, "")});
  if (!hooks.ok()) {
    out.push_back(ApiFailure(r, hooks, "list",
                             "mutatingwebhookconfigurations.admissionregistration.k8s.io", "",
                             "mutatingwebhookconfigurations"));
    return out;
  }
  const json* webhook = nullptr;
  std::string webhook_name;
  if (hooks.object.contains("items") && hooks.object["items"].is_array()) {
    for (const json& item : hooks.object["items"]) {
      if (IsWorkloadIdentityWebhook(item, &webhook_name)) {
        webhook = &item;
        break;
      }
    }
  }
  if (webhook == nullptr) {
    out.push_back(Fail(
        r,
        "no MutatingWebhookConfiguration for Azure workload identity (none named "
        "*azure-wi-webhook* "
        "or with a webhook named *workload-identity*): nothing injects AZURE_* into pods",
        "enable workload identity on the cluster (AKS: az aks update -g RG -n CLUSTER "
        "--enable-oidc-issuer --enable-workload-identity) or install the webhook (helm install "
        "workload-identity-webhook azure-workload-identity/workload-identity-webhook -n "
        "azure-workload-identity-system --set azureTenantID=...), then restart the pod"));
    return out;
  }
  r.detail = "MutatingWebhookConfiguration " + webhook_name + ", created " + Created(*webhook);
  out.push_back(r);

  // --- cluster.pod-injected ---
  r = NewCheck("cluster.pod-injected", scope);
  std::vector<std::string> containers;
  std::vector<std::string> missing = MissingInjection(pod, &containers);
  if (!missing.empty()) {
    std::string why =
        "the label, the annotation and the webhook are in place, so the pod was created before "
        "them (the webhook acts only at CREATE)";
    std::optional<Time> pod_at = CreatedAt(pod);
    std::optional<Time> sa_at = CreatedAt(sa);
    std::optional<Time> hook_at = CreatedAt(*webhook);
    if (pod_at && hook_at && *pod_at < *hook_at) {
      why = "the pod was created at " + Created(pod) + ", before the webhook (" +
            Created(*webhook) + "): the webhook acts only at CREATE";
    } else if (pod_at && sa_at && *pod_at < *sa_at) {
      why = "the pod was created at " + Created(pod) + ", before its service account (" +
            Created(sa) + "): the webhook acts only at CREATE";
    } else if (pod_at) {
      why = "the pod was created at " + Created(pod) +
            "; the label or the annotation was most likely added after that, and the webhook "
            "acts only at CREATE";
    }
    out.push_back(Fail(r,
                       "container(s) of pod " + ns + "/" + name +
                           " lack the injected variables: " + Join(missing, "; ") + ": " + why,
                       RestartFix(ns, name)));
    return out;
  }
  // Injected, but for another identity (the annotation changed since).
  std::string injected = EnvValue(pod, "AZURE_CLIENT_ID");
  if (!injected.empty() && Lower(injected) != Lower(have_client)) {
    out.push_back(Fail(r,
                       "pod " + ns + "/" + name + " has AZURE_CLIENT_ID \"" + injected +
                           "\" but its service account's " + kClientIdAnnotation + " is \"" +
                           have_client + "\": the annotation changed after the pod was created",
                       RestartFix(ns, name)));
    return out;
  }
  r.detail = "containers " + Join(containers, ", ") +
             " carry AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE";
  out.push_back(r);
  return out;
}

}  // namespace ebb::doctor
