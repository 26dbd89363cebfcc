#include "metrics/keda_metrics.h"

#include <charconv>
#include <chrono>
#include <string_view>

#include "common/strings.h"

namespace ebb::metrics {
namespace {

using controller::DecisionMade;
using controller::ObjectRef;
using controller::TriggerEvaluated;

// KEDA's getResourceType(isScaledObject) and its CRD type names.
constexpr std::string_view kResourceType = "scaledobject";
constexpr std::string_view kResourceKind = "ScaledObject";
constexpr std::string_view kCrdScaledObject = "scaled_object";
constexpr std::string_view kDefaultNamespace = "default";

std::vector<std::string> TriggerLabels() {
  return {"namespace", "metric", "scaledObject", "scaler", "triggerIndex", "type"};
}
std::vector<std::string> ObjectLabels() { return {"namespace", "scaledObject"}; }

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// KEDA counts triggers by their `type` ("prometheus"); the observer gives
// the scaler label ("prometheusScaler"), from which the type is derived.
std::string TriggerType(std::string_view scaler) {
  constexpr std::string_view kSuffix = "Scaler";
  if (scaler.size() > kSuffix.size() && scaler.ends_with(kSuffix)) {
    scaler.remove_suffix(kSuffix.size());
  }
  return std::string(scaler);
}

std::string_view CompilerVersion() {
#if defined(__clang__)
  return "clang-" __clang_version__;
#elif defined(__GNUC__)
  return "gcc-" __VERSION__;
#else
  return "unknown";
#endif
}

std::string_view Arch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#else
  return "unknown";
#endif
}

std::string_view Namespace(std::string_view ns) { return ns.empty() ? kDefaultNamespace : ns; }

}  // namespace

// The registry's families, by role; references stay valid as long as the
// registry lives.
struct KedaMetrics::Families {
  explicit Families(Registry& r)
      : build_info(r.AddGauge("keda_build_info",
                              "Info metric, with static information about KEDA build like: "
                              "version, git commit and Golang runtime info.",
                              {"version", "git_commit", "goversion", "goos", "goarch"})),
        metrics_value(r.AddGauge("keda_scaler_metrics_value",
                                 "The current value for each scaler's metric that would be used "
                                 "by the HPA in computing the target average.",
                                 TriggerLabels())),
        metrics_latency(r.AddGauge("keda_scaler_metrics_latency_seconds",
                                   "The latency of retrieving current metric from each scaler, "
                                   "in seconds.",
                                   TriggerLabels())),
        active(r.AddGauge("keda_scaler_active",
                          "Indicates whether a scaler is active (1), or not (0).",
                          TriggerLabels())),
        detail_errors(r.AddCounter("keda_scaler_detail_errors_total",
                                   "The total number of errors encountered for each scaler.",
                                   TriggerLabels())),
        empty_upstream(r.AddCounter(
            "keda_scaler_empty_upstream_responses_total",
            "The number of times a scaler returned an empty response from its upstream source "
            "(e.g. a Prometheus query returning no results).",
            {"namespace", "scaledResource", "resourceType", "triggerName", "metricName",
             "ignoreNullValues"})),
        object_errors(r.AddCounter("keda_scaled_object_errors_total",
                                   "The number of errors that have occurred for each "
                                   "ScaledObject.",
                                   ObjectLabels())),
        paused(r.AddGauge("keda_scaled_object_paused",
                          "Indicates whether a ScaledObject is paused (1), or not (0).",
                          ObjectLabels())),
        trigger_registered(r.AddGauge("keda_trigger_registered_total",
                                      "Total number of triggers per trigger type registered.",
                                      {"type"})),
        resource_registered(r.AddGauge("keda_resource_registered_total",
                                       "Total number of KEDA custom resources per namespace for "
                                       "each custom resource type (CRD) registered.",
                                       {"type", "namespace"})),
        loop_latency(r.AddGauge("keda_internal_scale_loop_latency_seconds",
                                "Total deviation (in seconds) between the expected execution "
                                "time and the actual execution time for the scaling loop.",
                                {"namespace", "type", "resource"})),
        scale_changes(r.AddCounter("ebb_scale_changes_total",
                                   "Replica count changes applied to scale targets, by "
                                   "direction (up, down).",
                                   {"namespace", "scaledObject", "direction"})) {}

  GaugeFamily& build_info;
  GaugeFamily& metrics_value;
  GaugeFamily& metrics_latency;
  GaugeFamily& active;
  CounterFamily& detail_errors;
  CounterFamily& empty_upstream;
  CounterFamily& object_errors;
  GaugeFamily& paused;
  GaugeFamily& trigger_registered;
  GaugeFamily& resource_registered;
  GaugeFamily& loop_latency;
  CounterFamily& scale_changes;
};

KedaMetrics::KedaMetrics(Registry& registry, KedaMetricsOptions options)
    : registry_(registry), f_(std::make_unique<Families>(registry)) {
  f_->build_info
      .WithLabels({options.version, options.git_commit, CompilerVersion(), "linux", Arch()})
      .Set(1);
  queries_sent_ = registry
                      .AddCounter("ebb_queries_sent_total",
                                  "Metric queries sent (one per distinct query per poll, "
                                  "after coalescing).")
                      .WithLabels({});
  coalesced_queries_ = registry
                           .AddCounter("ebb_coalesced_queries_total",
                                       "Trigger evaluations answered by a query another "
                                       "trigger shared, so not sent on their own.")
                           .WithLabels({});
  empty_responses_legacy_ = registry
                                .AddCounter("keda_prometheus_metrics_empty_error_total",
                                            "Number of times a prometheus query returns an "
                                            "empty result")
                                .WithLabels({});
  RegisterCallbacks(options);
}

KedaMetrics::~KedaMetrics() = default;

void KedaMetrics::RegisterCallbacks(const KedaMetricsOptions& options) {
  if (auto stats = options.token_cache_stats) {
    registry_.AddCallbackCounter("ebb_token_requests_total",
                                 "Token exchanges started with identity providers.",
                                 [stats] { return double(stats().exchanges); });
    registry_.AddCallbackCounter("ebb_token_request_failures_total", "Token exchanges that failed.",
                                 [stats] { return double(stats().exchange_failures); });
    registry_.AddCallbackCounter("ebb_token_cache_hits_total",
                                 "Token requests answered from the cache without an exchange.",
                                 [stats] { return double(stats().hits); });
    registry_.AddCallbackGauge("ebb_token_cache_identities", "Identities known to the token cache.",
                               [stats] { return double(stats().identities); });
  }
  if (auto stats = options.http_client_stats) {
    registry_.AddCallbackGauge("ebb_http_requests_in_flight",
                               "Outgoing HTTP requests on the wire now.",
                               [stats] { return double(stats().in_flight); });
    registry_.AddCallbackGauge("ebb_http_requests_queued",
                               "Outgoing HTTP requests waiting for a slot.",
                               [stats] { return double(stats().queued); });
    registry_.AddCallbackCounter("ebb_http_requests_total",
                                 "Outgoing HTTP requests sent, redirect hops included.",
                                 [stats] { return double(stats().requests_sent); });
    registry_.AddCallbackCounter("ebb_http_request_failures_total",
                                 "Outgoing HTTP requests that ended without an answer.",
                                 [stats] { return double(stats().failures); });
    registry_.AddCallbackCounter("ebb_http_connections_opened_total",
                                 "TCP connections opened by the HTTP client.",
                                 [stats] { return double(stats().connections_opened); });
  }
}

KedaMetrics::ObjectSeries& KedaMetrics::Object(const ObjectRef& ref) {
  key_.clear();
  key_.append(ref.namespace_name).append(1, '/').append(ref.name);
  auto it = objects_.find(key_);
  if (it != objects_.end()) return it->second;
  ObjectSeries& o = objects_[key_];
  o.namespace_name = ref.namespace_name;
  o.name = ref.name;
  // KEDA initialises these at 0 when it first sees the object.
  o.errors = f_->object_errors.WithLabels({o.namespace_name, o.name});
  o.paused = f_->paused.WithLabels({o.namespace_name, o.name});
  return o;
}

KedaMetrics::TriggerSeries& KedaMetrics::Trigger(ObjectSeries& o, const TriggerEvaluated& e) {
  size_t i = static_cast<size_t>(e.trigger_index);
  if (i >= o.triggers.size()) o.triggers.resize(i + 1);
  std::optional<TriggerSeries>& t = o.triggers[i];
  // An edited object may change a trigger's labels under the same index.
  if (t && (t->scaler != e.scaler || t->metric != e.metric || t->trigger_name != e.trigger_name)) {
    RemoveTrigger(o, *t);
    t.reset();
  }
  if (!t) CreateTrigger(o, e.trigger_index, e);
  return *t;
}

void KedaMetrics::CreateTrigger(ObjectSeries& o, int index, const TriggerEvaluated& e) {
  char buf[16];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, index);
  std::string_view idx(buf, end - buf);
  const std::string_view labels[] = {o.namespace_name, e.metric, o.name,
                                     e.scaler,         idx,      kResourceType};
  TriggerSeries& t = o.triggers[index].emplace();
  t.scaler = e.scaler;
  t.metric = e.metric;
  t.trigger_name = e.trigger_name;
  t.trigger_type = TriggerType(e.scaler);
  t.value = f_->metrics_value.WithLabels(labels);
  t.latency = f_->metrics_latency.WithLabels(labels);
  t.active = f_->active.WithLabels(labels);
  t.errors = f_->detail_errors.WithLabels(labels);
  f_->trigger_registered.WithLabels({t.trigger_type}).Add(1);
}

void KedaMetrics::RemoveTrigger(const ObjectSeries& o, const TriggerSeries& t) {
  f_->metrics_value.Remove(t.value);
  f_->metrics_latency.Remove(t.latency);
  f_->active.Remove(t.active);
  f_->detail_errors.Remove(t.errors);
  for (const Counter& c : t.empty) f_->empty_upstream.Remove(c);
  f_->trigger_registered.WithLabels({t.trigger_type}).Add(-1);
}

void KedaMetrics::RemoveObject(const ObjectSeries& o) {
  for (const auto& t : o.triggers) {
    if (t) RemoveTrigger(o, *t);
  }
  f_->object_errors.Remove(o.errors);
  f_->paused.Remove(o.paused);
  f_->loop_latency.Remove(o.loop_latency);
  f_->scale_changes.Remove(o.scale_up);
  f_->scale_changes.Remove(o.scale_down);
}

Counter& KedaMetrics::EmptyCounter(const ObjectSeries& o, TriggerSeries& t, bool ignore_null) {
  Counter& c = t.empty[ignore_null ? 1 : 0];
  if (!c.valid()) {
    c = f_->empty_upstream.WithLabels({o.namespace_name, o.name, kResourceKind, t.trigger_name,
                                       t.metric, ignore_null ? "true" : "false"});
  }
  return c;
}

void KedaMetrics::OnObjectRegistered(const ObjectRef& object) {
  std::lock_guard lock(mu_);
  ObjectSeries& o = Object(object);
  if (o.registered) return;
  o.registered = true;
  f_->resource_registered.WithLabels({kCrdScaledObject, Namespace(o.namespace_name)}).Add(1);
}

void KedaMetrics::OnObjectRemoved(const ObjectRef& object) {
  std::lock_guard lock(mu_);
  key_.clear();
  key_.append(object.namespace_name).append(1, '/').append(object.name);
  auto it = objects_.find(key_);
  if (it == objects_.end()) return;
  RemoveObject(it->second);
  if (it->second.registered) {
    f_->resource_registered.WithLabels({kCrdScaledObject, Namespace(object.namespace_name)})
        .Add(-1);
  }
  objects_.erase(it);
}

void KedaMetrics::OnTriggerEvaluated(const TriggerEvaluated& e) {
  if (e.trigger_index < 0) return;
  std::lock_guard lock(mu_);
  ObjectSeries& o = Object(e.object);
  TriggerSeries& t = Trigger(o, e);
  t.latency.Set(Seconds(e.latency));
  if (e.ok) {
    t.value.Set(e.value);
    t.active.Set(e.active ? 1 : 0);
  } else {
    // Like KEDA: the last value stays, the scaler counts as inactive, and
    // the error counts for the trigger and for its object.
    t.active.Set(0);
    t.errors.Inc();
    o.errors.Inc();
  }
  if (e.empty_response) {
    // An empty answer that is not an error means ignoreNullValues is true.
    EmptyCounter(o, t, e.ok).Inc();
    empty_responses_legacy_.Inc();
  }
}

void KedaMetrics::OnDecision(const DecisionMade& e) {
  std::lock_guard lock(mu_);
  ObjectSeries& o = Object(e.object);
  o.paused.Set(e.paused ? 1 : 0);
  if (!o.loop_latency.valid()) {
    o.loop_latency = f_->loop_latency.WithLabels({o.namespace_name, kResourceType, o.name});
  }
  o.loop_latency.Set(Seconds(e.loop_latency));
  if (!e.changed || !e.applied || e.to_replicas == e.from_replicas) return;
  bool up = e.to_replicas > e.from_replicas;
  Counter& c = up ? o.scale_up : o.scale_down;
  if (!c.valid()) {
    c = f_->scale_changes.WithLabels({o.namespace_name, o.name, up ? "up" : "down"});
  }
  c.Inc();
}

void KedaMetrics::OnObjectError(const ObjectRef& object, const Status& error) {
  std::lock_guard lock(mu_);
  Object(object).errors.Inc();
}

void KedaMetrics::OnQuerySent(int triggers) {
  queries_sent_.Inc();
  if (triggers > 1) coalesced_queries_.Inc(triggers - 1);
}

size_t KedaMetrics::ObjectCount() const {
  std::lock_guard lock(mu_);
  return objects_.size();
}

}  // namespace ebb::metrics
