#include "api/manifest_set.h"

#include <gtest/gtest.h>

namespace ebb::api {
namespace {

ManifestSet FromYaml(const std::string& yaml) {
  auto docs = ParseDocuments(yaml, "set.yaml");
  EXPECT_TRUE(docs.ok());
  return BuildManifestSet(std::move(*docs));
}

constexpr char kGood[] = R"(apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: good}
spec:
  scaleTargetRef: {name: good}
  triggers: [{type: prometheus, metadata: {serverAddress: x, query: y, threshold: '1'}}]
)";

TEST(ManifestSet, OneBadObjectDoesNotStopTheOthers) {
  ManifestSet set = FromYaml(std::string(kGood) + R"(---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: bad}
spec:
  scaleTargetRef: {name: bad}
  minReplicaCount: 3
  maxReplicaCount: 1
  triggers: [{type: prometheus, metadata: {serverAddress: x, query: y, threshold: '1'}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {k: v}
)");
  ASSERT_EQ(set.scaled_objects.size(), 1u);
  EXPECT_EQ(set.scaled_objects[0].metadata.name, "good");
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].object, "default/bad");
  EXPECT_EQ(set.errors[0].document, 2);
  EXPECT_EQ(set.other_documents.size(), 1u);
  ASSERT_NE(set.FindSecret("default", "s"), nullptr);
  EXPECT_EQ(set.FindSecret("other", "s"), nullptr);
}

TEST(ManifestSet, KedaV1ApiVersionIsAnErrorWithTheFix) {
  ManifestSet set = FromYaml("apiVersion: keda.k8s.io/v1alpha1\nkind: ScaledObject\nmetadata: {name: a}\n");
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_NE(set.errors[0].message.find("change it to keda.sh/v1alpha1"), std::string::npos);
}

TEST(ManifestSet, DuplicatesKeepTheFirst) {
  ManifestSet set = FromYaml(std::string(kGood) + "---\n" + kGood);
  EXPECT_EQ(set.scaled_objects.size(), 1u);
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_NE(set.errors[0].message.find("defined twice"), std::string::npos);
}

TEST(ManifestSet, TriggerAuthenticationKindsAreSeparate) {
  ManifestSet set = FromYaml(R"(apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: a, namespace: ns}
spec: {}
---
apiVersion: keda.sh/v1alpha1
kind: ClusterTriggerAuthentication
metadata: {name: a}
spec: {}
)");
  EXPECT_TRUE(set.errors.empty());
  ASSERT_NE(set.FindTriggerAuthentication("ns", "a"), nullptr);
  EXPECT_FALSE(set.FindTriggerAuthentication("ns", "a")->cluster_scoped);
  ASSERT_NE(set.FindClusterTriggerAuthentication("a"), nullptr);
  EXPECT_EQ(set.FindTriggerAuthentication("default", "a"), nullptr);
}

}  // namespace
}  // namespace ebb::api
