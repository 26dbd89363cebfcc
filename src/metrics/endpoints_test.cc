// /metrics, /healthz and /readyz served by a real HttpServer on a free
// loopback port, fetched with a cpp-httplib client.
#include "metrics/endpoints.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <string>

#include "metrics/keda_metrics.h"

namespace ebb::metrics {
namespace {

using ::testing::HasSubstr;

class EndpointsTest : public ::testing::Test {
 protected:
  void Start(HealthChecks checks) {
    AddEndpoints(server_, registry_, std::move(checks));
    Status s = server_.Start("127.0.0.1:0");
    ASSERT_TRUE(s.ok()) << s.ToString();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_.port());
    client_->set_tcp_nodelay(true);
  }
  httplib::Result Get(const std::string& path) { return client_->Get(path.c_str()); }

  Registry registry_;
  http::HttpServer server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(EndpointsTest, MetricsServesTheRegistry) {
  KedaMetrics keda(registry_);
  controller::TriggerEvaluated e;
  e.object = {"default", "web"};
  e.scaler = "prometheusScaler";
  e.metric = "s0-prometheus";
  e.ok = true;
  e.value = 3;
  keda.OnTriggerEvaluated(e);
  Start({});
  auto res = Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(res->body, registry_.Render());
  EXPECT_THAT(res->body, HasSubstr("keda_scaler_metrics_value{namespace=\"default\","
                                   "metric=\"s0-prometheus\",scaledObject=\"web\","
                                   "scaler=\"prometheusScaler\",triggerIndex=\"0\","
                                   "type=\"scaledobject\"} 3\n"));
}

TEST_F(EndpointsTest, HealthzOkByDefault) {
  Start({});
  auto res = Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok\n");
  auto ready = Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
}

TEST_F(EndpointsTest, ReadyzIs503WithTheReasonThen200) {
  std::mutex mu;
  Status readiness = Unavailable("waiting for the first list of ScaledObjects");
  HealthChecks checks;
  checks.ready = [&] {
    std::lock_guard lock(mu);
    return readiness;
  };
  Start(checks);
  auto res = Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, "not ready: unavailable: waiting for the first list of ScaledObjects\n");
  {
    std::lock_guard lock(mu);
    readiness = Status::Ok();
  }
  res = Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok\n");
}

TEST_F(EndpointsTest, HealthzIs503WhenTheLoopIsStuck) {
  HealthChecks checks;
  checks.live = [] { return DeadlineExceeded("scaling loop silent for 95s"); };
  Start(checks);
  auto res = Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_THAT(res->body, HasSubstr("scaling loop silent for 95s"));
}

}  // namespace
}  // namespace ebb::metrics
