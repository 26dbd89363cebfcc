// The manifest.* checks and the sequencing of RunDoctor, offline.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "doctor/doctor.h"
#include "doctor/test_util.h"

namespace ebb::doctor {
namespace {

using ::testing::HasSubstr;
using testutil::Manifests;
using testutil::ScaledObjectYaml;

constexpr char kAzureServer[] = "https://ws-abcd.eastus.prometheus.monitor.azure.com";
constexpr char kScope[] = "ScaledObject default/web, trigger 0 (prometheus)";

class ManifestChecksTest : public ::testing::Test {
 protected:
  Report Run(const std::string& yaml) {
    set_ = Manifests(yaml);
    ctx_.clock = &clock_;
    ctx_.offline = true;
    Report report = RunDoctor(set_, ctx_, {});
    std::ostringstream out;
    report.RenderText(out, {.color = false});
    report.RenderJson(out);
    testutil::ExpectNoSecrets(out.str(), {"s3cret-password"});
    return report;
  }
  CheckResult::Status StatusOf(const Report& r, const std::string& id) {
    const CheckResult* c = r.Find(id, kScope);
    EXPECT_NE(c, nullptr) << id;
    return c ? c->status : CheckResult::kSkip;
  }

  SimulatedClock clock_;
  DoctorContext ctx_;
  api::ManifestSet set_;
};

TEST_F(ManifestChecksTest, AzureHostWithoutAuthenticationRefExplainsThe401) {
  Report r = Run(ScaledObjectYaml(kAzureServer, "up", "10"));
  const CheckResult* c = r.Find("manifest.azure-host-without-identity");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, CheckResult::kFail);
  EXPECT_THAT(c->detail,
              HasSubstr("Azure Managed Prometheus answers 401 \"Request does not contain an "
                        "Authorization Header\" to every query without an Azure AD token"));
  EXPECT_THAT(c->fix, HasSubstr("podIdentity.provider: azure-workload"));
  EXPECT_EQ(StatusOf(r, "manifest.trigger"), CheckResult::kPass);
  EXPECT_EQ(StatusOf(r, "manifest.auth-ref"), CheckResult::kPass);
  EXPECT_EQ(StatusOf(r, "threshold.values"), CheckResult::kSkip);
  EXPECT_EQ(r.Totals().fail, 1);
}

TEST_F(ManifestChecksTest, GovAndChinaHostsToo) {
  for (const char* host : {"https://w.usgovvirginia.prometheus.monitor.azure.us",
                           "https://w.chinanorth3.prometheus.monitor.azure.cn"}) {
    Report r = Run(ScaledObjectYaml(host, "up", "10"));
    EXPECT_EQ(StatusOf(r, "manifest.azure-host-without-identity"), CheckResult::kFail) << host;
  }
}

TEST_F(ManifestChecksTest, StaticCredentialOnAzureHostIsNotAnIdentity) {
  Report r = Run(ScaledObjectYaml(kAzureServer, "up", "10", "basic", "      authModes: basic\n") +
                 "---\napiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\nmetadata:\n"
                 "  name: basic\n  namespace: default\nspec:\n  secretTargetRef:\n"
                 "  - {parameter: username, name: creds, key: user}\n"
                 "  - {parameter: password, name: creds, key: pass}\n---\n"
                 "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: default}\n"
                 "stringData: {user: svc, pass: s3cret-password}\n");
  EXPECT_EQ(StatusOf(r, "manifest.auth-ref"), CheckResult::kPass);
  EXPECT_EQ(StatusOf(r, "manifest.azure-host-without-identity"), CheckResult::kFail);
  EXPECT_THAT(r.Find("manifest.azure-host-without-identity")->detail,
              HasSubstr("has no azure-workload or azure-managed-identity podIdentity"));
}

TEST_F(ManifestChecksTest, MissingTriggerAuthentication) {
  Report r = Run(ScaledObjectYaml(kAzureServer, "up", "10", "nowhere"));
  const CheckResult* c = r.Find("manifest.auth-ref");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, CheckResult::kFail);
  EXPECT_THAT(c->detail, HasSubstr("nowhere"));
  EXPECT_THAT(c->fix,
              HasSubstr("create the TriggerAuthentication \"nowhere\" in namespace default"));
  EXPECT_EQ(StatusOf(r, "manifest.azure-host-without-identity"), CheckResult::kSkip);
}

TEST_F(ManifestChecksTest, AuthModesWithPodIdentity) {
  Report r =
      Run(ScaledObjectYaml(kAzureServer, "up", "10", "azure-wi", "      authModes: bearer\n") +
          "---\n" + testutil::WorkloadIdentityAuthYaml());
  EXPECT_EQ(StatusOf(r, "manifest.auth-ref"), CheckResult::kPass);
  const CheckResult* c = r.Find("manifest.auth-modes-with-pod-identity");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, CheckResult::kFail);
  EXPECT_THAT(c->detail, HasSubstr("KEDA forbids"));
  EXPECT_THAT(c->fix, HasSubstr("remove metadata.authModes"));
}

TEST_F(ManifestChecksTest, BadMetadataNamesTheField) {
  Report r = Run(ScaledObjectYaml("http://prom:9090", "up", "abc"));
  const CheckResult* c = r.Find("manifest.trigger");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, CheckResult::kFail);
  EXPECT_THAT(c->detail, HasSubstr("spec.triggers[0].metadata.threshold"));
  EXPECT_THAT(c->detail, HasSubstr("\"abc\" is not a number"));
  EXPECT_EQ(StatusOf(r, "manifest.auth-ref"), CheckResult::kSkip);
  EXPECT_EQ(r.Find("manifest.auth-ref")->detail, "skipped: manifest.trigger failed");
}

TEST_F(ManifestChecksTest, UnknownTriggerType) {
  std::string yaml = ScaledObjectYaml("http://prom:9090", "up", "10");
  yaml.replace(yaml.find("type: prometheus"), 16, "type: kafka");
  Report r = Run(yaml);
  EXPECT_EQ(r.Totals().fail, 1);
}

TEST_F(ManifestChecksTest, EngineValidationFails) {
  std::string yaml = ScaledObjectYaml("http://prom:9090", "up", "10");
  yaml.replace(yaml.find("maxReplicaCount: 10"), 19, "maxReplicaCount: -1");
  Report r = Run(yaml);
  const CheckResult* c = r.Find("manifest.parse", "ScaledObject default/web");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, CheckResult::kFail);
  EXPECT_THAT(c->detail, HasSubstr("maxReplicaCount"));
}

TEST_F(ManifestChecksTest, OfflineSkipsNetworkChecksAndUsesTheGivenValue) {
  ctx_.value = 42;
  Report r = Run(ScaledObjectYaml("http://prom:9090", "up", "10"));
  EXPECT_EQ(StatusOf(r, "endpoint.dns"), CheckResult::kSkip);
  EXPECT_EQ(r.Find("query.status")->detail, "skipped: --offline");
  const CheckResult* t = r.Find("threshold.values");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->status, CheckResult::kPass);
  EXPECT_THAT(t->detail, HasSubstr("value 42 > activationThreshold 0: active"));
  EXPECT_THAT(t->detail, HasSubstr("-> 5 replicas"));
  EXPECT_FALSE(r.HasFailure());
}

TEST_F(ManifestChecksTest, CloudMismatchOnAzureHost) {
  Report r = Run(ScaledObjectYaml("https://w.usgovvirginia.prometheus.monitor.azure.us", "up", "10",
                                  "azure-wi") +
                 "---\n" + testutil::WorkloadIdentityAuthYaml());
  const CheckResult* c = r.Find("manifest.azure-host-without-identity");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, CheckResult::kFail);
  EXPECT_THAT(c->fix, HasSubstr("metadata.cloud: AzureUSGovernmentCloud"));
}

}  // namespace
}  // namespace ebb::doctor
