#include "auth/authorizer_factory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/strings.h"
#include "http/testing/fake_http_client.h"
#include "testing/pki/test_pki.h"

namespace ebb::auth {
namespace {

using ::testing::HasSubstr;

constexpr char kToken[] = "tok-5be1d0a7";

api::TriggerAuthentication Ta(std::optional<api::PodIdentity> pod_identity = std::nullopt) {
  api::TriggerAuthentication ta;
  ta.metadata.name = "prom-auth";
  ta.metadata.namespace_name = "ns";
  ta.spec.pod_identity = std::move(pod_identity);
  return ta;
}

http::HttpRequest RequestSent(Authorizer& a, std::string url = "http://prom:9090/api/v1/query?query=up") {
  http::FakeHttpClient fake([](const http::HttpRequest&) -> Result<http::HttpResponse> {
    http::HttpResponse r;
    r.status = 200;
    return r;
  });
  http::HttpRequest req;
  req.url = std::move(url);
  a.Send(fake, std::move(req), [](Result<http::HttpResponse>) {});
  return fake.requests().at(0);
}

AuthorizerContext Context(const Clock& clock) {
  AuthorizerContext ctx;
  ctx.clock = &clock;
  ctx.token_cache = std::make_shared<TokenCache>(clock);
  return ctx;
}

TEST(BuildAuthorizer, NoRefNoModesSendsNoCredentials) {
  SimulatedClock clock;
  auto a = BuildAuthorizer({}, Context(clock));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)->Describe(), "no credentials");
  EXPECT_TRUE(RequestSent(**a).headers.empty());
}

TEST(BuildAuthorizer, ModesWithoutRefFailBeforeSending) {
  SimulatedClock clock;
  TriggerAuthInput in;
  in.auth_modes = {"bearer"};
  auto a = BuildAuthorizer(in, Context(clock));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(a.status().message(), HasSubstr("metadata.authModes: \"bearer\""));
  EXPECT_THAT(a.status().message(), HasSubstr("authenticationRef"));
}

TEST(BuildAuthorizer, RefWithMetadataModes) {
  SimulatedClock clock;
  api::TriggerAuthentication ta = Ta();
  TriggerAuthInput in{{"bearer"}, &ta, {{"bearerToken", SecretString(kToken)}}, "", ""};
  auto a = BuildAuthorizer(in, Context(clock));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto h = RequestSent(**a).headers;
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].value, std::string("Bearer ") + kToken);
}

TEST(BuildAuthorizer, ModesFromTheTriggerAuthenticationAsKedaAllows) {
  SimulatedClock clock;
  api::TriggerAuthentication ta = Ta();
  TriggerAuthInput in{{}, &ta,
                      {{"authModes", SecretString("custom")},
                       {"customAuthHeader", SecretString("X-Key")},
                       {"customAuthValue", SecretString(kToken)}},
                      "", ""};
  auto a = BuildAuthorizer(in, Context(clock));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto h = RequestSent(**a).headers;
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].name, "X-Key");
  in.params["authModes"] = SecretString("ntlm");
  auto bad = BuildAuthorizer(in, Context(clock));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("parameter authModes"));
}

TEST(BuildAuthorizer, RefWithCredentialButNoModesIsAnErrorNotASilentDrop) {
  SimulatedClock clock;
  api::TriggerAuthentication ta = Ta();
  TriggerAuthInput in{{}, &ta, {{"bearerToken", SecretString(kToken)}}, "", ""};
  auto a = BuildAuthorizer(in, Context(clock));
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("authModes: \"bearer\""));
  EXPECT_THAT(a.status().message(), HasSubstr("TriggerAuthentication ns/prom-auth"));
  EXPECT_FALSE(ContainsSecret(a.status().ToString(), kToken));
}

TEST(BuildAuthorizer, EmptyTriggerAuthenticationIsAnError) {
  SimulatedClock clock;
  api::TriggerAuthentication ta = Ta();
  TriggerAuthInput in{{}, &ta, {}, "", ""};
  auto a = BuildAuthorizer(in, Context(clock));
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("provides no credentials"));
}

TEST(BuildAuthorizer, MissingParameterIsNamed) {
  SimulatedClock clock;
  api::TriggerAuthentication ta = Ta();
  TriggerAuthInput in{{"basic"}, &ta, {{"password", SecretString(kToken)}}, "", ""};
  auto a = BuildAuthorizer(in, Context(clock));
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("\"username\""));
  EXPECT_FALSE(ContainsSecret(a.status().ToString(), kToken));
}

TEST(BuildAuthorizer, TlsWithCaAndBasic) {
  SimulatedClock clock;
  auto ca = ebb::testing::TestCa::Create();
  ASSERT_TRUE(ca.ok());
  auto client = ca->IssueClient("ebb-client");
  ASSERT_TRUE(client.ok());
  api::TriggerAuthentication ta = Ta();
  TriggerAuthInput in{{"tls", "basic"}, &ta,
                      {{"cert", SecretString(client->cert_pem)},
                       {"key", SecretString(client->key_pem)},
                       {"ca", SecretString(ca->cert_pem())},
                       {"username", SecretString("svc")},
                       {"password", SecretString(kToken)}},
                      "", ""};
  auto a = BuildAuthorizer(in, Context(clock));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  http::HttpRequest r = RequestSent(**a, "https://prom:9090/api/v1/query?query=up");
  EXPECT_EQ(r.tls.client_cert_pem, client->cert_pem);
  EXPECT_EQ(r.tls.ca_pem, ca->cert_pem());
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].value, "Basic " + Base64Encode(std::string("svc:") + kToken));
}

TEST(BuildAuthorizer, PodIdentityExcludesAuthModes) {
  SimulatedClock clock;
  api::PodIdentity id;
  id.provider = "azure-workload";
  api::TriggerAuthentication ta = Ta(id);
  TriggerAuthInput in{{"basic"}, &ta, {}, "", ""};
  auto a = BuildAuthorizer(in, Context(clock));
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("cannot be combined"));
}

TEST(BuildAuthorizer, AzureWorkloadIdentityNeedsItsVariables) {
  SimulatedClock clock;
  api::PodIdentity id;
  id.provider = "azure-workload";
  api::TriggerAuthentication ta = Ta(id);
  TriggerAuthInput in{{}, &ta, {}, "", ""};
  auto a = BuildAuthorizer(in, Context(clock));  // empty environment
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("AZURE_CLIENT_ID"));
  EXPECT_THAT(a.status().message(), HasSubstr("TriggerAuthentication ns/prom-auth"));
}

TEST(BuildAuthorizer, AzureWorkloadIdentityGivesATokenAuthorizer) {
  SimulatedClock clock;
  api::PodIdentity id;
  id.provider = "azure-workload";
  api::TriggerAuthentication ta = Ta(id);
  TriggerAuthInput in{{}, &ta, {}, "", ""};
  AuthorizerContext ctx = Context(clock);
  ctx.azure_env = {{"AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001"},
                   {"AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000002"},
                   {"AZURE_FEDERATED_TOKEN_FILE", "/nonexistent/token"},
                   {"AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/"}};
  auto a = BuildAuthorizer(in, ctx);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_THAT((*a)->Describe(), HasSubstr("Azure Workload Identity"));
  EXPECT_THAT((*a)->IdentityKey(), HasSubstr("00000000-0000-0000-0000-000000000001"));
}

AuthorizerContext WorkloadContext(const Clock& clock) {
  AuthorizerContext ctx = Context(clock);
  ctx.azure_env = {{"AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001"},
                   {"AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000002"},
                   {"AZURE_FEDERATED_TOKEN_FILE", "/nonexistent/token"}};
  return ctx;
}

// Issue 13 (critical): a namespace tenant must not choose where the
// operator's service-account token is POSTed.
TEST(BuildAuthorizer, NamespacedAuthorityHostIsRefusedNotFollowed) {
  SimulatedClock clock;
  api::PodIdentity id;
  id.provider = "azure-workload";
  id.identity_authority_host = "https://attacker.example/";
  api::TriggerAuthentication ta = Ta(id);
  TriggerAuthInput in{{}, &ta, {}, "", ""};
  auto a = BuildAuthorizer(in, WorkloadContext(clock));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(a.status().message(), HasSubstr("TriggerAuthentication ns/prom-auth: "
                                              "spec.podIdentity.identityAuthorityHost"));
  EXPECT_THAT(a.status().message(), HasSubstr("ClusterTriggerAuthentication"));
  EXPECT_FALSE(CheckTenantRouting(ta).ok());
}

TEST(BuildAuthorizer, ClusterTriggerAuthenticationMayChooseTheAuthority) {
  SimulatedClock clock;
  api::PodIdentity id;
  id.provider = "azure-workload";
  id.identity_authority_host = "https://login.partner.example/";
  api::TriggerAuthentication ta = Ta(id);
  ta.cluster_scoped = true;
  ta.metadata.namespace_name = "";
  EXPECT_TRUE(CheckTenantRouting(ta).ok());
  TriggerAuthInput in{{}, &ta, {}, "", ""};
  auto a = BuildAuthorizer(in, WorkloadContext(clock));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_THAT((*a)->IdentityKey(), HasSubstr("https://login.partner.example/"));
}

// The token authorizer the factory builds sends only to the operator's
// allowed destinations: the Azure domains, plus --token-destination.
TEST(BuildAuthorizer, TokenDestinationsComeFromTheOperatorOnly) {
  SimulatedClock clock;
  api::PodIdentity id;
  id.provider = "azure-workload";
  api::TriggerAuthentication ta = Ta(id);
  TriggerAuthInput in{{}, &ta, {}, "", ""};
  for (bool allowed : {false, true}) {
    AuthorizerContext ctx = WorkloadContext(clock);
    if (allowed) ctx.token_destinations = {"prom.corp.example"};
    auto a = BuildAuthorizer(in, ctx);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    http::FakeHttpClient fake([](const http::HttpRequest&) -> Result<http::HttpResponse> {
      return Unavailable("no token endpoint here");
    });
    http::HttpRequest req;
    req.url = "https://prom.corp.example/api/v1/query?query=up";
    std::optional<Result<http::HttpResponse>> got;
    (*a)->Send(fake, req, [&](Result<http::HttpResponse> r) { got = std::move(r); });
    ASSERT_TRUE(got.has_value());
    ASSERT_FALSE(got->ok());
    if (allowed) {
      // Allowed: it went on to read the (absent) token file; nothing reached the server.
      EXPECT_THAT(got->status().message(), HasSubstr("/nonexistent/token"));
    } else {
      EXPECT_THAT(got->status().message(), HasSubstr("--token-destination prom.corp.example"));
      EXPECT_TRUE(fake.requests().empty());
    }
  }
}

TEST(BuildAuthorizer, UnsupportedProvidersSayWhatIsSupported) {
  SimulatedClock clock;
  api::PodIdentity id;
  id.provider = "azure";  // KEDA's deprecated AAD Pod Identity
  api::TriggerAuthentication ta = Ta(id);
  TriggerAuthInput in{{}, &ta, {}, "", ""};
  auto a = BuildAuthorizer(in, Context(clock));
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("not supported by ebb yet"));
}

}  // namespace
}  // namespace ebb::auth
