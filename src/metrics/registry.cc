#include "metrics/registry.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>

namespace ebb::metrics {
namespace {

// Joins label values into the series' map key. 0xff never occurs in UTF-8,
// so distinct value lists give distinct keys.
constexpr char kKeySeparator = '\xff';

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

bool IsValidMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return IsNameChar(c) || c == ':'; });
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0]) || name.starts_with("__")) return false;
  return std::all_of(name.begin(), name.end(), IsNameChar);
}

std::string JoinKey(std::span<const std::string_view> values) {
  std::string key;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) key += kKeySeparator;
    key += values[i];
  }
  return key;
}

// Appends a="x",b="y" for the family's label names and these values.
std::string RenderLabels(const std::vector<std::string>& names,
                         std::span<const std::string_view> values) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    AppendLabelValue(out, values[i]);
    out += '"';
  }
  return out;
}

// name{labels} value\n, or name value\n without labels.
void AppendSample(std::string& out, std::string_view name, std::string_view labels, double value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  AppendValue(out, value);
  out += '\n';
}

// C++20 atomic<double>::fetch_add is a CAS loop in libstdc++; spelled out
// here so the memory order is visible: relaxed, as only the value matters.
void AtomicAdd(std::atomic<double>& a, double delta) {
  a.fetch_add(delta, std::memory_order_relaxed);
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// An unlabelled series read from a callback at render time.
class CallbackFamily final : public Family {
 public:
  CallbackFamily(std::string name, std::string help, MetricType type, std::function<double()> read)
      : Family(std::move(name), std::move(help), type, {}), read_(std::move(read)) {}

  void Render(std::string& out) const override {
    RenderHeader(out);
    AppendSample(out, name(), {}, read_());
  }

 private:
  std::shared_ptr<internal::Series> NewSeries() const override { return nullptr; }
  void RenderSeries(const internal::Series&, std::string&) const override {}
  const std::function<double()> read_;
};

}  // namespace

void AppendLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void AppendHelp(std::string& out, std::string_view help) {
  for (char c : help) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

// Like common/strings.h FormatDouble, but appends in place: Render formats
// tens of thousands of values and must not allocate a string for each.
void AppendValue(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

std::vector<double> DefaultBuckets() { return {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}; }

// ---- handles ----

void Counter::Inc(double delta) const {
  assert(delta >= 0 && "a counter never goes down");
  if (series_) AtomicAdd(series_->value, delta);
}

double Counter::Value() const {
  return series_ ? series_->value.load(std::memory_order_relaxed) : 0;
}

void Gauge::Set(double value) const {
  if (series_) series_->value.store(value, std::memory_order_relaxed);
}

void Gauge::Add(double delta) const {
  if (series_) AtomicAdd(series_->value, delta);
}

double Gauge::Value() const { return series_ ? series_->value.load(std::memory_order_relaxed) : 0; }

internal::HistogramSeries::HistogramSeries(std::shared_ptr<const std::vector<double>> upper_bounds)
    : bounds(std::move(upper_bounds)),
      counts(std::make_unique<std::atomic<uint64_t>[]>(bounds->size() + 1)) {}

void Histogram::Observe(double value) const {
  if (!series_) return;
  const std::vector<double>& b = *series_->bounds;
  // Buckets are inclusive upper bounds (le); NaN lands in +Inf.
  size_t i = std::lower_bound(b.begin(), b.end(), value) - b.begin();
  series_->counts[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(series_->sum, value);
}

uint64_t Histogram::Count() const {
  if (!series_) return 0;
  uint64_t n = 0;
  for (size_t i = 0; i <= series_->bounds->size(); ++i) {
    n += series_->counts[i].load(std::memory_order_relaxed);
  }
  return n;
}

double Histogram::Sum() const { return series_ ? series_->sum.load(std::memory_order_relaxed) : 0; }

// ---- families ----

Family::Family(std::string name, std::string help, MetricType type,
               std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {
  assert(IsValidMetricName(name_) && "invalid metric name");
  for (const std::string& l : label_names_) {
    assert(IsValidLabelName(l) && "invalid label name");
    assert(!(type_ == MetricType::kHistogram && l == "le") && "le is reserved in histograms");
    (void)l;
  }
}

size_t Family::size() const {
  std::lock_guard lock(mu_);
  return series_.size();
}

std::shared_ptr<internal::Series> Family::GetOrCreate(std::span<const std::string_view> values) {
  assert(values.size() == label_names_.size() && "wrong number of label values");
  std::string key = JoinKey(values);
  std::lock_guard lock(mu_);
  auto it = series_.find(key);
  if (it != series_.end()) return it->second;
  std::shared_ptr<internal::Series> s = NewSeries();
  s->label_values.assign(values.begin(), values.end());
  s->labels = RenderLabels(label_names_, values);
  s->key = key;
  series_.emplace(std::move(key), s);
  return s;
}

bool Family::Remove(std::initializer_list<std::string_view> label_values) {
  return Remove(std::span<const std::string_view>(label_values.begin(), label_values.size()));
}

bool Family::Remove(std::span<const std::string_view> label_values) {
  if (label_values.size() != label_names_.size()) return false;
  std::string key = JoinKey(label_values);
  std::lock_guard lock(mu_);
  return series_.erase(key) > 0;
}

bool Family::RemoveSeries(const internal::Series* series) {
  if (series == nullptr) return false;
  std::lock_guard lock(mu_);
  auto it = series_.find(series->key);
  if (it == series_.end() || it->second.get() != series) return false;
  series_.erase(it);
  return true;
}

size_t Family::RemoveMatching(
    std::initializer_list<std::pair<std::string_view, std::string_view>> match) {
  // Resolve label names to positions once; an unknown name matches nothing.
  std::vector<std::pair<size_t, std::string_view>> wanted;
  for (const auto& [label, value] : match) {
    auto it = std::find(label_names_.begin(), label_names_.end(), label);
    if (it == label_names_.end()) return 0;
    wanted.emplace_back(it - label_names_.begin(), value);
  }
  std::lock_guard lock(mu_);
  return std::erase_if(series_, [&](const auto& entry) {
    const std::vector<std::string>& v = entry.second->label_values;
    return std::all_of(wanted.begin(), wanted.end(),
                       [&](const auto& w) { return v[w.first] == w.second; });
  });
}

void Family::Clear() {
  std::lock_guard lock(mu_);
  series_.clear();
}

void Family::RenderHeader(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  AppendHelp(out, help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += TypeName(type_);
  out += '\n';
}

void Family::Render(std::string& out) const {
  std::lock_guard lock(mu_);
  if (series_.empty()) return;
  RenderHeader(out);
  for (const auto& [key, series] : series_) RenderSeries(*series, out);
}

Counter CounterFamily::WithLabels(std::initializer_list<std::string_view> label_values) {
  return WithLabels(std::span<const std::string_view>(label_values.begin(), label_values.size()));
}

Counter CounterFamily::WithLabels(std::span<const std::string_view> label_values) {
  return Counter(std::static_pointer_cast<internal::ValueSeries>(GetOrCreate(label_values)));
}

std::shared_ptr<internal::Series> CounterFamily::NewSeries() const {
  return std::make_shared<internal::ValueSeries>();
}

void CounterFamily::RenderSeries(const internal::Series& series, std::string& out) const {
  const auto& s = static_cast<const internal::ValueSeries&>(series);
  AppendSample(out, name(), s.labels, s.value.load(std::memory_order_relaxed));
}

Gauge GaugeFamily::WithLabels(std::initializer_list<std::string_view> label_values) {
  return WithLabels(std::span<const std::string_view>(label_values.begin(), label_values.size()));
}

Gauge GaugeFamily::WithLabels(std::span<const std::string_view> label_values) {
  return Gauge(std::static_pointer_cast<internal::ValueSeries>(GetOrCreate(label_values)));
}

std::shared_ptr<internal::Series> GaugeFamily::NewSeries() const {
  return std::make_shared<internal::ValueSeries>();
}

void GaugeFamily::RenderSeries(const internal::Series& series, std::string& out) const {
  const auto& s = static_cast<const internal::ValueSeries&>(series);
  AppendSample(out, name(), s.labels, s.value.load(std::memory_order_relaxed));
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names,
                                 std::vector<double> upper_bounds)
    : Family(std::move(name), std::move(help), MetricType::kHistogram, std::move(label_names)),
      bounds_(std::make_shared<const std::vector<double>>(std::move(upper_bounds))),
      bucket_name_(Family::name() + "_bucket"),
      sum_name_(Family::name() + "_sum"),
      count_name_(Family::name() + "_count") {
  assert(std::adjacent_find(bounds_->begin(), bounds_->end(), std::greater_equal<>()) ==
             bounds_->end() &&
         "bucket bounds must increase");
  assert(std::all_of(bounds_->begin(), bounds_->end(), [](double b) { return std::isfinite(b); }));
}

Histogram HistogramFamily::WithLabels(std::initializer_list<std::string_view> label_values) {
  return WithLabels(std::span<const std::string_view>(label_values.begin(), label_values.size()));
}

Histogram HistogramFamily::WithLabels(std::span<const std::string_view> label_values) {
  return Histogram(std::static_pointer_cast<internal::HistogramSeries>(GetOrCreate(label_values)));
}

std::shared_ptr<internal::Series> HistogramFamily::NewSeries() const {
  return std::make_shared<internal::HistogramSeries>(bounds_);
}

void HistogramFamily::RenderSeries(const internal::Series& series, std::string& out) const {
  const auto& s = static_cast<const internal::HistogramSeries&>(series);
  std::string labels = s.labels;
  if (!labels.empty()) labels += ',';
  const size_t prefix = labels.size();
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    cumulative += s.counts[i].load(std::memory_order_relaxed);
    labels.resize(prefix);
    labels += "le=\"";
    AppendValue(labels, i < bounds_->size() ? (*bounds_)[i] : INFINITY);
    labels += '"';
    AppendSample(out, bucket_name_, labels, static_cast<double>(cumulative));
  }
  AppendSample(out, sum_name_, s.labels, s.sum.load(std::memory_order_relaxed));
  AppendSample(out, count_name_, s.labels, static_cast<double>(cumulative));
}

// ---- registry ----

template <typename F, typename... Args>
F& Registry::Add(std::string name, Args&&... args) {
  auto family = std::make_unique<F>(name, std::forward<Args>(args)...);
  F& ref = *family;
  std::lock_guard lock(mu_);
  [[maybe_unused]] bool inserted = families_.emplace(std::move(name), std::move(family)).second;
  assert(inserted && "metric registered twice");
  return ref;
}

CounterFamily& Registry::AddCounter(std::string name, std::string help,
                                    std::vector<std::string> label_names) {
  return Add<CounterFamily>(std::move(name), std::move(help), std::move(label_names));
}

GaugeFamily& Registry::AddGauge(std::string name, std::string help,
                                std::vector<std::string> label_names) {
  return Add<GaugeFamily>(std::move(name), std::move(help), std::move(label_names));
}

HistogramFamily& Registry::AddHistogram(std::string name, std::string help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> upper_bounds) {
  return Add<HistogramFamily>(std::move(name), std::move(help), std::move(label_names),
                              std::move(upper_bounds));
}

void Registry::AddCallbackCounter(std::string name, std::string help,
                                  std::function<double()> read) {
  Add<CallbackFamily>(std::move(name), std::move(help), MetricType::kCounter, std::move(read));
}

void Registry::AddCallbackGauge(std::string name, std::string help, std::function<double()> read) {
  Add<CallbackFamily>(std::move(name), std::move(help), MetricType::kGauge, std::move(read));
}

std::string Registry::Render() const {
  std::string out;
  // Start at the last size seen (plus room to grow) so a large exposition
  // is built without repeated reallocation.
  size_t hint = last_size_.load(std::memory_order_relaxed);
  out.reserve(hint + hint / 8 + 256);
  RenderTo(out);
  last_size_.store(out.size(), std::memory_order_relaxed);
  return out;
}

void Registry::RenderTo(std::string& out) const {
  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) family->Render(out);
}

}  // namespace ebb::metrics
