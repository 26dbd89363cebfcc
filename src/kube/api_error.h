// ApiResult: the outcome of one Kubernetes API call, with errors decoded
// from the metav1.Status body the server sends.
//
//   client.Get(kDeployments, "ns", "web", [](ApiResult r) {
//     if (r.IsConflict()) ...        // re-read and retry
//     if (!r.ok()) return Report(r.status);
//     Use(r.object);
//   });
//
// Status codes: 401 kUnauthenticated, 403 kPermissionDenied (the server's
// message names the user, verb and resource), 404 kNotFound, 409 and 410
// kUnavailable (retry after a fresh read or list: IsConflict / IsExpired
// tell them apart), 429 and 5xx kUnavailable, 400/415/422 kInvalidConfig.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "http/http_client.h"

namespace ebb::kube {

struct ApiResult {
  Status status{};          // ok, or the decoded error
  int http_status = 0;      // 0 when no HTTP answer came (transport failure)
  std::string reason{};     // metav1.Status reason: "Conflict", "NotFound", "Expired", ...
  nlohmann::json object{};  // the answer's body when ok

  bool ok() const { return status.ok(); }
  // 409 Conflict: the object changed since it was read. Not AlreadyExists.
  bool IsConflict() const { return http_status == 409 && reason != "AlreadyExists"; }
  bool IsAlreadyExists() const { return http_status == 409 && reason == "AlreadyExists"; }
  // 410 Gone / reason Expired: the resourceVersion or continue token is too
  // old; list again.
  bool IsExpired() const { return http_status == 410 || reason == "Expired" || reason == "Gone"; }
  bool IsNotFound() const { return http_status == 404; }
  bool IsForbidden() const { return http_status == 403; }
  bool IsUnauthorized() const { return http_status == 401; }
};

// Maps an HTTP status and a metav1.Status reason to a StatusCode.
StatusCode CodeForHttpStatus(int http_status);

// Builds the result of an HTTP exchange. `what` ("GET deployments.apps
// ns/web") prefixes error messages. A 2xx body that is not JSON is
// kInternal. The message of an error is the server's metav1.Status message
// (which never holds a credential), or the first 200 bytes of a non-Status
// body for 5xx answers from proxies.
ApiResult ToApiResult(const Result<http::HttpResponse>& response, const std::string& what);

// Decodes a metav1.Status object (a watch ERROR event's object) into a
// result with its code, reason and message.
ApiResult FromStatusObject(const nlohmann::json& status, const std::string& what);

}  // namespace ebb::kube
