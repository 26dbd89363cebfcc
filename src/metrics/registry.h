// Registry: ebb's own metrics (counters, gauges, histograms) and their
// exposition in the Prometheus text format 0.0.4, for /metrics.
//
//   Registry registry;
//   CounterFamily& errors = registry.AddCounter(
//       "keda_scaled_object_errors_total", "The number of errors ...",
//       {"namespace", "scaledObject"});
//   Counter web = errors.WithLabels({"default", "web"});  // keep the handle
//   web.Inc();                                            // no lock, no allocation
//   registry.AddCallbackGauge("ebb_http_requests_in_flight", "...",
//                             [&] { return double(client.Stats().in_flight); });
//   std::string text = registry.Render();
//   errors.Remove({"default", "web"});                    // the object is gone
//
// Why our own and not prometheus-cpp: the hot path (a value set on every
// trigger evaluation of up to 10,000 objects) must be one atomic store
// through a handle the caller keeps, and exposition must stream every
// series into one string; this is a few hundred lines, without civetweb.
//
// Families are rendered sorted by name, series sorted by label values, so
// the output is deterministic. Families without series are left out, as
// the Go client does. Names and label names are the caller's constants:
// an invalid or duplicate name, or a wrong number of label values, is a
// programmer error (asserts).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ebb::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };

namespace internal {

// One labelled series. Shared between its family and the handles callers
// keep, so a handle stays valid (but detached) after the series is removed.
struct Series {
  virtual ~Series() = default;
  std::string key;                        // label values joined, the map key
  std::vector<std::string> label_values;  // in the family's label order
  std::string labels;                     // rendered: a="x",b="y" (no braces)
};

struct ValueSeries final : Series {
  std::atomic<double> value{0};
};

struct HistogramSeries final : Series {
  explicit HistogramSeries(std::shared_ptr<const std::vector<double>> upper_bounds);
  const std::shared_ptr<const std::vector<double>> bounds;  // shared with the family
  // Non-cumulative counts per bucket; the last one is +Inf. Cumulated at
  // render time, so _count (their sum) always agrees with the buckets.
  std::unique_ptr<std::atomic<uint64_t>[]> counts;
  std::atomic<double> sum{0};
};

}  // namespace internal

// Handles: cheap to copy, safe to use from any thread, lock-free and
// allocation-free to update. A default-constructed handle is a no-op. After
// its series is removed a handle updates a detached value that is never
// rendered again; drop it then.

class Counter {
 public:
  Counter() = default;
  // REQUIRES: delta >= 0 (a counter never goes down).
  void Inc(double delta = 1) const;
  double Value() const;
  // False for a default-constructed handle (lazily created series).
  bool valid() const { return series_ != nullptr; }

 private:
  friend class CounterFamily;
  explicit Counter(std::shared_ptr<internal::ValueSeries> s) : series_(std::move(s)) {}
  std::shared_ptr<internal::ValueSeries> series_;
};

class Gauge {
 public:
  Gauge() = default;
  void Set(double value) const;
  void Add(double delta) const;
  double Value() const;
  // False for a default-constructed handle (lazily created series).
  bool valid() const { return series_ != nullptr; }

 private:
  friend class GaugeFamily;
  explicit Gauge(std::shared_ptr<internal::ValueSeries> s) : series_(std::move(s)) {}
  std::shared_ptr<internal::ValueSeries> series_;
};

class Histogram {
 public:
  Histogram() = default;
  void Observe(double value) const;
  uint64_t Count() const;
  double Sum() const;
  // False for a default-constructed handle (lazily created series).
  bool valid() const { return series_ != nullptr; }

 private:
  friend class HistogramFamily;
  explicit Histogram(std::shared_ptr<internal::HistogramSeries> s) : series_(std::move(s)) {}
  std::shared_ptr<internal::HistogramSeries> series_;
};

// A metric name with its HELP, TYPE, label names and series. Owned by the
// Registry, which outlives every use of the reference it hands out.
// Thread-safe.
class Family {
 public:
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names);
  virtual ~Family() = default;
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  const std::string& name() const { return name_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  size_t size() const;

  // Removes the series with exactly these label values; false when absent.
  bool Remove(std::initializer_list<std::string_view> label_values);
  bool Remove(std::span<const std::string_view> label_values);
  // Removes every series whose labels include all of `match` (name, value)
  // pairs, like client_golang's DeletePartialMatch. Returns how many.
  size_t RemoveMatching(std::initializer_list<std::pair<std::string_view, std::string_view>> match);
  void Clear();

  // Appends the HELP and TYPE lines and every series; nothing when empty.
  virtual void Render(std::string& out) const;

 protected:
  // Appends the "# HELP" and "# TYPE" lines.
  void RenderHeader(std::string& out) const;
  std::shared_ptr<internal::Series> GetOrCreate(std::span<const std::string_view> label_values);
  bool RemoveSeries(const internal::Series* series);
  virtual std::shared_ptr<internal::Series> NewSeries() const = 0;
  virtual void RenderSeries(const internal::Series& series, std::string& out) const = 0;

 private:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<internal::Series>, std::less<>> series_;  // guarded by mu_
};

class CounterFamily final : public Family {
 public:
  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names)
      : Family(std::move(name), std::move(help), MetricType::kCounter, std::move(label_names)) {}
  // Returns the series of these label values, created at 0 if new. Takes
  // the family's lock and builds a key: keep the handle on hot paths.
  Counter WithLabels(std::initializer_list<std::string_view> label_values);
  Counter WithLabels(std::span<const std::string_view> label_values);
  // Removes the handle's series (O(log n), no key built); false when it
  // is already gone or belongs to another family.
  bool Remove(const Counter& handle) { return RemoveSeries(handle.series_.get()); }
  using Family::Remove;

 private:
  std::shared_ptr<internal::Series> NewSeries() const override;
  void RenderSeries(const internal::Series& series, std::string& out) const override;
};

class GaugeFamily final : public Family {
 public:
  GaugeFamily(std::string name, std::string help, std::vector<std::string> label_names)
      : Family(std::move(name), std::move(help), MetricType::kGauge, std::move(label_names)) {}
  Gauge WithLabels(std::initializer_list<std::string_view> label_values);
  Gauge WithLabels(std::span<const std::string_view> label_values);
  // Removes the handle's series (O(log n), no key built); false when it
  // is already gone or belongs to another family.
  bool Remove(const Gauge& handle) { return RemoveSeries(handle.series_.get()); }
  using Family::Remove;

 private:
  std::shared_ptr<internal::Series> NewSeries() const override;
  void RenderSeries(const internal::Series& series, std::string& out) const override;
};

class HistogramFamily final : public Family {
 public:
  // REQUIRES: upper_bounds strictly increasing and finite (+Inf is implied);
  // label_names without "le".
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> upper_bounds);
  Histogram WithLabels(std::initializer_list<std::string_view> label_values);
  Histogram WithLabels(std::span<const std::string_view> label_values);
  // Removes the handle's series (O(log n), no key built); false when it
  // is already gone or belongs to another family.
  bool Remove(const Histogram& handle) { return RemoveSeries(handle.series_.get()); }
  using Family::Remove;
  const std::vector<double>& upper_bounds() const { return *bounds_; }

 private:
  std::shared_ptr<internal::Series> NewSeries() const override;
  void RenderSeries(const internal::Series& series, std::string& out) const override;
  const std::shared_ptr<const std::vector<double>> bounds_;
  const std::string bucket_name_, sum_name_, count_name_;
};

// Prometheus client defaults: .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10 (seconds).
std::vector<double> DefaultBuckets();

// The set of families behind one /metrics. Owns its families; references
// returned by Add* stay valid for the registry's lifetime. Thread-safe:
// families may be added, updated and rendered from any threads at once.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  CounterFamily& AddCounter(std::string name, std::string help,
                            std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(std::string name, std::string help,
                        std::vector<std::string> label_names = {});
  HistogramFamily& AddHistogram(std::string name, std::string help,
                                std::vector<std::string> label_names = {},
                                std::vector<double> upper_bounds = DefaultBuckets());

  // A single unlabelled series whose value `read` returns at each Render,
  // for numbers owned elsewhere (token cache stats, requests in flight).
  // `read` runs on the scraping thread under the registry's lock: it must
  // be thread-safe, quick, and must not call into this registry.
  void AddCallbackCounter(std::string name, std::string help, std::function<double()> read);
  void AddCallbackGauge(std::string name, std::string help, std::function<double()> read);

  // The exposition, text format 0.0.4, in one string.
  std::string Render() const;
  // Appends the exposition to `out` (reuse one buffer across scrapes).
  void RenderTo(std::string& out) const;

 private:
  template <typename F, typename... Args>
  F& Add(std::string name, Args&&... args);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;  // guarded by mu_
  mutable std::atomic<size_t> last_size_{0};  // capacity hint for Render
};

// Content-Type of Render's output.
inline constexpr char kExpositionContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// Exposed for tests: the text-format escaping of a label value (\\ \" \n)
// and of a HELP text (\\ \n), and the format of a sample value ("+Inf",
// "-Inf", "NaN", else the shortest text that reads back as the same value).
void AppendLabelValue(std::string& out, std::string_view value);
void AppendHelp(std::string& out, std::string_view help);
void AppendValue(std::string& out, double value);

}  // namespace ebb::metrics
