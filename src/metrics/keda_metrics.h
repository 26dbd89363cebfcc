// KedaMetrics: the ControllerObserver that keeps ebb's /metrics, under
// KEDA's operator metric names and labels (so existing KEDA dashboards and
// alerts work) plus ebb's own, prefixed ebb_. Every metric is listed in
// metrics/README.md.
//
//   metrics::Registry registry;
//   metrics::KedaMetricsOptions options;
//   options.version = kVersion;
//   options.token_cache_stats = [&] { return token_cache.Stats(); };
//   options.http_client_stats = [&] { return http_client.Stats(); };
//   metrics::KedaMetrics keda(registry, std::move(options));
//   controller.AddObserver(&keda);
//
// KEDA's labels (pkg/metricscollector/prommetrics.go): per trigger
// {namespace, metric, scaledObject, scaler, triggerIndex, type}, with type
// "scaledobject"; per object {namespace, scaledObject}. An object's series
// are created when it is registered or first evaluated and removed on
// OnObjectRemoved (KEDA's DeleteScalerMetrics), so a deleted ScaledObject
// leaves no stale value behind.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/token_cache.h"
#include "controller/observer.h"
#include "http/curl_http_client.h"
#include "metrics/registry.h"

namespace ebb::metrics {

struct KedaMetricsOptions {
  // keda_build_info{version, git_commit}. Default: empty.
  std::string version;
  std::string git_commit;
  // Read at each scrape for ebb_token_* (absent when empty). Must be
  // thread-safe (TokenCache::Stats is) and callable as long as the registry
  // renders (the callbacks stay registered after KedaMetrics is gone).
  std::function<auth::TokenCacheStats()> token_cache_stats;
  // Read at each scrape for ebb_http_* (absent when empty). Must be
  // thread-safe (CurlHttpClient::Stats is).
  std::function<http::CurlHttpClientStats()> http_client_stats;
};

// Registers its families in `registry`, which must outlive it. Thread-safe:
// events may come from any thread while the registry renders. Updating an
// object already seen takes one uncontended lock and no allocation.
class KedaMetrics final : public controller::ControllerObserver {
 public:
  explicit KedaMetrics(Registry& registry, KedaMetricsOptions options = {});
  ~KedaMetrics() override;  // leaves its series in the registry
  KedaMetrics(const KedaMetrics&) = delete;
  KedaMetrics& operator=(const KedaMetrics&) = delete;

  void OnObjectRegistered(const controller::ObjectRef& object) override;
  void OnObjectRemoved(const controller::ObjectRef& object) override;
  void OnTriggerEvaluated(const controller::TriggerEvaluated& event) override;
  void OnDecision(const controller::DecisionMade& event) override;
  void OnObjectError(const controller::ObjectRef& object, const Status& error) override;
  void OnQuerySent(int triggers) override;

  // Objects with series (for tests and memory accounting).
  size_t ObjectCount() const;

 private:
  struct Families;
  // Handles of one trigger's series, created on its first evaluation.
  struct TriggerSeries {
    std::string scaler;  // the labels the series were made with
    std::string metric;
    std::string trigger_name;
    std::string trigger_type;  // keda_trigger_registered_total{type}
    Gauge value, latency, active;
    Counter errors;
    Counter empty[2];  // by ignoreNullValues: [0] "false", [1] "true"
  };
  struct ObjectSeries {
    std::string namespace_name, name;
    bool registered = false;  // counted in keda_resource_registered_total
    Counter errors;
    Gauge paused, loop_latency;
    Counter scale_up, scale_down;
    std::vector<std::optional<TriggerSeries>> triggers;  // by trigger index
  };

  ObjectSeries& Object(const controller::ObjectRef& ref);  // REQUIRES: mu_ held
  TriggerSeries& Trigger(ObjectSeries& o, const controller::TriggerEvaluated& e);
  void CreateTrigger(ObjectSeries& o, int index, const controller::TriggerEvaluated& e);
  void RemoveTrigger(const ObjectSeries& o, const TriggerSeries& t);
  void RemoveObject(const ObjectSeries& o);
  Counter& EmptyCounter(const ObjectSeries& o, TriggerSeries& t, bool ignore_null_values);
  void RegisterCallbacks(const KedaMetricsOptions& options);

  Registry& registry_;
  std::unique_ptr<Families> f_;  // the registry's families, by role
  Counter queries_sent_, coalesced_queries_, empty_responses_legacy_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, ObjectSeries> objects_;  // guarded by mu_; key ns + '/' + name
  std::string key_;  // guarded by mu_; reused lookup buffer, so a lookup allocates nothing
};

}  // namespace ebb::metrics
