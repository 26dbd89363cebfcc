#include "testing/azure/imds.h"

#include <gtest/gtest.h>

#include "testing/azure/test_support.h"

namespace ebb::testing::azure {
namespace {

constexpr char kMiClientId[] = "99999999-0000-0000-0000-000000000001";
constexpr char kUserAssignedId[] = "99999999-0000-0000-0000-000000000002";
constexpr char kQuery[] =
    "/metadata/identity/oauth2/"
    "token?api-version=2018-02-01&resource=https%3A%2F%2Fprometheus.monitor.azure.com";

class ImdsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ImdsOptions options;
    options.identities.push_back({kMiClientId, kTenant, "", ""});
    options.identities.push_back({kUserAssignedId, kTenant, "", "/subscriptions/s/mi/user"});
    imds_ = Imds::Start(std::move(options), *world_.idp, world_.registry).value();
  }

  FetchResult Get(const std::string& target, bool metadata_header = true) {
    FetchOptions options;
    if (metadata_header) options.headers = {{"Metadata", "true"}};
    Result<FetchResult> r = HttpFetch(imds_->base_url() + target, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : FetchResult{};
  }

  AzureWorld world_;
  std::unique_ptr<Imds> imds_;
};

TEST_F(ImdsTest, IsPlainHttp) { EXPECT_EQ(imds_->base_url().rfind("http://127.0.0.1:", 0), 0u); }

TEST_F(ImdsTest, MissingMetadataHeaderIs400) {
  FetchResult r = Get(kQuery, /*metadata_header=*/false);
  EXPECT_EQ(r.status, 400);
  nlohmann::json body = ParseJson(r.body);
  EXPECT_EQ(body["error"], "invalid_request");
  EXPECT_EQ(body["error_description"], "Required metadata header not specified");
  EXPECT_EQ(imds_->counters().missing_metadata_header, 1);
}

TEST_F(ImdsTest, ReplyCarriesNumbersAsStringsAndTheResource) {
  FetchResult r = Get(kQuery);
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json body = ParseJson(r.body);
  EXPECT_EQ(body["token_type"], "Bearer");
  EXPECT_EQ(body["resource"], "https://prometheus.monitor.azure.com");
  EXPECT_EQ(body["client_id"], kMiClientId);
  for (const char* field : {"expires_in", "expires_on", "ext_expires_in", "not_before"}) {
    EXPECT_TRUE(body[field].is_string()) << field;
  }
  EXPECT_EQ(body["expires_in"], "3599");
  int64_t now = static_cast<int64_t>(ToUnixSeconds(world_.clock.Now()));
  EXPECT_EQ(body["expires_on"], std::to_string(now + 3600));
  EXPECT_EQ(body["not_before"], std::to_string(now));

  DecodedJwt token = DecodeJwt(body["access_token"].get<std::string>()).value();
  EXPECT_TRUE(VerifyJwt(token, world_.idp->signing_key().public_key_pem()).ok());
  EXPECT_EQ(token.claims["aud"], "https://prometheus.monitor.azure.com");
  EXPECT_EQ(token.claims["appid"], kMiClientId);
  EXPECT_EQ(token.claims["tid"], kTenant);
}

TEST_F(ImdsTest, SelectsAUserAssignedIdentity) {
  nlohmann::json body = ParseJson(Get(std::string(kQuery) + "&client_id=" + kUserAssignedId).body);
  EXPECT_EQ(body["client_id"], kUserAssignedId);
  std::string oid = world_.registry.FindByClientOrObjectId(kUserAssignedId)->object_id;
  body = ParseJson(Get(std::string(kQuery) + "&object_id=" + oid).body);
  EXPECT_EQ(body["client_id"], kUserAssignedId);
  body = ParseJson(Get(std::string(kQuery) + "&msi_res_id=%2Fsubscriptions%2Fs%2Fmi%2Fuser").body);
  EXPECT_EQ(body["client_id"], kUserAssignedId);
}

TEST_F(ImdsTest, UnknownIdentityIs400) {
  FetchResult r = Get(std::string(kQuery) + "&client_id=nope");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ParseJson(r.body)["error_description"], "Identity not found");
}

TEST_F(ImdsTest, MissingParametersAre400) {
  EXPECT_EQ(Get("/metadata/identity/oauth2/token?resource=https%3A%2F%2Fx").status, 400);
  EXPECT_EQ(Get("/metadata/identity/oauth2/token?api-version=2018-02-01").status, 400);
}

TEST_F(ImdsTest, V2ScopeAsResourceIsRejected) {
  FetchResult r =
      Get("/metadata/identity/oauth2/token?api-version=2018-02-01&resource="
          "https%3A%2F%2Fprometheus.monitor.azure.com%2F.default");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ParseJson(r.body)["error"], "invalid_resource");
}

TEST_F(ImdsTest, CountsRequests) {
  Get(kQuery);
  Get(kQuery, false);
  ImdsCounters c = imds_->counters();
  EXPECT_EQ(c.requests, 2);
  EXPECT_EQ(c.successes, 1);
  EXPECT_EQ(c.failures, 1);
}

}  // namespace
}  // namespace ebb::testing::azure
