// Checks deploy/: the CRDs, the hand-rendered chart outputs
// (deploy/manifests/), the chart's values and CRD copies, the RBAC tables of
// docs/deploy.md and the Dockerfile. helm and kubectl are not on the build
// machines, so the renderings are plain files that these tests parse with
// ebb's own manifest reader (api::ParseDocuments).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/document.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kRoot = EBB_SOURCE_DIR;
const fs::path kDeploy = kRoot / "deploy";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<json> LoadYaml(const fs::path& path) {
  std::vector<json> out;
  auto docs = ebb::api::ParseDocuments(ReadFile(path), path.string());
  EXPECT_TRUE(docs.ok()) << docs.status().ToString();
  if (!docs.ok()) return out;
  for (const auto& d : *docs) {
    if (!d.value.is_null()) out.push_back(d.value);
  }
  return out;
}

std::vector<fs::path> YamlFilesIn(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The one object of `kind` (and `name`, when given) in `docs`.
const json* Find(const std::vector<json>& docs, const std::string& kind,
                 const std::string& name = "") {
  const json* found = nullptr;
  for (const auto& d : docs) {
    if (d.value("kind", "") != kind) continue;
    if (!name.empty() && d["metadata"].value("name", "") != name) continue;
    EXPECT_EQ(found, nullptr) << "more than one " << kind << " " << name;
    found = &d;
  }
  EXPECT_NE(found, nullptr) << "no " << kind << " " << name;
  return found;
}

std::vector<std::string> Strings(const json& array) {
  std::vector<std::string> out;
  if (!array.is_array()) return out;
  for (const auto& v : array) out.push_back(v.get<std::string>());
  return out;
}

// ---------------------------------------------------------------- CRDs

std::map<std::string, json> LoadCrds() {
  std::map<std::string, json> crds;  // by kind
  for (const auto& file : YamlFilesIn(kDeploy / "crds")) {
    for (const auto& d : LoadYaml(file)) {
      EXPECT_EQ(d.value("kind", ""), "CustomResourceDefinition") << file;
      crds[d["spec"]["names"].value("kind", "")] = d;
    }
  }
  return crds;
}

// The schema node at a dotted path: "a.b" walks properties, "a[]" walks into
// the items of an array, "a{}" into additionalProperties. nullptr if absent.
const json* SchemaAt(const json& root, const std::string& path) {
  const json* node = &root;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '.')) {
    bool items = false, additional = false;
    if (part.size() > 2 && part.substr(part.size() - 2) == "[]") {
      items = true;
      part.resize(part.size() - 2);
    } else if (part.size() > 2 && part.substr(part.size() - 2) == "{}") {
      additional = true;
      part.resize(part.size() - 2);
    }
    if (!node->contains("properties") || !(*node)["properties"].contains(part)) return nullptr;
    node = &(*node)["properties"][part];
    if (items) {
      if (node->value("type", "") != "array" || !node->contains("items")) return nullptr;
      node = &(*node)["items"];
    }
    if (additional) {
      if (!node->contains("additionalProperties")) return nullptr;
      node = &(*node)["additionalProperties"];
    }
  }
  return node;
}

const json& Version(const json& crd) { return crd["spec"]["versions"][0]; }
const json& Schema(const json& crd) { return Version(crd)["schema"]["openAPIV3Schema"]; }

TEST(DeployCrds, ThreeKedaCrdsServedAndStoredAsV1alpha1) {
  auto crds = LoadCrds();
  ASSERT_EQ(crds.size(), 3u);
  const std::map<std::string, std::tuple<std::string, std::string, std::string>> expected = {
      {"ScaledObject", {"scaledobjects", "scaledobject", "Namespaced"}},
      {"TriggerAuthentication", {"triggerauthentications", "triggerauthentication", "Namespaced"}},
      {"ClusterTriggerAuthentication",
       {"clustertriggerauthentications", "clustertriggerauthentication", "Cluster"}},
  };
  for (const auto& [kind, want] : expected) {
    SCOPED_TRACE(kind);
    ASSERT_TRUE(crds.count(kind));
    const json& crd = crds[kind];
    const auto& [plural, singular, scope] = want;
    EXPECT_EQ(crd["apiVersion"], "apiextensions.k8s.io/v1");
    EXPECT_EQ(crd["metadata"]["name"], plural + ".keda.sh");
    EXPECT_EQ(crd["spec"]["group"], "keda.sh");
    EXPECT_EQ(crd["spec"]["scope"], scope);
    EXPECT_EQ(crd["spec"]["names"]["plural"], plural);
    EXPECT_EQ(crd["spec"]["names"]["singular"], singular);
    EXPECT_EQ(crd["spec"]["names"]["listKind"], kind + "List");
    ASSERT_EQ(crd["spec"]["versions"].size(), 1u);
    const json& v = Version(crd);
    EXPECT_EQ(v["name"], "v1alpha1");
    EXPECT_EQ(v["served"], true);
    EXPECT_EQ(v["storage"], true);
    EXPECT_EQ(Schema(crd)["type"], "object");
    EXPECT_TRUE(v.contains("subresources") && v["subresources"].contains("status"));
  }
  // KEDA's short names, so `kubectl get so` keeps working.
  EXPECT_THAT(Strings(crds["ScaledObject"]["spec"]["names"]["shortNames"]),
              testing::Contains("so"));
  EXPECT_THAT(Strings(crds["TriggerAuthentication"]["spec"]["names"]["shortNames"]),
              testing::IsSupersetOf({"ta", "triggerauth"}));
  EXPECT_THAT(Strings(crds["ClusterTriggerAuthentication"]["spec"]["names"]["shortNames"]),
              testing::IsSupersetOf({"cta", "clustertriggerauth"}));
}

TEST(DeployCrds, PrinterColumns) {
  auto crds = LoadCrds();
  for (const auto& [kind, crd] : crds) {
    SCOPED_TRACE(kind);
    const json& cols = Version(crd)["additionalPrinterColumns"];
    ASSERT_TRUE(cols.is_array());
    ASSERT_GE(cols.size(), 3u);
    std::set<std::string> names;
    for (const auto& c : cols) {
      EXPECT_FALSE(c.value("name", "").empty());
      EXPECT_THAT(c.value("type", ""), testing::AnyOf("string", "integer", "date", "number",
                                                      "boolean"));
      EXPECT_EQ(c.value("jsonPath", "").substr(0, 1), ".");
      names.insert(c.value("name", ""));
    }
    EXPECT_TRUE(names.count("Age"));
    if (kind == "ScaledObject") {
      for (const char* n : {"ScaleTargetName", "Min", "Max", "Triggers", "Ready", "Active",
                            "Fallback", "Paused"}) {
        EXPECT_TRUE(names.count(n)) << n;
      }
    } else {
      for (const char* n : {"PodIdentity", "Secret", "Env"}) EXPECT_TRUE(names.count(n)) << n;
    }
  }
}

void ExpectSchema(const json& schema, const std::string& path, const std::string& type) {
  const json* node = SchemaAt(schema, path);
  ASSERT_NE(node, nullptr) << "schema lacks " << path;
  if (type == "any") {
    EXPECT_EQ(node->value("x-kubernetes-preserve-unknown-fields", false), true) << path;
  } else {
    EXPECT_EQ(node->value("type", ""), type) << path;
  }
}

// Every ScaledObject field of facts/keda-compat.md, with KEDA's type.
TEST(DeployCrds, ScaledObjectSchemaAcceptsEveryKedaField) {
  auto crds = LoadCrds();
  const json& s = Schema(crds["ScaledObject"]);
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"spec", "object"},
      {"spec.scaleTargetRef", "object"},
      {"spec.scaleTargetRef.apiVersion", "string"},
      {"spec.scaleTargetRef.kind", "string"},
      {"spec.scaleTargetRef.name", "string"},
      {"spec.scaleTargetRef.envSourceContainerName", "string"},
      {"spec.pollingInterval", "integer"},
      {"spec.cooldownPeriod", "integer"},
      {"spec.initialCooldownPeriod", "integer"},
      {"spec.idleReplicaCount", "integer"},
      {"spec.minReplicaCount", "integer"},
      {"spec.maxReplicaCount", "integer"},
      {"spec.fallback", "object"},
      {"spec.fallback.failureThreshold", "integer"},
      {"spec.fallback.replicas", "integer"},
      {"spec.fallback.behavior", "string"},
      {"spec.advanced", "object"},
      {"spec.advanced.horizontalPodAutoscalerConfig", "object"},
      {"spec.advanced.horizontalPodAutoscalerConfig.name", "string"},
      {"spec.advanced.horizontalPodAutoscalerConfig.behavior", "object"},
      {"spec.advanced.restoreToOriginalReplicaCount", "boolean"},
      {"spec.advanced.scalingModifiers", "object"},
      {"spec.advanced.scalingModifiers.formula", "string"},
      {"spec.advanced.scalingModifiers.target", "string"},
      {"spec.advanced.scalingModifiers.activationTarget", "string"},
      {"spec.advanced.scalingModifiers.metricType", "string"},
      {"spec.triggers", "array"},
      {"spec.triggers[].type", "string"},
      {"spec.triggers[].name", "string"},
      {"spec.triggers[].metadata", "object"},
      {"spec.triggers[].metadata{}", "string"},
      {"spec.triggers[].authenticationRef", "object"},
      {"spec.triggers[].authenticationRef.name", "string"},
      {"spec.triggers[].authenticationRef.kind", "string"},
      {"spec.triggers[].metricType", "string"},
      {"spec.triggers[].useCachedMetrics", "boolean"},
      // status, as KEDA writes it
      {"status.conditions[].type", "string"},
      {"status.conditions[].status", "string"},
      {"status.conditions[].reason", "string"},
      {"status.conditions[].message", "string"},
      {"status.lastActiveTime", "string"},
      {"status.originalReplicaCount", "integer"},
      {"status.health{}.numberOfFailures", "integer"},
      {"status.health{}.status", "string"},
      {"status.externalMetricNames[]", "string"},
      {"status.scaleTargetKind", "string"},
      {"status.scaleTargetGVKR.resource", "string"},
  };
  for (const auto& [path, type] : fields) ExpectSchema(s, path, type);
  for (const char* dir : {"scaleUp", "scaleDown"}) {
    std::string p = std::string("spec.advanced.horizontalPodAutoscalerConfig.behavior.") + dir;
    ExpectSchema(s, p + ".stabilizationWindowSeconds", "integer");
    ExpectSchema(s, p + ".selectPolicy", "string");
    ExpectSchema(s, p + ".tolerance", "any");
    ExpectSchema(s, p + ".policies[].type", "string");
    ExpectSchema(s, p + ".policies[].value", "integer");
    ExpectSchema(s, p + ".policies[].periodSeconds", "integer");
  }
  EXPECT_THAT(Strings(s["required"]), testing::ElementsAre("spec"));
  EXPECT_THAT(Strings((*SchemaAt(s, "spec"))["required"]),
              testing::UnorderedElementsAre("scaleTargetRef", "triggers"));
  EXPECT_THAT(Strings((*SchemaAt(s, "spec.fallback.behavior"))["enum"]),
              testing::UnorderedElementsAre("static", "currentReplicas",
                                            "currentReplicasIfHigher", "currentReplicasIfLower"));
}

TEST(DeployCrds, TriggerAuthenticationSchemasAcceptEveryKedaField) {
  auto crds = LoadCrds();
  for (const char* kind : {"TriggerAuthentication", "ClusterTriggerAuthentication"}) {
    SCOPED_TRACE(kind);
    const json& s = Schema(crds[kind]);
    for (const char* f : {"provider", "identityId", "identityTenantId", "identityAuthorityHost",
                          "roleArn", "identityOwner"}) {
      ExpectSchema(s, std::string("spec.podIdentity.") + f, "string");
    }
    for (const char* list : {"secretTargetRef", "configMapTargetRef"}) {
      for (const char* f : {"parameter", "name", "key"}) {
        ExpectSchema(s, std::string("spec.") + list + "[]." + f, "string");
      }
    }
    for (const char* f : {"parameter", "name", "containerName"}) {
      ExpectSchema(s, std::string("spec.env[].") + f, "string");
    }
    // Secret stores ebb does not support yet are still accepted.
    for (const char* f :
         {"hashiCorpVault", "azureKeyVault", "gcpSecretManager", "awsSecretManager"}) {
      ExpectSchema(s, std::string("spec.") + f, "object");
      EXPECT_EQ(SchemaAt(s, std::string("spec.") + f)
                    ->value("x-kubernetes-preserve-unknown-fields", false),
                true)
          << f;
    }
    EXPECT_THAT(Strings((*SchemaAt(s, "spec.podIdentity.provider"))["enum"]),
                testing::IsSupersetOf({"none", "azure-workload", "aws", "aws-eks", "gcp"}));
    EXPECT_THAT(Strings((*SchemaAt(s, "spec.podIdentity.identityOwner"))["enum"]),
                testing::UnorderedElementsAre("keda", "workload"));
  }
  // The two kinds share one spec schema.
  EXPECT_EQ(Schema(crds["TriggerAuthentication"])["properties"]["spec"],
            Schema(crds["ClusterTriggerAuthentication"])["properties"]["spec"]);
}

TEST(DeployCrds, ChartCrdsAreIdenticalCopies) {
  auto ours = YamlFilesIn(kDeploy / "crds");
  auto chart = YamlFilesIn(kDeploy / "helm" / "ebb" / "crds");
  ASSERT_EQ(ours.size(), 3u);
  ASSERT_EQ(chart.size(), ours.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_EQ(ours[i].filename(), chart[i].filename());
    EXPECT_TRUE(ReadFile(ours[i]) == ReadFile(chart[i]))
        << chart[i] << " differs from " << ours[i] << ": cp deploy/crds/*.yaml deploy/helm/ebb/crds/";
  }
}

// ------------------------------------------------------- renderings

struct Rendering {
  std::string file;
  bool azure;
};

void PrintTo(const Rendering& r, std::ostream* os) { *os << r.file; }

class DeployRendering : public testing::TestWithParam<Rendering> {
 protected:
  void SetUp() override { docs_ = LoadYaml(kDeploy / "manifests" / GetParam().file); }
  std::vector<json> docs_;
};

INSTANTIATE_TEST_SUITE_P(Manifests, DeployRendering,
                         testing::Values(Rendering{"default.yaml", false},
                                         Rendering{"azure-workload-identity.yaml", true}),
                         [](const auto& info) { return info.param.azure ? "Azure" : "Default"; });

TEST_P(DeployRendering, HasEveryObjectInTheOperatorNamespace) {
  std::multiset<std::string> kinds;
  for (const auto& d : docs_) {
    kinds.insert(d.value("kind", ""));
    const std::string kind = d.value("kind", "");
    if (kind != "ClusterRole" && kind != "ClusterRoleBinding") {
      EXPECT_EQ(d["metadata"].value("namespace", ""), "ebb") << kind;
    } else {
      EXPECT_FALSE(d["metadata"].contains("namespace")) << kind;
    }
    EXPECT_EQ(d["metadata"]["labels"].value("app.kubernetes.io/name", ""), "ebb") << kind;
  }
  EXPECT_EQ(kinds, (std::multiset<std::string>{"ServiceAccount", "ClusterRole",
                                                "ClusterRoleBinding", "Role", "RoleBinding",
                                                "Service", "Deployment"}));
}

TEST_P(DeployRendering, DeploymentIsLockedDown) {
  const json* dep = Find(docs_, "Deployment", "ebb");
  ASSERT_NE(dep, nullptr);
  const json& pod = (*dep)["spec"]["template"]["spec"];
  EXPECT_EQ(pod["serviceAccountName"], "ebb");
  EXPECT_EQ(pod["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(pod["securityContext"]["runAsUser"], 65532);
  ASSERT_EQ(pod["containers"].size(), 1u);
  const json& c = pod["containers"][0];
  const json& sc = c["securityContext"];
  EXPECT_EQ(sc["runAsNonRoot"], true);
  EXPECT_EQ(sc["readOnlyRootFilesystem"], true);
  EXPECT_EQ(sc["allowPrivilegeEscalation"], false);
  EXPECT_THAT(Strings(sc["capabilities"]["drop"]), testing::ElementsAre("ALL"));
  EXPECT_FALSE(sc["capabilities"].contains("add"));
  EXPECT_FALSE(sc.value("privileged", false));
  for (const char* r : {"cpu", "memory"}) {
    EXPECT_TRUE(c["resources"]["requests"].contains(r)) << r;
  }
  EXPECT_TRUE(c["resources"]["limits"].contains("memory"));

  // Probes on the metrics port.
  ASSERT_EQ(c["ports"].size(), 1u);
  EXPECT_EQ(c["ports"][0]["name"], "metrics");
  const int port = c["ports"][0]["containerPort"].get<int>();
  EXPECT_EQ(port, 8080);
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"], "/healthz");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["port"], "metrics");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"], "/readyz");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["port"], "metrics");

  // The operator command line.
  auto args = Strings(c["args"]);
  ASSERT_FALSE(args.empty());
  EXPECT_EQ(args[0], "operator");
  EXPECT_THAT(args, testing::IsSupersetOf({"--metrics-address=:8080", "--log-format=json",
                                           "--leader-elect=true", "--lease-namespace=ebb"}));
  EXPECT_EQ(c["image"], "ebb:0.1.0");

  // Selector labels are a subset of the pod labels, and never the Azure one
  // (selectors are immutable: enabling Azure must not need a new Deployment).
  const json& selector = (*dep)["spec"]["selector"]["matchLabels"];
  const json& labels = (*dep)["spec"]["template"]["metadata"]["labels"];
  for (auto it = selector.begin(); it != selector.end(); ++it) {
    EXPECT_EQ(json(labels.value(it.key(), "")), it.value()) << it.key();
  }
  EXPECT_FALSE(selector.contains("azure.workload.identity/use"));

  // The metrics Service points at the pods and the port.
  const json* svc = Find(docs_, "Service", "ebb-metrics");
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ((*svc)["spec"]["selector"], selector);
  EXPECT_EQ((*svc)["spec"]["ports"][0]["port"], port);
  EXPECT_EQ((*svc)["spec"]["ports"][0]["targetPort"], "metrics");
}

TEST_P(DeployRendering, AzureWorkloadIdentityLabelAndAnnotationOnlyWhenEnabled) {
  const json* dep = Find(docs_, "Deployment", "ebb");
  const json* sa = Find(docs_, "ServiceAccount", "ebb");
  ASSERT_NE(dep, nullptr);
  ASSERT_NE(sa, nullptr);
  const json& labels = (*dep)["spec"]["template"]["metadata"]["labels"];
  const json annotations = (*sa)["metadata"].value("annotations", json::object());
  if (GetParam().azure) {
    // A string "true", not a YAML boolean: the webhook compares strings.
    ASSERT_TRUE(labels.contains("azure.workload.identity/use"));
    EXPECT_EQ(labels["azure.workload.identity/use"], "true");
    ASSERT_TRUE(annotations.contains("azure.workload.identity/client-id"));
    EXPECT_TRUE(annotations["azure.workload.identity/client-id"].is_string());
    EXPECT_FALSE(annotations["azure.workload.identity/client-id"].get<std::string>().empty());
    // The example values file is what was rendered.
    auto values = LoadYaml(kDeploy / "helm" / "ebb" / "values-azure-workload-identity.yaml");
    ASSERT_EQ(values.size(), 1u);
    const json& wi = values[0]["azureWorkloadIdentity"];
    EXPECT_EQ(wi["enabled"], true);
    EXPECT_EQ(annotations["azure.workload.identity/client-id"], wi["clientId"]);
    EXPECT_EQ(annotations.value("azure.workload.identity/tenant-id", ""),
              wi.value("tenantId", ""));
  } else {
    EXPECT_FALSE(labels.contains("azure.workload.identity/use"));
    EXPECT_FALSE(annotations.contains("azure.workload.identity/client-id"));
    EXPECT_FALSE(annotations.contains("azure.workload.identity/tenant-id"));
  }
  // Nothing Azure-specific is bound into the container: the webhook injects
  // the AZURE_* variables and the token volume.
  for (const auto& e : (*dep)["spec"]["template"]["spec"]["containers"][0]["env"]) {
    EXPECT_NE(e.value("name", "").rfind("AZURE_", 0), 0u) << e.dump();
  }
}

// The renderings follow the chart's default values.
TEST_P(DeployRendering, MatchesChartDefaultValues) {
  auto values_docs = LoadYaml(kDeploy / "helm" / "ebb" / "values.yaml");
  ASSERT_EQ(values_docs.size(), 1u);
  const json& values = values_docs[0];
  auto chart_docs = LoadYaml(kDeploy / "helm" / "ebb" / "Chart.yaml");
  ASSERT_EQ(chart_docs.size(), 1u);
  const json& chart = chart_docs[0];

  const json* dep = Find(docs_, "Deployment", "ebb");
  ASSERT_NE(dep, nullptr);
  const json& c = (*dep)["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(c["resources"], values["resources"]);
  std::string tag = values["image"].value("tag", "");
  if (tag.empty()) tag = chart["appVersion"].get<std::string>();
  EXPECT_EQ(c["image"], values["image"]["repository"].get<std::string>() + ":" + tag);
  EXPECT_EQ(c["imagePullPolicy"], values["image"]["pullPolicy"]);
  EXPECT_EQ(c["ports"][0]["containerPort"], values["metrics"]["port"]);
  EXPECT_EQ((*dep)["spec"]["replicas"], values["replicaCount"]);
  EXPECT_EQ((*dep)["spec"]["template"]["spec"]["nodeSelector"], values["nodeSelector"]);
  EXPECT_THAT(Strings(c["args"]),
              testing::Contains("--log-format=" + values["logFormat"].get<std::string>()));
  EXPECT_EQ(values["leaderElection"]["enabled"], true);
  EXPECT_TRUE(values["watchNamespaces"].empty());
  EXPECT_EQ(values["azureWorkloadIdentity"]["enabled"], false);
  EXPECT_EQ(values["rbac"]["aggregateToDefaultRoles"], false);  // no extra ClusterRoles rendered
  EXPECT_EQ((*dep)["metadata"]["labels"]["app.kubernetes.io/version"], chart["appVersion"]);
  EXPECT_EQ((*dep)["metadata"]["labels"]["helm.sh/chart"],
            "ebb-" + chart["version"].get<std::string>());
  EXPECT_EQ(chart["apiVersion"], "v2");
  EXPECT_EQ(chart["name"], "ebb");
}

// ------------------------------------------------------------- RBAC

// (group, resource, resourceName or "*", verb)
using Grant = std::tuple<std::string, std::string, std::string, std::string>;

std::set<Grant> Grants(const json& role) {
  std::set<Grant> out;
  for (const auto& rule : role["rules"]) {
    std::vector<std::string> names = Strings(rule.value("resourceNames", json::array()));
    if (names.empty()) names.push_back("*");
    for (const auto& g : Strings(rule["apiGroups"]))
      for (const auto& r : Strings(rule["resources"]))
        for (const auto& n : names)
          for (const auto& v : Strings(rule["verbs"])) out.insert({g, r, n, v});
  }
  return out;
}

// Backquoted tokens of a table cell; `""` is the core group.
std::vector<std::string> Tokens(const std::string& cell) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = cell.find('`', pos)) != std::string::npos) {
    size_t end = cell.find('`', pos + 1);
    if (end == std::string::npos) break;
    std::string t = cell.substr(pos + 1, end - pos - 1);
    out.push_back(t == "\"\"" ? "" : t);
    pos = end + 1;
  }
  return out;
}

// The grants of the table between <!-- rbac:NAME:begin --> and :end --> in
// docs/deploy.md. Columns: group | resources | [resource names |] verbs | why.
std::set<Grant> DocumentedGrants(const std::string& name, bool has_names) {
  const std::string doc = ReadFile(kRoot / "docs" / "deploy.md");
  const std::string begin = "<!-- rbac:" + name + ":begin -->";
  const std::string end = "<!-- rbac:" + name + ":end -->";
  size_t b = doc.find(begin), e = doc.find(end);
  EXPECT_NE(b, std::string::npos) << begin;
  EXPECT_NE(e, std::string::npos) << end;
  std::set<Grant> out;
  if (b == std::string::npos || e == std::string::npos) return out;
  std::stringstream table(doc.substr(b + begin.size(), e - b - begin.size()));
  std::string line;
  int rows = 0;
  while (std::getline(table, line)) {
    if (line.rfind("|", 0) != 0 || line.rfind("|---", 0) == 0) continue;
    std::vector<std::string> cells;
    std::stringstream ls(line.substr(1));
    std::string cell;
    while (std::getline(ls, cell, '|')) cells.push_back(cell);
    if (cells.size() < (has_names ? 5u : 4u)) continue;
    auto groups = Tokens(cells[0]);
    if (groups.empty()) continue;  // the header row
    ++rows;
    auto resources = Tokens(cells[1]);
    std::vector<std::string> names = has_names ? Tokens(cells[2]) : std::vector<std::string>{};
    if (names.empty()) names.push_back("*");
    auto verbs = Tokens(cells[has_names ? 3 : 2]);
    EXPECT_FALSE(resources.empty()) << line;
    EXPECT_FALSE(verbs.empty()) << line;
    EXPECT_NE(cells[has_names ? 4 : 3].find_first_not_of(' '), std::string::npos)
        << "no reason in: " << line;
    for (const auto& g : groups)
      for (const auto& r : resources)
        for (const auto& n : names)
          for (const auto& v : verbs) out.insert({g, r, n, v});
  }
  EXPECT_GT(rows, 0) << name;
  return out;
}

std::vector<json> DefaultRendering() { return LoadYaml(kDeploy / "manifests" / "default.yaml"); }

TEST(DeployRbac, ClusterRoleGrantsExactlyWhatTheDocLists) {
  auto docs = DefaultRendering();
  const json* role = Find(docs, "ClusterRole", "ebb");
  ASSERT_NE(role, nullptr);
  EXPECT_EQ(Grants(*role), DocumentedGrants("clusterrole", false));
}

TEST(DeployRbac, NoWildcardVerbsAndSecretsReadOnly) {
  for (const char* file : {"default.yaml", "azure-workload-identity.yaml"}) {
    auto docs = LoadYaml(kDeploy / "manifests" / file);
    for (const auto& d : docs) {
      const std::string kind = d.value("kind", "");
      if (kind != "ClusterRole" && kind != "Role") continue;
      for (const auto& [group, resource, name, verb] : Grants(d)) {
        EXPECT_NE(verb, "*") << file << " " << kind;
        EXPECT_NE(resource, "*") << file << " " << kind;
        if (group.empty() && (resource == "secrets" || resource == "configmaps")) {
          EXPECT_THAT(verb, testing::AnyOf("get", "list", "watch")) << resource;
        }
        // Nothing may delete, and nothing but events and leases is created.
        EXPECT_NE(verb, "delete");
        EXPECT_NE(verb, "deletecollection");
        if (verb == "create") {
          EXPECT_THAT(resource, testing::AnyOf("events", "leases"));
        }
        EXPECT_NE(verb, "escalate");
        EXPECT_NE(verb, "bind");
        EXPECT_NE(verb, "impersonate");
      }
    }
  }
}

TEST(DeployRbac, LeaseRoleIsNamespacedAndLimitedToEbbsLease) {
  auto docs = DefaultRendering();
  const json* role = Find(docs, "Role", "ebb-leader-election");
  ASSERT_NE(role, nullptr);
  EXPECT_EQ((*role)["metadata"]["namespace"], "ebb");
  EXPECT_EQ(Grants(*role), DocumentedGrants("role", true));
  for (const auto& [group, resource, name, verb] : Grants(*role)) {
    EXPECT_EQ(group, "coordination.k8s.io");
    EXPECT_EQ(resource, "leases");
    // Never KEDA's lease.
    EXPECT_NE(name, "operator.keda.sh");
  }
  // No ClusterRole grants leases.
  for (const auto& d : docs) {
    if (d.value("kind", "") != "ClusterRole") continue;
    for (const auto& g : Grants(d)) EXPECT_NE(std::get<1>(g), "leases");
  }
}

TEST(DeployRbac, BindingsNameTheOperatorsServiceAccount) {
  auto docs = DefaultRendering();
  const json* crb = Find(docs, "ClusterRoleBinding", "ebb");
  const json* rb = Find(docs, "RoleBinding", "ebb-leader-election");
  ASSERT_NE(crb, nullptr);
  ASSERT_NE(rb, nullptr);
  EXPECT_EQ((*crb)["roleRef"]["kind"], "ClusterRole");
  EXPECT_EQ((*crb)["roleRef"]["name"], "ebb");
  EXPECT_EQ((*rb)["roleRef"]["kind"], "Role");
  EXPECT_EQ((*rb)["roleRef"]["name"], "ebb-leader-election");
  EXPECT_EQ((*rb)["metadata"]["namespace"], "ebb");
  for (const json* b : {crb, rb}) {
    ASSERT_EQ((*b)["subjects"].size(), 1u);
    EXPECT_EQ((*b)["subjects"][0]["kind"], "ServiceAccount");
    EXPECT_EQ((*b)["subjects"][0]["name"], "ebb");
    EXPECT_EQ((*b)["subjects"][0]["namespace"], "ebb");
  }
}

// ----------------------------------------------------- Dockerfile, chart

TEST(DeployDockerfile, MultiStageDebianNonRoot) {
  const std::string df = ReadFile(kDeploy / "Dockerfile");
  EXPECT_NE(df.find("FROM debian:12 AS build"), std::string::npos);
  EXPECT_NE(df.find("FROM debian:12-slim"), std::string::npos);
  EXPECT_NE(df.find("--target ebb"), std::string::npos);
  EXPECT_NE(df.find("-DCMAKE_BUILD_TYPE=Release"), std::string::npos);
  EXPECT_NE(df.find("COPY --from=build"), std::string::npos);
  EXPECT_NE(df.find("/usr/local/bin/ebb"), std::string::npos);
  // Numeric non-root user, the same the Deployment runs as.
  EXPECT_NE(df.find("\nUSER 65532:65532\n"), std::string::npos);
  for (const char* lib : {"libcurl4", "libssl3", "libyaml-cpp0.7", "libsimdjson14",
                          "ca-certificates"}) {
    EXPECT_NE(df.find(lib), std::string::npos) << lib;
  }
  // Every build dependency of scripts/install-deps that CMake needs.
  const std::string deps = ReadFile(kRoot / "scripts" / "install-deps");
  size_t b = deps.find("packages=(");
  size_t e = deps.find(')', b);
  ASSERT_NE(b, std::string::npos);
  std::stringstream ss(deps.substr(b + 10, e - b - 10));
  std::string pkg;
  int checked = 0;
  while (ss >> pkg) {
    bool needed = pkg.size() > 4 && pkg.substr(pkg.size() - 4) == "-dev";
    needed = needed || pkg == "googletest" || pkg == "cmake" || pkg == "ninja-build" ||
             pkg == "pkg-config" || pkg == "build-essential";
    if (!needed) continue;
    ++checked;
    EXPECT_NE(df.find(" " + pkg + " "), std::string::npos)
        << pkg << " (scripts/install-deps) is not installed by deploy/Dockerfile";
  }
  EXPECT_GT(checked, 10);
}

TEST(DeployChart, EveryRenderedKindHasATemplate) {
  const fs::path templates = kDeploy / "helm" / "ebb" / "templates";
  const std::map<std::string, std::string> template_of = {
      {"ServiceAccount", "serviceaccount.yaml"},
      {"ClusterRole", "clusterrole.yaml"},
      {"ClusterRoleBinding", "clusterrolebinding.yaml"},
      {"Role", "leader-election-role.yaml"},
      {"RoleBinding", "leader-election-role.yaml"},
      {"Service", "service.yaml"},
      {"Deployment", "deployment.yaml"},
  };
  for (const auto& d : DefaultRendering()) {
    const std::string kind = d.value("kind", "");
    ASSERT_TRUE(template_of.count(kind)) << kind;
    const std::string tpl = ReadFile(templates / template_of.at(kind));
    EXPECT_NE(tpl.find("kind: " + kind + "\n"), std::string::npos) << kind;
  }
  // The Azure switch lives in the templates.
  EXPECT_NE(ReadFile(templates / "deployment.yaml").find("azure.workload.identity/use: \"true\""),
            std::string::npos);
  EXPECT_NE(ReadFile(templates / "serviceaccount.yaml").find("azure.workload.identity/client-id"),
            std::string::npos);
  // The Lease name in the Role template is the documented one.
  const std::string helpers = ReadFile(templates / "_helpers.tpl");
  EXPECT_NE(helpers.find("ebb-operator.ebb.dev"), std::string::npos);
  EXPECT_NE(ReadFile(kRoot / "docs" / "deploy.md").find("ebb-operator.ebb.dev"),
            std::string::npos);
}

}  // namespace
