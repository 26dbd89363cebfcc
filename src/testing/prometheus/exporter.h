// MetricsExporter: a small /metrics endpoint on 127.0.0.1 serving gauges
// that a test changes at any time, for a real Prometheus to scrape: the
// source of live, changing data (the quickstart load generator, end-to-end
// tests of scaling up and down).
//
//   auto exporter = MetricsExporter::Start().value();
//   exporter->Set("ebb_queue_depth", {{"queue", "orders"}}, 12);
//   PrometheusOptions options;
//   options.scrape_targets = {exporter->address()};
//   auto prometheus = PrometheusServer::Start(std::move(options)).value();
//   exporter->Set("ebb_queue_depth", {{"queue", "orders"}}, 30);  // seen at the next scrape
//
// Serves the Prometheus text format 0.0.4: "# TYPE name gauge" and one line
// per label set, label values escaped.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/status.h"

namespace httplib {
class Server;
}

namespace ebb::testing {

// Label name -> value. Sorted, so equal sets are one series.
using MetricLabels = std::map<std::string, std::string>;

struct MetricsExporterOptions {
  // Port on 127.0.0.1. Default 0: a free port chosen by the kernel.
  int port = 0;
};

// Owns its HTTP server and the thread that runs it; the destructor stops
// both. Thread-safe: Set, Remove, Render and the accessors may be called
// from any thread while Prometheus scrapes; Stop and the destructor must not
// race with each other.
class MetricsExporter {
 public:
  // Binds 127.0.0.1 and serves /metrics. kUnavailable if the port cannot be
  // bound or the server does not come up within 5 s.
  static Result<std::unique_ptr<MetricsExporter>> Start(const MetricsExporterOptions& options = {});

  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;

  // Sets gauge `name` with `labels` to `value` (NaN and infinities allowed).
  // REQUIRES: `name` and label names match [a-zA-Z_:][a-zA-Z0-9_:]* (label
  // names without ':'), checked by assert: a bad name would make every
  // scrape fail, far from the cause.
  void Set(std::string_view name, const MetricLabels& labels, double value);

  // Removes one series (no-op when absent); the metric's TYPE line goes
  // with its last series.
  void Remove(std::string_view name, const MetricLabels& labels);

  // The body /metrics serves now.
  std::string Render() const;

  int port() const { return port_; }
  // "127.0.0.1:PORT": a scrape target for PrometheusOptions::scrape_targets.
  std::string address() const;
  // "http://127.0.0.1:PORT/metrics".
  std::string url() const;
  // How many times /metrics has been served (a test can wait for a scrape).
  int64_t scrape_count() const { return scrape_count_.load(); }

  // Stops serving and joins the server thread. Idempotent.
  void Stop();

 private:
  MetricsExporter();
  Status Listen(int port);

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int64_t> scrape_count_{0};
  std::atomic<bool> serving_done_{false};  // set by thread_ when the server loop returns

  mutable std::mutex mu_;
  std::map<std::string, std::map<MetricLabels, double>, std::less<>> gauges_;  // guarded by mu_
};

}  // namespace ebb::testing
