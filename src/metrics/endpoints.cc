#include "metrics/endpoints.h"

#include <string>
#include <utility>

namespace ebb::metrics {
namespace {

constexpr char kPlainText[] = "text/plain; charset=utf-8";

http::ServerHandler CheckHandler(std::function<Status()> check, std::string what) {
  return [check = std::move(check), what = std::move(what)](const http::ServerRequest&) {
    Status s = check ? check() : Status::Ok();
    if (s.ok()) return http::ServerResponse{200, kPlainText, "ok\n"};
    // The reason goes in the body so `curl /readyz` says why; statuses never
    // hold secrets (common/status.h).
    return http::ServerResponse{503, kPlainText, what + ": " + s.ToString() + "\n"};
  };
}

}  // namespace

void AddEndpoints(http::HttpServer& server, const Registry& registry, HealthChecks checks) {
  server.Handle("/metrics", [&registry](const http::ServerRequest&) {
    return http::ServerResponse{200, kExpositionContentType, registry.Render()};
  });
  server.Handle("/healthz", CheckHandler(std::move(checks.live), "not live"));
  server.Handle("/readyz", CheckHandler(std::move(checks.ready), "not ready"));
}

}  // namespace ebb::metrics
