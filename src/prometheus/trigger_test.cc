#include "prometheus/trigger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "auth/static_auth.h"
#include "common/strings.h"
#include "http/testing/fake_http_client.h"

namespace ebb::prometheus {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPassword[] = "pw-71c0ffee";
constexpr char kToken[] = "bearer-9d2b44aa";
const Time kNow = FromUnixSeconds(1'700'000'000);

std::string OneSample(const std::string& v) {
  return R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,")" +
         v + "\"]}]}}";
}

http::FakeHttpClient::Handler Answer(int status, std::string body) {
  return [status, body](const http::HttpRequest&) -> Result<http::HttpResponse> {
    http::HttpResponse r;
    r.status = status;
    r.body = body;
    return r;
  };
}

PrometheusConfig Config() {
  auto c = ParsePrometheusMetadata({{"serverAddress", "http://prom:9090"},
                                    {"query", "sum(queue_depth)"},
                                    {"threshold", "10"},
                                    {"activationThreshold", "5"}});
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

auth::AuthorizerPtr Static(std::vector<std::string> modes) {
  std::map<std::string, SecretString> params = {{"username", SecretString("svc")},
                                                {"password", SecretString(kPassword)},
                                                {"bearerToken", SecretString(kToken)},
                                                {"customAuthHeader", SecretString("X-Api-Key")},
                                                {"customAuthValue", SecretString("k-123")}};
  auto a = auth::MakeStaticAuthorizer(modes, params);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return *a;
}

Result<TriggerValue> EvaluateOnce(const PrometheusTrigger& t, http::FakeHttpClient& fake) {
  std::optional<Result<TriggerValue>> out;
  t.Evaluate(fake, kNow, [&](Result<TriggerValue> v) { out.emplace(std::move(v)); });
  EXPECT_TRUE(out.has_value());
  return out.value_or(Result<TriggerValue>(Internal("no callback")));
}

// An authorizer whose credential cannot be obtained.
class FailingAuthorizer final : public auth::Authorizer {
 public:
  void Send(http::HttpClient&, http::HttpRequest, http::HttpCallback done) override {
    done(Unauthenticated("token exchange failed: AADSTS700016 (application not found)"));
  }
  std::string Describe() const override { return "Azure Workload Identity token"; }
  std::string IdentityKey() const override { return "failing"; }
};

TEST(ImpliedReplicasTest, CeilOfValueOverThreshold) {
  EXPECT_EQ(ImpliedReplicas(25, 10), 3);
  EXPECT_EQ(ImpliedReplicas(30, 10), 3);
  EXPECT_EQ(ImpliedReplicas(1.1, 0.1), 11);  // not 12 from 11.000000000000002
  EXPECT_EQ(ImpliedReplicas(0.3, 0.1), 3);
  EXPECT_EQ(ImpliedReplicas(0, 10), 0);
  EXPECT_EQ(ImpliedReplicas(-4, 10), 0);
  EXPECT_EQ(ImpliedReplicas(5, 0), 0);
  EXPECT_EQ(ImpliedReplicas(1e300, 1), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ImpliedReplicas(0.00002, 0.00001), 2);  // below milli resolution
}

TEST(PrometheusTriggerTest, EvaluatesValueAndActivity) {
  http::FakeHttpClient fake(Answer(200, OneSample("25")));
  PrometheusTrigger t(Config(), std::make_shared<auth::NoAuthorizer>());
  Result<TriggerValue> v = EvaluateOnce(t, fake);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->value, 25);
  EXPECT_TRUE(v->active);
  EXPECT_FALSE(v->empty_response);
  ASSERT_EQ(fake.requests().size(), 1u);
  EXPECT_EQ(
      fake.requests()[0].url,
      "http://prom:9090/api/v1/query?query=sum%28queue_depth%29&time=2023-11-14T22%3A13%3A20Z");
  EXPECT_TRUE(fake.requests()[0].headers.empty());
}

TEST(PrometheusTriggerTest, ActiveOnlyStrictlyAboveActivationThreshold) {
  http::FakeHttpClient fake(Answer(200, OneSample("5")));
  PrometheusTrigger t(Config(), std::make_shared<auth::NoAuthorizer>());
  EXPECT_FALSE(EvaluateOnce(t, fake)->active);
  fake.SetHandler(Answer(200, OneSample("5.001")));
  EXPECT_TRUE(EvaluateOnce(t, fake)->active);
}

TEST(PrometheusTriggerTest, EmptyResponseIsZeroAndFlagged) {
  http::FakeHttpClient fake(
      Answer(200, R"({"status":"success","data":{"resultType":"vector","result":[]}})"));
  PrometheusTrigger t(Config(), std::make_shared<auth::NoAuthorizer>());
  Result<TriggerValue> v = EvaluateOnce(t, fake);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value, 0);
  EXPECT_FALSE(v->active);
  EXPECT_TRUE(v->empty_response);
}

TEST(PrometheusTriggerTest, BasicAuthExactHeadersWithCustomHeaders) {
  PrometheusConfig c = Config();
  c.custom_headers = {{"X-Scope-OrgID", "tenant1"}};
  http::FakeHttpClient fake(Answer(200, OneSample("1")));
  PrometheusTrigger t(c, Static({"basic"}));
  ASSERT_TRUE(EvaluateOnce(t, fake).ok());
  const std::vector<http::Header> h = fake.requests().at(0).headers;
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].name, "X-Scope-OrgID");
  EXPECT_EQ(h[0].value, "tenant1");
  EXPECT_EQ(h[1].name, "Authorization");
  EXPECT_EQ(h[1].value, "Basic " + Base64Encode(std::string("svc:") + kPassword));
}

TEST(PrometheusTriggerTest, BearerAndCustomExactHeaders) {
  http::FakeHttpClient fake(Answer(200, OneSample("1")));
  PrometheusTrigger t(Config(), Static({"bearer", "custom"}));
  ASSERT_TRUE(EvaluateOnce(t, fake).ok());
  const std::vector<http::Header> h = fake.requests().at(0).headers;
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].name, "Authorization");
  EXPECT_EQ(h[0].value, std::string("Bearer ") + kToken);
  EXPECT_EQ(h[1].name, "X-Api-Key");
  EXPECT_EQ(h[1].value, "k-123");
}

TEST(PrometheusTriggerTest, UnauthorizedWithoutAuthenticationRefExplainsIt) {
  http::FakeHttpClient fake(Answer(401, "Request does not contain an Authorization Header"));
  PrometheusTrigger t(Config(), std::make_shared<auth::NoAuthorizer>());
  Status s = EvaluateOnce(t, fake).status();
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(),
              HasSubstr("GET http://prom:9090/api/v1/query: Prometheus answered 401 Unauthorized"));
  EXPECT_THAT(s.message(), HasSubstr("ebb sent no credentials"));
}

TEST(PrometheusTriggerTest, UnauthorizedNamesTheCredentialKindButNotItsValue) {
  http::FakeHttpClient fake(
      Answer(401, R"({"status":"error","errorType":"unauthorized","error":"bad credentials"})"));
  PrometheusTrigger t(Config(), Static({"basic"}));
  Status s = EvaluateOnce(t, fake).status();
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(), HasSubstr("ebb sent basic auth (username \"svc\")"));
  EXPECT_THAT(s.message(), HasSubstr("bad credentials"));
  EXPECT_FALSE(ContainsSecret(s.ToString(), kPassword));
  EXPECT_FALSE(ContainsSecret(s.ToString(), Base64Encode(std::string("svc:") + kPassword)));
}

TEST(PrometheusTriggerTest, AuthorizationFromCustomHeadersIsNotCalledNoCredentials) {
  PrometheusConfig c = Config();
  c.custom_headers = {{"authorization", "Bearer " + std::string(kToken)}};
  http::FakeHttpClient fake(Answer(401, ""));
  PrometheusTrigger t(c, std::make_shared<auth::NoAuthorizer>());
  Status s = EvaluateOnce(t, fake).status();
  EXPECT_THAT(s.message(),
              HasSubstr("ebb sent an Authorization header from metadata.customHeaders"));
  EXPECT_FALSE(ContainsSecret(s.ToString(), kToken));
}

TEST(PrometheusTriggerTest, AuthorizerFailureSendsNothing) {
  http::FakeHttpClient fake(Answer(200, OneSample("1")));
  PrometheusTrigger t(Config(), std::make_shared<FailingAuthorizer>());
  Status s = EvaluateOnce(t, fake).status();
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(), HasSubstr("AADSTS700016"));
  EXPECT_TRUE(fake.requests().empty());
}

TEST(PrometheusTriggerTest, TransportFailureKeepsItsCodeWithEndpointContext) {
  http::FakeHttpClient fake([](const http::HttpRequest&) -> Result<http::HttpResponse> {
    return DeadlineExceeded("timed out after 3000 ms");
  });
  PrometheusTrigger t(Config(), std::make_shared<auth::NoAuthorizer>());
  Status s = EvaluateOnce(t, fake).status();
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(s.message(), "GET http://prom:9090/api/v1/query: timed out after 3000 ms");
}

TEST(PrometheusTriggerTest, ResponseErrorsGetEndpointContext) {
  http::FakeHttpClient fake(
      Answer(200, R"({"status":"success","data":{"resultType":"matrix","result":[]}})"));
  PrometheusTrigger t(Config(), std::make_shared<auth::NoAuthorizer>());
  Status s = EvaluateOnce(t, fake).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(s.message(),
              HasSubstr("GET http://prom:9090/api/v1/query: query returns a range vector"));
}

TEST(PrometheusTriggerTest, SurvivesDestructionWhileInFlight) {
  http::FakeHttpClient fake(Answer(200, OneSample("42")));
  fake.SetDeferred(true);
  std::optional<Result<TriggerValue>> out;
  {
    PrometheusTrigger t(Config(), std::make_shared<auth::NoAuthorizer>());
    t.Evaluate(fake, kNow, [&](Result<TriggerValue> v) { out.emplace(std::move(v)); });
  }
  EXPECT_EQ(fake.Flush(), 1);
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(out->ok());
  EXPECT_EQ((*out)->value, 42);
}

TEST(PrometheusTriggerTest, InterpretSharesOneAnswer) {
  PrometheusTrigger low(Config(), std::make_shared<auth::NoAuthorizer>());
  PrometheusConfig high_config = Config();
  high_config.activation_threshold = 100;
  PrometheusTrigger high(high_config, std::make_shared<auth::NoAuthorizer>());
  EXPECT_EQ(low.CoalescingKey(kNow), high.CoalescingKey(kNow));
  http::HttpResponse resp;
  resp.status = 200;
  resp.body = OneSample("50");
  EXPECT_TRUE(low.Interpret(resp)->active);
  EXPECT_FALSE(high.Interpret(resp)->active);
}

TEST(PrometheusTriggerTest, CoalescingKeySeparatesCredentialsAndHeaders) {
  PrometheusTrigger none(Config(), std::make_shared<auth::NoAuthorizer>());
  PrometheusTrigger basic(Config(), Static({"basic"}));
  PrometheusConfig tenant = Config();
  tenant.custom_headers = {{"X-Scope-OrgID", "t2"}};
  PrometheusTrigger other_tenant(tenant, std::make_shared<auth::NoAuthorizer>());
  EXPECT_NE(none.CoalescingKey(kNow), basic.CoalescingKey(kNow));
  EXPECT_NE(none.CoalescingKey(kNow), other_tenant.CoalescingKey(kNow));
  EXPECT_EQ(none.CoalescingKey(kNow), none.CoalescingKey(kNow + std::chrono::milliseconds(300)));
  EXPECT_FALSE(ContainsSecret(basic.CoalescingKey(kNow), kPassword));
}

}  // namespace
}  // namespace ebb::prometheus
