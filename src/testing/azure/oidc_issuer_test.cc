#include "testing/azure/oidc_issuer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "testing/azure/test_support.h"

namespace ebb::testing::azure {
namespace {

FetchResult Get(const std::string& url, const std::string& ca_pem) {
  FetchOptions options;
  options.ca_pem = ca_pem;
  Result<FetchResult> r = HttpFetch(url, options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : FetchResult{};
}

TEST(OidcIssuerTest, ServesDiscoveryAndJwksOverTls) {
  AzureWorld world;
  FetchResult discovery =
      Get(world.issuer->issuer_url() + "/.well-known/openid-configuration", world.ca_pem());
  ASSERT_EQ(discovery.status, 200);
  nlohmann::json doc = ParseJson(discovery.body);
  EXPECT_EQ(doc["issuer"], world.issuer->issuer_url());
  EXPECT_EQ(doc["jwks_uri"], world.issuer->jwks_url());
  EXPECT_EQ(doc["id_token_signing_alg_values_supported"], nlohmann::json::array({"RS256"}));

  FetchResult jwks = Get(world.issuer->jwks_url(), world.ca_pem());
  ASSERT_EQ(jwks.status, 200);
  DecodedJwt token = DecodeJwt(world.Assertion()).value();
  EXPECT_TRUE(VerifyJwtWithJwks(token, ParseJson(jwks.body)).ok());
}

TEST(OidcIssuerTest, TokenHasProjectedServiceAccountClaims) {
  AzureWorld world;
  DecodedJwt token = DecodeJwt(world.Assertion()).value();
  EXPECT_EQ(token.header["alg"], "RS256");
  EXPECT_EQ(token.header["kid"], world.issuer->signing_key().kid());
  EXPECT_EQ(token.claims["aud"], nlohmann::json::array({"api://AzureADTokenExchange"}));
  EXPECT_EQ(token.claims["iss"], world.issuer->issuer_url());
  EXPECT_EQ(token.claims["sub"], "system:serviceaccount:keda:ebb");
  EXPECT_EQ(token.claims["kubernetes.io"]["namespace"], "keda");
  EXPECT_EQ(token.claims["kubernetes.io"]["serviceaccount"]["name"], "ebb");
  int64_t iat = *NumericClaim(token.claims, "iat");
  EXPECT_EQ(iat, static_cast<int64_t>(ToUnixSeconds(world.clock.Now())));
  EXPECT_EQ(*NumericClaim(token.claims, "exp"), iat + 3600);
  EXPECT_EQ(*NumericClaim(token.claims, "nbf"), iat);
}

TEST(OidcIssuerTest, OverridesTimesForStaleTokens) {
  AzureWorld world;
  ServiceAccountTokenRequest request = world.DefaultRequest();
  request.issued_at = FromUnixSeconds(1000);
  request.lifetime = std::chrono::seconds(60);
  DecodedJwt token = DecodeJwt(world.issuer->IssueServiceAccountToken(request).value()).value();
  EXPECT_EQ(*NumericClaim(token.claims, "iat"), 1000);
  EXPECT_EQ(*NumericClaim(token.claims, "exp"), 1060);
}

TEST(OidcIssuerTest, WritesTheTokenFileWithMode0600) {
  AzureWorld world;
  std::string dir = ::testing::TempDir() + "oidc_issuer_test";
  mkdir(dir.c_str(), 0700);
  std::string path = dir + "/azure-identity-token";
  ASSERT_TRUE(world.issuer->WriteTokenFile(path, world.DefaultRequest()).ok());
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  DecodedJwt token = DecodeJwt(contents.str()).value();
  EXPECT_TRUE(VerifyJwt(token, world.issuer->signing_key().public_key_pem()).ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(OidcIssuerTest, CanStopServing) {
  AzureWorld world;
  world.issuer->SetServing(false);
  EXPECT_EQ(Get(world.issuer->jwks_url(), world.ca_pem()).status, 503);
}

}  // namespace
}  // namespace ebb::testing::azure
