#include "prometheus/request.h"

#include <utility>

#include "common/strings.h"
#include "http/url.h"

namespace ebb::prometheus {

namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

// Parameters every request carries after its own: namespace, then the user's.
void AddCommonParams(const PrometheusConfig& c, Params& params) {
  if (!c.namespace_name.empty()) params.emplace_back("namespace", c.namespace_name);
  for (const auto& kv : c.query_parameters) params.push_back(kv);
}

http::HttpRequest Get(const PrometheusConfig& c, std::string_view path, const Params& params) {
  http::HttpRequest r;
  r.method = "GET";
  r.url = c.server_address + std::string(path) + "?" + http::BuildQuery(params);
  for (const auto& [name, value] : c.custom_headers) {
    r.headers.push_back({name, value, /*sensitive=*/true});
  }
  r.timeout = c.timeout;
  r.tls.insecure_skip_verify = c.unsafe_ssl;
  return r;
}

Time WholeSeconds(Time t) { return std::chrono::floor<std::chrono::seconds>(t); }

}  // namespace

http::HttpRequest BuildQueryRequest(const PrometheusConfig& config, Time now) {
  Params params = {{"query", config.query}, {"time", FormatRfc3339(WholeSeconds(now))}};
  AddCommonParams(config, params);
  http::HttpRequest r = Get(config, "/api/v1/query", params);
  r.max_response_bytes = kMaxQueryAnswerBytes;
  return r;
}

http::HttpRequest BuildRangeRequest(const PrometheusConfig& config, Time start, Time end,
                                    Duration step) {
  double step_seconds = std::chrono::duration<double>(step).count();
  Params params = {{"query", config.query},
                   {"start", FormatRfc3339(start)},
                   {"end", FormatRfc3339(end)},
                   {"step", FormatDouble(step_seconds)}};
  AddCommonParams(config, params);
  http::HttpRequest r = Get(config, "/api/v1/query_range", params);
  r.max_response_bytes = kMaxRangeAnswerBytes;
  return r;
}

std::string QueryEndpoint(const PrometheusConfig& config) {
  return config.server_address + "/api/v1/query";
}

}  // namespace ebb::prometheus
