// The HTTP requests the Prometheus trigger sends: an instant query (every
// poll) and a range query (`ebb simulate --from-prometheus`; its answer is
// parsed by ParseRangeResponse in response.h).
//
//   http::HttpRequest r = BuildQueryRequest(config, clock.Now());
//   // GET {serverAddress}/api/v1/query?query=<escaped>&time=2026-11-26T05:32:13Z
//   //     [&namespace=<ns>][&k=v...]   headers: customHeaders (sensitive)
//   authorizer.Send(client, std::move(r), ...);
//
// Every query component is RFC 3986 percent-encoded (space is %20, '+' is
// %2B), so PromQL's {}"=~ and UTF-8 reach Prometheus intact. The request
// carries no credential: the Authorizer adds it.
#pragma once

#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "http/http_client.h"
#include "prometheus/config.h"

namespace ebb::prometheus {

// GET {server}/api/v1/query with query, time (`now` truncated to whole
// seconds, RFC 3339 UTC, as KEDA sends it; equal requests within a second
// can be coalesced), namespace when set, then queryParameters in order.
// customHeaders are added (marked sensitive: users put tenant ids and keys
// there); timeout and unsafeSsl (tls.insecure_skip_verify) applied.
http::HttpRequest BuildQueryRequest(const PrometheusConfig& config, Time now);

// Answer size limits (docs/reliability.md). An instant query for a KEDA
// trigger returns one sample, a few hundred bytes; 8 MiB leaves room for
// queries that return many series by mistake. A range answer holds at most
// 11,000 points per series (Prometheus's own limit), about 330 KB.
inline constexpr int64_t kMaxQueryAnswerBytes = int64_t{8} << 20;
inline constexpr int64_t kMaxRangeAnswerBytes = int64_t{64} << 20;

// GET {server}/api/v1/query_range with query, start, end, step (seconds),
// namespace and queryParameters; headers, timeout and TLS as above.
http::HttpRequest BuildRangeRequest(const PrometheusConfig& config, Time start, Time end,
                                    Duration step);

// "{server}/api/v1/query" without the query string, for error messages.
std::string QueryEndpoint(const PrometheusConfig& config);

}  // namespace ebb::prometheus
