#include "api/resolve.h"

#include <gtest/gtest.h>

#include "api/manifest_set.h"

namespace ebb::api {
namespace {

ManifestSet Set() {
  auto docs = ParseDocuments(R"(apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: basic, namespace: ns}
spec:
  secretTargetRef:
  - {parameter: username, name: creds, key: user}
  - {parameter: password, name: creds, key: pass}
  configMapTargetRef:
  - {parameter: ca, name: ca, key: ca.crt}
  env:
  - {parameter: customAuthValue, name: EBB_TEST_VALUE}
---
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: missing-key, namespace: ns}
spec:
  secretTargetRef: [{parameter: password, name: creds, key: nope}]
---
apiVersion: keda.sh/v1alpha1
kind: ClusterTriggerAuthentication
metadata: {name: shared}
spec:
  secretTargetRef: [{parameter: bearerToken, name: token, key: t}]
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: ns}
stringData: {user: svc, pass: hunter2}
---
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: keda}
stringData: {t: tok-123}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ca, namespace: ns}
data: {ca.crt: PEM}
)", "r.yaml");
  return BuildManifestSet(std::move(*docs));
}

ResolveOptions Options() {
  ResolveOptions o;
  o.getenv = [](const std::string& n) -> std::optional<std::string> {
    if (n == "EBB_TEST_VALUE") return "from-env";
    return std::nullopt;
  };
  return o;
}

TEST(Resolve, SecretsConfigMapsAndEnv) {
  ManifestSet set = Set();
  auto ta = FindAuthentication(set, "ns", AuthenticationRef{"basic", "TriggerAuthentication"});
  ASSERT_TRUE(ta.ok());
  auto params = ResolveAuthParameters(**ta, "ns", set, Options());
  ASSERT_TRUE(params.ok()) << params.status().ToString();
  EXPECT_EQ(params->at("username").Reveal(), "svc");
  EXPECT_EQ(params->at("password").Reveal(), "hunter2");
  EXPECT_EQ(params->at("ca").Reveal(), "PEM");
  EXPECT_EQ(params->at("customAuthValue").Reveal(), "from-env");
}

TEST(Resolve, ClusterKindReadsTheClusterObjectNamespace) {
  ManifestSet set = Set();
  auto ta = FindAuthentication(set, "ns", AuthenticationRef{"shared", "ClusterTriggerAuthentication"});
  ASSERT_TRUE(ta.ok());
  auto params = ResolveAuthParameters(**ta, "ns", set, Options());
  ASSERT_TRUE(params.ok()) << params.status().ToString();
  EXPECT_EQ(params->at("bearerToken").Reveal(), "tok-123");
}

TEST(Resolve, MissingReferencesAreErrorsNamingThem) {
  ManifestSet set = Set();
  auto none = FindAuthentication(set, "other", AuthenticationRef{"basic", "TriggerAuthentication"});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("TriggerAuthentication other/basic not found"), std::string::npos);

  auto ta = FindAuthentication(set, "ns", AuthenticationRef{"missing-key", "TriggerAuthentication"});
  auto params = ResolveAuthParameters(**ta, "ns", set, Options());
  ASSERT_FALSE(params.ok());
  EXPECT_EQ(params.status().message(),
            "TriggerAuthentication ns/missing-key: spec.secretTargetRef[0]: Secret ns/creds has no "
            "key \"nope\" (parameter password)");
}

TEST(Resolve, MissingEnvIsAnErrorNotAnEmptyValue) {
  ManifestSet set = Set();
  auto ta = FindAuthentication(set, "ns", AuthenticationRef{"basic", "TriggerAuthentication"});
  ResolveOptions o;
  o.getenv = [](const std::string&) { return std::nullopt; };
  auto params = ResolveAuthParameters(**ta, "ns", set, o);
  ASSERT_FALSE(params.ok());
  EXPECT_NE(params.status().message().find("EBB_TEST_VALUE is not set"), std::string::npos);
}

ManifestSet PrecedenceSet() {
  auto docs = ParseDocuments(R"(apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: all, namespace: ns}
spec:
  env:
  - {parameter: password, name: EBB_TEST_VALUE}
  - {parameter: username, name: EBB_TEST_VALUE}
  - {parameter: customAuthValue, name: EBB_TEST_VALUE}
  configMapTargetRef:
  - {parameter: password, name: cm, key: p}
  - {parameter: username, name: cm, key: u}
  secretTargetRef:
  - {parameter: password, name: s, key: p}
  - {parameter: bearerToken, name: s, key: blank}
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: ns}
stringData: {p: "  from-secret\n", blank: " \n "}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: ns}
data: {p: from-configmap, u: "\tfrom-configmap "}
)", "p.yaml");
  return BuildManifestSet(std::move(*docs));
}

// KEDA's resolver fills env, then configMapTargetRef, then secretTargetRef,
// each overwriting the one before (pkg/scaling/resolver).
TEST(Resolve, SecretOverConfigMapOverEnvAsKeda) {
  ManifestSet set = PrecedenceSet();
  auto ta = FindAuthentication(set, "ns", AuthenticationRef{"all", "TriggerAuthentication"});
  ASSERT_TRUE(ta.ok());
  auto params = ResolveAuthParameters(**ta, "ns", set, Options());
  ASSERT_TRUE(params.ok()) << params.status().ToString();
  EXPECT_EQ(params->at("password").Reveal(), "from-secret");
  EXPECT_EQ(params->at("username").Reveal(), "from-configmap");
  EXPECT_EQ(params->at("customAuthValue").Reveal(), "from-env");
}

// KEDA's TrimSpace: a Secret made with `echo` (trailing newline) works, and
// a value that is blank after trimming counts as absent.
TEST(Resolve, ValuesAreTrimmedAndBlankOnesAreAbsent) {
  ManifestSet set = PrecedenceSet();
  auto ta = FindAuthentication(set, "ns", AuthenticationRef{"all", "TriggerAuthentication"});
  auto params = ResolveAuthParameters(**ta, "ns", set, Options());
  ASSERT_TRUE(params.ok()) << params.status().ToString();
  EXPECT_EQ(params->count("bearerToken"), 0u);
  EXPECT_EQ(params->at("password").Reveal(), "from-secret");
  EXPECT_EQ(params->at("username").Reveal(), "from-configmap");
}

}  // namespace
}  // namespace ebb::api
