#include "auth/jwt_claims.h"

#include <gtest/gtest.h>

#include "auth/token_test_util.h"

namespace ebb::auth {
namespace {

using testing::MakeJwt;

TEST(JwtClaimsTest, DecodesStandardAndEntraClaims) {
  std::string jwt = MakeJwt({{"iss", "https://issuer/"}, {"sub", "system:serviceaccount:ns:sa"},
                             {"aud", "api://AzureADTokenExchange"}, {"exp", 1700003600}, {"nbf", 1700000000},
                             {"iat", 1700000001.5}, {"tid", "t"}, {"appid", "a"}, {"azp", "z"}, {"oid", "o"}});
  Result<JwtClaims> c = DecodeJwtClaims(jwt);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->iss, "https://issuer/");
  EXPECT_EQ(c->sub, "system:serviceaccount:ns:sa");
  EXPECT_EQ(c->AudienceText(), "api://AzureADTokenExchange");
  EXPECT_EQ(*c->exp, FromUnixSeconds(1700003600));
  EXPECT_EQ(*c->nbf, FromUnixSeconds(1700000000));
  EXPECT_EQ(*c->iat, FromUnixSeconds(1700000001.5));
  EXPECT_EQ(c->tid, "t");
  EXPECT_EQ(c->appid, "a");
  EXPECT_EQ(c->azp, "z");
  EXPECT_EQ(c->oid, "o");
}

TEST(JwtClaimsTest, AudienceMayBeAnArray) {
  Result<JwtClaims> c = DecodeJwtClaims(MakeJwt({{"aud", {"a", "b"}}}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->aud, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c->AudienceText(), "a, b");
  EXPECT_FALSE(c->exp.has_value());
}

TEST(JwtClaimsTest, RejectsNonJwtsWithoutQuotingThem) {
  for (std::string bad : std::vector<std::string>{"", "opaque-secret-token", "a.b", "a.!!!.c", "x." + Base64UrlEncode("[1]") + ".y",
                          "x." + Base64UrlEncode("not json secret") + ".y"}) {
    Result<JwtClaims> c = DecodeJwtClaims(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidConfig);
    if (!bad.empty()) {
      EXPECT_FALSE(ContainsSecret(c.status().message(), bad));
    }
  }
}

}  // namespace
}  // namespace ebb::auth
