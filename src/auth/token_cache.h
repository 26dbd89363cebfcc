// TokenCache: the one cache of bearer tokens, shared by every trigger. A
// token is kept per identity (TokenSource::CacheKey: authority, tenant,
// client id, scope), so a thousand ScaledObjects on one identity make one
// token request per token lifetime.
//
//   TokenCache cache(clock, TokenCacheOptions{});
//   cache.Get(source, client, [](Result<AccessToken> t) {
//     if (!t.ok()) return Fail(t.status());           // mapped error, e.g. AADSTS70021 explained
//     request.headers.push_back({"Authorization", "Bearer " + t->token.Reveal(), true});
//   });
//   cache.Invalidate(source->CacheKey(), token.Fingerprint());   // after a 401
//
// Behaviour of Get, per identity (no timers: everything happens on Get):
// - fresh: a valid token is handed out at once (a "hit");
// - refresh ahead: from refresh_at on -- the issuer's refresh_in when it
//   gave one, else when min(refresh_ahead, lifetime/10) remains -- the
//   valid token is still handed out and one background exchange starts;
// - single-flight: at most one exchange per identity is in flight; callers
//   without a valid token wait for it and all get its result;
// - backoff: after the n-th failed exchange in a row no new one starts
//   before now + options.backoff's delay for n (common/backoff.h:
//   min(max, initial * factor^(n-1)), shortened by up to jitter_fraction
//   at random). While the cached token is valid,
//   callers keep getting it and never see the failure; once it has expired
//   they fail at once with the last mapped error;
// - a token counts as valid until expires_on - min(expiry_margin,
//   lifetime/20), so that it does not expire in flight.
//
// Thread-safe. Callbacks run on the calling thread or on the HttpClient's
// I/O thread, never under the cache's lock, and may call Get again. The
// cache's state lives as long as an exchange it started (callbacks hold
// it), so destroying a TokenCache with exchanges in flight is safe;
// `clock` must outlive both.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "auth/token_source.h"
#include "common/backoff.h"
#include "common/clock.h"
#include "http/http_client.h"

namespace ebb::auth {

struct TokenCacheOptions {
  // Delay before the next exchange after consecutive failures
  // (common/backoff.h): doubles from initial to max, each delay shortened
  // at random by up to jitter_fraction. `max` is also how long a fixed
  // configuration (say, a federated credential added in Azure) may take to
  // be noticed once no valid token is left. Defaults 1 s, 2 min, factor 2,
  // jitter 0.2; tests inject backoff.random.
  BackoffOptions backoff{.initial = std::chrono::seconds(1), .max = std::chrono::minutes(2)};
  // Refresh when this much (or a tenth of the lifetime, whichever is
  // smaller) remains, unless the issuer sent refresh_in. Default 5 min.
  Duration refresh_ahead = std::chrono::minutes(5);
  // Stop handing out a token when this much (or a twentieth of its
  // lifetime, whichever is smaller) remains. Default 10 s.
  Duration expiry_margin = std::chrono::seconds(10);
};

// Counters for /metrics. Value type.
struct TokenCacheStats {
  uint64_t exchanges = 0;          // exchanges started (TokenSource::Fetch calls)
  uint64_t exchange_failures = 0;  // exchanges that failed
  uint64_t hits = 0;               // Gets answered at once with a valid token
  uint64_t waits = 0;              // Gets that waited for an exchange
  uint64_t fast_failures = 0;      // Gets failed at once (expired token, in backoff)
  uint64_t invalidations = 0;      // Invalidate calls that dropped a token
  uint64_t identities = 0;         // identities known to the cache
};

class TokenCache {
 public:
  explicit TokenCache(const Clock& clock, TokenCacheOptions options = {});
  ~TokenCache();
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  // Calls `done` exactly once with a valid token for `source`'s identity or
  // with the error of the exchange (codes as TokenSource::Fetch). Exchanges
  // go through `client`, which must outlive them.
  void Get(const TokenSourcePtr& source, http::HttpClient& client, TokenCallback done);

  // Drops the cached token of `key` if it is still the one with
  // `fingerprint` (AccessToken::Fingerprint), so the next Get fetches a
  // fresh one. Returns whether a token was dropped: after many concurrent
  // 401s on the same token, only the first one causes an exchange.
  bool Invalidate(const std::string& key, const std::string& fingerprint);

  TokenCacheStats Stats() const;

 private:
  struct State;
  static void StartExchange(const std::shared_ptr<State>& state, const std::string& key,
                            const TokenSourcePtr& source, http::HttpClient& client);
  static void OnExchanged(const std::shared_ptr<State>& state, const std::string& key,
                          const std::string& description, Result<AccessToken> result);

  std::shared_ptr<State> state_;
};

}  // namespace ebb::auth
