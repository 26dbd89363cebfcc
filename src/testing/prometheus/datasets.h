// The fixed data set of the Prometheus trigger's integration tests: series
// with fixed timestamps as OpenMetrics text, loaded into a real Prometheus
// before it starts, and the queries (with the answers they must give) at
// one explicit evaluation time.
//
//   PrometheusOptions options;
//   options.openmetrics = dataset::OpenMetrics();
//   auto prometheus = PrometheusServer::Start(std::move(options)).value();
//   // GET /api/v1/query?query=<dataset::kSingleQuery>&time=<dataset::kEvalUnix>
//   //   -> vector, one element, value "42" (dataset::kSingleValue)
//
// Every answer below holds only with `time=kEvalUnix`: the samples lie in
// November 2023, so a query at "now" finds nothing (older than the 5-minute
// lookback). Samples are every 12 s from kStartUnix to kEndUnix; kEvalUnix is
// 6 s after the last one, so that a [1m] window has no sample on either edge
// (Prometheus 2 and 3 disagree on whether the left edge is included) and
// rate()'s extrapolation factor is exactly 60/48 = 1.25: the rates below are
// exact in binary floating point, not just close.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ebb::testing::dataset {

// The whole data set: OpenMetrics 1.0 text ("# TYPE" lines, timestamps in
// seconds, final "# EOF"), for `promtool tsdb create-blocks-from openmetrics`.
const std::string& OpenMetrics();

inline constexpr int64_t kStartUnix = 1'700'000'000;  // 2023-11-14T22:13:20Z, first sample
inline constexpr int64_t kStepSeconds = 12;
inline constexpr int64_t kEndUnix = kStartUnix + 300;  // last sample of the live series
inline constexpr int64_t kEvalUnix = kEndUnix + 6;     // query with time=kEvalUnix

// --- A single-element vector --------------------------------------------
// Gauge ebb_queue_depth{queue="orders"} = 17 + k at kStartUnix + 12k
// (k = 0..25), so 42 at kEndUnix.
//   kSingleQuery         -> vector [{__name__="ebb_queue_depth", queue="orders"} 42]
//   kSingleScalarQuery   -> scalar 42
//   kSingleRangeQuery    -> matrix, one series, 5 samples: (kEndUnix-48, 38),
//                           (kEndUnix-36, 39), (kEndUnix-24, 40), (kEndUnix-12, 41),
//                           (kEndUnix, 42)
//   avg_over_time(kSingleRangeQuery) -> 40
inline constexpr std::string_view kSingleQuery = R"(ebb_queue_depth{queue="orders"})";
inline constexpr std::string_view kSingleScalarQuery = R"(scalar(ebb_queue_depth{queue="orders"}))";
inline constexpr std::string_view kSingleRangeQuery = R"(ebb_queue_depth{queue="orders"}[1m])";
inline constexpr double kSingleValue = 42;
inline constexpr std::array<double, 5> kSingleRangeValues = {38, 39, 40, 41, 42};
inline constexpr int64_t kSingleRangeFirstUnix = kEndUnix - 48;

// --- A multi-element vector ---------------------------------------------
// Gauge ebb_pool_load{pool=...}: blue 3, green 5, red 7, constant.
//   kMultiQuery          -> vector of 3 elements (order not guaranteed)
//   kMultiSumQuery       -> vector [{} 15]
//   kMultiScalarQuery    -> scalar NaN (scalar() of more than one element)
inline constexpr std::string_view kMultiQuery = "ebb_pool_load";
inline constexpr std::string_view kMultiSumQuery = "sum(ebb_pool_load)";
inline constexpr std::string_view kMultiScalarQuery = "scalar(ebb_pool_load)";
inline constexpr std::string_view kMultiLabel = "pool";
inline constexpr std::array<std::string_view, 3> kMultiLabelValues = {"blue", "green", "red"};
inline constexpr std::array<double, 3> kMultiValues = {3, 5, 7};
inline constexpr double kMultiSum = 15;

// --- A series whose latest sample is NaN -----------------------------------
// Gauge ebb_error_ratio{service="checkout"} = 0.5, except NaN at kEndUnix.
//   kNaNQuery            -> vector [{__name__="ebb_error_ratio", service="checkout"} "NaN"]
//   max_over_time(ebb_error_ratio[1m]) -> 0.5 (max ignores NaN)
inline constexpr std::string_view kNaNQuery = R"(ebb_error_ratio{service="checkout"})";

// --- A counter for rate() --------------------------------------------------
// Counter ebb_requests_total{pod="a"} = 1000 + 24k (2 per second) and
// {pod="b"} = 500 + 36k (3 per second).
//   kRateQuery           -> vector [{} 5], exactly
//   rate(ebb_requests_total{pod="a"}[1m]) -> 2, {pod="b"} -> 3, exactly
inline constexpr std::string_view kRateQuery = "sum(rate(ebb_requests_total[1m]))";
inline constexpr double kRateValue = 5;
inline constexpr double kRatePodA = 2;
inline constexpr double kRatePodB = 3;

// --- A series at zero (scale to zero, activation) ------------------------
// Gauge ebb_idle_depth{queue="empty"} = 0.
//   kZeroQuery           -> vector [{__name__="ebb_idle_depth", queue="empty"} 0]
inline constexpr std::string_view kZeroQuery = R"(ebb_idle_depth{queue="empty"})";

// --- Empty answers -------------------------------------------------------
// ebb_stale_gauge{queue="old"} = 9 from kStartUnix-120 to kStartUnix: it
// exists, but its last sample is 306 s before kEvalUnix, beyond the 5-minute
// lookback.
//   kStaleQuery          -> vector []
//   kMissingQuery        -> vector []   (no such metric)
//   kMissingScalarQuery  -> scalar NaN
//   kMissingLabelQuery   -> vector []   (metric exists, label value doesn't)
inline constexpr std::string_view kStaleQuery = "ebb_stale_gauge";
inline constexpr std::string_view kMissingQuery = "ebb_does_not_exist";
inline constexpr std::string_view kMissingScalarQuery = "scalar(ebb_does_not_exist)";
inline constexpr std::string_view kMissingLabelQuery = R"(ebb_queue_depth{queue="nope"})";

}  // namespace ebb::testing::dataset
