#include <gtest/gtest.h>

#include "api/decode.h"

namespace ebb::api {
namespace {

std::optional<TriggerAuthentication> DecodeTa(const std::string& yaml, bool cluster, Problems* errors,
                                              Problems* warnings) {
  auto docs = ParseDocuments(yaml, "ta.yaml");
  EXPECT_TRUE(docs.ok());
  return DecodeTriggerAuthentication((*docs)[0], cluster, errors, warnings);
}

TEST(DecodeTriggerAuthentication, ReadsEverySource) {
  Problems e, w;
  auto ta = DecodeTa(R"(apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: prom, namespace: ns}
spec:
  podIdentity: {provider: azure-workload, identityId: 11111111-2222-3333-4444-555555555555, identityTenantId: t, identityAuthorityHost: "https://login.example/"}
  secretTargetRef:
  - {parameter: bearerToken, name: prom-secret, key: token}
  configMapTargetRef:
  - {parameter: ca, name: prom-ca, key: ca.crt}
  env:
  - {parameter: username, name: PROM_USER, containerName: app}
)", false, &e, &w);
  ASSERT_TRUE(ta);
  EXPECT_FALSE(ta->cluster_scoped);
  EXPECT_EQ(ta->metadata.Key(), "ns/prom");
  EXPECT_EQ(ta->spec.pod_identity->provider, "azure-workload");
  EXPECT_EQ(ta->spec.pod_identity->identity_authority_host, "https://login.example/");
  ASSERT_EQ(ta->spec.secret_target_ref.size(), 1u);
  EXPECT_EQ(ta->spec.secret_target_ref[0].key, "token");
  EXPECT_EQ(ta->spec.config_map_target_ref[0].parameter, "ca");
  EXPECT_EQ(ta->spec.env[0].container_name, "app");
}

TEST(DecodeTriggerAuthentication, ClusterKindHasNoNamespace) {
  Problems e, w;
  auto ta = DecodeTa("kind: ClusterTriggerAuthentication\nmetadata: {name: c, namespace: x}\nspec: {}\n",
                     true, &e, &w);
  ASSERT_TRUE(ta);
  EXPECT_EQ(ta->metadata.namespace_name, "");
  EXPECT_EQ(ta->KindName(), "ClusterTriggerAuthentication");
}

TEST(DecodeTriggerAuthentication, DeprecatedAzureProviderIsAnErrorWithTheFix) {
  Problems e, w;
  auto ta = DecodeTa("metadata: {name: a}\nspec:\n  podIdentity: {provider: azure}\n", false, &e, &w);
  EXPECT_FALSE(ta);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].field, "spec.podIdentity.provider");
  EXPECT_NE(e[0].message.find("use azure-workload"), std::string::npos);
}

TEST(DecodeTriggerAuthentication, MissingRefFieldsAreNamed) {
  Problems e, w;
  auto ta = DecodeTa("metadata: {name: a}\nspec:\n  secretTargetRef:\n  - {parameter: password, name: s}\n",
                     false, &e, &w);
  EXPECT_FALSE(ta);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].field, "spec.secretTargetRef[0].key");
}

TEST(DecodeTriggerAuthentication, UnsupportedSourcesAreKeptAndWarned) {
  Problems e, w;
  auto ta = DecodeTa("metadata: {name: a}\nspec:\n  hashiCorpVault: {address: x}\n", false, &e, &w);
  ASSERT_TRUE(ta);
  ASSERT_EQ(ta->spec.unsupported_sources.size(), 1u);
  EXPECT_EQ(w.size(), 1u);
}

TEST(DecodeSecret, DataIsBase64AndStringDataWins) {
  Problems e, w;
  auto docs = ParseDocuments(
      "kind: Secret\nmetadata: {name: s}\ndata: {a: aHVudGVyMg==, b: eA==}\nstringData: {b: plain}\n", "s.yaml");
  auto s = DecodeSecret((*docs)[0], &e, &w);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->data.at("a").Reveal(), "hunter2");
  EXPECT_EQ(s->data.at("b").Reveal(), "plain");
}

TEST(DecodeSecret, BadBase64IsNamedWithoutEchoingTheValue) {
  Problems e, w;
  auto docs = ParseDocuments("kind: Secret\nmetadata: {name: s}\ndata: {pw: \"not*base64!\"}\n", "s.yaml");
  auto s = DecodeSecret((*docs)[0], &e, &w);
  EXPECT_FALSE(s);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].field, "data.pw");
  EXPECT_EQ(e[0].ToString().find("not*base64!"), std::string::npos);
}

TEST(DecodeSecret, NumericStringDataWarningDoesNotEchoTheValue) {
  Problems e, w;
  auto docs = ParseDocuments("kind: Secret\nmetadata: {name: s}\nstringData: {pin: 987654}\n", "s.yaml");
  auto s = DecodeSecret((*docs)[0], &e, &w);
  ASSERT_TRUE(s);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].ToString().find("987654"), std::string::npos);
}

}  // namespace
}  // namespace ebb::api
