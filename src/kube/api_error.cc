#include "kube/api_error.h"

namespace ebb::kube {

using nlohmann::json;

StatusCode CodeForHttpStatus(int s) {
  if (s >= 200 && s < 300) return StatusCode::kOk;
  switch (s) {
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 408:
    case 504:
      return StatusCode::kDeadlineExceeded;
    case 409:
    case 410:
    case 429:
      return StatusCode::kUnavailable;
    case 400:
    case 405:
    case 406:
    case 413:
    case 415:
    case 422:
      return StatusCode::kInvalidConfig;
    default:
      return s >= 500 ? StatusCode::kUnavailable : StatusCode::kInternal;
  }
}

namespace {

std::string Str(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// An HTTP status with no Status body (a proxy's 502 page, say): say what
// the status means, with a short excerpt of the body for 5xx.
std::string DescribeBare(int code, const std::string& body) {
  std::string text = "HTTP " + std::to_string(code);
  if (code >= 500 && !body.empty()) text += ": " + body.substr(0, 200);
  return text;
}

}  // namespace

ApiResult FromStatusObject(const json& status, const std::string& what) {
  ApiResult r;
  r.http_status =
      status.is_object() && status.contains("code") && status["code"].is_number_integer()
          ? status["code"].get<int>()
          : 500;
  r.reason = Str(status, "reason");
  std::string message = Str(status, "message");
  if (message.empty()) message = r.reason.empty() ? DescribeBare(r.http_status, "") : r.reason;
  StatusCode code = CodeForHttpStatus(r.http_status);
  if (code == StatusCode::kOk) code = StatusCode::kInternal;
  r.status = Status(code, what + ": " + message);
  return r;
}

ApiResult ToApiResult(const Result<http::HttpResponse>& response, const std::string& what) {
  ApiResult r;
  if (!response.ok()) {
    r.status = response.status().WithContext(what);
    return r;
  }
  const http::HttpResponse& h = *response;
  json body = h.body.empty() ? json() : json::parse(h.body, nullptr, false);
  if (h.status >= 200 && h.status < 300) {
    if (body.is_discarded()) {
      r.status = Internal(what + ": the answer is not JSON");
      return r;
    }
    r.http_status = h.status;
    r.object = std::move(body);
    return r;
  }
  if (body.is_object() && Str(body, "kind") == "Status") {
    ApiResult decoded = FromStatusObject(body, what);
    decoded.http_status = h.status;
    StatusCode code = CodeForHttpStatus(h.status);
    decoded.status = Status(code, decoded.status.message());
    return decoded;
  }
  r.http_status = h.status;
  r.status = Status(CodeForHttpStatus(h.status), what + ": " + DescribeBare(h.status, h.body));
  return r;
}

}  // namespace ebb::kube
