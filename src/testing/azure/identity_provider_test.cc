#include "testing/azure/identity_provider.h"

#include <gtest/gtest.h>

#include <chrono>

#include "common/secret.h"
#include "common/strings.h"
#include "testing/azure/test_support.h"

namespace ebb::testing::azure {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

// Checks the Entra v2 error shape of facts/azure-identity.md and returns the body.
nlohmann::json ExpectAadError(const FetchResult& r, int http_status, const std::string& error,
                              int code) {
  EXPECT_EQ(r.status, http_status) << r.body;
  nlohmann::json body = ParseJson(r.body);
  EXPECT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body.value("error", ""), error);
  std::string description = body.value("error_description", "");
  EXPECT_TRUE(StartsWith(description, "AADSTS" + std::to_string(code) + ": ")) << description;
  EXPECT_NE(description.find("\r\nTrace ID: "), std::string::npos);
  EXPECT_NE(description.find("\r\nCorrelation ID: "), std::string::npos);
  EXPECT_NE(description.find("\r\nTimestamp: "), std::string::npos);
  EXPECT_EQ(body["error_codes"], nlohmann::json::array({code}));
  EXPECT_TRUE(body["timestamp"].is_string());
  EXPECT_TRUE(body["trace_id"].is_string());
  EXPECT_TRUE(body["correlation_id"].is_string());
  EXPECT_TRUE(body["error_uri"].is_string());
  return body;
}

TEST(IdentityProviderTest, ValidExchangeReturnsTheFactsSuccessBody) {
  AzureWorld world;
  FetchResult r = world.PostToken(world.ValidForm(world.Assertion()));
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json body = ParseJson(r.body);
  EXPECT_EQ(body["token_type"], "Bearer");
  ASSERT_TRUE(body["expires_in"].is_number_integer());
  EXPECT_EQ(body["expires_in"], 3599);
  EXPECT_TRUE(body["ext_expires_in"].is_number_integer());
  EXPECT_FALSE(body.contains("refresh_in"));
  ASSERT_TRUE(body["access_token"].is_string());

  DecodedJwt token = DecodeJwt(body["access_token"].get<std::string>()).value();
  EXPECT_TRUE(VerifyJwt(token, world.idp->signing_key().public_key_pem()).ok());
  EXPECT_EQ(token.header["alg"], "RS256");
  EXPECT_EQ(token.claims["aud"], "https://prometheus.monitor.azure.com");
  EXPECT_EQ(token.claims["iss"], std::string("https://sts.windows.net/") + kTenant + "/");
  EXPECT_EQ(token.claims["tid"], kTenant);
  EXPECT_EQ(token.claims["appid"], kClientId);
  EXPECT_EQ(token.claims["oid"], world.registry.FindByClientOrObjectId(kClientId)->object_id);
  int64_t now = static_cast<int64_t>(ToUnixSeconds(world.clock.Now()));
  EXPECT_EQ(*NumericClaim(token.claims, "iat"), now);
  EXPECT_EQ(*NumericClaim(token.claims, "nbf"), now);
  EXPECT_EQ(*NumericClaim(token.claims, "exp"), now + 3600);
}

TEST(IdentityProviderTest, LongLifetimeAddsRefreshIn) {
  IdentityProviderOptions options;
  options.access_token_lifetime = hours(24);
  AzureWorld world(options);
  nlohmann::json body = ParseJson(world.PostToken(world.ValidForm(world.Assertion())).body);
  EXPECT_EQ(body["expires_in"], 86399);
  EXPECT_EQ(body["refresh_in"], 43200);
}

TEST(IdentityProviderTest, AudienceMismatchIs70021NamingIssuerSubjectAndAudience) {
  AzureWorld world;
  ServiceAccountTokenRequest request = world.DefaultRequest();
  request.audiences = {"api://SomethingElse"};
  std::string assertion = world.issuer->IssueServiceAccountToken(request).value();
  FetchResult r =
      world.PostToken(world.ValidForm(assertion), kTenant, {{"client-request-id", "corr-123"}});
  nlohmann::json body = ExpectAadError(r, 400, "invalid_request", 70021);
  std::string d = body["error_description"];
  EXPECT_NE(d.find("Assertion Issuer: '" + world.issuer->issuer_url() + "'"), std::string::npos)
      << d;
  EXPECT_NE(d.find("Assertion Subject: 'system:serviceaccount:keda:ebb'"), std::string::npos) << d;
  EXPECT_NE(d.find("Assertion Audience: 'api://SomethingElse'"), std::string::npos) << d;
  EXPECT_EQ(body["correlation_id"], "corr-123");
}

TEST(IdentityProviderTest, UnregisteredIssuerIs700211) {
  AzureWorld world;
  ServiceAccountTokenRequest request = world.DefaultRequest();
  request.issuer = "https://oidc.example.invalid/cluster/";
  std::string assertion = world.issuer->IssueServiceAccountToken(request).value();
  nlohmann::json body =
      ExpectAadError(world.PostToken(world.ValidForm(assertion)), 401, "invalid_client", 700211);
  EXPECT_NE(
      body["error_description"].get<std::string>().find("'https://oidc.example.invalid/cluster/'"),
      std::string::npos);
}

TEST(IdentityProviderTest, UnregisteredSubjectIs700213AndMatchingIsCaseSensitive) {
  AzureWorld world;
  ServiceAccountTokenRequest request = world.DefaultRequest();
  request.service_account = "Ebb";
  std::string assertion = world.issuer->IssueServiceAccountToken(request).value();
  nlohmann::json body =
      ExpectAadError(world.PostToken(world.ValidForm(assertion)), 401, "invalid_client", 700213);
  EXPECT_NE(body["error_description"].get<std::string>().find("system:serviceaccount:keda:Ebb"),
            std::string::npos);
}

TEST(IdentityProviderTest, ExpiredAssertionIs700024) {
  AzureWorld world;
  std::string assertion = world.Assertion();  // valid for one hour
  world.clock.Advance(hours(2));
  ExpectAadError(world.PostToken(world.ValidForm(assertion)), 401, "invalid_client", 700024);
}

TEST(IdentityProviderTest, NotYetValidAssertionIs700024) {
  AzureWorld world;
  ServiceAccountTokenRequest request = world.DefaultRequest();
  request.not_before = world.clock.Now() + std::chrono::minutes(10);
  std::string assertion = world.issuer->IssueServiceAccountToken(request).value();
  nlohmann::json body =
      ExpectAadError(world.PostToken(world.ValidForm(assertion)), 401, "invalid_client", 700024);
  EXPECT_NE(body["error_description"].get<std::string>().find("not within its valid time range"),
            std::string::npos);
}

TEST(IdentityProviderTest, UnknownClientIs700016) {
  AzureWorld world;
  auto form = world.ValidForm(world.Assertion());
  form["client_id"] = "00000000-0000-0000-0000-000000000000";
  ExpectAadError(world.PostToken(form), 400, "unauthorized_client", 700016);
}

TEST(IdentityProviderTest, ClientOfAnotherTenantIs700016) {
  AzureWorld world;
  world.registry.AddTenant("other-tenant");
  ExpectAadError(world.PostToken(world.ValidForm(world.Assertion()), "other-tenant"), 400,
                 "unauthorized_client", 700016);
}

TEST(IdentityProviderTest, UnknownTenantIs90002) {
  AzureWorld world;
  ExpectAadError(world.PostToken(world.ValidForm(world.Assertion()), "no-such-tenant"), 400,
                 "invalid_request", 90002);
}

TEST(IdentityProviderTest, MissingAssertionIs7000218) {
  AzureWorld world;
  auto form = world.ValidForm("");
  form.erase("client_assertion");
  ExpectAadError(world.PostToken(form), 401, "invalid_client", 7000218);
}

TEST(IdentityProviderTest, BadSignatureIs50027) {
  AzureWorld world;
  const RsaSigningKey& other = SharedIdpKey();  // not the issuer key
  int64_t now = static_cast<int64_t>(ToUnixSeconds(world.clock.Now()));
  nlohmann::json claims = {{"iss", world.issuer->issuer_url()},
                           {"sub", "system:serviceaccount:keda:ebb"},
                           {"aud", {kTokenExchangeAudience}},
                           {"iat", now},
                           {"nbf", now},
                           {"exp", now + 3600}};
  std::string forged = SignJwt(other, claims).value();
  ExpectAadError(world.PostToken(world.ValidForm(forged)), 401, "invalid_client", 50027);
}

TEST(IdentityProviderTest, MalformedAssertionIs50027) {
  AzureWorld world;
  ExpectAadError(world.PostToken(world.ValidForm("not-a-jwt")), 401, "invalid_client", 50027);
}

TEST(IdentityProviderTest, ScopeWithoutDefaultIs70011) {
  AzureWorld world;
  auto form = world.ValidForm(world.Assertion());
  form["scope"] = "https://prometheus.monitor.azure.com";
  ExpectAadError(world.PostToken(form), 400, "invalid_scope", 70011);
}

TEST(IdentityProviderTest, WrongGrantTypeIsUnsupportedGrantType) {
  AzureWorld world;
  auto form = world.ValidForm(world.Assertion());
  form["grant_type"] = "password";
  ExpectAadError(world.PostToken(form), 400, "unsupported_grant_type", 70003);
  form.erase("grant_type");
  ExpectAadError(world.PostToken(form), 400, "invalid_request", 900144);
}

TEST(IdentityProviderTest, WrongAssertionTypeIsInvalidClient) {
  AzureWorld world;
  auto form = world.ValidForm(world.Assertion());
  form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer";
  ExpectAadError(world.PostToken(form), 401, "invalid_client", 70002);
}

TEST(IdentityProviderTest, ClientSecretIsRejectedForFederatedApps) {
  AzureWorld world;
  auto form = world.ValidForm("");
  form.erase("client_assertion");
  form.erase("client_assertion_type");
  form["client_secret"] = "hunter2";
  FetchResult r = world.PostToken(form);
  ExpectAadError(r, 401, "invalid_client", 7000215);
  EXPECT_FALSE(ContainsSecret(r.body, "hunter2"));
}

TEST(IdentityProviderTest, MissingAssertionTypeIs900144) {
  AzureWorld world;
  auto form = world.ValidForm(world.Assertion());
  form.erase("client_assertion_type");
  ExpectAadError(world.PostToken(form), 400, "invalid_request", 900144);
}

TEST(IdentityProviderTest, UnknownResourceIs500011WhenResourcesAreListed) {
  IdentityProviderOptions options;
  options.resources = {"https://prometheus.monitor.azure.com"};
  AzureWorld world(options);
  auto form = world.ValidForm(world.Assertion());
  EXPECT_EQ(world.PostToken(form).status, 200);
  form["scope"] = "https://prometheus.monitor.azure.us/.default";
  ExpectAadError(world.PostToken(form), 400, "invalid_resource", 500011);
}

TEST(IdentityProviderTest, UnreachableIssuerIs90061) {
  AzureWorld world;
  world.issuer->SetServing(false);
  ExpectAadError(world.PostToken(world.ValidForm(world.Assertion())), 400, "invalid_request",
                 90061);
}

TEST(IdentityProviderTest, JwksIsFetchedFromTheIssuerAndCached) {
  AzureWorld world;
  ASSERT_EQ(world.PostToken(world.ValidForm(world.Assertion())).status, 200);
  ASSERT_EQ(world.PostToken(world.ValidForm(world.Assertion())).status, 200);
  EXPECT_EQ(world.idp->counters().jwks_fetches, 1);
  EXPECT_EQ(world.issuer->requests(), 2);  // discovery + JWKS
  world.clock.Advance(seconds(301));
  ASSERT_EQ(world.PostToken(world.ValidForm(world.Assertion())).status, 200);
  EXPECT_EQ(world.idp->counters().jwks_fetches, 2);
}

TEST(IdentityProviderTest, ServerErrorShareIsDeterministic) {
  AzureWorld world;
  FaultInjection faults;
  faults.server_error_share = 0.25;
  world.idp->SetFaults(faults);
  std::vector<int> statuses;
  for (int i = 0; i < 8; ++i) {
    FetchResult r = world.PostToken(world.ValidForm(world.Assertion()));
    statuses.push_back(r.status);
    if (r.status == 503) ExpectAadError(r, 503, "temporarily_unavailable", 90033);
  }
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 200, 503, 200, 200, 200, 503}));
  IdentityProviderCounters c = world.idp->counters();
  EXPECT_EQ(c.injected_server_errors, 2);
  EXPECT_EQ(c.requests, 8);
  EXPECT_EQ(c.successes, 6);
}

TEST(IdentityProviderTest, Transient700213ShareFailsValidExchangesOnly) {
  AzureWorld world;
  FaultInjection faults;
  faults.transient_700213_share = 0.5;
  world.idp->SetFaults(faults);
  int ok = 0, transient = 0;
  for (int i = 0; i < 6; ++i) {
    FetchResult r = world.PostToken(world.ValidForm(world.Assertion()));
    if (r.status == 200) ++ok;
    if (r.status == 401) {
      ExpectAadError(r, 401, "invalid_client", 700213);
      ++transient;
    }
  }
  // An invalid request is not drawn: it keeps its own error.
  ExpectAadError(world.PostToken(world.ValidForm(world.Assertion()), "nope"), 400,
                 "invalid_request", 90002);
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(transient, 3);
  EXPECT_EQ(world.idp->counters().injected_700213, 3);
}

TEST(IdentityProviderTest, LatencyDelaysTheAnswer) {
  AzureWorld world;
  FaultInjection faults;
  faults.latency = std::chrono::milliseconds(200);
  world.idp->SetFaults(faults);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(world.PostToken(world.ValidForm(world.Assertion())).status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
}

TEST(IdentityProviderTest, CountsRequestsSuccessesAndFailuresByCode) {
  AzureWorld world;
  world.PostToken(world.ValidForm(world.Assertion()));
  world.PostToken(world.ValidForm(world.Assertion()), "nope");
  world.PostToken(world.ValidForm(world.Assertion()), "nope");
  world.PostToken(world.ValidForm("x"));
  IdentityProviderCounters c = world.idp->counters();
  EXPECT_EQ(c.requests, 4);
  EXPECT_EQ(c.successes, 1);
  EXPECT_EQ(c.failures, 3);
  EXPECT_EQ(c.failures_by_code[90002], 2);
  EXPECT_EQ(c.failures_by_code[50027], 1);
}

TEST(IdentityProviderTest, ErrorBodiesNeverEchoTheAssertion) {
  AzureWorld world;
  ServiceAccountTokenRequest request = world.DefaultRequest();
  request.audiences = {"api://SomethingElse"};
  std::string assertion = world.issuer->IssueServiceAccountToken(request).value();
  FetchResult r = world.PostToken(world.ValidForm(assertion));
  EXPECT_EQ(r.status, 400);
  EXPECT_FALSE(ContainsSecret(r.body, assertion));
}

TEST(AadTimestampTest, UsesEntraFormat) {
  EXPECT_EQ(AadTimestamp(FromUnixSeconds(1'700'000'000.5)), "2023-11-14 22:13:20Z");
}

}  // namespace
}  // namespace ebb::testing::azure
