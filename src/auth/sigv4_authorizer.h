// SigV4Authorizer: the Authorizer for AWS identities. Every request is
// signed with Signature Version 4 (sigv4.h) for service "aps" in the
// trigger's region, with credentials from the one TokenCache (refresh
// ahead of Expiration, single flight, backoff: token_cache.h).
//
//   auto authz = std::make_shared<SigV4Authorizer>(cache, source, clock,
//       SigV4AuthorizerOptions{.region = "us-east-1"});
//   authz->Send(client, BuildQueryRequest(config, now), done);
//
// Outcomes of Send:
// - the answer, any status, is passed on; a 403 saying the security token
//   expired drops the credentials, fetches fresh ones and retries once;
// - nothing is sent (kInvalidConfig) when: the target is not https (unless
//   allow_insecure_target); its host is neither an Amazon Managed
//   Prometheus endpoint (aps-workspaces.REGION.amazonaws.com[.cn]) nor one
//   of the operator's --token-destination hosts (a namespace tenant never
//   chooses where a signed request goes); the workspace host's region
//   differs from the signing region (AWS would answer 403 "Credential
//   should be scoped to a valid region"); there is no region;
// - no credentials: the cache's mapped error with context; nothing is sent.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/authorizer.h"
#include "auth/token_cache.h"
#include "auth/token_destination.h"
#include "auth/token_source.h"
#include "common/clock.h"

namespace ebb::auth {

struct SigV4AuthorizerOptions {
  std::string region;                // REQUIRED: the trigger's awsRegion
  std::string service = "aps";       // Default "aps"
  bool allow_insecure_target = false;  // Default false; local emulators only
  // Hosts besides the AMP endpoints that signed requests may go to (the
  // operator's --token-destination). Default none.
  std::vector<std::string> extra_destinations;
};

// True when `host` is aps-workspaces.REGION.amazonaws.com or
// aps-workspaces.REGION.amazonaws.com.cn; sets `region` then.
bool IsAmazonManagedPrometheusHost(std::string_view host, std::string* region = nullptr);

// Thread-safe (immutable; the cache is thread-safe). Shares ownership of
// cache and source; `clock` must outlive the authorizer and its requests.
class SigV4Authorizer final : public Authorizer {
 public:
  SigV4Authorizer(std::shared_ptr<TokenCache> cache, TokenSourcePtr source, const Clock& clock,
                  SigV4AuthorizerOptions options);

  void Send(http::HttpClient& client, http::HttpRequest request, http::HttpCallback done) override;
  // "<source>, signed with SigV4 for aps in us-east-1".
  std::string Describe() const override;
  // The source's cache key, region and service (no secrets).
  std::string IdentityKey() const override;

 private:
  struct Call;
  Status CheckTarget(const std::string& url) const;
  static void Attempt(const std::shared_ptr<Call>& call, int attempt);

  const std::shared_ptr<TokenCache> cache_;
  const TokenSourcePtr source_;
  const Clock& clock_;
  const SigV4AuthorizerOptions options_;
  const TokenDestinations extra_;
};

}  // namespace ebb::auth
