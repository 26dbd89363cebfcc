// No secret -- the client assertion, an access token, a raw token-endpoint
// body -- reaches a log line (at debug level) or an error message, along
// every path of the token code.
#include <gtest/gtest.h>

#include <thread>

#include "auth/azure_workload_identity.h"
#include "auth/imds_source.h"
#include "auth/token_authorizer.h"
#include "auth/token_cache.h"
#include "auth/token_test_util.h"
#include "http/testing/fake_http_client.h"

namespace ebb::auth {
namespace {

using http::FakeHttpClient;
using http::HttpRequest;
using http::HttpResponse;

class SecretsTest : public ::testing::Test {
 protected:
  SecretsTest() {
    Environment env = {{"AZURE_CLIENT_ID", "client-guid"},
                       {"AZURE_TENANT_ID", "tenant-guid"},
                       {"AZURE_FEDERATED_TOKEN_FILE", dir_.Write("token", assertion_)}};
    api::PodIdentity id;
    id.provider = "azure-workload";
    source_ = std::make_shared<AzureWorkloadIdentitySource>(ResolveAzureWorkloadConfig(id, env, {}).value(), clock_);
  }

  // Every secret a test produced must be absent from `text`.
  void ExpectNoSecret(const std::string& text) {
    EXPECT_FALSE(ContainsSecret(text, assertion_)) << text;
    for (const std::string& s : secrets_) EXPECT_FALSE(ContainsSecret(text, s)) << text;
  }

  Result<HttpResponse> Send(TokenAuthorizer& authz, FakeHttpClient& client) {
    std::optional<Result<HttpResponse>> got;
    HttpRequest req;
    req.url = "https://ws.eastus.prometheus.monitor.azure.com/api/v1/query?query=up";
    authz.Send(client, req, [&](Result<HttpResponse> r) { got = std::move(r); });
    EXPECT_TRUE(got.has_value());
    return got.value_or(Result<HttpResponse>(Internal("no answer")));
  }

  testing::LogCapture log_;  // first: captures everything below
  testing::TempDir dir_;
  std::string assertion_ = testing::ServiceAccountJwt("assertion-secret");
  std::vector<std::string> secrets_;
  SimulatedClock clock_;
  std::shared_ptr<AzureWorkloadIdentitySource> source_;
};

TEST_F(SecretsTest, SuccessRetryAndSecond401) {
  std::string access1 = testing::AccessJwt("one"), access2 = testing::AccessJwt("two");
  std::string token_body = testing::TokenAnswer(access1).body;
  secrets_ = {access1, access2, token_body};
  int issued = 0;
  FakeHttpClient client([&](const HttpRequest& r) -> Result<HttpResponse> {
    if (r.url.find("/oauth2/") != std::string::npos) {
      return testing::TokenAnswer(++issued == 1 ? access1 : access2);
    }
    // A hostile server echoing the token back in its error.
    return testing::Json(401, R"({"error":{"code":"AuthenticationFailed","message":"bad token )" + access2 + "\"}}");
  });
  TokenAuthorizer authz(std::make_shared<TokenCache>(clock_), source_,
                        TokenAuthorizerOptions{.destinations = AzureTokenDestinations({})});
  Result<HttpResponse> r = Send(authz, client);
  ASSERT_FALSE(r.ok());
  ExpectNoSecret(r.status().ToString());
  EXPECT_NE(r.status().message().find("bad token REDACTED"), std::string::npos) << r.status().message();
  std::string logs = log_.Text();
  EXPECT_NE(logs.find("requesting Azure token"), std::string::npos);  // debug lines were captured
  ExpectNoSecret(logs);
}

TEST_F(SecretsTest, TokenEndpointErrorsEchoingTheAssertion) {
  std::string body = testing::AadErrorBody("invalid_client", 50027,
                                           "Invalid JWT token. Token: " + assertion_ + ". Raw: " + assertion_.substr(0, 40));
  secrets_ = {body, assertion_.substr(0, 40)};
  for (int status : {400, 401, 500}) {
    FakeHttpClient client([&](const HttpRequest&) { return testing::Json(status, body); });
    TokenCache cache(clock_);
    std::optional<Result<AccessToken>> got;
    cache.Get(source_, client, [&](Result<AccessToken> r) { got = std::move(r); });
    ASSERT_TRUE(got.has_value() && !got->ok());
    ExpectNoSecret(got->status().ToString());
  }
  ExpectNoSecret(log_.Text());
}

TEST_F(SecretsTest, MalformedSuccessBodies) {
  std::string access = testing::AccessJwt("malformed");
  secrets_ = {access};
  for (std::string body : std::vector<std::string>{"{\"access_token\":\"" + access + "\"}", "garbage " + access,
                                                   "{\"access_token\":\"" + access + "\",\"token_type\":\"" + access + "\",\"expires_in\":1}"}) {
    FakeHttpClient client([&](const HttpRequest&) { return testing::Json(200, body); });
    TokenCache cache(clock_);
    std::optional<Result<AccessToken>> got;
    cache.Get(source_, client, [&](Result<AccessToken> r) { got = std::move(r); });
    ASSERT_TRUE(got.has_value() && !got->ok()) << body;
    ExpectNoSecret(got->status().ToString());
  }
  ExpectNoSecret(log_.Text());
}

TEST_F(SecretsTest, ImdsPaths) {
  std::string access = testing::AccessJwt("imds");
  secrets_ = {access};
  ImdsTokenSource imds(ResolveImdsConfig({}, {}, {}).value(), clock_);
  FakeHttpClient ok([&](const HttpRequest&) { return testing::Json(200, R"({"access_token":")" + access + R"(","expires_in":"3599"})"); });
  FakeHttpClient bad([&](const HttpRequest&) {
    return testing::Json(400, R"({"error":"invalid_request","error_description":"Identity not found )" + access + "\"}");
  });
  for (FakeHttpClient* client : {&ok, &bad}) {
    imds.Fetch(*client, [&](Result<AccessToken> r) {
      if (!r.ok()) ExpectNoSecret(r.status().ToString());
    });
  }
  ExpectNoSecret(log_.Text());
}

TEST(TokenCacheThreadsTest, ConcurrentGetsFromManyThreadsShareOneExchange) {
  SimulatedClock clock;
  testing::TempDir dir;
  Environment env = {{"AZURE_CLIENT_ID", "c"}, {"AZURE_TENANT_ID", "t"},
                     {"AZURE_FEDERATED_TOKEN_FILE", dir.Write("token", testing::ServiceAccountJwt())}};
  auto source = std::make_shared<AzureWorkloadIdentitySource>(
      ResolveAzureWorkloadConfig(api::PodIdentity{}, env, {}).value(), clock);
  FakeHttpClient client([](const HttpRequest&) { return testing::TokenAnswer(testing::AccessJwt()); });
  client.SetDeferred(true);
  TokenCache cache(clock);
  std::atomic<int> served{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 125; ++i) cache.Get(source, client, [&](Result<AccessToken> r) { served += r.ok(); });
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(client.Flush(), 1);
  EXPECT_EQ(served.load(), 1000);
  EXPECT_EQ(cache.Stats().exchanges, 1u);
}

}  // namespace
}  // namespace ebb::auth
