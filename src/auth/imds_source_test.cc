#include "auth/imds_source.h"

#include <gtest/gtest.h>

#include "auth/token_test_util.h"
#include "http/testing/fake_http_client.h"

namespace ebb::auth {
namespace {

using http::FakeHttpClient;
using http::HttpRequest;
using http::HttpResponse;

api::PodIdentity ManagedIdentity(const std::string& client_id = "") {
  api::PodIdentity id;
  id.provider = "azure-managed-identity";
  id.identity_id = client_id;
  return id;
}

ImdsOptions Override(const std::string& endpoint) {
  ImdsOptions o;
  o.endpoint_override = endpoint;
  return o;
}

Result<AccessToken> FetchWith(ImdsTokenSource& source, FakeHttpClient& client) {
  std::optional<Result<AccessToken>> got;
  source.Fetch(client, [&](Result<AccessToken> r) { got = std::move(r); });
  EXPECT_TRUE(got.has_value());
  return got.value_or(Result<AccessToken>(Internal("no answer")));
}

TEST(ResolveImdsConfigTest, DefaultsAndPrecedence) {
  Result<ImdsConfig> c = ResolveImdsConfig(ManagedIdentity(), {}, {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->endpoint, "http://169.254.169.254");
  EXPECT_EQ(c->resource, "https://prometheus.monitor.azure.com");
  EXPECT_EQ(c->client_id, "");

  Environment env = {{"AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9999/"}, {"AZURE_CLIENT_ID", "env-client"}};
  c = ResolveImdsConfig(ManagedIdentity(), env, {});
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:9999");
  EXPECT_EQ(c->client_id, "env-client");

  c = ResolveImdsConfig(ManagedIdentity("trigger-client"), env, Override("http://emulator:8080/prefix/"));
  EXPECT_EQ(c->endpoint, "http://emulator:8080/prefix");
  EXPECT_EQ(c->client_id, "trigger-client");

  ImdsOptions gov;
  gov.cloud = "AzureUSGovernmentCloud";
  EXPECT_EQ(ResolveImdsConfig(ManagedIdentity(), {}, gov)->resource, "https://prometheus.monitor.azure.us");
  EXPECT_FALSE(ResolveImdsConfig(ManagedIdentity(), {}, Override("169.254.169.254")).ok());
}

TEST(ImdsTokenSourceTest, RequestShapeAndStringNumbers) {
  SimulatedClock clock;
  std::string access = testing::AccessJwt();
  FakeHttpClient client([&](const HttpRequest&) {
    return testing::Json(200, R"({"access_token":")" + access + R"(","client_id":"c","expires_in":"86399",)"
                              R"("expires_on":"1700086399","ext_expires_in":"86399","not_before":"1700000000",)"
                              R"("resource":"https://prometheus.monitor.azure.com","token_type":"Bearer"})");
  });
  ImdsTokenSource source(ResolveImdsConfig(ManagedIdentity("my-client"), {}, {}).value(), clock);
  Result<AccessToken> t = FetchWith(source, client);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->token.Reveal(), access);
  EXPECT_EQ(t->expires_on, clock.Now() + std::chrono::seconds(86399));

  std::vector<HttpRequest> requests = client.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].url,
            "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01"
            "&resource=https%3A%2F%2Fprometheus.monitor.azure.com&client_id=my-client");
  ASSERT_FALSE(requests[0].headers.empty());
  EXPECT_EQ(requests[0].headers[0].name, "Metadata");
  EXPECT_EQ(requests[0].headers[0].value, "true");
  EXPECT_TRUE(requests[0].body.empty());
  EXPECT_EQ(requests[0].max_redirects, 0);
}

TEST(ImdsTokenSourceTest, SystemAssignedHasNoClientIdAndNonJwtGetsResourceAsAudience) {
  SimulatedClock clock;
  FakeHttpClient client([&](const HttpRequest&) {
    return testing::Json(200, R"({"access_token":"opaque","expires_in":"3599","token_type":"Bearer"})");
  });
  ImdsTokenSource source(ResolveImdsConfig(ManagedIdentity(), {}, {}).value(), clock);
  Result<AccessToken> t = FetchWith(source, client);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->audience, "https://prometheus.monitor.azure.com");
  EXPECT_EQ(client.requests()[0].url.find("client_id"), std::string::npos);
  EXPECT_EQ(source.Describe(),
            "Azure managed identity token from IMDS (system-assigned, resource https://prometheus.monitor.azure.com)");
  EXPECT_EQ(source.CacheKey(), "azure-imds|http://169.254.169.254||https://prometheus.monitor.azure.com");
}

struct ErrorCase {
  int status;
  std::string body;
  StatusCode want;
  std::string mentions;
};

TEST(ImdsTokenSourceTest, ErrorsAreMappedPerFacts) {
  std::vector<ErrorCase> cases = {
      {400, R"({"error":"invalid_request","error_description":"Identity not found"})", StatusCode::kInvalidConfig,
       "assign managed identity my-client"},
      {400, R"({"error":"invalid_request","error_description":"Required metadata header not specified"})",
       StatusCode::kInvalidConfig, "Required metadata header"},
      {404, "", StatusCode::kUnavailable, "retries with backoff"},
      {410, "", StatusCode::kUnavailable, "70 s"},
      {429, "", StatusCode::kUnavailable, "HTTP 429"},
      {500, R"({"error":"unknown","error_description":"Internal"})", StatusCode::kUnavailable, "HTTP 500"},
      {503, "", StatusCode::kUnavailable, "transient"},
      {401, R"({"error":"x","error_description":"nope"})", StatusCode::kUnauthenticated, "nope"},
  };
  SimulatedClock clock;
  ImdsTokenSource source(ResolveImdsConfig(ManagedIdentity("my-client"), {}, {}).value(), clock);
  for (const ErrorCase& c : cases) {
    FakeHttpClient client([&](const HttpRequest&) { return testing::Json(c.status, c.body); });
    Result<AccessToken> t = FetchWith(source, client);
    ASSERT_FALSE(t.ok()) << c.status;
    EXPECT_EQ(t.status().code(), c.want) << c.status << " " << t.status().ToString();
    EXPECT_NE(t.status().message().find(c.mentions), std::string::npos) << t.status().message();
  }
}

TEST(ImdsTokenSourceTest, TransportFailureNamesTheEndpoint) {
  SimulatedClock clock;
  FakeHttpClient client([](const HttpRequest&) -> Result<HttpResponse> { return Unavailable("connect refused"); });
  ImdsTokenSource source(ResolveImdsConfig(ManagedIdentity(), {}, {}).value(), clock);
  Result<AccessToken> t = FetchWith(source, client);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(t.status().message().find("http://169.254.169.254"), std::string::npos);
}

}  // namespace
}  // namespace ebb::auth
