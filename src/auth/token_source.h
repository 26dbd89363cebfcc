// AccessToken and TokenSource: a bearer token with its lifetime, and the
// interface of everything that can obtain one (Azure Workload Identity,
// Azure managed identity through IMDS, AWS credential providers, Google).
//
//   std::shared_ptr<TokenSource> src = std::make_shared<AzureWorkloadIdentitySource>(cfg, clock);
//   cache.Get(src, client, [](Result<AccessToken> t) { ... t->token.Reveal() ... });
//
// Sources do no caching: the one TokenCache (token_cache.h) decides when to
// call Fetch, and shares one token among every trigger whose source has the
// same CacheKey().
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/secret.h"
#include "common/status.h"
#include "http/http_client.h"

namespace ebb::auth {

// Largest token endpoint answer accepted (an access token and a few fields
// are a few KiB; docs/reliability.md). Token sources set it on their
// requests.
inline constexpr int64_t kMaxTokenAnswerBytes = 64 * 1024;

// Value type. Never printed whole: `token` is a SecretString.
struct AccessToken {
  SecretString token;
  // When the token stops being accepted (from expires_in or expires_on).
  Time expires_on{};
  // When the issuer asks to refresh it (from refresh_in), if it said so.
  std::optional<Time> refresh_at;
  // When it was obtained (the clock's time when the answer was parsed).
  Time obtained_at{};
  // The token's audience ("aud" claim) when it is a readable JWT, else the
  // resource that was asked for. For error messages.
  std::string audience;
  // The tenant ("tid" claim) when readable, else the configured tenant.
  std::string tenant;
  // Signing credentials (AWS, sigv4.h) travel through the same cache: then
  // `access_key_id` and `secret_access_key` are set and `token` holds the
  // session token (empty for long-term keys). Empty for bearer tokens.
  std::string access_key_id;
  SecretString secret_access_key;

  // A short, non-reversible digest of `token` and the key pair (hex of the first 8 bytes of
  // its SHA-256): identifies "this token" for TokenCache::Invalidate
  // without holding or showing the token. Not for logs.
  std::string Fingerprint() const;
};

using TokenCallback = std::function<void(Result<AccessToken>)>;

// Implementations are thread-safe: one source may be fetched by the cache
// while triggers read its Describe().
class TokenSource {
 public:
  virtual ~TokenSource() = default;

  // Performs one token exchange through `client` and calls `done` exactly
  // once (possibly before Fetch returns). Errors carry a code and a message
  // that says what is wrong and what to change, never a secret or a raw
  // token-endpoint body: kInvalidConfig (fix the configuration),
  // kUnauthenticated (credentials rejected), kUnavailable (transient),
  // kInternal (an answer ebb cannot read).
  virtual void Fetch(http::HttpClient& client, TokenCallback done) = 0;

  // Identifies the identity: two sources with equal keys may share a
  // token. No secrets. E.g. "azure-workload|https://login.microsoftonline.com/|<tenant>|<client>|<scope>".
  virtual std::string CacheKey() const = 0;

  // What the token is, for people: "Azure Workload Identity token (client
  // id X, tenant Y, scope Z)". No secrets.
  virtual std::string Describe() const = 0;
};

using TokenSourcePtr = std::shared_ptr<TokenSource>;

}  // namespace ebb::auth
