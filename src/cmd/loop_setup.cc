#include "cmd/loop_setup.h"

#include <utility>

#include "auth/gcp_identity.h"
#include "cmd/version.h"

namespace ebb::cmd {

metrics::KedaMetricsOptions LoopMetricsOptions(std::shared_ptr<auth::TokenCache> token_cache,
                                               http::CurlHttpClient& http) {
  metrics::KedaMetricsOptions mo;
  mo.version = kVersion;
  mo.token_cache_stats = [token_cache = std::move(token_cache)] { return token_cache->Stats(); };
  mo.http_client_stats = [&http] { return http.Stats(); };
  return mo;
}

controller::TriggerEnvironment LoopTriggerEnvironment(const Clock& clock,
                                                      std::shared_ptr<auth::TokenCache> token_cache,
                                                      bool allow_insecure,
                                                      const std::vector<std::string>& token_destinations) {
  controller::TriggerEnvironment env;
  env.auth.clock = &clock;
  env.auth.token_cache = std::move(token_cache);
  env.auth.azure_env = auth::AzureEnvironmentFromProcess();
  env.auth.aws_env = auth::AwsEnvironmentFromProcess();
  env.auth.gcp_env = auth::GcpEnvironmentFromProcess();
  env.auth.allow_insecure = allow_insecure;
  env.auth.token_destinations = token_destinations;
  return env;
}

}  // namespace ebb::cmd
