// Reading Prometheus's answers: the instant-query body (every row of the
// response table in facts/keda-compat.md), the range-query body, and non-2xx
// answers turned into a Status precise enough for `ebb doctor`.
//
//   if (resp.status / 100 != 2)
//     return HttpErrorStatus(resp.status, resp.body, authorizer.Describe());
//   Result<QueryResult> r = ParseQueryResponse(resp.body, config.ignore_null_values);
//
// Body text is never echoed beyond Prometheus's own `error` field (truncated,
// control characters replaced): an arbitrary body can hold anything.
// Parsing uses simdjson with one parser per thread. All functions are
// thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace ebb::prometheus {

struct QueryResult {
  double value = 0;
  // True when the answer held no usable sample (empty result, empty value,
  // NaN or +-Inf) and was read as 0 because ignoreNullValues is true; counted
  // in keda_scaler_empty_upstream_responses_total.
  bool empty = false;
};

// Reads a 2xx body of /api/v1/query:
//   vector of 1 sample        -> its value
//   empty vector, {}          -> 0 (empty) if ignore_null_values, else kUnavailable
//   vector of >1 samples      -> kInvalidConfig naming the label sets, suggesting sum()/max()
//   scalar [ts, "v"]          -> v
//   matrix                    -> kInvalidConfig "query returns a range vector; wrap it ..."
//   string, native histogram  -> kInvalidConfig
//   "NaN", "+Inf", "-Inf"     -> 0 (empty) if ignore_null_values, else kUnavailable
//   JSON null value           -> kInternal
//   {"status":"error",...}    -> code from errorType, message with errorType and error
//   not JSON, not an object   -> kInternal
// Lenient as KEDA: a body without status or resultType is read as a vector.
Result<QueryResult> ParseQueryResponse(std::string_view body, bool ignore_null_values);

struct RangePoint {
  Time time;
  double value = 0;
};

// Reads a 2xx body of /api/v1/query_range: a matrix with at most one series
// (no series: an empty list; >1: kInvalidConfig naming the label sets).
// NaN/+-Inf points become 0 when ignore_null_values, else kUnavailable.
// Error bodies and malformed answers as ParseQueryResponse.
Result<std::vector<RangePoint>> ParseRangeResponse(std::string_view body, bool ignore_null_values);

// Prometheus's error fields, from {"status":"error","errorType":..,"error":..}
// (also a bare {"error": ".."} or {"error":{"code":..,"message":..}} as
// proxies and managed services send). nullopt when the body has neither.
// `error` is truncated to a few hundred bytes with control characters
// replaced.
struct PrometheusError {
  std::string error_type;
  std::string error;
};
std::optional<PrometheusError> ParseErrorBody(std::string_view body);

// The Status for a non-2xx answer. Always names the HTTP status and, when
// present, Prometheus's errorType and error.
//   401 -> kUnauthenticated, 403 -> kPermissionDenied, each with a sentence
//          saying which credential ebb sent (`credential_description`, from
//          Authorizer::Describe(): by kind, never by value) or that none was
//   400, 422 -> kInvalidConfig (the query was rejected: parse error position)
//   404 -> kNotFound with a hint on serverAddress
//   408, 504 -> kDeadlineExceeded;  429, 5xx -> kUnavailable
//   3xx (a redirect ebb refused to follow) and other 4xx -> kInvalidConfig
Status HttpErrorStatus(int http_status, std::string_view body,
                       const std::string& credential_description);

}  // namespace ebb::prometheus
