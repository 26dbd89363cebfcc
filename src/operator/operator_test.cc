// Operator against the fake API server (in process), with Prometheus
// answered by a FakeHttpClient: leadership terms and their fence, status
// written back, the finalizer of restoreToOriginalReplicaCount.
#include "operator/operator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "http/testing/fake_http_client.h"
#include "kube/kube_test_util.h"
#include "operator/fenced_target.h"

namespace ebb::op {
namespace {

using kube::WaitFor;
using nlohmann::json;
using std::chrono::seconds;

class OperatorTest : public kube::KubeTest {
 protected:
  void SetUp() override {
    kube::KubeTest::SetUp();
    prometheus_.SetHandler([this](const http::HttpRequest&) -> Result<http::HttpResponse> {
      http::HttpResponse r;
      r.status = 200;
      r.body = R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,")" +
               std::to_string(value_.load()) + R"("]}]}})";
      return r;
    });
    logger_.SetSink([](std::string_view) {});
  }
  void TearDown() override {
    StopOperator();
    kube::KubeTest::TearDown();
  }

  void SeedDeployment(const std::string& name, int replicas) {
    server_->store().Seed(Type("apps", "v1", "deployments"), Deployment(name, replicas));
  }
  void SeedScaledObject(const std::string& name, const std::string& target, bool restore = false) {
    json so = {{"apiVersion", "keda.sh/v1alpha1"},
               {"kind", "ScaledObject"},
               {"metadata", {{"name", name}, {"namespace", "ns"}}},
               {"spec",
                {{"scaleTargetRef", {{"name", target}}},
                 {"pollingInterval", 1},
                 {"cooldownPeriod", 2},
                 {"advanced", {{"restoreToOriginalReplicaCount", restore}}},
                 {"triggers",
                  {{{"type", "prometheus"},
                    {"metadata",
                     {{"serverAddress", "http://prometheus.test:9090"},
                      {"query", "q"},
                      {"threshold", "10"}}}}}}}}};
    server_->store().Seed(Type("keda.sh", "v1alpha1", "scaledobjects"), so);
  }
  json Get(const std::string& g, const std::string& v, const std::string& r, const std::string& name) {
    return server_->store().Get(Type(g, v, r), "ns", name).body;
  }
  int Replicas(const std::string& name) {
    return Get("apps", "v1", "deployments", name)["spec"]["replicas"].get<int>();
  }
  int ScalePuts() {
    int n = 0;
    for (const auto& r : server_->Requests()) {
      if (r.method == "PUT" && r.path.ends_with("/scale")) ++n;
    }
    return n;
  }

  void StartOperator() {
    OperatorOptions o;
    o.debounce = std::chrono::milliseconds(20);
    op_ = std::make_unique<Operator>(*rest_, prometheus_, RealClock::Instance(),
                                     controller::TriggerEnvironment{}, o,
                                     [this] { return leading_.load(); }, nullptr, &logger_);
    thread_ = std::jthread([this](std::stop_token st) { op_->Run(st); });
  }
  void StopOperator() {
    if (thread_.joinable()) {
      thread_.request_stop();
      thread_.join();
    }
    op_.reset();
  }
  void SetLeading(bool leading) {
    leading_ = leading;
    op_->LeadershipChanged();
  }

  http::FakeHttpClient prometheus_;
  Logger logger_;
  std::atomic<double> value_{35};
  std::atomic<bool> leading_{true};
  std::unique_ptr<Operator> op_;
  std::jthread thread_;
};

TEST_F(OperatorTest, TheLeaderScalesAndWritesKedaStatus) {
  SeedDeployment("web", 0);
  SeedScaledObject("web", "web");
  StartOperator();
  ASSERT_TRUE(WaitFor([&] { return Replicas("web") == 4; }, seconds(15)));
  ASSERT_TRUE(WaitFor(
      [&] {
        json st = Get("keda.sh", "v1alpha1", "scaledobjects", "web").value("status", json::object());
        return st.contains("conditions") && st.contains("lastActiveTime");
      },
      seconds(10)));
  json status = Get("keda.sh", "v1alpha1", "scaledobjects", "web")["status"];
  EXPECT_EQ(status["conditions"][0]["type"], "Ready");
  EXPECT_EQ(status["conditions"][0]["status"], "True");
  EXPECT_EQ(status["originalReplicaCount"], 0);
  EXPECT_TRUE(op_->Acting());
  EXPECT_EQ(op_->Counters().terms, 1u);
}

TEST_F(OperatorTest, AFollowerNeitherScalesNorWritesUntilItLeads) {
  SeedDeployment("web", 0);
  SeedScaledObject("web", "web");
  leading_ = false;
  StartOperator();
  ASSERT_TRUE(WaitFor([&] { return op_->Synced(); }, seconds(10)));
  std::this_thread::sleep_for(seconds(2));  // two polling intervals
  EXPECT_FALSE(op_->Acting());
  EXPECT_EQ(ScalePuts(), 0);
  EXPECT_EQ(Replicas("web"), 0);
  EXPECT_FALSE(Get("keda.sh", "v1alpha1", "scaledobjects", "web").contains("status"));
  SetLeading(true);
  EXPECT_TRUE(WaitFor([&] { return Replicas("web") == 4; }, seconds(15)));
}

TEST_F(OperatorTest, LosingLeadershipStopsScalingAtOnce) {
  SeedDeployment("web", 0);
  SeedScaledObject("web", "web");
  StartOperator();
  ASSERT_TRUE(WaitFor([&] { return Replicas("web") == 4; }, seconds(15)));
  SetLeading(false);
  value_ = 300;  // would ask for more replicas
  ASSERT_TRUE(WaitFor([&] { return !op_->Acting(); }, seconds(5)));
  // The term has ended: whatever it had in flight has been answered.
  const int puts = ScalePuts();
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(ScalePuts(), puts) << "a follower wrote a scale";
  EXPECT_EQ(Replicas("web"), 4);
  SetLeading(true);
  EXPECT_TRUE(WaitFor([&] { return Replicas("web") > 4; }, seconds(15)));
  EXPECT_EQ(op_->Counters().terms, 2u);
}

TEST_F(OperatorTest, RestoreToOriginalOnDeletionThroughTheFinalizer) {
  SeedDeployment("web", 2);
  SeedDeployment("api", 2);
  SeedScaledObject("web", "web", /*restore=*/true);
  SeedScaledObject("api", "api", /*restore=*/false);
  StartOperator();
  ASSERT_TRUE(WaitFor([&] { return Replicas("web") == 4 && Replicas("api") == 4; }, seconds(15)));
  ASSERT_TRUE(WaitFor(
      [&] {
        return Get("keda.sh", "v1alpha1", "scaledobjects", "web")["metadata"].value(
                   "finalizers", json::array()) == json::array({kFinalizer});
      },
      seconds(10)));
  EXPECT_FALSE(Get("keda.sh", "v1alpha1", "scaledobjects", "api")["metadata"].contains("finalizers"))
      << "a finalizer on an object that needs no clean-up";
  // originalReplicaCount must be in status before the delete.
  ASSERT_TRUE(WaitFor(
      [&] {
        return Get("keda.sh", "v1alpha1", "scaledobjects", "web")
                   .value("status", json::object())
                   .value("originalReplicaCount", -1) == 2;
      },
      seconds(10)));
  server_->store().Delete(Type("keda.sh", "v1alpha1", "scaledobjects"), "ns", "web");
  EXPECT_TRUE(WaitFor([&] { return Replicas("web") == 2; }, seconds(10)));
  EXPECT_TRUE(WaitFor(
      [&] { return server_->store().Get(Type("keda.sh", "v1alpha1", "scaledobjects"), "ns", "web").code == 404; },
      seconds(10)));
  EXPECT_EQ(op_->Counters().restores, 1u);
  EXPECT_EQ(Replicas("api"), 4);
}

// A target that records what it was asked.
class RecordingTarget final : public targets::ScaleTarget {
 public:
  void GetScale(std::function<void(Result<targets::ScaleState>)> done) override {
    done(targets::ScaleState{1, 1});
  }
  void SetReplicas(int32_t replicas, std::function<void(Status)> done) override {
    set.push_back(replicas);
    done(Status::Ok());
  }
  std::string Describe() const override { return "Deployment ns/web"; }
  std::vector<int32_t> set;
};

class OneTargetResolver final : public targets::ScaleTargetResolver {
 public:
  Result<targets::ScaleTargetPtr> Resolve(const api::ScaledObject&) override {
    return targets::ScaleTargetPtr(target);
  }
  std::shared_ptr<RecordingTarget> target = std::make_shared<RecordingTarget>();
};

TEST(FencedResolverTest, WritesOnlyWhileTheFenceIsUp) {
  OneTargetResolver inner;
  bool up = true;
  FencedResolver fenced(inner, [&] { return up; });
  targets::ScaleTargetPtr t = fenced.Resolve(api::ScaledObject{}).value();
  Status result;
  t->SetReplicas(3, [&](Status s) { result = s; });
  EXPECT_TRUE(result.ok());
  up = false;
  t->SetReplicas(5, [&](Status s) { result = s; });
  EXPECT_EQ(result.code(), StatusCode::kUnavailable);
  EXPECT_THAT(result.message(), ::testing::HasSubstr("not the leader"));
  bool read = false;
  t->GetScale([&](Result<targets::ScaleState> s) { read = s.ok(); });
  EXPECT_TRUE(read) << "reading is not fenced";
  EXPECT_THAT(inner.target->set, ::testing::ElementsAre(3));
}

}  // namespace
}  // namespace ebb::op
