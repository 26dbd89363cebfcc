// KubernetesScaleTarget and its resolver against the fake API server:
// GET/PUT with resourceVersion, 409 retry, 403/404 explained and reported
// as Warning events, discovery of the resource behind a kind.
#include "targets/kubernetes_scale_target.h"

#include <gtest/gtest.h>

#include "kube/kube_test_util.h"

namespace ebb::targets {
namespace {

using namespace ::ebb::kube;  // the test drives the fake API server through kube's API

using nlohmann::json;

class ScaleTargetTest : public KubeTest {
 protected:
  void SetUp() override {
    testing::kube::FakeApiServerOptions o;
    o.workload_delay = std::chrono::milliseconds(-1);
    Start(o);
    events_ = std::make_unique<EventRecorder>(*rest_, RealClock::Instance(), "ebb", "test");
    server_->store().Seed(Type("apps", "v1", "deployments"), Deployment("web", 1));
  }
  void TearDown() override {
    events_.reset();
    Shutdown();
  }
  KubernetesScaleTarget Target(const std::string& name = "web") {
    ObjectReference owner{"keda.sh/v1alpha1", "ScaledObject", "ns", "so", "uid-1"};
    return KubernetesScaleTarget(*rest_, kDeployments, "Deployment", "ns", name, events_.get(),
                                 owner);
  }
  Status Set(KubernetesScaleTarget& t, int32_t n) {
    std::promise<Status> p;
    t.SetReplicas(n, [&](Status s) { p.set_value(s); });
    return p.get_future().get();
  }
  Result<targets::ScaleState> GetState(KubernetesScaleTarget& t) {
    std::promise<Result<targets::ScaleState>> p;
    t.GetScale([&](Result<targets::ScaleState> s) { p.set_value(s); });
    return p.get_future().get();
  }
  int64_t Replicas() {
    return server_->store()
        .Get(Type("apps", "v1", "deployments"), "ns", "web")
        .body["spec"]["replicas"];
  }
  json Events() { return server_->store().List(Type("", "v1", "events"), "ns", {}).body["items"]; }

  std::unique_ptr<EventRecorder> events_;
};

TEST_F(ScaleTargetTest, GetsAndSetsTheScale) {
  KubernetesScaleTarget t = Target();
  EXPECT_EQ(t.Describe(), "Deployment ns/web");
  auto s = GetState(t);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->replicas, 1);
  ASSERT_TRUE(Set(t, 4).ok());
  EXPECT_EQ(Replicas(), 4);
  server_->ClearRequests();
  ASSERT_TRUE(Set(t, 4).ok());  // already there: no write
  EXPECT_EQ(server_->Requests().size(), 1u);
}

TEST_F(ScaleTargetTest, PutCarriesTheResourceVersionRead) {
  KubernetesScaleTarget t = Target();
  ASSERT_TRUE(Set(t, 2).ok());
  auto reqs = server_->Requests();
  ASSERT_EQ(reqs.back().method, "PUT");
  EXPECT_EQ(reqs.back().status, 200);
}

TEST_F(ScaleTargetTest, RetriesConflictsWithAFreshRead) {
  server_->InjectFault({"PUT", "/scale", 409, 2});
  KubernetesScaleTarget t = Target();
  ASSERT_TRUE(Set(t, 3).ok());
  EXPECT_EQ(Replicas(), 3);
  int gets = 0;
  for (const auto& r : server_->Requests()) gets += r.method == "GET";
  EXPECT_EQ(gets, 3);
}

TEST_F(ScaleTargetTest, GivesUpAfterMaxAttempts) {
  server_->InjectFault({"PUT", "/scale", 409, 100});
  KubernetesScaleTarget t = Target();
  Status s = Set(t, 3);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("conflicted 5 times"), std::string::npos);
}

TEST_F(ScaleTargetTest, ForbiddenNamesTheVerbAndRecordsAWarning) {
  server_->SetRbac(std::vector<testing::kube::RbacRule>{
      {kTestUser, {"get"}, {"apps"}, {"deployments/scale"}, {}},
      {kTestUser, {"create"}, {""}, {"events"}, {}}});
  KubernetesScaleTarget t = Target();
  Status s = Set(t, 3);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("grant the \"update\" verb on deployments/scale"), std::string::npos);
  EXPECT_NE(s.message().find("cannot update resource \"deployments/scale\""), std::string::npos);
  ASSERT_TRUE(WaitFor([&] { return Events().size() == 1; }));
  json e = Events()[0];
  EXPECT_EQ(e["type"], "Warning");
  EXPECT_EQ(e["reason"], "ScaleTargetForbidden");
  EXPECT_EQ(e["involvedObject"]["name"], "so");
  EXPECT_EQ(e["involvedObject"]["kind"], "ScaledObject");
  EXPECT_EQ(e["source"]["component"], "ebb");
  EXPECT_TRUE(e["metadata"]["name"].get<std::string>().starts_with("so."));
  EXPECT_FALSE(Set(t, 3).ok());  // the same problem again: no second event
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(Events().size(), 1u);
}

TEST_F(ScaleTargetTest, MissingTargetIsNotFoundWithAnEvent) {
  KubernetesScaleTarget t = Target("absent");
  Status s = Set(t, 1);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("Deployment ns/absent (apps/v1) not found"), std::string::npos);
  ASSERT_TRUE(WaitFor([&] { return Events().size() == 1; }));
  EXPECT_EQ(Events()[0]["reason"], "ScaleTargetNotFound");
}

api::ScaledObject Ref(const std::string& api_version, const std::string& kind,
                      const std::string& name) {
  api::ScaledObject so;
  so.metadata.name = "so";
  so.metadata.namespace_name = "ns";
  so.spec.scale_target_ref.api_version = api_version;
  so.spec.scale_target_ref.kind = kind;
  so.spec.scale_target_ref.name = name;
  return so;
}

TEST_F(ScaleTargetTest, ResolverDiscoversResources) {
  KubernetesScaleTargetResolver resolver(*rest_, events_.get());
  auto deploy = resolver.Resolve(Ref("apps/v1", "Deployment", "web"));
  ASSERT_TRUE(deploy.ok()) << deploy.status().ToString();
  EXPECT_EQ((*deploy)->Describe(), "Deployment ns/web");
  EXPECT_EQ(resolver.Resolve(Ref("apps/v1", "Deployment", "web")).value(), *deploy);
  auto sts = resolver.ResourceFor("apps/v1", "StatefulSet");
  EXPECT_EQ(sts->resource, "statefulsets");
  auto widget = resolver.ResourceFor("example.com/v1", "Widget");
  ASSERT_TRUE(widget.ok());
  EXPECT_EQ(widget->resource, "widgets");
  EXPECT_EQ(resolver.ResourceFor("keda.sh/v1alpha1", "ScaledObject").status().code(),
            StatusCode::kInvalidConfig);  // no scale subresource
  EXPECT_EQ(resolver.ResourceFor("nope.io/v1", "Thing").status().code(), StatusCode::kNotFound);
}

TEST_F(ScaleTargetTest, CustomResourceScale) {
  server_->store().Seed(Type("example.com", "v1", "widgets"),
                        {{"metadata", {{"name", "w"}, {"namespace", "ns"}}},
                         {"spec", {{"replicas", 1}}},
                         {"status", {{"replicas", 1}, {"selector", "app=w"}}}});
  KubernetesScaleTargetResolver resolver(*rest_);
  auto t = resolver.Resolve(Ref("example.com/v1", "Widget", "w"));
  ASSERT_TRUE(t.ok());
  std::promise<Status> p;
  (*t)->SetReplicas(5, [&](Status s) { p.set_value(s); });
  EXPECT_TRUE(p.get_future().get().ok());
  EXPECT_EQ(server_->store()
                .Get(Type("example.com", "v1", "widgets"), "ns", "w")
                .body["spec"]["replicas"],
            5);
}

TEST(GuessResourceTest, Plurals) {
  EXPECT_EQ(GuessResource("apps/v1", "Deployment").resource, "deployments");
  EXPECT_EQ(GuessResource("x/v1", "Policy").resource, "policies");
  EXPECT_EQ(GuessResource("x/v1", "Gateway").resource, "gateways");
  EXPECT_EQ(GuessResource("networking.k8s.io/v1", "Ingress").resource, "ingresses");
  EXPECT_EQ(GuessResource("v1", "Pod").group, "");
}

}  // namespace
}  // namespace ebb::targets
