// The AWS emulators against facts/aws-gcp.md, probed over real HTTP(S):
// raw requests for what a broken client sends, and requests signed with
// ebb's SigV4 signer (held to AWS's vectors in src/auth) for what a correct
// one sends.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "auth/aws_sts.h"
#include "auth/sigv4.h"
#include "http/url.h"
#include "testing/aws/amp_front_door.h"
#include "testing/aws/metadata.h"
#include "testing/aws/sts.h"
#include "testing/azure/oidc_issuer.h"
#include "testing/azure/test_support.h"

namespace ebb::testing::aws {
namespace {

using ::testing::HasSubstr;

constexpr char kNs[] = "keda";
constexpr char kSa[] = "ebb";
constexpr char kUserKey[] = "AKIAEMULATEDUSER";
constexpr char kUserSecret[] = "user-secret-3c1d";

class AwsWorld {
 public:
  AwsWorld() : clock(RealClock::Instance().Now()), account(clock) {
    ca = std::make_unique<TestCa>(TestCa::Create().value());
    cert = ca->IssueServer({"localhost"}).value();
    azure::OidcIssuerOptions io;
    io.tls = cert;
    io.signing_key = azure::SharedIssuerKey();
    issuer = azure::OidcIssuer::Start(std::move(io), clock).value();
    account.AddOidcProvider(issuer->issuer_url(), issuer->signing_key().public_key_pem());
    account.AddRole({"ebb-amp", {{issuer->issuer_url(), Subject()}}, {}, ""});
    user_arn = account.AddUser("ci", kUserKey, kUserSecret);
    account.AddRole({"cross", {}, {user_arn}, "ext-7"});
    account.GrantQuery(account.RoleArn("ebb-amp"), "ws-ebb");
    upstream = azure::LoopbackServer::Start(std::nullopt, [this](httplib::Server& s) {
      s.Get("/api/v1/query", [this](const httplib::Request& req, httplib::Response& res) {
        last_upstream_query = req.get_param_value("query");
        res.set_content(R"({"status":"success","data":{"resultType":"vector","result":[]}})", "application/json");
      });
    }).value();
    sts = StsEmulator::Start(cert, account).value();
    amp = AmpFrontDoor::Start({cert, upstream->base_url(), "ws-ebb"}, account).value();
  }

  static std::string Subject() { return std::string("system:serviceaccount:") + kNs + ":" + kSa; }

  std::string Jwt(std::vector<std::string> aud = {kStsAudience}, std::string ns = kNs) const {
    azure::ServiceAccountTokenRequest r;
    r.ns = ns;
    r.service_account = kSa;
    r.audiences = std::move(aud);
    return issuer->IssueServiceAccountToken(r).value();
  }

  azure::FetchResult Post(const std::string& form, httplib::Headers headers = {}) const {
    azure::FetchOptions o;
    o.method = "POST";
    o.body = form;
    o.ca_pem = ca->cert_pem();
    o.headers = std::move(headers);
    return azure::HttpFetch(sts->base_url() + "/", o).value();
  }

  azure::FetchResult WebIdentity(const std::string& jwt, const std::string& role = "ebb-amp") const {
    return Post(http::BuildQuery({{"Action", "AssumeRoleWithWebIdentity"}, {"Version", "2011-06-15"},
                                  {"RoleArn", account.RoleArn(role)}, {"RoleSessionName", "s"},
                                  {"WebIdentityToken", jwt}}));
  }

  // Sends `r` (already signed or not) with its headers.
  azure::FetchResult Send(const http::HttpRequest& r) const {
    azure::FetchOptions o;
    o.method = r.method;
    o.body = r.body;
    o.ca_pem = ca->cert_pem();
    for (const http::Header& h : r.headers) {
      if (http::HeaderNameEquals(h.name, "Content-Type")) o.content_type = h.value;
      else o.headers.emplace(h.name, h.value);
    }
    return azure::HttpFetch(r.url, o).value();
  }

  auth::AwsCredentials RoleCredentials() {
    IssuedCredentials c = account.Issue(account.RoleArn("ebb-amp"), "s");
    return {c.access_key_id, SecretString(c.secret_access_key), SecretString(c.session_token)};
  }

  azure::FetchResult Query(const auth::AwsCredentials& creds, const std::string& promql, std::string region = "eu-west-1") {
    http::HttpRequest r;
    r.url = amp->workspace_url() + "/api/v1/query?" + http::BuildQuery({{"query", promql}});
    EXPECT_TRUE(auth::SignRequest(r, creds, {region, "aps"}, clock.Now()).ok());
    return Send(r);
  }

  SimulatedClock clock;
  AwsAccount account;
  std::unique_ptr<TestCa> ca;
  IssuedCert cert;
  std::unique_ptr<azure::OidcIssuer> issuer;
  std::unique_ptr<azure::LoopbackServer> upstream;
  std::unique_ptr<StsEmulator> sts;
  std::unique_ptr<AmpFrontDoor> amp;
  std::string user_arn;
  std::string last_upstream_query;
};

TEST(StsEmulatorTest, WebIdentityIssuesCredentialsEbbCanRead) {
  AwsWorld w;
  azure::FetchResult r = w.WebIdentity(w.Jwt());
  ASSERT_EQ(r.status, 200) << r.body;
  Result<auth::AccessToken> creds = auth::ParseStsCredentials(r.body, "AssumeRoleWithWebIdentity", w.clock.Now());
  ASSERT_TRUE(creds.ok()) << creds.status().ToString();
  EXPECT_EQ(creds->access_key_id.substr(0, 4), "ASIA");
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(creds->expires_on - w.clock.Now()).count() / 60, 59);
  EXPECT_THAT(r.body, HasSubstr("<SubjectFromWebIdentityToken>system:serviceaccount:keda:ebb<"));
  EXPECT_EQ(w.sts->counters().web_identity, 1);
}

TEST(StsEmulatorTest, TrustPolicyMismatchesAreAccessDeniedAndUnknownIssuerIsInvalidIdentityToken) {
  AwsWorld w;
  for (const azure::FetchResult& r : {w.WebIdentity(w.Jwt({"api://AzureADTokenExchange"})),  // wrong aud
                                      w.WebIdentity(w.Jwt({kStsAudience}, "default")),        // wrong sub
                                      w.WebIdentity(w.Jwt(), "no-such-role")}) {
    EXPECT_EQ(r.status, 403);
    auth::StsError e = auth::ParseStsError(r.status, r.body);
    EXPECT_EQ(e.code, "AccessDenied");
    EXPECT_EQ(e.message, "Not authorized to perform sts:AssumeRoleWithWebIdentity");
  }
  AwsAccount other(w.clock);  // an account without the OIDC provider
  auto sts = StsEmulator::Start(w.cert, other).value();
  azure::FetchOptions o;
  o.method = "POST";
  o.ca_pem = w.ca->cert_pem();
  o.body = http::BuildQuery({{"Action", "AssumeRoleWithWebIdentity"}, {"RoleArn", "arn:aws:iam::1:role/x"},
                             {"RoleSessionName", "s"}, {"WebIdentityToken", w.Jwt()}});
  azure::FetchResult r = azure::HttpFetch(sts->base_url() + "/", o).value();
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(auth::ParseStsError(400, r.body).code, "InvalidIdentityToken");
  EXPECT_THAT(r.body, HasSubstr("No OpenIDConnect provider found in your account for " + w.issuer->issuer_url()));
}

TEST(StsEmulatorTest, AssumeRoleNeedsASignatureATrustedPrincipalAndTheExternalId) {
  AwsWorld w;
  auto call = [&](const std::string& external_id, bool sign) {
    http::HttpRequest r = auth::AssumeRoleRequest(w.sts->base_url(), w.account.RoleArn("cross"), "s", external_id);
    if (sign) {
      auth::AwsCredentials user{kUserKey, SecretString(kUserSecret), {}};
      EXPECT_TRUE(auth::SignRequest(r, user, {"eu-west-1", "sts"}, w.clock.Now()).ok());
    }
    return w.Send(r);
  };
  EXPECT_EQ(call("ext-7", true).status, 200);
  azure::FetchResult wrong = call("ext-8", true);
  EXPECT_EQ(wrong.status, 403);
  EXPECT_THAT(wrong.body, HasSubstr("User: " + w.user_arn + " is not authorized to perform: sts:AssumeRole"));
  azure::FetchResult unsigned_call = call("ext-7", false);
  EXPECT_EQ(unsigned_call.status, 403);
  EXPECT_EQ(auth::ParseStsError(403, unsigned_call.body).code, "MissingAuthenticationTokenException");
}

TEST(AmpFrontDoorTest, SignedPromQlIsVerifiedAndProxiedExactly) {
  AwsWorld w;
  const std::string promql = "sum(rate(http_requests_total{job=\"api\",code=~\"5..\"}[2m])) * 100";
  azure::FetchResult r = w.Query(w.RoleCredentials(), promql);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(w.last_upstream_query, promql);
  EXPECT_EQ(w.amp->counters().proxied, 1);
  EXPECT_EQ(w.amp->counters().unsigned_requests, 0);
}

TEST(AmpFrontDoorTest, UnsignedRequestsAreCountedAndRefused) {
  AwsWorld w;
  http::HttpRequest r;
  r.url = w.amp->workspace_url() + "/api/v1/query?query=up";
  azure::FetchResult got = w.Send(r);
  EXPECT_EQ(got.status, 403);
  EXPECT_EQ(got.body, R"({"message":"Missing Authentication Token"})");
  EXPECT_EQ(w.amp->counters().unsigned_requests, 1);
  EXPECT_EQ(w.amp->counters().proxied, 0);
}

TEST(AmpFrontDoorTest, EachBrokenLinkGetsAwsAnswer) {
  AwsWorld w;
  auth::AwsCredentials good = w.RoleCredentials();
  // A query re-encoded after signing ('+' for space): the classic mismatch.
  http::HttpRequest tampered;
  tampered.url = w.amp->workspace_url() + "/api/v1/query?query=up";
  ASSERT_TRUE(auth::SignRequest(tampered, good, {"eu-west-1", "aps"}, w.clock.Now()).ok());
  tampered.url += "&x=a+b";
  EXPECT_THAT(w.Send(tampered).body, HasSubstr("The request signature we calculated does not match"));
  EXPECT_THAT(w.Query(good, "up", "us-east-1").body, HasSubstr("Credential should be scoped to a valid region. "));
  auth::AwsCredentials wrong_secret{good.access_key_id, SecretString("nope"), good.session_token};
  EXPECT_THAT(w.Query(wrong_secret, "up").body, HasSubstr("does not match the signature you provided"));
  // Not granted aps:QueryMetrics.
  w.account.AddRole({"other", {}, {}, ""});
  IssuedCredentials o = w.account.Issue(w.account.RoleArn("other"), "s");
  azure::FetchResult denied = w.Query({o.access_key_id, SecretString(o.secret_access_key), SecretString(o.session_token)}, "up");
  EXPECT_EQ(denied.status, 403);
  EXPECT_THAT(denied.body, HasSubstr("is not authorized to perform: aps:QueryMetrics on resource: arn:aws:aps:eu-west-1:111122223333:workspace/ws-ebb"));
  // Clock skew: signed six minutes ago.
  http::HttpRequest old;
  old.url = w.amp->workspace_url() + "/api/v1/query?query=up";
  ASSERT_TRUE(auth::SignRequest(old, good, {"eu-west-1", "aps"}, w.clock.Now() - std::chrono::minutes(6)).ok());
  EXPECT_THAT(w.Send(old).body, HasSubstr("Signature expired: "));
  // Expired session credentials.
  w.account.ExpireSessions();
  EXPECT_THAT(w.Query(good, "up").body, HasSubstr("The security token included in the request is expired"));
  EXPECT_EQ(w.amp->counters().proxied, 0);
}

TEST(PodIdentityAgentTest, ServesTheAssociatedRoleForAValidToken) {
  AwsWorld w;
  w.account.AddPodIdentityAssociation(kNs, kSa, "ebb-amp");
  auto agent = PodIdentityAgent::Start(w.account, w.issuer->signing_key().public_key_pem()).value();
  azure::FetchOptions o;
  o.headers = {{"Authorization", w.Jwt({kPodIdentityAudience})}};
  azure::FetchResult r = azure::HttpFetch(agent->credentials_url(), o).value();
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["AccountId"], "111122223333");
  EXPECT_EQ(j["AccessKeyId"].get<std::string>().substr(0, 4), "ASIA");
  o.headers = {{"Authorization", w.Jwt({kPodIdentityAudience}, "default")}};
  EXPECT_EQ(azure::HttpFetch(agent->credentials_url(), o)->status, 403);
  o.headers = {{"Authorization", w.Jwt({kStsAudience})}};
  EXPECT_EQ(azure::HttpFetch(agent->credentials_url(), o)->status, 401);
}

TEST(Ec2MetadataTest, Imdsv2SessionRoleAndCredentials) {
  AwsWorld w;
  auto imds = Ec2Metadata::Start(w.account).value();
  const std::string creds = imds->base_url() + "/latest/meta-data/iam/security-credentials/";
  EXPECT_EQ(azure::HttpFetch(creds)->status, 401);  // IMDSv1 style: refused
  azure::FetchOptions put;
  put.method = "PUT";
  put.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
  azure::FetchResult token = azure::HttpFetch(imds->base_url() + "/latest/api/token", put).value();
  ASSERT_EQ(token.status, 200);
  azure::FetchOptions get;
  get.headers = {{"X-aws-ec2-metadata-token", token.body}};
  EXPECT_EQ(azure::HttpFetch(creds, get)->status, 404);  // no instance profile yet
  w.account.SetInstanceProfileRole("ebb-amp");
  EXPECT_EQ(azure::HttpFetch(creds, get)->body, "ebb-amp");
  azure::FetchResult c = azure::HttpFetch(creds + "ebb-amp", get).value();
  ASSERT_EQ(c.status, 200);
  EXPECT_EQ(nlohmann::json::parse(c.body)["Code"], "Success");
}

}  // namespace
}  // namespace ebb::testing::aws
