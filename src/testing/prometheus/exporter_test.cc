#include "testing/prometheus/exporter.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace ebb::testing {
namespace {

std::unique_ptr<MetricsExporter> StartExporter() {
  Result<std::unique_ptr<MetricsExporter>> exporter = MetricsExporter::Start();
  EXPECT_TRUE(exporter.ok()) << exporter.status().ToString();
  return exporter.ok() ? std::move(exporter).value() : nullptr;
}

TEST(HarnessMetricsExporter, RendersGaugesInTextFormat) {
  auto exporter = StartExporter();
  ASSERT_NE(exporter, nullptr);
  exporter->Set("ebb_queue_depth", {{"queue", "orders"}}, 12);
  exporter->Set("ebb_queue_depth", {{"queue", "billing"}, {"az", "1"}}, 2.5);
  exporter->Set("ebb_plain", {}, std::numeric_limits<double>::quiet_NaN());
  exporter->Set("ebb_inf", {}, std::numeric_limits<double>::infinity());
  EXPECT_EQ(exporter->Render(),
            "# TYPE ebb_inf gauge\n"
            "ebb_inf +Inf\n"
            "# TYPE ebb_plain gauge\n"
            "ebb_plain NaN\n"
            "# TYPE ebb_queue_depth gauge\n"
            "ebb_queue_depth{az=\"1\",queue=\"billing\"} 2.5\n"
            "ebb_queue_depth{queue=\"orders\"} 12\n");
}

TEST(HarnessMetricsExporter, EscapesLabelValues) {
  auto exporter = StartExporter();
  ASSERT_NE(exporter, nullptr);
  exporter->Set("m", {{"path", "a\\b \"c\"\nd"}}, 1);
  EXPECT_EQ(exporter->Render(), "# TYPE m gauge\nm{path=\"a\\\\b \\\"c\\\"\\nd\"} 1\n");
}

TEST(HarnessMetricsExporter, SetReplacesAndRemoveDeletes) {
  auto exporter = StartExporter();
  ASSERT_NE(exporter, nullptr);
  exporter->Set("m", {{"k", "v"}}, 1);
  exporter->Set("m", {{"k", "v"}}, 2);
  EXPECT_EQ(exporter->Render(), "# TYPE m gauge\nm{k=\"v\"} 2\n");
  exporter->Remove("m", {{"k", "other"}});
  exporter->Remove("m", {{"k", "v"}});
  EXPECT_EQ(exporter->Render(), "");
}

TEST(HarnessMetricsExporter, ServesMetricsOverHttp) {
  auto exporter = StartExporter();
  ASSERT_NE(exporter, nullptr);
  exporter->Set("ebb_queue_depth", {{"queue", "orders"}}, 7);
  EXPECT_EQ(exporter->address(), "127.0.0.1:" + std::to_string(exporter->port()));
  httplib::Client client("http://" + exporter->address());
  httplib::Result answer = client.Get("/metrics");
  ASSERT_TRUE(answer) << httplib::to_string(answer.error());
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(answer->body, exporter->Render());
  EXPECT_EQ(exporter->scrape_count(), 1);
  EXPECT_EQ(client.Get("/other")->status, 404);
}

TEST(HarnessMetricsExporter, SetWhileScrapedFromManyThreads) {
  auto exporter = StartExporter();
  ASSERT_NE(exporter, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&exporter, t] {
      for (int i = 0; i < 200; ++i) exporter->Set("m", {{"t", std::to_string(t)}}, i);
    });
  }
  httplib::Client client("http://" + exporter->address());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(client.Get("/metrics")->status, 200);
  for (std::thread& thread : threads) thread.join();
  EXPECT_NE(exporter->Render().find("m{t=\"3\"} 199\n"), std::string::npos);
}

TEST(HarnessMetricsExporter, BusyPortIsUnavailable) {
  auto first = StartExporter();
  ASSERT_NE(first, nullptr);
  Result<std::unique_ptr<MetricsExporter>> second = MetricsExporter::Start({.port = first->port()});
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
}

TEST(HarnessMetricsExporter, StopIsIdempotentAndClosesThePort) {
  auto exporter = StartExporter();
  ASSERT_NE(exporter, nullptr);
  std::string address = exporter->address();
  exporter->Stop();
  exporter->Stop();
  httplib::Client client("http://" + address);
  client.set_connection_timeout(std::chrono::seconds(1));
  EXPECT_FALSE(client.Get("/metrics"));
}

}  // namespace
}  // namespace ebb::testing
