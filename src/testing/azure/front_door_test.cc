#include "testing/azure/front_door.h"

#include <gtest/gtest.h>

#include "testing/azure/test_support.h"

namespace ebb::testing::azure {
namespace {

constexpr char kWorkspace[] =
    "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Monitor/accounts/ws1";

// A stand-in for Prometheus: echoes what it received.
std::unique_ptr<LoopbackServer> StartStubPrometheus() {
  return LoopbackServer::Start(
             std::nullopt,
             [](httplib::Server& s) {
               auto echo = [](const httplib::Request& req, httplib::Response& res) {
                 nlohmann::json body = {
                     {"status", "success"},
                     {"method", req.method},
                     {"path", req.path},
                     {"query", req.has_param("query") ? req.get_param_value("query") : ""},
                     {"authorization", req.get_header_value("Authorization")}};
                 if (req.get_param_value("query") == "bad(") {
                   res.status = 400;
                   body["status"] = "error";
                 }
                 res.set_content(body.dump(), "application/json");
               };
               s.Get(R"(/api/v1/.*)", echo);
               s.Post(R"(/api/v1/.*)", echo);
             })
      .value();
}

class FrontDoorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    upstream_ = StartStubPrometheus();
    FrontDoorOptions options;
    options.tls = world_.cert;
    options.upstream_url = upstream_->base_url();
    options.idp_public_key_pem = world_.idp->signing_key().public_key_pem();
    options.workspace_scope = kWorkspace;
    front_door_ =
        PrometheusFrontDoor::Start(std::move(options), world_.registry, world_.clock).value();
    app_ = *world_.registry.FindApplication(kTenant, kClientId);
  }

  void GrantRole(const std::string& scope = kWorkspace) {
    ASSERT_TRUE(world_.registry.AddRoleAssignment(kClientId, {kMonitoringDataReader, scope}).ok());
  }

  std::string Token(const std::string& resource = kPrometheusAudience) {
    return world_.idp->IssueAccessToken(app_, resource)->token;
  }

  FetchResult Send(const std::string& target, std::optional<std::string> authorization,
                   const std::string& method = "GET", const std::string& body = "") {
    FetchOptions options;
    options.ca_pem = world_.ca_pem();
    options.method = method;
    options.body = body;
    if (authorization) options.headers = {{"Authorization", *authorization}};
    Result<FetchResult> r = HttpFetch(front_door_->base_url() + target, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : FetchResult{};
  }

  void ExpectError(const FetchResult& r, int status, const std::string& code,
                   const std::string& message_part) {
    EXPECT_EQ(r.status, status) << r.body;
    nlohmann::json body = ParseJson(r.body);
    EXPECT_EQ(body["error"]["code"], code) << r.body;
    std::string message = body["error"].value("message", "");
    EXPECT_NE(message.find(message_part), std::string::npos) << message;
  }

  AzureWorld world_;
  std::unique_ptr<LoopbackServer> upstream_;
  std::unique_ptr<PrometheusFrontDoor> front_door_;
  Application app_;
};

TEST_F(FrontDoorTest, MissingHeaderIs401WithTheSeedMessageAndIsCounted) {
  FetchResult r = Send("/api/v1/query?query=up", std::nullopt);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ParseJson(r.body),
            nlohmann::json({{"error",
                             {{"code", "AuthenticationFailed"},
                              {"message", "Request does not contain an Authorization Header"}}}}));
  Send("/api/v1/query?query=up", std::nullopt);
  FrontDoorCounters c = front_door_->counters();
  EXPECT_EQ(c.without_authorization, 2);
  EXPECT_EQ(c.unauthorized, 2);
  EXPECT_EQ(c.proxied, 0);
}

TEST_F(FrontDoorTest, NonBearerHeaderIs401) {
  GrantRole();
  ExpectError(Send("/api/v1/query?query=up", "Basic dXNlcjpwYXNz"), 401, "AuthenticationFailed",
              "not a Bearer token");
  EXPECT_EQ(front_door_->counters().without_authorization, 0);
}

TEST_F(FrontDoorTest, WrongAudienceIs401) {
  GrantRole();
  ExpectError(Send("/api/v1/query?query=up", "Bearer " + Token("https://management.azure.com")),
              401, "AuthenticationFailed", "wrong audience \"https://management.azure.com\"");
}

TEST_F(FrontDoorTest, ExpiredTokenIs401) {
  GrantRole();
  std::string token = Token();
  world_.clock.Advance(std::chrono::hours(2));
  ExpectError(Send("/api/v1/query?query=up", "Bearer " + token), 401, "AuthenticationFailed",
              "expired at");
}

TEST_F(FrontDoorTest, BadSignatureIs401) {
  GrantRole();
  const RsaSigningKey& other = SharedIssuerKey();  // not the IdP key
  DecodedJwt genuine = DecodeJwt(Token()).value();
  std::string forged = SignJwt(other, genuine.claims).value();
  ExpectError(Send("/api/v1/query?query=up", "Bearer " + forged), 401, "AuthenticationFailed",
              "signature");
  ExpectError(Send("/api/v1/query?query=up", "Bearer garbage"), 401, "AuthenticationFailed",
              "Invalid token");
}

TEST_F(FrontDoorTest, ValidTokenWithoutRoleIs403) {
  ExpectError(Send("/api/v1/query?query=up", "Bearer " + Token()), 403, "InsufficientAccessError",
              "Monitoring Data Reader");
  GrantRole("/subscriptions/s1/resourceGroups/other");
  EXPECT_EQ(Send("/api/v1/query?query=up", "Bearer " + Token()).status, 403);
  EXPECT_EQ(front_door_->counters().forbidden, 2);
}

TEST_F(FrontDoorTest, AllowedQueryIsProxiedWithoutTheToken) {
  GrantRole();
  FetchResult r = Send("/api/v1/query?query=sum%28up%29&time=1700000000", "Bearer " + Token());
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json body = ParseJson(r.body);
  EXPECT_EQ(body["status"], "success");
  EXPECT_EQ(body["path"], "/api/v1/query");
  EXPECT_EQ(body["query"], "sum(up)");
  EXPECT_EQ(body["authorization"], "");
  EXPECT_EQ(front_door_->counters().proxied, 1);
}

TEST_F(FrontDoorTest, RoleOnAParentScopeIsInherited) {
  GrantRole("/subscriptions/S1/resourceGroups/rg1");
  EXPECT_EQ(Send("/api/v1/query?query=up", "Bearer " + Token()).status, 200);
}

TEST_F(FrontDoorTest, FormPostAndOtherApiPathsAreProxied) {
  GrantRole();
  FetchResult post = Send("/api/v1/query_range", "Bearer " + Token(), "POST",
                          "query=rate%28x%5B1m%5D%29&start=1&end=2&step=1");
  ASSERT_EQ(post.status, 200) << post.body;
  EXPECT_EQ(ParseJson(post.body)["method"], "POST");
  EXPECT_EQ(ParseJson(post.body)["query"], "rate(x[1m])");
  EXPECT_EQ(Send("/api/v1/series?match[]=up", "Bearer " + Token()).status, 200);
  EXPECT_EQ(Send("/api/v1/labels", "Bearer " + Token()).status, 200);
  EXPECT_EQ(Send("/api/v1/label/__name__/values", "Bearer " + Token()).status, 200);
  EXPECT_EQ(Send("/api/v1/status/config", "Bearer " + Token()).status, 404);
}

TEST_F(FrontDoorTest, UpstreamStatusAndBodyPassThrough) {
  GrantRole();
  FetchResult r = Send("/api/v1/query?query=bad%28", "Bearer " + Token());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ParseJson(r.body)["status"], "error");
}

TEST_F(FrontDoorTest, UnreachableUpstreamIs502) {
  GrantRole();
  upstream_->Stop();
  EXPECT_EQ(Send("/api/v1/query?query=up", "Bearer " + Token()).status, 502);
  EXPECT_EQ(front_door_->counters().upstream_errors, 1);
}

TEST(PrometheusPathTest, MatchesTheQueryApiOnly) {
  EXPECT_TRUE(IsPrometheusQueryPath("/api/v1/query"));
  EXPECT_TRUE(IsPrometheusQueryPath("/api/v1/query_range"));
  EXPECT_TRUE(IsPrometheusQueryPath("/api/v1/label/job/values"));
  EXPECT_FALSE(IsPrometheusQueryPath("/api/v1/label//values"));
  EXPECT_FALSE(IsPrometheusQueryPath("/api/v1/admin/tsdb/delete_series"));
  EXPECT_FALSE(IsPrometheusQueryPath("/metrics"));
}

}  // namespace
}  // namespace ebb::testing::azure
