#include "auth/token_cache.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "common/log.h"
#include "common/strings.h"

namespace ebb::auth {

namespace {

// The cache's view of one identity.
struct Entry {
  std::optional<AccessToken> token;
  std::string fingerprint;     // of `token`
  Time refresh_at{};           // start a background exchange from here on
  Time usable_until{};         // hand `token` out before this
  bool in_flight = false;      // an exchange is running (single-flight)
  std::vector<TokenCallback> waiters;  // callers waiting for that exchange
  int failures = 0;            // consecutive failed exchanges
  Time retry_at{};             // no exchange before this (backoff)
  Status last_error;           // of the last failed exchange
};

enum class Action { kServe, kServeAndRefresh, kWait, kWaitAndFetch, kFail };

struct Decision {
  Action action = Action::kWait;
  std::optional<AccessToken> token;  // kServe, kServeAndRefresh
  Status failure;                    // kFail
};

Duration Min(Duration a, Duration b) { return std::min(a, b); }

bool Valid(const Entry& e, Time now) { return e.token.has_value() && now < e.usable_until; }

Duration Lifetime(const AccessToken& t) { return std::max(Duration::zero(), t.expires_on - t.obtained_at); }

Time UsableUntil(const AccessToken& t, const TokenCacheOptions& o) {
  return t.expires_on - Min(o.expiry_margin, Lifetime(t) / 20);
}

void Store(Entry& e, AccessToken token, const TokenCacheOptions& o) {
  Duration lifetime = Lifetime(token);
  e.usable_until = UsableUntil(token, o);
  Time ahead = token.expires_on - Min(o.refresh_ahead, lifetime / 10);
  e.refresh_at = std::min(token.refresh_at.value_or(ahead), e.usable_until);
  e.fingerprint = token.Fingerprint();
  e.token = std::move(token);
  e.failures = 0;
  e.retry_at = Time{};
  e.last_error = Status::Ok();
}

std::string SecondsText(Duration d) {
  return FormatDouble(std::round(std::chrono::duration<double>(d).count() * 10) / 10) + "s";
}

}  // namespace

struct TokenCache::State {
  State(const Clock& c, TokenCacheOptions o)
      : clock(c), options(std::move(o)), backoff(options.backoff) {}

  // What Get does for `e` now; queues `done` when it must wait.
  Decision Decide(Entry& e, TokenCallback& done) {  // REQUIRES: mu held
    const Time now = clock.Now();
    const bool may_start = !e.in_flight && now >= e.retry_at;
    Decision d;
    if (Valid(e, now)) {
      ++stats.hits;
      d.token = e.token;
      d.action = now >= e.refresh_at && may_start ? Action::kServeAndRefresh : Action::kServe;
    } else if (e.in_flight || may_start) {
      ++stats.waits;
      e.waiters.push_back(std::move(done));
      d.action = e.in_flight ? Action::kWait : Action::kWaitAndFetch;
    } else {
      ++stats.fast_failures;
      d.failure = Status(e.last_error.code(), e.last_error.message() + " (next token request in " +
                                                  SecondsText(e.retry_at - now) + ")");
      d.action = Action::kFail;
    }
    if (d.action == Action::kServeAndRefresh || d.action == Action::kWaitAndFetch) {
      e.in_flight = true;
      ++stats.exchanges;
    }
    return d;
  }

  // Records the result of an exchange in `e`; returns what the waiters get
  // (a still-valid token even when the exchange failed), sets `failed`.
  Result<AccessToken> Complete(Entry& e, Result<AccessToken> result, LogFields& fields,
                               bool& failed) {  // REQUIRES: mu held
    const Time now = clock.Now();
    if (result.ok() && !(UsableUntil(*result, options) > now)) {
      // Storing it would make every Get start another exchange: a request
      // loop (AADSTS50196). Treat it as a failure and back off instead.
      result = Internal("the token endpoint returned a token that expires " +
                        FormatRfc3339(result->expires_on) + ", already past at " + FormatRfc3339(now) +
                        " (is the clock of this machine or the endpoint off?)");
    }
    failed = !result.ok();
    if (result.ok()) {
      Store(e, std::move(result).value(), options);
      fields.push_back({"expires", FormatRfc3339(e.token->expires_on)});
      fields.push_back({"refreshAt", FormatRfc3339(e.refresh_at)});
      return *e.token;
    }
    ++stats.exchange_failures;
    e.last_error = result.status();
    Duration delay = backoff.Delay(++e.failures);
    e.retry_at = now + delay;
    fields.push_back({"error", e.last_error.ToString()});
    fields.push_back({"failures", std::to_string(e.failures)});
    fields.push_back({"retryIn", SecondsText(delay)});
    fields.push_back({"servingCachedToken", Valid(e, now) ? "true" : "false"});
    // Waiters exist only when no valid token did, except after a race with
    // expiry; still, never fail a caller while a valid token exists.
    if (Valid(e, now)) return *e.token;
    return e.last_error;
  }

  const Clock& clock;
  const TokenCacheOptions options;
  const BackoffPolicy backoff;
  mutable std::mutex mu;
  std::map<std::string, Entry> entries;  // guarded by mu
  TokenCacheStats stats;                 // guarded by mu
};

TokenCache::TokenCache(const Clock& clock, TokenCacheOptions options)
    : state_(std::make_shared<State>(clock, std::move(options))) {}

TokenCache::~TokenCache() = default;

void TokenCache::Get(const TokenSourcePtr& source, http::HttpClient& client, TokenCallback done) {
  const std::string key = source->CacheKey();
  Decision d;
  {
    std::lock_guard lock(state_->mu);
    d = state_->Decide(state_->entries[key], done);
  }
  // Outside the lock: callbacks may call Get, and Fetch may answer at once.
  if (d.action == Action::kServe || d.action == Action::kServeAndRefresh) done(std::move(*d.token));
  if (d.action == Action::kFail) done(std::move(d.failure));
  if (d.action == Action::kServeAndRefresh || d.action == Action::kWaitAndFetch) {
    StartExchange(state_, key, source, client);
  }
}

void TokenCache::StartExchange(const std::shared_ptr<State>& state, const std::string& key,
                               const TokenSourcePtr& source, http::HttpClient& client) {
  source->Fetch(client, [state, key, description = source->Describe()](Result<AccessToken> r) {
    OnExchanged(state, key, description, std::move(r));
  });
}

void TokenCache::OnExchanged(const std::shared_ptr<State>& state, const std::string& key,
                             const std::string& description, Result<AccessToken> result) {
  std::vector<TokenCallback> waiters;
  std::optional<Result<AccessToken>> answer;
  LogFields fields = {{"identity", description}};
  bool failed = false;
  {
    std::lock_guard lock(state->mu);
    Entry& e = state->entries[key];
    e.in_flight = false;
    waiters.swap(e.waiters);
    answer = state->Complete(e, std::move(result), fields, failed);
  }
  if (failed) {
    Logger::Default().Warn("token request failed", fields);
  } else {
    Logger::Default().Debug("token obtained", fields);
  }
  for (TokenCallback& w : waiters) w(*answer);
}

bool TokenCache::Invalidate(const std::string& key, const std::string& fingerprint) {
  std::lock_guard lock(state_->mu);
  auto it = state_->entries.find(key);
  if (it == state_->entries.end() || !it->second.token || it->second.fingerprint != fingerprint) return false;
  it->second.token.reset();
  it->second.fingerprint.clear();
  ++state_->stats.invalidations;
  return true;
}

TokenCacheStats TokenCache::Stats() const {
  std::lock_guard lock(state_->mu);
  TokenCacheStats s = state_->stats;
  s.identities = state_->entries.size();
  return s;
}

}  // namespace ebb::auth
