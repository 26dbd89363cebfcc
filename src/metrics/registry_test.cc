#include "metrics/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace ebb::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RegistryTest, EmptyRegistryRendersNothing) {
  Registry r;
  EXPECT_EQ(r.Render(), "");
}

TEST(RegistryTest, CounterExactText) {
  Registry r;
  CounterFamily& f = r.AddCounter("ebb_things_total", "Things done.", {"namespace", "kind"});
  f.WithLabels({"b", "x"}).Inc(2);
  f.WithLabels({"a", "y"}).Inc();
  EXPECT_EQ(r.Render(),
            "# HELP ebb_things_total Things done.\n"
            "# TYPE ebb_things_total counter\n"
            "ebb_things_total{namespace=\"a\",kind=\"y\"} 1\n"
            "ebb_things_total{namespace=\"b\",kind=\"x\"} 2\n");
}

TEST(RegistryTest, UnlabelledGaugeAndFamiliesSortedByName) {
  Registry r;
  r.AddGauge("zz_gauge", "Last.").WithLabels({}).Set(-2.5);
  r.AddGauge("aa_gauge", "First.").WithLabels({}).Set(0.1);
  EXPECT_EQ(r.Render(),
            "# HELP aa_gauge First.\n"
            "# TYPE aa_gauge gauge\n"
            "aa_gauge 0.1\n"
            "# HELP zz_gauge Last.\n"
            "# TYPE zz_gauge gauge\n"
            "zz_gauge -2.5\n");
}

TEST(RegistryTest, FamilyWithoutSeriesIsLeftOut) {
  Registry r;
  r.AddCounter("unused_total", "Never set.", {"a"});
  r.AddGauge("used", "Set.").WithLabels({}).Set(1);
  EXPECT_EQ(r.Render(), "# HELP used Set.\n# TYPE used gauge\nused 1\n");
}

TEST(RegistryTest, SpecialValues) {
  Registry r;
  GaugeFamily& f = r.AddGauge("g", "h", {"v"});
  f.WithLabels({"a"}).Set(std::numeric_limits<double>::infinity());
  f.WithLabels({"b"}).Set(-std::numeric_limits<double>::infinity());
  f.WithLabels({"c"}).Set(std::nan(""));
  f.WithLabels({"d"}).Set(1e21);
  f.WithLabels({"e"}).Set(123456789);
  EXPECT_EQ(r.Render(),
            "# HELP g h\n# TYPE g gauge\n"
            "g{v=\"a\"} +Inf\n"
            "g{v=\"b\"} -Inf\n"
            "g{v=\"c\"} NaN\n"
            "g{v=\"d\"} 1e+21\n"
            "g{v=\"e\"} 123456789\n");
}

TEST(RegistryTest, EscapesLabelValuesAndHelp) {
  Registry r;
  r.AddGauge("g", "line one\nback\\slash \"quotes\" stay", {"l"})
      .WithLabels({"a\\b \"c\"\nd"})
      .Set(1);
  EXPECT_EQ(r.Render(),
            "# HELP g line one\\nback\\\\slash \"quotes\" stay\n"
            "# TYPE g gauge\n"
            "g{l=\"a\\\\b \\\"c\\\"\\nd\"} 1\n");
}

TEST(RegistryTest, HistogramExactText) {
  Registry r;
  HistogramFamily& f = r.AddHistogram("lat_seconds", "Latency.", {"op"}, {0.25, 1, 2.5});
  Histogram h = f.WithLabels({"get"});
  h.Observe(0.125);
  h.Observe(0.25);  // le is inclusive
  h.Observe(2);
  h.Observe(7);
  EXPECT_EQ(h.Count(), 4u);
  EXPECT_EQ(h.Sum(), 9.375);
  EXPECT_EQ(r.Render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{op=\"get\",le=\"0.25\"} 2\n"
            "lat_seconds_bucket{op=\"get\",le=\"1\"} 2\n"
            "lat_seconds_bucket{op=\"get\",le=\"2.5\"} 3\n"
            "lat_seconds_bucket{op=\"get\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{op=\"get\"} 9.375\n"
            "lat_seconds_count{op=\"get\"} 4\n");
}

TEST(RegistryTest, UnlabelledHistogramWithDefaultBuckets) {
  Registry r;
  r.AddHistogram("d_seconds", "D.").WithLabels({}).Observe(0.3);
  std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("d_seconds_bucket{le=\"0.005\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("d_seconds_bucket{le=\"0.25\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("d_seconds_bucket{le=\"0.5\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("d_seconds_bucket{le=\"10\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("d_seconds_bucket{le=\"+Inf\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("d_seconds_sum 0.3\nd_seconds_count 1\n"));
}

TEST(RegistryTest, HandlesShareTheSeries) {
  Registry r;
  CounterFamily& f = r.AddCounter("c_total", "C.", {"k"});
  Counter a = f.WithLabels({"x"});
  Counter b = f.WithLabels({"x"});
  a.Inc();
  b.Inc(3);
  EXPECT_EQ(a.Value(), 4);
  EXPECT_EQ(f.size(), 1u);
  Gauge g = r.AddGauge("g", "G.").WithLabels({});
  g.Set(5);
  g.Add(-1.5);
  EXPECT_EQ(g.Value(), 3.5);
}

TEST(RegistryTest, DefaultHandleIsANoOp) {
  Counter c;
  Gauge g;
  Histogram h;
  EXPECT_FALSE(c.valid());
  c.Inc();
  g.Set(1);
  h.Observe(1);
  EXPECT_EQ(c.Value(), 0);
  EXPECT_EQ(h.Count(), 0u);
}

TEST(RegistryTest, RemoveByValuesByHandleAndByPartialMatch) {
  Registry r;
  GaugeFamily& f = r.AddGauge("g", "G.", {"namespace", "scaledObject", "metric"});
  f.WithLabels({"ns", "a", "m0"}).Set(1);
  f.WithLabels({"ns", "a", "m1"}).Set(2);
  Gauge b = f.WithLabels({"ns", "b", "m0"});
  f.WithLabels({"other", "a", "m0"}).Set(4);

  EXPECT_TRUE(f.Remove(b));
  EXPECT_FALSE(f.Remove(b));  // already gone
  b.Set(9);                   // detached: not rendered
  EXPECT_THAT(r.Render(), Not(HasSubstr("scaledObject=\"b\"")));

  EXPECT_EQ(f.RemoveMatching({{"namespace", "ns"}, {"scaledObject", "a"}}), 2u);
  EXPECT_EQ(f.RemoveMatching({{"nosuchlabel", "x"}}), 0u);
  EXPECT_TRUE(f.Remove({"other", "a", "m0"}));
  EXPECT_FALSE(f.Remove({"other", "a", "m0"}));
  EXPECT_EQ(f.size(), 0u);
  EXPECT_EQ(r.Render(), "");

  // Re-created after removal: a fresh series at 0.
  EXPECT_EQ(f.WithLabels({"ns", "b", "m0"}).Value(), 0);
}

TEST(RegistryTest, RemoveByHandleOfAReplacedSeriesKeepsTheNewOne) {
  Registry r;
  CounterFamily& f = r.AddCounter("c_total", "C.", {"k"});
  Counter old = f.WithLabels({"x"});
  f.Remove(old);
  Counter fresh = f.WithLabels({"x"});
  EXPECT_FALSE(f.Remove(old));
  EXPECT_EQ(f.size(), 1u);
  EXPECT_TRUE(f.Remove(fresh));
}

TEST(RegistryTest, CallbacksAreReadAtRender) {
  Registry r;
  std::atomic<int> in_flight{3};
  r.AddCallbackGauge("ebb_http_requests_in_flight", "In flight.", [&] { return in_flight.load(); });
  r.AddCallbackCounter("ebb_token_requests_total", "Exchanges.", [] { return 7.0; });
  EXPECT_EQ(r.Render(),
            "# HELP ebb_http_requests_in_flight In flight.\n"
            "# TYPE ebb_http_requests_in_flight gauge\n"
            "ebb_http_requests_in_flight 3\n"
            "# HELP ebb_token_requests_total Exchanges.\n"
            "# TYPE ebb_token_requests_total counter\n"
            "ebb_token_requests_total 7\n");
  in_flight = 0;
  EXPECT_THAT(r.Render(), HasSubstr("ebb_http_requests_in_flight 0\n"));
}

TEST(RegistryTest, AppendValueFormats) {
  auto fmt = [](double v) {
    std::string s;
    AppendValue(s, v);
    return s;
  };
  EXPECT_EQ(fmt(0), "0");
  EXPECT_EQ(fmt(42), "42");
  EXPECT_EQ(fmt(0.005), "0.005");
  EXPECT_EQ(fmt(1.5e-9), "1.5e-09");
  EXPECT_EQ(fmt(std::nan("")), "NaN");
}

// Updates through handles, new series and removals on several threads
// while another thread renders: values add up, nothing tears (run under
// TSan to check the locking).
TEST(RegistryTest, ConcurrentUpdatesWhileRendering) {
  Registry r;
  CounterFamily& counters = r.AddCounter("c_total", "C.", {"t"});
  GaugeFamily& gauges = r.AddGauge("g", "G.", {"t", "i"});
  HistogramFamily& hist = r.AddHistogram("h_seconds", "H.", {"t"}, {1, 2});
  constexpr int kThreads = 4;
  constexpr int kIterations = 20000;
  std::atomic<bool> done{false};
  std::thread renderer([&] {
    size_t renders = 0;
    while (!done.load()) {
      std::string text = r.Render();
      ASSERT_TRUE(text.empty() || text.back() == '\n');
      ++renders;
    }
    EXPECT_GT(renders, 0u);
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      std::string name = "t" + std::to_string(t);
      Counter c = counters.WithLabels({name});
      Histogram h = hist.WithLabels({name});
      for (int i = 0; i < kIterations; ++i) {
        c.Inc();
        h.Observe(i % 3);
        if (i % 100 == 0) {
          std::string idx = std::to_string(i);
          gauges.WithLabels({name, idx}).Set(i);
          if (i % 200 == 0) gauges.Remove({name, idx});
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  done = true;
  renderer.join();
  for (int t = 0; t < kThreads; ++t) {
    std::string name = "t" + std::to_string(t);
    EXPECT_EQ(counters.WithLabels({name}).Value(), kIterations);
    EXPECT_EQ(hist.WithLabels({name}).Count(), static_cast<uint64_t>(kIterations));
  }
  EXPECT_EQ(gauges.size(), static_cast<size_t>(kThreads * kIterations / 200));
  EXPECT_THAT(r.Render(), HasSubstr("c_total{t=\"t0\"} 20000\n"));
}

}  // namespace
}  // namespace ebb::metrics
