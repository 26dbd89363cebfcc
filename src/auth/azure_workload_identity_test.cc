#include "auth/azure_workload_identity.h"

#include <gtest/gtest.h>

#include "auth/token_test_util.h"
#include "http/testing/fake_http_client.h"

namespace ebb::auth {
namespace {

using http::FakeHttpClient;
using http::HttpRequest;
using http::HttpResponse;
using testing::TempDir;

constexpr char kClient[] = "11111111-2222-3333-4444-555555555555";
constexpr char kTenant[] = "66666666-7777-8888-9999-000000000000";

Environment WebhookEnv(const std::string& token_file) {
  return {{"AZURE_CLIENT_ID", kClient},
          {"AZURE_TENANT_ID", kTenant},
          {"AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/"},
          {"AZURE_FEDERATED_TOKEN_FILE", token_file}};
}

api::PodIdentity Workload() {
  api::PodIdentity id;
  id.provider = "azure-workload";
  return id;
}

AzureIdentityOptions Cloud(const std::string& cloud, const std::string& private_url = "") {
  AzureIdentityOptions o;
  o.cloud = cloud;
  o.private_resource_url = private_url;
  return o;
}

AzureIdentityOptions AllowHttp() {
  AzureIdentityOptions o;
  o.allow_insecure_authority = true;
  return o;
}

TEST(ResolveAzureWorkloadConfigTest, FromWebhookEnvironment) {
  Result<AzureWorkloadIdentityConfig> c = ResolveAzureWorkloadConfig(Workload(), WebhookEnv("/t"), {});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->client_id, kClient);
  EXPECT_EQ(c->tenant_id, kTenant);
  EXPECT_EQ(c->authority_host, "https://login.microsoftonline.com/");
  EXPECT_EQ(c->token_file, "/t");
  EXPECT_EQ(c->scope, "https://prometheus.monitor.azure.com/.default");
  EXPECT_EQ(c->TokenUrl(), std::string("https://login.microsoftonline.com/") + kTenant + "/oauth2/v2.0/token");
}

TEST(ResolveAzureWorkloadConfigTest, TriggerAuthenticationOverridesWin) {
  api::PodIdentity id = Workload();
  id.identity_id = "override-client";
  id.identity_tenant_id = "contoso.onmicrosoft.com";
  id.identity_authority_host = "https://login.microsoftonline.us";  // no trailing slash
  Result<AzureWorkloadIdentityConfig> c =
      ResolveAzureWorkloadConfig(id, WebhookEnv("/t"), Cloud("AzureUSGovernmentCloud"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->client_id, "override-client");
  EXPECT_EQ(c->tenant_id, "contoso.onmicrosoft.com");
  EXPECT_EQ(c->authority_host, "https://login.microsoftonline.us/");
  EXPECT_EQ(c->scope, "https://prometheus.monitor.azure.us/.default");
}

TEST(ResolveAzureWorkloadConfigTest, AuthorityDefaultsToTheCloudsWhenUnset) {
  Environment env = WebhookEnv("/t");
  env.erase("AZURE_AUTHORITY_HOST");
  EXPECT_EQ(ResolveAzureWorkloadConfig(Workload(), env, {})->authority_host, "https://login.microsoftonline.com/");
  EXPECT_EQ(ResolveAzureWorkloadConfig(Workload(), env, Cloud("AzureChinaCloud"))->authority_host,
            "https://login.chinacloudapi.cn/");
  Result<AzureWorkloadIdentityConfig> priv =
      ResolveAzureWorkloadConfig(Workload(), env, Cloud("Private", "https://p.example"));
  ASSERT_FALSE(priv.ok());
  EXPECT_NE(priv.status().message().find("identityAuthorityHost"), std::string::npos);
}

TEST(ResolveAzureWorkloadConfigTest, MissingVariablesAreNamedWithTheFix) {
  Result<AzureWorkloadIdentityConfig> c = ResolveAzureWorkloadConfig(Workload(), {}, {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidConfig);
  std::string m = c.status().message();
  for (const char* want : {"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE",
                           "azure.workload.identity/use: \"true\"", "restart"}) {
    EXPECT_NE(m.find(want), std::string::npos) << want << "\n" << m;
  }
  Environment only_file = {{"AZURE_FEDERATED_TOKEN_FILE", "/t"}};
  api::PodIdentity id = Workload();
  id.identity_id = "c";
  Result<AzureWorkloadIdentityConfig> tenant_missing = ResolveAzureWorkloadConfig(id, only_file, {});
  ASSERT_FALSE(tenant_missing.ok());
  EXPECT_NE(tenant_missing.status().message().find("AZURE_TENANT_ID is not set"), std::string::npos);
  EXPECT_TRUE(StartsWith(tenant_missing.status().message(), "Azure Workload Identity: AZURE_TENANT_ID is not set"));
}

TEST(ResolveAzureWorkloadConfigTest, HttpAuthorityRefusedUnlessAllowed) {
  Environment env = WebhookEnv("/t");
  env["AZURE_AUTHORITY_HOST"] = "http://127.0.0.1:8080/";
  Result<AzureWorkloadIdentityConfig> refused = ResolveAzureWorkloadConfig(Workload(), env, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(refused.status().message().find("https"), std::string::npos);
  Result<AzureWorkloadIdentityConfig> allowed =
      ResolveAzureWorkloadConfig(Workload(), env, AllowHttp());
  ASSERT_TRUE(allowed.ok()) << allowed.status().ToString();
  EXPECT_EQ(allowed->authority_host, "http://127.0.0.1:8080/");
}

TEST(ResolveAzureWorkloadConfigTest, RejectsBadTenantsAndAuthorities) {
  api::PodIdentity id = Workload();
  id.identity_tenant_id = "../evil";
  EXPECT_FALSE(ResolveAzureWorkloadConfig(id, WebhookEnv("/t"), {}).ok());
  Environment env = WebhookEnv("/t");
  env["AZURE_AUTHORITY_HOST"] = "login.microsoftonline.com";
  EXPECT_FALSE(ResolveAzureWorkloadConfig(Workload(), env, {}).ok());
  env["AZURE_AUTHORITY_HOST"] = "https://login.microsoftonline.com/?x=1";
  EXPECT_FALSE(ResolveAzureWorkloadConfig(Workload(), env, {}).ok());
  EXPECT_FALSE(ResolveAzureWorkloadConfig(Workload(), WebhookEnv("/t"), Cloud("Mars")).ok());
}

TEST(AzureEnvironmentFromProcessTest, ReadsOnlyTheAzureVariablesThatAreSet) {
  ::setenv("AZURE_CLIENT_ID", "from-process", 1);
  ::setenv("AZURE_TENANT_ID", "", 1);
  Environment env = AzureEnvironmentFromProcess();
  ::unsetenv("AZURE_CLIENT_ID");
  ::unsetenv("AZURE_TENANT_ID");
  EXPECT_EQ(env["AZURE_CLIENT_ID"], "from-process");
  EXPECT_EQ(env.count("AZURE_TENANT_ID"), 0u);
  EXPECT_EQ(env.count("PATH"), 0u);
}

TEST(ReadFederatedTokenFileTest, MissingEmptyAndTrimmed) {
  TempDir dir;
  Result<SecretString> missing = ReadFederatedTokenFile(dir.path() + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(missing.status().message().find(dir.path() + "/nope"), std::string::npos);
  EXPECT_NE(missing.status().message().find("No such file"), std::string::npos);
  Result<SecretString> empty = ReadFederatedTokenFile(dir.Write("empty", "\n"));
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("empty"), std::string::npos);
  Result<SecretString> directory = ReadFederatedTokenFile(dir.path());
  EXPECT_FALSE(directory.ok());
  Result<SecretString> ok = ReadFederatedTokenFile(dir.Write("t", "  abc.def.ghi\n"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->Reveal(), "abc.def.ghi");
}

class WorkloadSourceTest : public ::testing::Test {
 protected:
  WorkloadSourceTest() : token_file_(dir_.Write("azure-identity-token", assertion_ + "\n")) {}

  AzureWorkloadIdentitySource MakeSource(Environment env = {}) {
    if (env.empty()) env = WebhookEnv(token_file_);
    return AzureWorkloadIdentitySource(ResolveAzureWorkloadConfig(Workload(), env, {}).value(), clock_);
  }
  Result<AccessToken> FetchWith(AzureWorkloadIdentitySource& source, FakeHttpClient& client) {
    std::optional<Result<AccessToken>> got;
    source.Fetch(client, [&](Result<AccessToken> r) { got = std::move(r); });
    EXPECT_TRUE(got.has_value());
    return got.value_or(Result<AccessToken>(Internal("no answer")));
  }

  TempDir dir_;
  std::string assertion_ = testing::ServiceAccountJwt("first");
  std::string token_file_;
  SimulatedClock clock_;
};

TEST_F(WorkloadSourceTest, SendsExactlyTheExchangeOfTheFacts) {
  std::string access = testing::AccessJwt();
  FakeHttpClient client([&](const HttpRequest&) { return testing::TokenAnswer(access); });
  AzureWorkloadIdentitySource source = MakeSource();
  Result<AccessToken> t = FetchWith(source, client);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->token.Reveal(), access);
  EXPECT_EQ(t->expires_on, clock_.Now() + std::chrono::seconds(3599));
  EXPECT_EQ(t->audience, "https://prometheus.monitor.azure.com");

  std::vector<HttpRequest> requests = client.requests();  // a copy
  ASSERT_EQ(requests.size(), 1u);
  const HttpRequest& req = requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, std::string("https://login.microsoftonline.com/") + kTenant + "/oauth2/v2.0/token");
  ASSERT_FALSE(req.headers.empty());
  EXPECT_EQ(req.headers[0].name, "Content-Type");
  EXPECT_EQ(req.headers[0].value, "application/x-www-form-urlencoded");
  EXPECT_TRUE(req.sensitive_body);
  auto form = testing::ParseForm(req.body);
  EXPECT_EQ(form, (std::vector<std::pair<std::string, std::string>>{
                      {"grant_type", "client_credentials"},
                      {"client_id", kClient},
                      {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
                      {"client_assertion", assertion_},
                      {"scope", "https://prometheus.monitor.azure.com/.default"}}));
  // RFC 3986 encoding on the wire: ':' and '/' of the scope and assertion type are escaped.
  EXPECT_NE(req.body.find("scope=https%3A%2F%2Fprometheus.monitor.azure.com%2F.default"), std::string::npos);
  EXPECT_NE(req.body.find("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"),
            std::string::npos);
  // A token answer is a few KiB; a larger one is refused by the client
  // instead of being buffered (docs/reliability.md).
  EXPECT_EQ(req.max_response_bytes, kMaxTokenAnswerBytes);
}

TEST_F(WorkloadSourceTest, ReReadsTheTokenFileForEveryExchange) {
  FakeHttpClient client([&](const HttpRequest&) { return testing::TokenAnswer(testing::AccessJwt()); });
  AzureWorkloadIdentitySource source = MakeSource();
  ASSERT_TRUE(FetchWith(source, client).ok());
  std::string rotated = testing::ServiceAccountJwt("rotated");
  dir_.Write("azure-identity-token", rotated);
  ASSERT_TRUE(FetchWith(source, client).ok());
  ASSERT_EQ(client.requests().size(), 2u);
  EXPECT_EQ(testing::ParseForm(client.requests()[0].body)[3].second, assertion_);
  EXPECT_EQ(testing::ParseForm(client.requests()[1].body)[3].second, rotated);
}

TEST_F(WorkloadSourceTest, MissingOrEmptyTokenFileSendsNothing) {
  FakeHttpClient client([&](const HttpRequest&) { return testing::TokenAnswer("x"); });
  AzureWorkloadIdentitySource missing = MakeSource(WebhookEnv(dir_.path() + "/absent"));
  Result<AccessToken> m = FetchWith(missing, client);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find(dir_.path() + "/absent"), std::string::npos);
  AzureWorkloadIdentitySource empty = MakeSource(WebhookEnv(dir_.Write("empty", "")));
  EXPECT_FALSE(FetchWith(empty, client).ok());
  EXPECT_TRUE(client.requests().empty());
}

TEST_F(WorkloadSourceTest, HandBuiltHttpAuthorityIsRefusedAtFetch) {
  FakeHttpClient client([&](const HttpRequest&) { return testing::TokenAnswer("x"); });
  AzureWorkloadIdentityConfig c = ResolveAzureWorkloadConfig(Workload(), WebhookEnv(token_file_), {}).value();
  c.authority_host = "http://login.example/";
  AzureWorkloadIdentitySource source(c, clock_);
  Result<AccessToken> t = FetchWith(source, client);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidConfig);
  EXPECT_TRUE(client.requests().empty());
}

TEST_F(WorkloadSourceTest, ErrorAnswerIsMappedAndNamesTheAssertionClaims) {
  std::string body = testing::AadErrorBody("invalid_request", 70021, "No matching federated identity record found for presented assertion.");
  FakeHttpClient client([&](const HttpRequest&) { return testing::Json(400, body); });
  AzureWorkloadIdentitySource source = MakeSource();
  Result<AccessToken> t = FetchWith(source, client);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidConfig);
  std::string m = t.status().message();
  EXPECT_NE(m.find("system:serviceaccount:keda:ebb-operator"), std::string::npos) << m;
  EXPECT_NE(m.find("https://oidc.prod-aks.azure.com/tenant-guid/"), std::string::npos);
  EXPECT_FALSE(ContainsSecret(m, assertion_));
  EXPECT_FALSE(ContainsSecret(m, body));
}

TEST_F(WorkloadSourceTest, TransportFailureKeepsItsCode) {
  FakeHttpClient client([&](const HttpRequest&) -> Result<HttpResponse> { return DeadlineExceeded("timed out"); });
  AzureWorkloadIdentitySource source = MakeSource();
  Result<AccessToken> t = FetchWith(source, client);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(t.status().message().find("login.microsoftonline.com"), std::string::npos);
}

TEST_F(WorkloadSourceTest, DescribeAndCacheKeyNameTheIdentity) {
  AzureWorkloadIdentitySource source = MakeSource();
  EXPECT_EQ(source.Describe(), std::string("Azure Workload Identity token (client id ") + kClient + ", tenant " +
                                   kTenant + ", scope https://prometheus.monitor.azure.com/.default)");
  EXPECT_EQ(source.CacheKey(), std::string("azure-workload|https://login.microsoftonline.com/|") + kTenant + "|" +
                                   kClient + "|https://prometheus.monitor.azure.com/.default");
}

}  // namespace
}  // namespace ebb::auth
