// What `ebb run` and `ebb operator` both build around the controller: the
// metrics options (token cache and HTTP client figures for /metrics) and
// the trigger environment (one token cache, the process's AZURE_*).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "auth/token_cache.h"
#include "common/clock.h"
#include "controller/trigger_factory.h"
#include "http/curl_http_client.h"
#include "metrics/keda_metrics.h"

namespace ebb::cmd {

// `token_cache` and `http` must outlive the metrics built from the result.
metrics::KedaMetricsOptions LoopMetricsOptions(std::shared_ptr<auth::TokenCache> token_cache,
                                               http::CurlHttpClient& http);

// `clock` must outlive the environment. `allow_insecure`: --allow-insecure-auth;
// `token_destinations`: --token-destination.
controller::TriggerEnvironment LoopTriggerEnvironment(const Clock& clock,
                                                      std::shared_ptr<auth::TokenCache> token_cache,
                                                      bool allow_insecure,
                                                      const std::vector<std::string>& token_destinations);

}  // namespace ebb::cmd
