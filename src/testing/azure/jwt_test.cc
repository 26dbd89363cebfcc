#include "testing/azure/jwt.h"

#include <gtest/gtest.h>

#include "common/strings.h"
#include "testing/pki/test_pki.h"

namespace ebb::testing::azure {
namespace {

const RsaSigningKey& Key() {
  static const RsaSigningKey key = RsaSigningKey::Generate().value();
  return key;
}

TEST(JwtTest, SignedTokenVerifiesWithThePublicKey) {
  std::string token = SignJwt(Key(), {{"iss", "https://issuer"}, {"sub", "me"}}).value();
  DecodedJwt jwt = DecodeJwt(token).value();
  EXPECT_EQ(jwt.header["alg"], "RS256");
  EXPECT_EQ(jwt.header["typ"], "JWT");
  EXPECT_EQ(jwt.header["kid"], Key().kid());
  EXPECT_EQ(jwt.claims["sub"], "me");
  EXPECT_TRUE(VerifyJwt(jwt, Key().public_key_pem()).ok());
}

TEST(JwtTest, TamperedClaimsDoNotVerify) {
  std::string token = SignJwt(Key(), {{"sub", "me"}}).value();
  std::vector<std::string> parts = Split(token, '.');
  std::string forged = parts[0] + "." + Base64UrlEncode(R"({"sub":"admin"})") + "." + parts[2];
  EXPECT_EQ(VerifyJwt(DecodeJwt(forged).value(), Key().public_key_pem()).code(),
            StatusCode::kUnauthenticated);
}

TEST(JwtTest, OtherKeyDoesNotVerify) {
  RsaSigningKey other = RsaSigningKey::Generate().value();
  DecodedJwt jwt = DecodeJwt(SignJwt(other, {{"sub", "me"}}).value()).value();
  EXPECT_FALSE(VerifyJwt(jwt, Key().public_key_pem()).ok());
}

TEST(JwtTest, OnlyRs256IsAccepted) {
  std::string token = SignJwt(Key(), {{"sub", "me"}}, {{"alg", "HS256"}}).value();
  EXPECT_FALSE(VerifyJwt(DecodeJwt(token).value(), Key().public_key_pem()).ok());
  std::string none =
      Base64UrlEncode(R"({"alg":"none"})") + "." + Base64UrlEncode(R"({"sub":"me"})") + ".";
  Result<DecodedJwt> decoded = DecodeJwt(none);
  if (decoded.ok()) {
    EXPECT_FALSE(VerifyJwt(*decoded, Key().public_key_pem()).ok());
  }
}

TEST(JwtTest, MalformedTokensAreRejected) {
  EXPECT_FALSE(DecodeJwt("abc").ok());
  EXPECT_FALSE(DecodeJwt("a.b.c").ok());
  EXPECT_FALSE(DecodeJwt(Base64UrlEncode("[1]") + "." + Base64UrlEncode("{}") + ".c2ln").ok());
}

TEST(JwtTest, JwkRoundTripsAndVerifiesThroughAJwks) {
  nlohmann::json jwk = Key().Jwk();
  EXPECT_EQ(jwk["kty"], "RSA");
  EXPECT_EQ(jwk["alg"], "RS256");
  EXPECT_EQ(jwk["use"], "sig");
  EXPECT_EQ(jwk["kid"], Key().kid());
  EXPECT_EQ(jwk["e"], "AQAB");
  EXPECT_EQ(PublicKeyPemFromJwk(jwk).value(), Key().public_key_pem());
  DecodedJwt jwt = DecodeJwt(SignJwt(Key(), {{"sub", "me"}}).value()).value();
  EXPECT_TRUE(VerifyJwtWithJwks(jwt, {{"keys", {jwk}}}).ok());
}

TEST(JwtTest, JwksWithoutTheKidDoesNotVerify) {
  RsaSigningKey other = RsaSigningKey::Generate().value();
  DecodedJwt jwt = DecodeJwt(SignJwt(Key(), {{"sub", "me"}}).value()).value();
  EXPECT_FALSE(VerifyJwtWithJwks(jwt, {{"keys", {other.Jwk()}}}).ok());
  EXPECT_FALSE(VerifyJwtWithJwks(jwt, nlohmann::json::object()).ok());
}

TEST(JwtTest, KeyFromPemKeepsItsKid) {
  ebb::testing::RsaKeyPair pair = ebb::testing::GenerateRsaKeyPair().value();
  RsaSigningKey key = RsaSigningKey::FromPrivateKeyPem(pair.private_key_pem).value();
  EXPECT_FALSE(key.kid().empty());
  EXPECT_EQ(key.kid(), RsaSigningKey::FromPrivateKeyPem(pair.private_key_pem)->kid());
  EXPECT_FALSE(RsaSigningKey::FromPrivateKeyPem("junk").ok());
}

TEST(JwtTest, AudienceClaimAsStringOrArray) {
  EXPECT_TRUE(AudienceContains({{"aud", "a"}}, "a"));
  EXPECT_TRUE(AudienceContains({{"aud", {"b", "a"}}}, "a"));
  EXPECT_FALSE(AudienceContains({{"aud", {"b"}}}, "a"));
  EXPECT_FALSE(AudienceContains(nlohmann::json::object(), "a"));
  EXPECT_EQ(AudienceText({{"aud", {"b", "a"}}}), "b, a");
}

TEST(JwtTest, NumericClaimAcceptsNumbersAndNumericStrings) {
  EXPECT_EQ(NumericClaim({{"exp", 5}}, "exp"), 5);
  EXPECT_EQ(NumericClaim({{"exp", "6"}}, "exp"), 6);
  EXPECT_FALSE(NumericClaim({{"exp", "x"}}, "exp").has_value());
  EXPECT_FALSE(NumericClaim(nlohmann::json::object(), "exp").has_value());
}

}  // namespace
}  // namespace ebb::testing::azure
