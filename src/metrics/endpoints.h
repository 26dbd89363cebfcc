// ebb's own endpoints on an HttpServer: /metrics (the registry in the
// Prometheus text format), /healthz (liveness) and /readyz (readiness).
//
//   metrics::Registry registry;
//   http::HttpServer server;
//   metrics::HealthChecks checks;
//   checks.live = [&] { return loop.Heartbeat(); };   // Status
//   checks.ready = [&] { return cache.Synced(); };    // Status
//   metrics::AddEndpoints(server, registry, std::move(checks));
//   EBB_RETURN_IF_ERROR(server.Start(options.metrics_address));
//
// Kept out of http/ so the server stays generic.
#pragma once

#include <functional>

#include "common/status.h"
#include "http/http_server.h"
#include "metrics/registry.h"

namespace ebb::metrics {

// Where `ebb run` serves these endpoints unless told otherwise: loopback,
// on the port KEDA's metrics adapter used. `ebb operator` in a pod needs
// ":9022" (all interfaces) for the kubelet's probes and the scraper.
inline constexpr char kDefaultAddress[] = "127.0.0.1:9022";

struct HealthChecks {
  // /healthz: 200 "ok" while this returns ok (the process loop is alive),
  // else 503 with the status. Default (empty): always ok.
  std::function<Status()> live;
  // /readyz: 200 "ok" when this returns ok, else 503 with the status as the
  // reason ("not ready: unavailable: waiting for the first list of
  // ScaledObjects"). Default (empty): always ok.
  std::function<Status()> ready;
};

// Registers /metrics, /healthz and /readyz on `server` (before Start).
// `registry` and the callbacks must outlive the server's serving: they run
// on the server's threads, so they must be thread-safe.
void AddEndpoints(http::HttpServer& server, const Registry& registry, HealthChecks checks = {});

}  // namespace ebb::metrics
