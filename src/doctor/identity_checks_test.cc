// identity.* checks against the OIDC issuer and identity provider emulators.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "auth/token_cache.h"
#include "doctor/doctor.h"
#include "doctor/test_util.h"
#include "http/curl_http_client.h"
#include "testing/azure/test_support.h"

namespace ebb::doctor {
namespace {

using ::testing::HasSubstr;
namespace az = ebb::testing::azure;

constexpr char kOtherUuid[] = "99999999-8888-7777-6666-555555555555";

class IdentityChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = dir_.path() + "/azure-identity-token";
    ca_file_ = dir_.Write("ca.crt", world_.ca_pem());
    env_ = {{"AZURE_CLIENT_ID", az::kClientId},
            {"AZURE_TENANT_ID", az::kTenant},
            {"AZURE_AUTHORITY_HOST", world_.idp->authority_url()},
            {"AZURE_FEDERATED_TOKEN_FILE", token_file_}};
  }

  void WriteToken(az::ServiceAccountTokenRequest request) {
    ASSERT_TRUE(world_.issuer->WriteTokenFile(token_file_, request).ok());
  }
  void WriteToken() { WriteToken(world_.DefaultRequest()); }

  // Runs every check; the query endpoint refuses connections, so only the
  // checks up to identity.token-exchange matter here.
  Report Run(bool offline = false) {
    set_ = testutil::Manifests(
        testutil::ScaledObjectYaml("https://127.0.0.1:1", "up", "10", "azure-wi") + "---\n" +
        testutil::WorkloadIdentityAuthYaml());
    http::CurlHttpClientOptions options;
    options.default_ca_file = ca_file_;
    http::CurlHttpClient client(options);
    DoctorContext ctx;
    ctx.env = env_;
    ctx.clock = &RealClock::Instance();
    ctx.client = &client;
    ctx.token_cache = std::make_shared<auth::TokenCache>(RealClock::Instance());
    ctx.offline = offline;
    ctx.connect_timeout = std::chrono::milliseconds(2000);
    Report report = RunDoctor(set_, ctx, {});
    std::ostringstream out;
    report.RenderText(out, {.color = false});
    report.RenderJson(out);
    output_ = out.str();
    std::vector<std::string> secrets;
    std::ifstream in(token_file_);
    std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!token.empty()) secrets.push_back(token);
    testutil::ExpectNoSecrets(output_, secrets);
    return report;
  }

  // The check `id` failed, and every check before it passed.
  CheckResult ExpectFailsAt(const Report& r, const std::string& id) {
    const CheckResult* failed = nullptr;
    for (const CheckResult& c : r.checks()) {
      if (c.id == id) {
        failed = &c;
        break;
      }
      EXPECT_TRUE(c.status == CheckResult::kPass || c.id == "cluster.workload-identity")
          << c.id << " " << StatusName(c.status) << ": " << c.detail << "\n"
          << output_;
    }
    EXPECT_NE(failed, nullptr) << output_;
    if (failed == nullptr) return {};
    EXPECT_EQ(failed->status, CheckResult::kFail) << output_;
    return *failed;
  }

  az::AzureWorld world_;
  testutil::TempDir dir_;
  std::string token_file_, ca_file_;
  std::map<std::string, std::string> env_;
  api::ManifestSet set_;
  std::string output_;
};

TEST_F(IdentityChecksTest, MissingVariablesNameThePodLabel) {
  env_.clear();
  CheckResult c = ExpectFailsAt(Run(true), "identity.env");
  EXPECT_THAT(c.detail, HasSubstr("AZURE_CLIENT_ID"));
  EXPECT_THAT(c.detail, HasSubstr("AZURE_TENANT_ID"));
  EXPECT_THAT(c.detail, HasSubstr("AZURE_FEDERATED_TOKEN_FILE"));
  EXPECT_THAT(c.fix, HasSubstr("azure.workload.identity/use: \"true\""));
}

TEST_F(IdentityChecksTest, ClientIdMustBeAUuid) {
  env_["AZURE_CLIENT_ID"] = "my-identity";
  CheckResult c = ExpectFailsAt(Run(true), "identity.env");
  EXPECT_THAT(c.detail, HasSubstr("AZURE_CLIENT_ID \"my-identity\" is not a UUID"));
}

TEST_F(IdentityChecksTest, AuthorityMustBeHttps) {
  env_["AZURE_AUTHORITY_HOST"] = "http://login.example/";
  ExpectFailsAt(Run(true), "identity.env");
}

TEST_F(IdentityChecksTest, AuthorityWithoutTrailingSlashIsHandled) {
  WriteToken();
  std::string authority = world_.idp->authority_url();
  env_["AZURE_AUTHORITY_HOST"] = authority.substr(0, authority.size() - 1);
  Report r = Run(true);
  const CheckResult* c = r.Find("identity.env");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, CheckResult::kPass) << output_;
  EXPECT_THAT(c->detail, HasSubstr("no trailing slash: ebb adds it"));
}

TEST_F(IdentityChecksTest, UnreadableTokenFile) {
  CheckResult c = ExpectFailsAt(Run(true), "identity.token-file");
  EXPECT_THAT(c.detail, HasSubstr(token_file_));
}

TEST_F(IdentityChecksTest, NotAJwt) {
  dir_.Write("azure-identity-token", "hello");
  CheckResult c = ExpectFailsAt(Run(true), "identity.token-claims");
  EXPECT_THAT(c.detail, HasSubstr("does not hold a JWT"));
}

TEST_F(IdentityChecksTest, ExpiredServiceAccountTokenIs700024) {
  az::ServiceAccountTokenRequest req = world_.DefaultRequest();
  req.issued_at = world_.clock.Now() - std::chrono::hours(3);
  req.expires_at = world_.clock.Now() - std::chrono::hours(2);
  WriteToken(req);
  CheckResult c = ExpectFailsAt(Run(true), "identity.token-claims");
  EXPECT_THAT(c.detail, HasSubstr("expired at"));
  EXPECT_THAT(c.detail, HasSubstr("AADSTS700024"));
  EXPECT_THAT(c.fix, HasSubstr("restart the pod"));
}

TEST_F(IdentityChecksTest, WrongAudienceOfTheServiceAccountToken) {
  az::ServiceAccountTokenRequest req = world_.DefaultRequest();
  req.audiences = {"https://kubernetes.default.svc"};
  WriteToken(req);
  CheckResult c = ExpectFailsAt(Run(true), "identity.token-claims");
  EXPECT_THAT(c.detail, HasSubstr("not api://AzureADTokenExchange"));
}

TEST_F(IdentityChecksTest, ClaimsPrintTheIssuerAndRotation) {
  WriteToken();
  Report r = Run(true);
  const CheckResult* c = r.Find("identity.token-claims");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, CheckResult::kPass) << output_;
  EXPECT_THAT(c->detail, HasSubstr("issuer \"" + world_.issuer->issuer_url() + "\""));
  EXPECT_THAT(c->detail, HasSubstr("subject \"system:serviceaccount:keda:ebb\""));
  EXPECT_THAT(c->detail, HasSubstr("kubelet rotates it in 47m"));
  EXPECT_EQ(r.Find("identity.token-exchange")->detail, "skipped: --offline");
  EXPECT_EQ(r.Find("cluster.workload-identity")->status, CheckResult::kSkip);
}

TEST_F(IdentityChecksTest, ExchangeSucceeds) {
  WriteToken();
  Report r = Run();
  const CheckResult* c = r.Find("identity.token-exchange");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, CheckResult::kPass) << output_;
  EXPECT_THAT(c->detail, HasSubstr("audience \"https://prometheus.monitor.azure.com\""));
  EXPECT_THAT(c->detail, HasSubstr(std::string("tenant ") + az::kTenant));
  EXPECT_THAT(c->detail, HasSubstr("valid for 59m"));
}

TEST_F(IdentityChecksTest, WrongSubjectIs700213) {
  az::ServiceAccountTokenRequest req = world_.DefaultRequest();
  req.service_account = "other";
  WriteToken(req);
  CheckResult c = ExpectFailsAt(Run(), "identity.token-exchange");
  EXPECT_THAT(c.detail, HasSubstr("AADSTS700213"));
  EXPECT_THAT(c.detail, HasSubstr("system:serviceaccount:keda:other"));
}

TEST_F(IdentityChecksTest, WrongIssuerIs700211) {
  az::ServiceAccountTokenRequest req = world_.DefaultRequest();
  req.issuer = world_.issuer->issuer_url() + "/";
  WriteToken(req);
  CheckResult c = ExpectFailsAt(Run(), "identity.token-exchange");
  EXPECT_THAT(c.detail, HasSubstr("AADSTS700211"));
  EXPECT_THAT(c.fix, HasSubstr("register the issuer"));
}

TEST_F(IdentityChecksTest, AudienceMismatchIs70021NamingAllThree) {
  az::Application app;
  app.client_id = kOtherUuid;
  app.tenant_id = az::kTenant;
  world_.registry.AddApplication(app);
  az::FederatedCredential cred;
  cred.name = "other-audience";
  cred.issuer = world_.issuer->issuer_url();
  cred.subject = "system:serviceaccount:keda:ebb";
  cred.audiences = {"api://SomethingElse"};
  ASSERT_TRUE(world_.registry.AddFederatedCredential(kOtherUuid, cred).ok());
  env_["AZURE_CLIENT_ID"] = kOtherUuid;
  WriteToken();
  CheckResult c = ExpectFailsAt(Run(), "identity.token-exchange");
  EXPECT_THAT(c.detail, HasSubstr("AADSTS70021"));
  EXPECT_THAT(c.detail, HasSubstr("issuer \"" + world_.issuer->issuer_url() + "\""));
  EXPECT_THAT(c.detail, HasSubstr("subject \"system:serviceaccount:keda:ebb\""));
  EXPECT_THAT(c.detail, HasSubstr("audience \"api://AzureADTokenExchange\""));
  EXPECT_THAT(c.fix, HasSubstr("add a federated credential"));
}

TEST_F(IdentityChecksTest, UnknownClientIdIs700016) {
  env_["AZURE_CLIENT_ID"] = kOtherUuid;
  WriteToken();
  CheckResult c = ExpectFailsAt(Run(), "identity.token-exchange");
  EXPECT_THAT(c.detail, HasSubstr("AADSTS700016"));
  EXPECT_THAT(c.fix, HasSubstr("client id"));
}

TEST_F(IdentityChecksTest, UnknownTenantIs90002) {
  env_["AZURE_TENANT_ID"] = kOtherUuid;
  WriteToken();
  CheckResult c = ExpectFailsAt(Run(), "identity.token-exchange");
  EXPECT_THAT(c.detail, HasSubstr("AADSTS90002"));
}

TEST_F(IdentityChecksTest, StaleAssertionAtTheExchangeIs700024) {
  WriteToken();
  // Entra ID's clock is two hours ahead of doctor's: the token it receives
  // has expired although it looks valid here.
  world_.clock.Advance(std::chrono::hours(2));
  CheckResult c = ExpectFailsAt(Run(), "identity.token-exchange");
  EXPECT_THAT(c.detail, HasSubstr("AADSTS700024"));
}

}  // namespace
}  // namespace ebb::doctor
