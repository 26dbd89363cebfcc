#include "testing/prometheus/datasets.h"

#include <cmath>
#include <functional>

#include "common/strings.h"

namespace ebb::testing::dataset {
namespace {

constexpr int64_t kLiveSamples = (kEndUnix - kStartUnix) / kStepSeconds + 1;  // 26

// Appends one series: `value(k)` at `first + k * kStepSeconds`, k = 0..count-1.
// OpenMetrics wants each series' samples in time order, all together.
void AppendSeries(std::string& out, std::string_view series, int64_t first, int64_t count,
                  const std::function<double(int64_t)>& value) {
  for (int64_t k = 0; k < count; ++k) {
    out.append(series).append(" ").append(FormatDouble(value(k)));
    out.append(" ").append(std::to_string(first + k * kStepSeconds)).append("\n");
  }
}

void AppendLive(std::string& out, std::string_view series,
                const std::function<double(int64_t)>& value) {
  AppendSeries(out, series, kStartUnix, kLiveSamples, value);
}

std::string Build() {
  std::string out;
  out += "# TYPE ebb_queue_depth gauge\n";
  AppendLive(out, R"(ebb_queue_depth{queue="orders"})", [](int64_t k) { return 17.0 + k; });

  out += "# TYPE ebb_pool_load gauge\n";
  for (size_t i = 0; i < kMultiLabelValues.size(); ++i) {
    std::string series = "ebb_pool_load{pool=\"" + std::string(kMultiLabelValues[i]) + "\"}";
    AppendLive(out, series, [i](int64_t) { return kMultiValues[i]; });
  }

  out += "# TYPE ebb_error_ratio gauge\n";
  AppendLive(out, R"(ebb_error_ratio{service="checkout"})",
             [](int64_t k) { return k == kLiveSamples - 1 ? std::nan("") : 0.5; });

  // OpenMetrics names the counter family without "_total"; samples keep it.
  out += "# TYPE ebb_requests counter\n";
  AppendLive(out, R"(ebb_requests_total{pod="a"})",
             [](int64_t k) { return 1000.0 + kRatePodA * kStepSeconds * k; });
  AppendLive(out, R"(ebb_requests_total{pod="b"})",
             [](int64_t k) { return 500.0 + kRatePodB * kStepSeconds * k; });

  out += "# TYPE ebb_idle_depth gauge\n";
  AppendLive(out, R"(ebb_idle_depth{queue="empty"})", [](int64_t) { return 0.0; });

  out += "# TYPE ebb_stale_gauge gauge\n";
  AppendSeries(out, R"(ebb_stale_gauge{queue="old"})", kStartUnix - 120, 11,
               [](int64_t) { return 9.0; });

  out += "# EOF\n";
  return out;
}

}  // namespace

const std::string& OpenMetrics() {
  static const std::string* const kText = new std::string(Build());
  return *kText;
}

}  // namespace ebb::testing::dataset
