#include "metrics/keda_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace ebb::metrics {
namespace {

using controller::DecisionMade;
using controller::ObjectRef;
using controller::TriggerEvaluated;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kWebTrigger[] =
    "{namespace=\"default\",metric=\"s0-prometheus\",scaledObject=\"web\","
    "scaler=\"prometheusScaler\",triggerIndex=\"0\",type=\"scaledobject\"}";

TriggerEvaluated Eval(std::string ns, std::string name, double value, bool active) {
  TriggerEvaluated e;
  e.object = {std::move(ns), std::move(name)};
  e.trigger_index = 0;
  e.trigger_name = "0";
  e.scaler = "prometheusScaler";
  e.metric = "s0-prometheus";
  e.ok = true;
  e.value = value;
  e.active = active;
  e.latency = std::chrono::milliseconds(250);
  return e;
}

TEST(KedaMetricsTest, BuildInfoAndNothingPerObjectAtFirst) {
  Registry r;
  KedaMetricsOptions options;
  options.version = "0.1.0";
  options.git_commit = "abc123";
  KedaMetrics m(r, options);
  std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("# TYPE keda_build_info gauge\n"));
  EXPECT_THAT(text, HasSubstr("keda_build_info{version=\"0.1.0\",git_commit=\"abc123\","));
  EXPECT_THAT(text, HasSubstr("goos=\"linux\""));
  EXPECT_THAT(text, Not(HasSubstr("keda_scaler_metrics_value")));
}

TEST(KedaMetricsTest, TriggerEvaluationSetsKedaSeries) {
  Registry r;
  KedaMetrics m(r);
  m.OnObjectRegistered({"default", "web"});
  m.OnTriggerEvaluated(Eval("default", "web", 42.5, true));
  std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("# HELP keda_scaler_metrics_value The current value for each "
                              "scaler's metric that would be used by the HPA in computing the "
                              "target average.\n# TYPE keda_scaler_metrics_value gauge\n"));
  EXPECT_THAT(text, HasSubstr(std::string("keda_scaler_metrics_value") + kWebTrigger + " 42.5\n"));
  EXPECT_THAT(text, HasSubstr(std::string("keda_scaler_active") + kWebTrigger + " 1\n"));
  EXPECT_THAT(text, HasSubstr(std::string("keda_scaler_metrics_latency_seconds") + kWebTrigger +
                              " 0.25\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE keda_scaler_detail_errors_total counter\n"));
  EXPECT_THAT(text,
              HasSubstr(std::string("keda_scaler_detail_errors_total") + kWebTrigger + " 0\n"));
  EXPECT_THAT(text, HasSubstr("keda_scaled_object_errors_total{namespace=\"default\","
                              "scaledObject=\"web\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("keda_scaled_object_paused{namespace=\"default\","
                              "scaledObject=\"web\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("keda_trigger_registered_total{type=\"prometheus\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("keda_resource_registered_total{type=\"scaled_object\","
                              "namespace=\"default\"} 1\n"));
}

TEST(KedaMetricsTest, ErrorKeepsLastValueAndCountsForTriggerAndObject) {
  Registry r;
  KedaMetrics m(r);
  m.OnTriggerEvaluated(Eval("default", "web", 7, true));
  TriggerEvaluated failed = Eval("default", "web", 0, false);
  failed.ok = false;
  failed.error = Unauthenticated("401");
  m.OnTriggerEvaluated(failed);
  m.OnObjectError({"default", "web"}, InvalidConfig("target missing"));
  std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr(std::string("keda_scaler_metrics_value") + kWebTrigger + " 7\n"));
  EXPECT_THAT(text, HasSubstr(std::string("keda_scaler_active") + kWebTrigger + " 0\n"));
  EXPECT_THAT(text,
              HasSubstr(std::string("keda_scaler_detail_errors_total") + kWebTrigger + " 1\n"));
  EXPECT_THAT(text, HasSubstr("keda_scaled_object_errors_total{namespace=\"default\","
                              "scaledObject=\"web\"} 2\n"));
}

TEST(KedaMetricsTest, EmptyResponsesByIgnoreNullValues) {
  Registry r;
  KedaMetrics m(r);
  TriggerEvaluated e = Eval("default", "web", 0, false);
  e.empty_response = true;  // ok: ignoreNullValues was true
  m.OnTriggerEvaluated(e);
  m.OnTriggerEvaluated(e);
  e.ok = false;  // an error: ignoreNullValues was false
  m.OnTriggerEvaluated(e);
  std::string text = r.Render();
  const std::string prefix =
      "keda_scaler_empty_upstream_responses_total{namespace=\"default\",scaledResource=\"web\","
      "resourceType=\"ScaledObject\",triggerName=\"0\",metricName=\"s0-prometheus\",";
  EXPECT_THAT(text, HasSubstr(prefix + "ignoreNullValues=\"true\"} 2\n"));
  EXPECT_THAT(text, HasSubstr(prefix + "ignoreNullValues=\"false\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("keda_prometheus_metrics_empty_error_total 3\n"));
}

TEST(KedaMetricsTest, DecisionSetsPausedLoopLatencyAndScaleChanges) {
  Registry r;
  KedaMetrics m(r);
  DecisionMade d;
  d.object = {"prod", "api"};
  d.from_replicas = 1;
  d.to_replicas = 4;
  d.changed = true;
  d.applied = true;
  d.loop_latency = std::chrono::milliseconds(125);
  m.OnDecision(d);
  d.from_replicas = 4;
  d.to_replicas = 2;
  m.OnDecision(d);
  d.applied = false;  // dry run: not counted
  m.OnDecision(d);
  d.paused = true;
  d.changed = false;
  m.OnDecision(d);
  std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("keda_internal_scale_loop_latency_seconds{namespace=\"prod\","
                              "type=\"scaledobject\",resource=\"api\"} 0.125\n"));
  EXPECT_THAT(text, HasSubstr("keda_scaled_object_paused{namespace=\"prod\","
                              "scaledObject=\"api\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ebb_scale_changes_total{namespace=\"prod\",scaledObject=\"api\","
                              "direction=\"up\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ebb_scale_changes_total{namespace=\"prod\",scaledObject=\"api\","
                              "direction=\"down\"} 1\n"));
}

TEST(KedaMetricsTest, RemovedObjectLeavesNoSeries) {
  Registry r;
  KedaMetrics m(r);
  m.OnObjectRegistered({"default", "web"});
  m.OnObjectRegistered({"default", "other"});
  TriggerEvaluated e = Eval("default", "web", 1, true);
  e.empty_response = true;
  m.OnTriggerEvaluated(e);
  TriggerEvaluated second = e;
  second.trigger_index = 1;
  second.metric = "s1-prometheus";
  m.OnTriggerEvaluated(second);
  m.OnTriggerEvaluated(Eval("default", "other", 2, true));
  DecisionMade d;
  d.object = {"default", "web"};
  d.from_replicas = 0;
  d.to_replicas = 1;
  d.changed = d.applied = true;
  m.OnDecision(d);
  EXPECT_THAT(r.Render(), HasSubstr("keda_trigger_registered_total{type=\"prometheus\"} 3\n"));

  m.OnObjectRemoved({"default", "web"});
  m.OnObjectRemoved({"default", "web"});  // twice: harmless
  std::string text = r.Render();
  EXPECT_THAT(text, Not(HasSubstr("scaledObject=\"web\"")));
  EXPECT_THAT(text, Not(HasSubstr("scaledResource=\"web\"")));
  EXPECT_THAT(text, Not(HasSubstr("resource=\"web\"")));
  EXPECT_THAT(text, HasSubstr("scaledObject=\"other\""));
  EXPECT_THAT(text, HasSubstr("keda_trigger_registered_total{type=\"prometheus\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("keda_resource_registered_total{type=\"scaled_object\","
                              "namespace=\"default\"} 1\n"));
  EXPECT_EQ(m.ObjectCount(), 1u);
}

TEST(KedaMetricsTest, ChangedTriggerLabelsReplaceTheOldSeries) {
  Registry r;
  KedaMetrics m(r);
  m.OnTriggerEvaluated(Eval("default", "web", 1, true));
  TriggerEvaluated edited = Eval("default", "web", 2, true);
  edited.metric = "s0-renamed";
  m.OnTriggerEvaluated(edited);
  std::string text = r.Render();
  EXPECT_THAT(text, Not(HasSubstr("metric=\"s0-prometheus\"")));
  EXPECT_THAT(text, HasSubstr("metric=\"s0-renamed\""));
  EXPECT_THAT(text, HasSubstr("keda_trigger_registered_total{type=\"prometheus\"} 1\n"));
}

TEST(KedaMetricsTest, QueriesAndCoalescing) {
  Registry r;
  KedaMetrics m(r);
  m.OnQuerySent(1);
  m.OnQuerySent(5);
  std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("ebb_queries_sent_total 2\n"));
  EXPECT_THAT(text, HasSubstr("ebb_coalesced_queries_total 4\n"));
}

TEST(KedaMetricsTest, StatsCallbacks) {
  Registry r;
  auth::TokenCacheStats token;
  token.exchanges = 3;
  token.hits = 97;
  http::CurlHttpClientStats http;
  http.in_flight = 12;
  http.requests_sent = 100;
  KedaMetricsOptions options;
  options.token_cache_stats = [&] { return token; };
  options.http_client_stats = [&] { return http; };
  KedaMetrics m(r, options);
  std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("# TYPE ebb_token_requests_total counter\n"
                              "ebb_token_requests_total 3\n"));
  EXPECT_THAT(text, HasSubstr("ebb_token_cache_hits_total 97\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE ebb_http_requests_in_flight gauge\n"
                              "ebb_http_requests_in_flight 12\n"));
  EXPECT_THAT(text, HasSubstr("ebb_http_requests_total 100\n"));
  http.in_flight = 0;
  EXPECT_THAT(r.Render(), HasSubstr("ebb_http_requests_in_flight 0\n"));
}

// The controller's thread reports while /metrics renders on another.
TEST(KedaMetricsTest, EventsWhileRendering) {
  Registry r;
  KedaMetrics m(r);
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done.load()) {
      std::string text = r.Render();
      ASSERT_TRUE(text.empty() || text.back() == '\n');
    }
  });
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 50; ++i) {
      std::string name = "so-" + std::to_string(i);
      m.OnObjectRegistered({"ns", name});
      m.OnTriggerEvaluated(Eval("ns", name, i, i % 2 == 0));
      m.OnQuerySent(2);
    }
    for (int i = 0; i < 50; i += 2) m.OnObjectRemoved({"ns", "so-" + std::to_string(i)});
  }
  done = true;
  scraper.join();
  EXPECT_EQ(m.ObjectCount(), 25u);
  EXPECT_THAT(r.Render(), HasSubstr("keda_trigger_registered_total{type=\"prometheus\"} 25\n"));
  EXPECT_THAT(r.Render(), HasSubstr("ebb_coalesced_queries_total 1000\n"));
}

// Prometheus's own parser as a cross-check of the text format, when the
// machine has it (Debian's prometheus package). Exit status 1 is a parse
// error; 3 is only lint advice (KEDA's camelCase labels and gauges named
// _total, kept for compatibility).
TEST(KedaMetricsTest, ExpositionParsesWithPromtool) {
  if (!std::filesystem::exists("/usr/bin/promtool")) GTEST_SKIP() << "promtool not installed";
  Registry r;
  KedaMetrics m(r);
  TriggerEvaluated e = Eval("default", "we\"b\\", 1, true);
  e.empty_response = true;
  m.OnTriggerEvaluated(e);
  r.AddHistogram("ebb_test_seconds", "Help with \\ and\nnewline.", {"l"}, {0.5, 1})
      .WithLabels({"x\ny"})
      .Observe(0.7);
  r.AddGauge("ebb_test_special", "Special values.", {"v"}).WithLabels({"nan"}).Set(std::nan(""));
  std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("ebb_metrics_" + std::to_string(getpid()));
  {
    std::ofstream out(file);
    out << r.Render();
  }
  int rc = std::system(
      ("/usr/bin/promtool check metrics < " + file.string() + " >/dev/null 2>&1").c_str());
  std::filesystem::remove(file);
  ASSERT_TRUE(WIFEXITED(rc));
  EXPECT_NE(WEXITSTATUS(rc), 1) << "promtool could not parse the exposition";
  EXPECT_THAT(WEXITSTATUS(rc), ::testing::AnyOf(0, 3));
}

TEST(KedaMetricsTest, NoCallbacksNoStatsMetrics) {
  Registry r;
  KedaMetrics m(r);
  EXPECT_THAT(r.Render(), Not(HasSubstr("ebb_token_")));
  EXPECT_THAT(r.Render(), Not(HasSubstr("ebb_http_")));
}

}  // namespace
}  // namespace ebb::metrics
