// TokenAuthorizer: the Authorizer for token identities (Azure Workload
// Identity, Azure managed identity). It takes the bearer token from the one
// TokenCache, sends the request with "Authorization: Bearer ...", and on a
// 401 drops that token, gets a fresh one and retries once.
//
//   auto authz = std::make_shared<TokenAuthorizer>(
//       cache, source, TokenAuthorizerOptions{.destinations = AzureTokenDestinations({})});
//   authz->Send(client, std::move(query_request), [](Result<HttpResponse> r) { ... });
//
// Outcomes of Send:
// - any answer other than 401 (200, 403, 5xx...) is passed on unchanged,
//   from the first attempt or from the retry;
// - no token: the cache's mapped error (e.g. AADSTS70021 explained), with
//   context "getting <Describe()>"; nothing is sent;
// - 401 to the retried request too: a failed Result, kUnauthenticated,
//   whose message says what was sent (by kind: Describe()), the token's
//   audience, tenant and expiry, and the server's own error text
//   (sanitized, capped); never the token. A failed Result rather than the
//   401 response, because the trigger cannot know the token's audience and
//   expiry, and "401 twice with a fresh token" is the whole diagnosis;
// - a plain http:// target: kInvalidConfig, nothing sent, unless
//   TokenAuthorizerOptions::allow_insecure_target (as the Azure SDKs,
//   which refuse to send bearer tokens without TLS);
// - a target whose host TokenAuthorizerOptions::destinations does not allow:
//   kInvalidConfig, nothing sent, no token fetched (token_destination.h).
#pragma once

#include <memory>
#include <string>

#include "auth/authorizer.h"
#include "auth/token_destination.h"
#include "auth/token_cache.h"
#include "auth/token_source.h"

namespace ebb::auth {

struct TokenAuthorizerOptions {
  // Permit sending the token to http:// URLs (local emulators only).
  // Default false.
  bool allow_insecure_target = false;
  // Hosts the token may be sent to; REQUIRED in practice: the default
  // (empty) allows none. The operator's configuration decides, never the
  // trigger (token_destination.h).
  TokenDestinations destinations;
};

// Thread-safe (immutable; the cache is thread-safe). Shares ownership of the
// cache and the source; the HttpClient passed to Send must outlive the call.
class TokenAuthorizer final : public Authorizer {
 public:
  TokenAuthorizer(std::shared_ptr<TokenCache> cache, TokenSourcePtr source, TokenAuthorizerOptions options = {});

  void Send(http::HttpClient& client, http::HttpRequest request, http::HttpCallback done) override;
  // The source's description: "Azure Workload Identity token (client id X,
  // tenant Y, scope Z)".
  std::string Describe() const override;
  // The cache key of the source (no secrets).
  std::string IdentityKey() const override;

 private:
  struct Call;
  static void Attempt(const std::shared_ptr<Call>& call, int attempt);
  static void OnAnswer(const std::shared_ptr<Call>& call, int attempt, const AccessToken& token,
                       Result<http::HttpResponse> answer);

  const std::shared_ptr<TokenCache> cache_;
  const TokenSourcePtr source_;
  const TokenAuthorizerOptions options_;
};

// The message for a request that got 401 twice (exposed for tests and
// doctor): what was sent, the token's audience, tenant and expiry, and the
// server's error text. `token` is only used to scrub it from that text.
Status SecondUnauthorizedError(const std::string& target, const std::string& sent, const AccessToken& token,
                               const http::HttpResponse& response);

}  // namespace ebb::auth
