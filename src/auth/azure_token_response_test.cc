#include "auth/azure_token_response.h"

#include <gtest/gtest.h>

#include "auth/token_test_util.h"

namespace ebb::auth {
namespace {

const Time kNow = FromUnixSeconds(1'700'000'000);

TEST(AzureTokenResponseTest, ExpiresInAsNumber) {
  std::string jwt = testing::AccessJwt();
  Result<AccessToken> t = ParseAzureTokenSuccess(
      R"({"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":")" + jwt + "\"}", kNow);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->token.Reveal(), jwt);
  EXPECT_EQ(t->expires_on, kNow + std::chrono::seconds(3599));
  EXPECT_EQ(t->obtained_at, kNow);
  EXPECT_FALSE(t->refresh_at.has_value());
  EXPECT_EQ(t->audience, "https://prometheus.monitor.azure.com");
  EXPECT_EQ(t->tenant, "tenant-guid");
}

TEST(AzureTokenResponseTest, ExpiresInAsNumericString) {
  Result<AccessToken> t =
      ParseAzureTokenSuccess(R"({"token_type":"Bearer","expires_in":"3599","access_token":"opaque"})", kNow);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->expires_on, kNow + std::chrono::seconds(3599));
  EXPECT_EQ(t->audience, "");  // not a JWT: the source fills in the resource
}

TEST(AzureTokenResponseTest, ExpiresOnWhenNoExpiresIn) {
  Result<AccessToken> num = ParseAzureTokenSuccess(R"({"expires_on":1700007200,"access_token":"x"})", kNow);
  Result<AccessToken> str = ParseAzureTokenSuccess(R"({"expires_on":"1700007200","access_token":"x"})", kNow);
  ASSERT_TRUE(num.ok() && str.ok());
  EXPECT_EQ(num->expires_on, FromUnixSeconds(1'700'007'200));
  EXPECT_EQ(str->expires_on, FromUnixSeconds(1'700'007'200));
}

TEST(AzureTokenResponseTest, ExpiresInWinsOverExpiresOn) {
  // IMDS sends both; the relative one is immune to clock skew.
  Result<AccessToken> t = ParseAzureTokenSuccess(
      R"({"access_token":"x","expires_in":"600","expires_on":"1800000000","resource":"r","token_type":"Bearer"})", kNow);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->expires_on, kNow + std::chrono::seconds(600));
}

TEST(AzureTokenResponseTest, RefreshIn) {
  Result<AccessToken> t =
      ParseAzureTokenSuccess(R"({"access_token":"x","expires_in":86399,"refresh_in":43199})", kNow);
  Result<AccessToken> s =
      ParseAzureTokenSuccess(R"({"access_token":"x","expires_in":86399,"refresh_in":"43199"})", kNow);
  ASSERT_TRUE(t.ok() && s.ok());
  EXPECT_EQ(*t->refresh_at, kNow + std::chrono::seconds(43199));
  EXPECT_EQ(*s->refresh_at, kNow + std::chrono::seconds(43199));
}

TEST(AzureTokenResponseTest, BadAnswersNeverQuoteTheBody) {
  const std::string secret = "eyJsecret.part.here";
  for (std::string body : std::vector<std::string>{"not json " + secret, R"({"expires_in":3599})",
                           R"({"access_token":")" + secret + R"("})",
                           R"({"access_token":")" + secret + R"(","expires_in":"soon"})",
                           R"({"access_token":")" + secret + R"(","expires_in":1,"token_type":"pop"})"}) {
    Result<AccessToken> t = ParseAzureTokenSuccess(body, kNow);
    ASSERT_FALSE(t.ok()) << body;
    EXPECT_EQ(t.status().code(), StatusCode::kInternal);
    EXPECT_FALSE(ContainsSecret(t.status().ToString(), secret)) << t.status().ToString();
  }
}

TEST(SanitizeServerTextTest, RedactsJwtsAndScrubTextAndCaps) {
  std::string jwt = testing::AccessJwt();
  EXPECT_EQ(SanitizeServerText("token " + jwt + " here", ""), "token REDACTED here");
  EXPECT_EQ(SanitizeServerText("has s3cr3t inside", "s3cr3t"), "has REDACTED inside");
  EXPECT_EQ(SanitizeServerText(std::string(50, 'a'), "", 10), std::string(10, 'a') + "...");
  EXPECT_EQ(SanitizeServerText("eyJ alone is fine", ""), "eyJ alone is fine");
}

}  // namespace
}  // namespace ebb::auth
