#include "auth/token_authorizer.h"

#include <gtest/gtest.h>

#include "auth/azure_workload_identity.h"
#include "auth/token_test_util.h"
#include "http/testing/fake_http_client.h"

namespace ebb::auth {
namespace {

using http::FakeHttpClient;
using http::HttpRequest;
using http::HttpResponse;

constexpr char kQueryUrl[] = "https://ws-abc.eastus.prometheus.monitor.azure.com/api/v1/query?query=up";

// An Entra token endpoint handing out access-1, access-2, ... and a
// Prometheus front door that accepts only the tokens in `accepted`.
class AuthorizerTest : public ::testing::Test {
 protected:
  AuthorizerTest() {
    Environment env = {{"AZURE_CLIENT_ID", "client-guid"},
                       {"AZURE_TENANT_ID", "tenant-guid"},
                       {"AZURE_FEDERATED_TOKEN_FILE", dir_.Write("token", assertion_)}};
    api::PodIdentity id;
    id.provider = "azure-workload";
    source_ = std::make_shared<AzureWorkloadIdentitySource>(ResolveAzureWorkloadConfig(id, env, {}).value(), clock_);
    cache_ = std::make_shared<TokenCache>(clock_);
    authorizer_ = std::make_shared<TokenAuthorizer>(cache_, source_, Options());
    client_.SetHandler([this](const HttpRequest& r) { return Handle(r); });
  }

  static TokenAuthorizerOptions Options() {
    TokenAuthorizerOptions o;
    o.destinations = AzureTokenDestinations({"prometheus.local"});
    return o;
  }

  Result<HttpResponse> Handle(const HttpRequest& r) {
    if (r.url.find("/oauth2/v2.0/token") != std::string::npos) {
      issued_.push_back(testing::AccessJwt(std::to_string(issued_.size() + 1)));
      return testing::TokenAnswer(issued_.back());
    }
    std::string auth;
    for (const http::Header& h : r.headers) {
      if (http::HeaderNameEquals(h.name, "Authorization")) auth = h.value;
    }
    sent_auth_.push_back(auth);
    for (const std::string& t : accepted_) {
      if (auth == "Bearer " + t) return testing::Json(200, R"({"status":"success"})");
    }
    return testing::Json(401, R"({"error":{"code":"AuthenticationFailed","message":"Request does not contain a valid Authorization Header"}})");
  }

  Result<HttpResponse> Send(std::string url = kQueryUrl) {
    std::optional<Result<HttpResponse>> got;
    HttpRequest req;
    req.url = std::move(url);
    authorizer_->Send(client_, req, [&](Result<HttpResponse> r) { got = std::move(r); });
    EXPECT_TRUE(got.has_value());
    return got.value_or(Result<HttpResponse>(Internal("no answer")));
  }

  size_t TokenRequests() const {
    size_t n = 0;
    for (const HttpRequest& r : client_.requests()) n += r.url.find("/oauth2/") != std::string::npos;
    return n;
  }

  testing::TempDir dir_;
  std::string assertion_ = testing::ServiceAccountJwt();
  SimulatedClock clock_;
  FakeHttpClient client_;
  std::shared_ptr<AzureWorkloadIdentitySource> source_;
  std::shared_ptr<TokenCache> cache_;
  std::shared_ptr<TokenAuthorizer> authorizer_;
  std::vector<std::string> issued_;
  std::vector<std::string> accepted_;
  std::vector<std::string> sent_auth_;
};

TEST_F(AuthorizerTest, SendsTheCachedTokenAsSensitiveBearerHeader) {
  accepted_ = {testing::AccessJwt("1")};
  ASSERT_EQ(Send()->status, 200);
  ASSERT_EQ(Send()->status, 200);
  EXPECT_EQ(TokenRequests(), 1u);
  std::vector<HttpRequest> requests = client_.requests();
  ASSERT_EQ(requests.size(), 3u);
  const HttpRequest& query = requests[1];
  EXPECT_EQ(query.url, kQueryUrl);
  ASSERT_EQ(query.headers.size(), 1u);
  EXPECT_EQ(query.headers[0].name, "Authorization");
  EXPECT_EQ(query.headers[0].value, "Bearer " + testing::AccessJwt("1"));
  EXPECT_TRUE(query.headers[0].sensitive);
}

TEST_F(AuthorizerTest, ReplacesAnAuthorizationHeaderTheCallerSet) {
  accepted_ = {testing::AccessJwt("1")};
  HttpRequest req;
  req.url = kQueryUrl;
  req.headers.push_back({"authorization", "Basic stale"});
  std::optional<Result<HttpResponse>> got;
  authorizer_->Send(client_, req, [&](Result<HttpResponse> r) { got = std::move(r); });
  ASSERT_TRUE(got.has_value() && (*got)->status == 200);
  EXPECT_EQ(client_.requests()[1].headers.size(), 1u);
}

TEST_F(AuthorizerTest, On401InvalidatesFetchesAFreshTokenAndRetriesOnce) {
  accepted_ = {testing::AccessJwt("1")};
  ASSERT_EQ(Send()->status, 200);
  accepted_ = {testing::AccessJwt("2")};  // e.g. the first token was revoked
  Result<HttpResponse> r = Send();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(TokenRequests(), 2u);
  EXPECT_EQ(sent_auth_, (std::vector<std::string>{"Bearer " + testing::AccessJwt("1"), "Bearer " + testing::AccessJwt("1"),
                                                  "Bearer " + testing::AccessJwt("2")}));
  EXPECT_EQ(Send()->status, 200);  // the fresh token is cached
  EXPECT_EQ(TokenRequests(), 2u);
}

TEST_F(AuthorizerTest, Second401IsExplainedWithAudienceAndExpiry) {
  accepted_ = {};
  Result<HttpResponse> r = Send();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  std::string m = r.status().message();
  for (const std::string& want :
       {std::string("answered HTTP 401 twice"), std::string("https://ws-abc.eastus.prometheus.monitor.azure.com/api/v1/query"),
        source_->Describe(), std::string("audience was \"https://prometheus.monitor.azure.com\""),
        std::string("tenant tenant-guid"), FormatRfc3339(clock_.Now() + std::chrono::seconds(3599)),
        std::string("AuthenticationFailed: Request does not contain a valid Authorization Header")}) {
    EXPECT_NE(m.find(want), std::string::npos) << want << "\n" << m;
  }
  for (const std::string& t : issued_) EXPECT_FALSE(ContainsSecret(m, t));
  EXPECT_FALSE(ContainsSecret(m, assertion_));
  EXPECT_EQ(sent_auth_.size(), 2u);  // exactly one retry
  EXPECT_EQ(TokenRequests(), 2u);
}

TEST_F(AuthorizerTest, OtherAnswersPassThrough) {
  client_.SetHandler([this](const HttpRequest& r) -> Result<HttpResponse> {
    if (r.url.find("/oauth2/") != std::string::npos) return testing::TokenAnswer(testing::AccessJwt());
    return testing::Json(403, R"({"error":{"code":"InsufficientAccessError"}})");
  });
  Result<HttpResponse> r = Send();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(client_.requests().size(), 2u);  // no retry on 403
}

TEST_F(AuthorizerTest, NoTokenNoRequest) {
  client_.SetHandler([](const HttpRequest&) {
    return testing::Json(400, testing::AadErrorBody("invalid_client", 700016, "Application not found."));
  });
  Result<HttpResponse> r = Send();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);
  EXPECT_TRUE(StartsWith(r.status().message(), "getting Azure Workload Identity token (client id client-guid"));
  EXPECT_NE(r.status().message().find("AADSTS700016"), std::string::npos);
  EXPECT_EQ(client_.requests().size(), 1u);  // only the token request
}

TEST_F(AuthorizerTest, PlainHttpTargetRefusedUnlessAllowed) {
  accepted_ = {testing::AccessJwt("1")};
  Result<HttpResponse> r = Send("http://prometheus.local:9090/api/v1/query?query=up");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);
  EXPECT_TRUE(client_.requests().empty());
  TokenAuthorizerOptions allow = Options();
  allow.allow_insecure_target = true;
  authorizer_ = std::make_shared<TokenAuthorizer>(cache_, source_, allow);
  EXPECT_EQ(Send("http://prometheus.local:9090/api/v1/query?query=up")->status, 200);
}

// The critical rule of issue 13: a tenant's serverAddress cannot pull the
// operator's token to a host of its choosing; nothing is fetched or sent.
TEST_F(AuthorizerTest, TokenNeverGoesToAHostTheOperatorDidNotAllow) {
  accepted_ = {testing::AccessJwt("1")};
  for (const char* url : {"https://attacker.example/api/v1/query?query=up",
                          "https://prometheus.monitor.azure.com.attacker.example/api/v1/query",
                          "https://prometheus.monitor.azure.com/api/v1/query",
                          "https://ws.eastus.prometheus.monitor.azure.com@attacker.example/api/v1/query"}) {
    Result<HttpResponse> r = Send(url);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig) << url;
    if (std::string(url).find('@') == std::string::npos) {  // userinfo is refused by the URL parser first
      EXPECT_NE(r.status().message().find("--token-destination"), std::string::npos) << r.status().message();
    }
  }
  EXPECT_TRUE(client_.requests().empty());
  EXPECT_EQ(TokenRequests(), 0u);
}

TEST_F(AuthorizerTest, DefaultOptionsAllowNoDestination) {
  authorizer_ = std::make_shared<TokenAuthorizer>(cache_, source_);
  EXPECT_FALSE(Send().ok());
  EXPECT_TRUE(client_.requests().empty());
}

TEST_F(AuthorizerTest, ManyConcurrent401sOnOneTokenCauseOneRefresh) {
  accepted_ = {testing::AccessJwt("1")};
  ASSERT_EQ(Send()->status, 200);
  accepted_ = {testing::AccessJwt("2")};
  client_.SetDeferred(true);
  constexpr int kQueries = 100;
  int ok = 0;
  for (int i = 0; i < kQueries; ++i) {
    HttpRequest req;
    req.url = kQueryUrl;
    authorizer_->Send(client_, req, [&](Result<HttpResponse> r) { ok += r.ok() && r->status == 200; });
  }
  while (client_.Flush() > 0) {
  }
  EXPECT_EQ(ok, kQueries);
  EXPECT_EQ(TokenRequests(), 2u);
  EXPECT_EQ(cache_->Stats().invalidations, 1u);
}

TEST_F(AuthorizerTest, DescribeAndIdentityKey) {
  EXPECT_EQ(authorizer_->Describe(), source_->Describe());
  EXPECT_EQ(authorizer_->IdentityKey(), source_->CacheKey());
  EXPECT_EQ(authorizer_->Describe().find("REDACTED"), std::string::npos);
}

}  // namespace
}  // namespace ebb::auth
