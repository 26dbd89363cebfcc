// cluster.* checks against the fake Kubernetes API server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "doctor/checks.h"
#include "doctor/doctor.h"
#include "doctor/test_util.h"
#include "http/curl_http_client.h"
#include "kube/rest_client.h"
#include "testing/kube/fake_apiserver.h"

namespace ebb::doctor {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr char kClient[] = "11111111-2222-3333-4444-555555555555";
constexpr char kTenant[] = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
constexpr char kOther[] = "99999999-8888-7777-6666-555555555555";
constexpr char kTokenFile[] = "/var/run/secrets/azure/tokens/azure-identity-token";
// A bearer token that must never reach the output.
constexpr char kKubeToken[] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkb2N0b3IifQ.c2lnbmF0dXJl";

class ClusterChecksTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(std::nullopt); }
  void TearDown() override { Shutdown(); }

  void Start(std::optional<std::vector<testing::kube::RbacRule>> rbac) {
    testing::kube::FakeApiServerOptions o;
    o.tokens = {{kKubeToken, "system:serviceaccount:keda:doctor"}};
    o.rbac = std::move(rbac);
    server_ = testing::kube::FakeApiServer::Start(std::move(o)).value();
    http_ = std::make_unique<http::CurlHttpClient>();
    kube::RestConfig c;
    c.server = server_->base_url();
    c.token = SecretString(kKubeToken);
    c.source = "test kubeconfig";
    rest_ = std::make_unique<kube::RestClient>(*http_, c);
    set_ = testutil::Manifests(
        testutil::ScaledObjectYaml("https://127.0.0.1:1", "up", "10", "azure-wi") + "---\n" +
        testutil::WorkloadIdentityAuthYaml());
  }
  void Shutdown() {
    if (http_) http_->Shutdown();
    rest_.reset();
    http_.reset();
    server_.reset();
  }

  static json Env() {
    return json::array(
        {{{"name", "AZURE_CLIENT_ID"}, {"value", kClient}},
         {{"name", "AZURE_TENANT_ID"}, {"value", kTenant}},
         {{"name", "AZURE_FEDERATED_TOKEN_FILE"}, {"value", kTokenFile}},
         {{"name", "AZURE_AUTHORITY_HOST"}, {"value", "https://login.microsoftonline.com/"}}});
  }
  void SeedPod(json labels, json env, const std::string& created = "2026-11-20T10:00:00Z") {
    json pod = {
        {"metadata",
         {{"name", "ebb-7d9f-abcde"},
          {"namespace", "keda"},
          {"labels", labels},
          {"creationTimestamp", created}}},
        {"spec",
         {{"serviceAccountName", "ebb"},
          {"containers", json::array({{{"name", "ebb"}, {"image", "ebb:1"}, {"env", env}}})}}}};
    server_->store().Seed(*server_->Type("", "v1", "pods"), pod);
  }
  void SeedPod() { SeedPod({{"azure.workload.identity/use", "true"}, {"app", "ebb"}}, Env()); }
  void SeedServiceAccount(json annotations, json labels = json::object(),
                          const std::string& created = "2026-11-01T10:00:00Z") {
    json sa = {{"metadata",
                {{"name", "ebb"},
                 {"namespace", "keda"},
                 {"annotations", annotations},
                 {"labels", labels},
                 {"creationTimestamp", created}}}};
    server_->store().Seed(*server_->Type("", "v1", "serviceaccounts"), sa);
  }
  void SeedServiceAccount() {
    SeedServiceAccount({{"azure.workload.identity/client-id", kClient},
                        {"azure.workload.identity/tenant-id", kTenant}});
  }
  void SeedWebhook(const std::string& created = "2026-10-01T10:00:00Z") {
    json hook = {{"metadata",
                  {{"name", "azure-wi-webhook-mutating-webhook-configuration"},
                   {"creationTimestamp", created}}},
                 {"webhooks", json::array({{{"name", "mutation.azure-workload-identity.io"}}})}};
    server_->store().Seed(
        *server_->Type("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations"),
        hook);
  }
  void SeedHealthy() {
    SeedPod();
    SeedServiceAccount();
    SeedWebhook();
  }

  std::vector<CheckResult> Run(const std::string& operator_pod = "keda/ebb-7d9f-abcde") {
    TriggerUnderTest t;
    t.so = &set_.scaled_objects.at(0);
    t.set = &set_;
    DoctorContext ctx;
    ctx.env = {{"AZURE_CLIENT_ID", kClient},
               {"AZURE_TENANT_ID", kTenant},
               {"AZURE_FEDERATED_TOKEN_FILE", kTokenFile}};
    for (const auto& [k, v] : env_) ctx.env[k] = v;
    ctx.clock = &RealClock::Instance();
    ctx.cluster_requested = true;
    ctx.in_cluster = in_cluster_;
    ctx.kube = rest_.get();
    ctx.operator_pod = operator_pod;
    std::vector<CheckResult> results = CheckCluster(t, ctx);
    Report report;
    for (const CheckResult& r : results) report.Add(r);
    std::ostringstream out;
    report.RenderText(out, {.color = false});
    report.RenderJson(out);
    output_ = out.str();
    testutil::ExpectNoSecrets(output_, {kKubeToken});
    return results;
  }

  // The last result is `id`, failed; every one before it passed.
  CheckResult ExpectFailsAt(const std::vector<CheckResult>& results, const std::string& id) {
    EXPECT_FALSE(results.empty());
    if (results.empty()) return {};
    for (size_t i = 0; i + 1 < results.size(); ++i) {
      EXPECT_EQ(results[i].status, CheckResult::kPass) << results[i].id << "\n" << output_;
    }
    EXPECT_EQ(results.back().id, id) << output_;
    EXPECT_EQ(results.back().status, CheckResult::kFail) << output_;
    EXPECT_FALSE(results.back().fix.empty());
    return results.back();
  }

  std::unique_ptr<testing::kube::FakeApiServer> server_;
  std::unique_ptr<http::CurlHttpClient> http_;
  std::unique_ptr<kube::RestClient> rest_;
  api::ManifestSet set_;
  std::map<std::string, std::string> env_;
  bool in_cluster_ = false;
  std::string output_;
};

TEST_F(ClusterChecksTest, HealthyPassesEveryCheck) {
  SeedHealthy();
  std::vector<CheckResult> r = Run();
  ASSERT_EQ(r.size(), kClusterIds.size()) << output_;
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i].id, kClusterIds[i]);
    EXPECT_EQ(r[i].status, CheckResult::kPass) << r[i].id << ": " << r[i].detail;
  }
  EXPECT_THAT(r[0].detail, HasSubstr("keda/ebb-7d9f-abcde"));
  EXPECT_THAT(r[3].detail, HasSubstr("azure-wi-webhook"));
}

TEST_F(ClusterChecksTest, PodFromDownwardApiInCluster) {
  SeedHealthy();
  in_cluster_ = true;
  env_ = {{"POD_NAMESPACE", "keda"}, {"POD_NAME", "ebb-7d9f-abcde"}};
  std::vector<CheckResult> r = Run("");
  ASSERT_EQ(r.size(), kClusterIds.size()) << output_;
  EXPECT_THAT(r[0].detail, HasSubstr("POD_NAMESPACE/POD_NAME"));
}

TEST_F(ClusterChecksTest, NoPodNamedSaysHowToPointAtIt) {
  SeedHealthy();
  CheckResult f = ExpectFailsAt(Run(""), "cluster.operator-pod");
  EXPECT_THAT(f.fix, HasSubstr("--operator-pod NAMESPACE/NAME"));
}

TEST_F(ClusterChecksTest, PodNotFound) {
  SeedHealthy();
  CheckResult f = ExpectFailsAt(Run("keda/gone"), "cluster.operator-pod");
  EXPECT_THAT(f.detail, HasSubstr("keda/gone"));
  EXPECT_THAT(f.detail, HasSubstr("not found"));
  EXPECT_THAT(f.fix, HasSubstr("--operator-pod"));
}

TEST_F(ClusterChecksTest, MissingPodLabel) {
  SeedPod({{"app", "ebb"}}, json::array());
  // The label on the service account instead: does nothing.
  SeedServiceAccount({{"azure.workload.identity/client-id", kClient}},
                     {{"azure.workload.identity/use", "true"}});
  SeedWebhook();
  CheckResult f = ExpectFailsAt(Run(), "cluster.pod-label");
  EXPECT_THAT(f.detail, HasSubstr("has no label azure.workload.identity/use"));
  EXPECT_THAT(f.detail, HasSubstr("a label on the service account does nothing"));
  EXPECT_THAT(f.fix, HasSubstr("spec.template.metadata.labels"));
}

TEST_F(ClusterChecksTest, LabelTrueCapitalizedIsWrong) {
  SeedPod({{"azure.workload.identity/use", "True"}}, json::array());
  SeedServiceAccount();
  SeedWebhook();
  CheckResult f = ExpectFailsAt(Run(), "cluster.pod-label");
  EXPECT_THAT(f.detail, HasSubstr("\"True\""));
  EXPECT_THAT(f.detail, HasSubstr("exactly \"true\""));
}

TEST_F(ClusterChecksTest, ServiceAccountWithoutAnnotation) {
  SeedPod();
  SeedServiceAccount(json::object());
  SeedWebhook();
  CheckResult f = ExpectFailsAt(Run(), "cluster.service-account");
  EXPECT_THAT(f.detail, HasSubstr("has no annotation azure.workload.identity/client-id"));
  EXPECT_THAT(f.fix, HasSubstr("kubectl annotate serviceaccount -n keda ebb"));
}

TEST_F(ClusterChecksTest, AnnotationMismatchesClientIdNamesBoth) {
  SeedPod();
  SeedServiceAccount({{"azure.workload.identity/client-id", kOther}});
  SeedWebhook();
  CheckResult f = ExpectFailsAt(Run(), "cluster.service-account");
  EXPECT_THAT(f.detail, HasSubstr(kOther));
  EXPECT_THAT(f.detail, HasSubstr(kClient));
  EXPECT_THAT(f.detail, HasSubstr("AZURE_CLIENT_ID"));
}

TEST_F(ClusterChecksTest, TenantAnnotationMismatch) {
  SeedPod();
  SeedServiceAccount({{"azure.workload.identity/client-id", kClient},
                      {"azure.workload.identity/tenant-id", kOther}});
  SeedWebhook();
  CheckResult f = ExpectFailsAt(Run(), "cluster.service-account");
  EXPECT_THAT(f.detail, HasSubstr(kOther));
  EXPECT_THAT(f.detail, HasSubstr(kTenant));
}

TEST_F(ClusterChecksTest, NoWebhook) {
  SeedPod();
  SeedServiceAccount();
  CheckResult f = ExpectFailsAt(Run(), "cluster.webhook");
  EXPECT_THAT(f.detail, HasSubstr("no MutatingWebhookConfiguration"));
  EXPECT_THAT(f.fix, HasSubstr("--enable-workload-identity"));
  EXPECT_THAT(f.fix, HasSubstr("install the webhook"));
}

TEST_F(ClusterChecksTest, PodCreatedBeforeTheWebhookMustBeRestarted) {
  SeedPod({{"azure.workload.identity/use", "true"}}, json::array(), "2026-09-01T10:00:00Z");
  SeedServiceAccount();
  SeedWebhook("2026-10-01T10:00:00Z");
  CheckResult f = ExpectFailsAt(Run(), "cluster.pod-injected");
  EXPECT_THAT(f.detail, HasSubstr("AZURE_CLIENT_ID"));
  EXPECT_THAT(f.detail, HasSubstr("before the webhook"));
  EXPECT_THAT(f.fix, HasSubstr("restart"));
  EXPECT_THAT(f.fix, HasSubstr("kubectl rollout restart deployment -n keda"));
}

TEST_F(ClusterChecksTest, PodCreatedBeforeTheLabelMustBeRestarted) {
  // Everything existed before the pod: the label was added to it later.
  SeedPod({{"azure.workload.identity/use", "true"}}, json::array(), "2026-11-20T10:00:00Z");
  SeedServiceAccount();
  SeedWebhook();
  CheckResult f = ExpectFailsAt(Run(), "cluster.pod-injected");
  EXPECT_THAT(f.detail, HasSubstr("added after"));
  EXPECT_THAT(f.fix, HasSubstr("restart"));
}

TEST_F(ClusterChecksTest, InjectedForAnotherClientIdMustBeRestarted) {
  json env = Env();
  env[0]["value"] = kOther;
  SeedPod({{"azure.workload.identity/use", "true"}}, env);
  SeedServiceAccount();
  SeedWebhook();
  CheckResult f = ExpectFailsAt(Run(), "cluster.pod-injected");
  EXPECT_THAT(f.detail, HasSubstr("annotation changed"));
}

TEST_F(ClusterChecksTest, ForbiddenNamesVerbAndResource) {
  Shutdown();
  // May read pods and service accounts, but not list webhooks.
  Start(std::vector<testing::kube::RbacRule>{{.user = "system:serviceaccount:keda:doctor",
                                              .verbs = {"get"},
                                              .groups = {""},
                                              .resources = {"pods", "serviceaccounts"},
                                              .namespaces = {"keda"}}});
  SeedHealthy();
  CheckResult f = ExpectFailsAt(Run(), "cluster.webhook");
  EXPECT_THAT(f.detail, HasSubstr("403"));
  EXPECT_THAT(f.detail, HasSubstr("list mutatingwebhookconfigurations"));
  EXPECT_THAT(f.fix, HasSubstr("`list` on mutatingwebhookconfigurations"));
  EXPECT_THAT(f.fix, HasSubstr("clusterrole"));
}

TEST_F(ClusterChecksTest, ForbiddenPodGet) {
  Shutdown();
  Start(std::vector<testing::kube::RbacRule>{});
  SeedHealthy();
  CheckResult f = ExpectFailsAt(Run(), "cluster.operator-pod");
  EXPECT_THAT(f.detail, HasSubstr("get pods in namespace keda"));
  EXPECT_THAT(f.fix,
              HasSubstr("kubectl create role ebb-doctor -n keda --verb=get --resource=pods"));
}

TEST_F(ClusterChecksTest, NoClusterConfig) {
  TriggerUnderTest t;
  t.so = &set_.scaled_objects.at(0);
  DoctorContext ctx;
  ctx.cluster_requested = true;
  ctx.kube_error = "kubeconfig /nope: no such file";
  std::vector<CheckResult> r = CheckCluster(t, ctx);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, "cluster.operator-pod");
  EXPECT_EQ(r[0].status, CheckResult::kFail);
  EXPECT_THAT(r[0].detail, HasSubstr("/nope"));
}

// Wiring: with a cluster the five cluster.* ids replace the single skip,
// and follow doctor's rule (skipped after an earlier failure, --offline).
TEST_F(ClusterChecksTest, RunDoctorReportsClusterIdsInPlaceOfTheSkip) {
  DoctorContext ctx;
  ctx.env = {{"AZURE_CLIENT_ID", kClient},
             {"AZURE_TENANT_ID", kTenant},
             {"AZURE_FEDERATED_TOKEN_FILE", "/nonexistent/azure-identity-token"}};
  ctx.clock = &RealClock::Instance();
  ctx.offline = true;
  ctx.cluster_requested = true;
  ctx.kube = rest_.get();
  Report report = RunDoctor(set_, ctx, {});
  EXPECT_EQ(report.Find("cluster.workload-identity"), nullptr);
  for (std::string_view id : kClusterIds) {
    const CheckResult* c = report.Find(id);
    ASSERT_NE(c, nullptr) << id;
    EXPECT_EQ(c->status, CheckResult::kSkip);
    EXPECT_EQ(c->detail, "skipped: identity.token-file failed");
  }
  ctx.cluster_requested = false;
  Report plain = RunDoctor(set_, ctx, {});
  ASSERT_NE(plain.Find("cluster.workload-identity"), nullptr);
  EXPECT_EQ(plain.Find("cluster.operator-pod"), nullptr);
}

}  // namespace
}  // namespace ebb::doctor
