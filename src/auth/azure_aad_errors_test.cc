#include "auth/azure_aad_errors.h"

#include <gtest/gtest.h>

#include "auth/token_test_util.h"

namespace ebb::auth {
namespace {

using testing::AadErrorBody;

AadErrorContext Context(const std::string& assertion) {
  AadErrorContext c;
  c.client_id = "11111111-2222-3333-4444-555555555555";
  c.tenant_id = "66666666-7777-8888-9999-000000000000";
  c.authority_host = "https://login.microsoftonline.com/";
  c.scope = "https://prometheus.monitor.azure.com/.default";
  c.token_file = "/var/run/secrets/azure/tokens/azure-identity-token";
  Result<JwtClaims> claims = DecodeJwtClaims(assertion);
  if (claims.ok()) c.assertion = *claims;
  return c;
}

TEST(ParseAadErrorTest, ExtractsCodeNumberAndFirstLine) {
  AadError e = ParseAadError(400, AadErrorBody("invalid_request", 70021, "No matching federated identity record found."));
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.error, "invalid_request");
  ASSERT_TRUE(e.aadsts.has_value());
  EXPECT_EQ(*e.aadsts, 70021);
  EXPECT_EQ(e.description, "AADSTS70021: No matching federated identity record found.");
  EXPECT_TRUE(e.body_was_json);
}

TEST(ParseAadErrorTest, NumberFromDescriptionWhenNoErrorCodes) {
  AadError e = ParseAadError(401, R"({"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range.\r\nTrace ID: x"})");
  ASSERT_TRUE(e.aadsts.has_value());
  EXPECT_EQ(*e.aadsts, 700024);
  EXPECT_EQ(e.description, "AADSTS700024: Client assertion is not within its valid time range.");
}

TEST(ParseAadErrorTest, NonJsonBodyKeepsOnlyTheStatus) {
  AadError e = ParseAadError(502, "<html>Bad gateway secret-ish</html>");
  EXPECT_FALSE(e.body_was_json);
  EXPECT_EQ(e.description, "");
  EXPECT_FALSE(e.aadsts.has_value());
}

TEST(ParseAadErrorTest, ScrubsTheAssertionAndJwts) {
  std::string assertion = testing::ServiceAccountJwt();
  AadError e = ParseAadError(400, AadErrorBody("invalid_request", 50027, "Invalid JWT " + assertion + " and plain-secret"),
                             "plain-secret");
  EXPECT_FALSE(ContainsSecret(e.description, assertion));
  EXPECT_FALSE(ContainsSecret(e.description, "plain-secret"));
  EXPECT_NE(e.description.find("REDACTED"), std::string::npos);
}

struct Case {
  int http;
  const char* error;
  int64_t code;
  StatusCode want;
  std::vector<std::string> mentions;  // what the message must name
};

class MapAadErrorTest : public ::testing::TestWithParam<Case> {};

TEST_P(MapAadErrorTest, ExplainsCauseAndFixWithoutSecrets) {
  const Case& c = GetParam();
  std::string assertion = testing::ServiceAccountJwt();
  std::string access = testing::AccessJwt();
  std::string body = AadErrorBody(c.error, c.code, "Something Azure says.");
  Status s = MapAadError(ParseAadError(c.http, body, assertion), Context(assertion));
  EXPECT_EQ(s.code(), c.want) << s.ToString();
  EXPECT_NE(s.message().find("AADSTS" + std::to_string(c.code)), std::string::npos) << s.message();
  if (c.code != 50196) {
    EXPECT_NE(s.message().find("Fix:"), std::string::npos) << s.message();
  }
  for (const std::string& m : c.mentions) EXPECT_NE(s.message().find(m), std::string::npos) << m << "\n" << s.message();
  EXPECT_FALSE(ContainsSecret(s.ToString(), assertion));
  EXPECT_FALSE(ContainsSecret(s.ToString(), access));
  EXPECT_FALSE(ContainsSecret(s.ToString(), body));
  EXPECT_EQ(s.message().find("Trace ID"), std::string::npos);
  EXPECT_EQ(s.message().find("Correlation ID"), std::string::npos);
  EXPECT_NE(KnownAadstsTitle(c.code), nullptr);
}

INSTANTIATE_TEST_SUITE_P(
    AllKnownCodes, MapAadErrorTest,
    ::testing::Values(
        Case{400, "invalid_request", 70021, StatusCode::kInvalidConfig,
             {"https://oidc.prod-aks.azure.com/tenant-guid/", "system:serviceaccount:keda:ebb-operator",
              "api://AzureADTokenExchange", "11111111-2222-3333-4444-555555555555", "federated credential"}},
        Case{400, "invalid_client", 700211, StatusCode::kInvalidConfig,
             {"https://oidc.prod-aks.azure.com/tenant-guid/", "issuer"}},
        Case{400, "invalid_client", 700212, StatusCode::kInvalidConfig, {"api://AzureADTokenExchange"}},
        Case{400, "invalid_client", 700213, StatusCode::kInvalidConfig,
             {"system:serviceaccount:keda:ebb-operator", "case-sensitive"}},
        Case{401, "invalid_client", 700024, StatusCode::kUnauthenticated,
             {"/var/run/secrets/azure/tokens/azure-identity-token", "2023-11-14T23:13:20Z", "clock"}},
        Case{400, "unauthorized_client", 700016, StatusCode::kInvalidConfig,
             {"11111111-2222-3333-4444-555555555555", "66666666-7777-8888-9999-000000000000", "AZURE_CLIENT_ID"}},
        Case{400, "invalid_request", 90002, StatusCode::kInvalidConfig,
             {"66666666-7777-8888-9999-000000000000", "https://login.microsoftonline.com/", "AZURE_TENANT_ID"}},
        Case{400, "invalid_client", 50027, StatusCode::kUnauthenticated, {"AZURE_FEDERATED_TOKEN_FILE"}},
        Case{400, "invalid_request", 90061, StatusCode::kUnavailable, {"OIDC", "https://oidc.prod-aks.azure.com/tenant-guid/"}},
        Case{400, "invalid_scope", 70011, StatusCode::kInvalidConfig, {"https://prometheus.monitor.azure.com/.default"}},
        Case{400, "invalid_client", 7000218, StatusCode::kInvalidConfig, {"AZURE_FEDERATED_TOKEN_FILE"}},
        Case{400, "invalid_request", 50196, StatusCode::kUnavailable, {"loop"}}));

TEST(MapAadErrorTest, WithoutReadableAssertionPointsAtAzureMessage) {
  AadErrorContext ctx = Context("not-a-jwt");
  Status s = MapAadError(ParseAadError(400, AadErrorBody("invalid_request", 70021,
                                                         "Assertion Issuer: 'https://x/'. Assertion Subject: 'y'.")),
                         ctx);
  EXPECT_NE(s.message().find("see Azure AD's message"), std::string::npos);
  EXPECT_NE(s.message().find("Assertion Issuer: 'https://x/'"), std::string::npos);
}

TEST(MapAadErrorTest, UnknownAndTransientAnswers) {
  AadErrorContext ctx = Context("");
  EXPECT_EQ(MapAadError(ParseAadError(503, "Service Unavailable"), ctx).code(), StatusCode::kUnavailable);
  EXPECT_EQ(MapAadError(ParseAadError(429, AadErrorBody("temporarily_unavailable", 50001, "x")), ctx).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(MapAadError(ParseAadError(500, R"({"error":"server_error"})"), ctx).code(), StatusCode::kUnavailable);
  Status unknown = MapAadError(ParseAadError(400, AadErrorBody("invalid_grant", 12345, "Odd.")), ctx);
  EXPECT_EQ(unknown.code(), StatusCode::kUnauthenticated);
  EXPECT_NE(unknown.message().find("AADSTS12345: Odd."), std::string::npos);
  Status not_found = MapAadError(ParseAadError(404, "<html>nope</html>"), ctx);
  EXPECT_EQ(not_found.code(), StatusCode::kInvalidConfig);
  EXPECT_NE(not_found.message().find("authority host"), std::string::npos);
  EXPECT_EQ(not_found.message().find("nope"), std::string::npos);
}

}  // namespace
}  // namespace ebb::auth
