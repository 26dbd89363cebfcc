#include "auth/token_cache.h"

#include <gtest/gtest.h>

#include <deque>

#include "auth/azure_workload_identity.h"
#include "auth/token_test_util.h"
#include "http/testing/fake_http_client.h"

namespace ebb::auth {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// A source whose exchanges the test completes by hand.
class ScriptedSource final : public TokenSource {
 public:
  explicit ScriptedSource(std::string key = "scripted|id") : key_(std::move(key)) {}
  void Fetch(http::HttpClient&, TokenCallback done) override { pending_.push_back(std::move(done)); ++fetches_; }
  std::string CacheKey() const override { return key_; }
  std::string Describe() const override { return "scripted token (" + key_ + ")"; }

  void Complete(Result<AccessToken> r) {
    ASSERT_FALSE(pending_.empty());
    TokenCallback done = std::move(pending_.front());
    pending_.pop_front();
    done(std::move(r));
  }
  int fetches() const { return fetches_; }
  size_t pending() const { return pending_.size(); }

 private:
  std::string key_;
  std::deque<TokenCallback> pending_;
  int fetches_ = 0;
};

AccessToken MakeToken(const Clock& clock, Duration lifetime, const std::string& value,
                      std::optional<Duration> refresh_in = std::nullopt) {
  AccessToken t;
  t.token = SecretString(value);
  t.obtained_at = clock.Now();
  t.expires_on = clock.Now() + lifetime;
  if (refresh_in) t.refresh_at = clock.Now() + *refresh_in;
  t.audience = "https://prometheus.monitor.azure.com";
  return t;
}

class TokenCacheTest : public ::testing::Test {
 protected:
  TokenCacheTest() : cache_(clock_, Options()) {}

  static TokenCacheOptions Options() {
    TokenCacheOptions o;
    o.backoff.random = [] { return 0.5; };  // every delay is 0.9 of its base (fraction 0.2)
    return o;
  }

  // Get, returning what the callback received (nullopt if not called yet).
  std::shared_ptr<std::optional<Result<AccessToken>>> Get(const TokenSourcePtr& source) {
    auto got = std::make_shared<std::optional<Result<AccessToken>>>();
    cache_.Get(source, client_, [got](Result<AccessToken> r) { *got = std::move(r); });
    return got;
  }
  std::string TokenOf(const TokenSourcePtr& source) {
    auto got = Get(source);
    if (!got->has_value()) return "<waiting>";
    if (!(*got)->ok()) return "<error: " + (*got)->status().ToString() + ">";
    return (**got)->token.Reveal();
  }
  // Fills the cache with a token of `lifetime` obtained now.
  void Prime(const std::shared_ptr<ScriptedSource>& s, Duration lifetime, const std::string& value,
             std::optional<Duration> refresh_in = std::nullopt) {
    auto got = Get(s);
    s->Complete(MakeToken(clock_, lifetime, value, refresh_in));
    ASSERT_TRUE(got->has_value() && (*got)->ok());
  }

  testing::LogCapture log_;
  SimulatedClock clock_;
  http::FakeHttpClient client_;
  TokenCache cache_;
};

TEST_F(TokenCacheTest, FirstGetExchangesThenHits) {
  auto s = std::make_shared<ScriptedSource>();
  auto first = Get(s);
  EXPECT_FALSE(first->has_value());
  EXPECT_EQ(s->fetches(), 1);
  s->Complete(MakeToken(clock_, seconds(3600), "t1"));
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((**first)->token.Reveal(), "t1");
  EXPECT_EQ(TokenOf(s), "t1");
  EXPECT_EQ(s->fetches(), 1);
  TokenCacheStats st = cache_.Stats();
  EXPECT_EQ(st.exchanges, 1u);
  EXPECT_EQ(st.waits, 1u);
  EXPECT_EQ(st.hits, 1u);
  EXPECT_EQ(st.identities, 1u);
}

TEST_F(TokenCacheTest, RefreshAheadWhenFiveMinutesRemain) {
  auto s = std::make_shared<ScriptedSource>();
  Prime(s, seconds(3600), "old");
  clock_.Advance(seconds(3300) - milliseconds(1));
  EXPECT_EQ(TokenOf(s), "old");
  EXPECT_EQ(s->fetches(), 1);
  clock_.Advance(milliseconds(1));  // 5 min left
  EXPECT_EQ(TokenOf(s), "old");     // served at once, refresh in the background
  EXPECT_EQ(s->fetches(), 2);
  EXPECT_EQ(TokenOf(s), "old");     // single-flight: no second refresh
  EXPECT_EQ(s->fetches(), 2);
  s->Complete(MakeToken(clock_, seconds(3600), "new"));
  EXPECT_EQ(TokenOf(s), "new");
  EXPECT_EQ(s->fetches(), 2);
}

TEST_F(TokenCacheTest, RefreshAheadAtATenthOfShortLifetimes) {
  auto s = std::make_shared<ScriptedSource>();
  Prime(s, seconds(600), "old");
  clock_.Advance(seconds(539));
  EXPECT_EQ(TokenOf(s), "old");
  EXPECT_EQ(s->fetches(), 1);
  clock_.Advance(seconds(1));  // 60 s = a tenth of the lifetime left
  EXPECT_EQ(TokenOf(s), "old");
  EXPECT_EQ(s->fetches(), 2);
}

TEST_F(TokenCacheTest, RefreshAtRefreshIn) {
  auto s = std::make_shared<ScriptedSource>();
  Prime(s, seconds(86400), "old", seconds(43200));
  clock_.Advance(seconds(43199));
  EXPECT_EQ(TokenOf(s), "old");
  EXPECT_EQ(s->fetches(), 1);
  clock_.Advance(seconds(1));
  EXPECT_EQ(TokenOf(s), "old");
  EXPECT_EQ(s->fetches(), 2);
}

TEST_F(TokenCacheTest, TokenIsNotHandedOutInItsLastSeconds) {
  auto s = std::make_shared<ScriptedSource>();
  Prime(s, seconds(3600), "old");
  clock_.Advance(seconds(3600 - 10));  // expiry margin: 10 s
  auto got = Get(s);
  EXPECT_FALSE(got->has_value());  // waits for the exchange
  EXPECT_EQ(s->fetches(), 2);
}

TEST_F(TokenCacheTest, IdentitiesAreSeparate) {
  auto a = std::make_shared<ScriptedSource>("a");
  auto b = std::make_shared<ScriptedSource>("b");
  Prime(a, seconds(3600), "ta");
  Prime(b, seconds(3600), "tb");
  EXPECT_EQ(TokenOf(a), "ta");
  EXPECT_EQ(TokenOf(b), "tb");
  // A second source object with the same key shares the token.
  EXPECT_EQ(TokenOf(std::make_shared<ScriptedSource>("a")), "ta");
  EXPECT_EQ(cache_.Stats().identities, 2u);
}

TEST_F(TokenCacheTest, ThousandConcurrentGetsMakeOneExchange) {
  testing::TempDir dir;
  Environment env = {{"AZURE_CLIENT_ID", "c"},
                     {"AZURE_TENANT_ID", "t"},
                     {"AZURE_FEDERATED_TOKEN_FILE", dir.Write("token", testing::ServiceAccountJwt())}};
  api::PodIdentity id;
  id.provider = "azure-workload";
  auto source = std::make_shared<AzureWorkloadIdentitySource>(ResolveAzureWorkloadConfig(id, env, {}).value(), clock_);
  std::string access = testing::AccessJwt();
  client_.SetHandler([&](const http::HttpRequest&) { return testing::TokenAnswer(access); });
  client_.SetDeferred(true);

  constexpr int kCallers = 1000;
  std::vector<std::shared_ptr<std::optional<Result<AccessToken>>>> got;
  for (int i = 0; i < kCallers; ++i) got.push_back(Get(source));
  EXPECT_EQ(client_.requests().size(), 1u);
  EXPECT_EQ(client_.pending(), 1u);
  EXPECT_EQ(client_.Flush(), 1);
  for (const auto& g : got) {
    ASSERT_TRUE(g->has_value());
    ASSERT_TRUE((*g)->ok());
    EXPECT_EQ((**g)->token.Reveal(), access);
  }
  for (int i = 0; i < kCallers; ++i) EXPECT_EQ(TokenOf(source), access);
  EXPECT_EQ(client_.requests().size(), 1u);
  TokenCacheStats st = cache_.Stats();
  EXPECT_EQ(st.exchanges, 1u);
  EXPECT_EQ(st.waits, 1000u);
  EXPECT_EQ(st.hits, 1000u);
}

TEST_F(TokenCacheTest, TransientFailuresWhileValidKeepServingAndBackOffExponentially) {
  auto s = std::make_shared<ScriptedSource>();
  Prime(s, seconds(3600), "old");
  clock_.Advance(seconds(3300));
  EXPECT_EQ(TokenOf(s), "old");
  ASSERT_EQ(s->fetches(), 2);
  // Backoff bases 1 s, 2 s, 4 s; jitter 0.5 * 0.2 removes 10%.
  const std::vector<Duration> delays = {milliseconds(900), milliseconds(1800), milliseconds(3600)};
  for (size_t i = 0; i < delays.size(); ++i) {
    s->Complete(Unavailable("token endpoint answered HTTP 503"));
    clock_.Advance(delays[i] - milliseconds(1));
    EXPECT_EQ(TokenOf(s), "old") << i;  // never fails while valid
    EXPECT_EQ(s->fetches(), static_cast<int>(2 + i)) << "no exchange before the backoff deadline " << i;
    clock_.Advance(milliseconds(1));
    EXPECT_EQ(TokenOf(s), "old");
    EXPECT_EQ(s->fetches(), static_cast<int>(3 + i)) << "exchange at the backoff deadline " << i;
  }
  s->Complete(MakeToken(clock_, seconds(3600), "new"));
  EXPECT_EQ(TokenOf(s), "new");
  EXPECT_EQ(cache_.Stats().exchange_failures, 3u);
  std::string logs = log_.Text();
  EXPECT_NE(logs.find("WARN token request failed identity=\"scripted token (scripted|id)\""), std::string::npos) << logs;
  EXPECT_NE(logs.find("failures=3 retryIn=3.6s servingCachedToken=true"), std::string::npos) << logs;
  EXPECT_NE(logs.find("DEBUG token obtained"), std::string::npos) << logs;
  // Success resets the backoff: the next failure waits the initial delay again.
  clock_.Advance(seconds(3300));
  EXPECT_EQ(TokenOf(s), "new");
  s->Complete(Unavailable("503"));
  clock_.Advance(milliseconds(900));
  EXPECT_EQ(TokenOf(s), "new");
  EXPECT_EQ(s->pending(), 1u);
}

TEST_F(TokenCacheTest, BackoffIsCapped) {
  TokenCacheOptions o = Options();
  o.backoff.max = seconds(10);
  o.backoff.random = [] { return 0.0; };
  TokenCache cache(clock_, o);
  auto s = std::make_shared<ScriptedSource>();
  auto get = [&] { cache.Get(s, client_, [](Result<AccessToken>) {}); };
  for (int i = 0; i < 8; ++i) {  // 1, 2, 4, 8, 10, 10, ...
    get();
    s->Complete(Unavailable("down"));
    Duration base = std::min<Duration>(seconds(1) * (1 << i), seconds(10));
    clock_.Advance(base - milliseconds(1));
    get();
    EXPECT_EQ(s->fetches(), i + 1) << i;
    clock_.Advance(milliseconds(1));
  }
}

TEST_F(TokenCacheTest, ExpiredAndFailingGivesTheMappedErrorFast) {
  auto s = std::make_shared<ScriptedSource>();
  Prime(s, seconds(3600), "old");
  clock_.Advance(seconds(3600));
  auto waiting = Get(s);
  ASSERT_FALSE(waiting->has_value());
  Status mapped = InvalidConfig("Azure AD rejected the token request (AADSTS70021): fix the federated credential");
  s->Complete(mapped);
  ASSERT_TRUE(waiting->has_value());
  EXPECT_EQ((*waiting)->status(), mapped);
  auto fast = Get(s);  // in backoff: fails at once, no exchange
  ASSERT_TRUE(fast->has_value());
  EXPECT_EQ((*fast)->status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE((*fast)->status().message().find("AADSTS70021"), std::string::npos);
  EXPECT_NE((*fast)->status().message().find("next token request in 0.9s"), std::string::npos)
      << (*fast)->status().message();
  EXPECT_EQ(s->fetches(), 2);
  EXPECT_EQ(cache_.Stats().fast_failures, 1u);
  clock_.Advance(milliseconds(900));
  EXPECT_FALSE(Get(s)->has_value());
  EXPECT_EQ(s->fetches(), 3);
}

TEST_F(TokenCacheTest, InvalidateDropsOnlyTheSameToken) {
  auto s = std::make_shared<ScriptedSource>();
  Prime(s, seconds(3600), "t1");
  std::string fp = MakeToken(clock_, seconds(1), "t1").Fingerprint();
  EXPECT_FALSE(cache_.Invalidate(s->CacheKey(), MakeToken(clock_, seconds(1), "other").Fingerprint()));
  EXPECT_FALSE(cache_.Invalidate("unknown|key", fp));
  EXPECT_EQ(TokenOf(s), "t1");
  EXPECT_TRUE(cache_.Invalidate(s->CacheKey(), fp));
  for (int i = 0; i < 999; ++i) EXPECT_FALSE(cache_.Invalidate(s->CacheKey(), fp));
  EXPECT_EQ(TokenOf(s), "<waiting>");
  EXPECT_EQ(TokenOf(s), "<waiting>");
  EXPECT_EQ(s->fetches(), 2);
  s->Complete(MakeToken(clock_, seconds(3600), "t2"));
  EXPECT_FALSE(cache_.Invalidate(s->CacheKey(), fp));  // t1 is gone; t2 stays
  EXPECT_EQ(TokenOf(s), "t2");
  EXPECT_EQ(cache_.Stats().invalidations, 1u);
}

TEST_F(TokenCacheTest, AnAlreadyExpiredTokenIsAFailureNotALoop) {
  auto s = std::make_shared<ScriptedSource>();
  auto got = Get(s);
  AccessToken stale = MakeToken(clock_, seconds(3600), "stale");
  stale.expires_on = clock_.Now() - seconds(1);  // e.g. expires_on from a skewed clock
  s->Complete(stale);
  ASSERT_TRUE(got->has_value());
  ASSERT_FALSE((*got)->ok());
  EXPECT_EQ((*got)->status().code(), StatusCode::kInternal);
  EXPECT_NE((*got)->status().message().find("already past"), std::string::npos);
  EXPECT_TRUE(Get(s)->has_value());  // fails fast in backoff: no new exchange
  EXPECT_EQ(s->fetches(), 1);
}

TEST_F(TokenCacheTest, CallbacksMayCallGetAgain) {
  auto s = std::make_shared<ScriptedSource>();
  std::string inner;
  cache_.Get(s, client_, [&](Result<AccessToken>) { inner = TokenOf(s); });
  s->Complete(MakeToken(clock_, seconds(3600), "t"));
  EXPECT_EQ(inner, "t");
}

TEST_F(TokenCacheTest, OutlivedByItsExchanges) {
  auto s = std::make_shared<ScriptedSource>();
  bool called = false;
  {
    TokenCache cache(clock_, Options());
    cache.Get(s, client_, [&](Result<AccessToken> r) { called = r.ok(); });
  }
  s->Complete(MakeToken(clock_, seconds(3600), "t"));
  EXPECT_TRUE(called);
}

}  // namespace
}  // namespace ebb::auth
