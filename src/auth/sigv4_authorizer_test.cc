#include "auth/sigv4_authorizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "auth/authorizer_factory.h"
#include "auth/aws_credentials.h"
#include "auth/aws_identity.h"
#include "auth/sigv4.h"
#include "auth/token_test_util.h"
#include "http/testing/fake_http_client.h"

namespace ebb::auth {
namespace {

// The first value of header `name` in a request sent, or "".
std::string Hdr(const http::HttpRequest& r, std::string_view name) {
  for (const http::Header& h : r.headers) {
    if (http::HeaderNameEquals(h.name, name)) return h.value;
  }
  return "";
}


using ::testing::HasSubstr;
using testing::LogCapture;

constexpr char kSecret[] = "static-secret-9f2c1e77";
constexpr char kAmp[] = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/query?query=up";

// STS AssumeRole answer with key ASIA<n>, valid for an hour from the fixture's time.
http::HttpResponse Answer(int n) {
  http::HttpResponse r;
  r.status = 200;
  r.body = "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA" + std::to_string(n) +
           "</AccessKeyId><SecretAccessKey>s" + std::to_string(n) + "</SecretAccessKey><SessionToken>t" +
           std::to_string(n) + "</SessionToken><Expiration>2023-11-14T23:13:20Z</Expiration></Credentials>"
           "</AssumeRoleResult></AssumeRoleResponse>";
  return r;
}

http::HttpResponse Status200() {
  http::HttpResponse r;
  r.status = 200;
  return r;
}

struct Fixture {
  SimulatedClock clock{FromUnixSeconds(1'700'000'000)};
  std::shared_ptr<TokenCache> cache = std::make_shared<TokenCache>(clock);
  TokenSourcePtr keys = std::make_shared<StaticAwsCredentialsSource>(
      AwsCredentials{"AKIASTATIC", SecretString(kSecret), SecretString()}, clock);

  SigV4Authorizer Make(SigV4AuthorizerOptions o = {"eu-west-1"}) { return SigV4Authorizer(cache, keys, clock, o); }

  Result<http::HttpResponse> Send(Authorizer& a, http::FakeHttpClient& fake, const std::string& url) {
    std::optional<Result<http::HttpResponse>> got;
    http::HttpRequest req;
    req.url = url;
    a.Send(fake, req, [&](Result<http::HttpResponse> r) { got = std::move(r); });
    EXPECT_TRUE(got.has_value());
    return got ? *got : Internal("no answer");
  }
};

TEST(SigV4Authorizer, SignsEveryQueryForApsInTheTriggersRegion) {
  Fixture f;
  http::FakeHttpClient fake([](const http::HttpRequest&) -> Result<http::HttpResponse> { return Status200(); });
  SigV4Authorizer a = f.Make();
  ASSERT_TRUE(f.Send(a, fake, kAmp).ok());
  const http::HttpRequest r = fake.requests().at(0);
  EXPECT_THAT(Hdr(r, "Authorization"),
              HasSubstr("AWS4-HMAC-SHA256 Credential=AKIASTATIC/20231114/eu-west-1/aps/aws4_request"));
  EXPECT_EQ(Hdr(r, "X-Amz-Date"), "20231114T221320Z");
  EXPECT_THAT(a.Describe(), HasSubstr("signed with SigV4 for aps in eu-west-1"));
  EXPECT_THAT(a.IdentityKey(), HasSubstr("eu-west-1"));
  EXPECT_FALSE(ContainsSecret(a.IdentityKey() + a.Describe(), kSecret));
}

TEST(SigV4Authorizer, OnlyAmpHostsAndTheOperatorsDestinationsGetSignedRequests) {
  Fixture f;
  http::FakeHttpClient fake([](const http::HttpRequest&) -> Result<http::HttpResponse> { return Status200(); });
  SigV4Authorizer a = f.Make();
  Result<http::HttpResponse> tenant = f.Send(a, fake, "https://collector.attacker.example/api/v1/query");
  ASSERT_FALSE(tenant.ok());
  EXPECT_EQ(tenant.status().code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(tenant.status().message(), HasSubstr("--token-destination collector.attacker.example"));
  EXPECT_FALSE(f.Send(a, fake, "http://aps-workspaces.eu-west-1.amazonaws.com/q").ok());  // plain http
  EXPECT_FALSE(f.Send(a, fake, "https://aps-workspaces.eu-west-1.amazonaws.com.evil.example/q").ok());
  EXPECT_TRUE(fake.requests().empty());
  SigV4Authorizer allowed = f.Make({"eu-west-1", "aps", false, {"prom.corp.example"}});
  EXPECT_TRUE(f.Send(allowed, fake, "https://prom.corp.example/api/v1/query?query=up").ok());
  EXPECT_TRUE(IsAmazonManagedPrometheusHost("aps-workspaces.cn-north-1.amazonaws.com.cn"));
}

TEST(SigV4Authorizer, RegionMismatchWithTheWorkspaceHostIsRefusedWithTheFix) {
  Fixture f;
  http::FakeHttpClient fake;
  SigV4Authorizer a = f.Make({"us-east-1"});
  Result<http::HttpResponse> r = f.Send(a, fake, kAmp);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("set awsRegion: eu-west-1"));
  EXPECT_TRUE(fake.requests().empty());
}

TEST(SigV4Authorizer, ExpiredSessionTokenIsReplacedOnceThenTheAnswerPassesThrough) {
  Fixture f;
  int sts = 0, amp = 0;
  http::FakeHttpClient fake([&](const http::HttpRequest& r) -> Result<http::HttpResponse> {
    if (r.method == "POST") {
      ++sts;
      return Answer(sts);
    }
    ++amp;
    http::HttpResponse resp;
    resp.status = 403;
    resp.body = R"({"message":"The security token included in the request is expired"})";
    return resp;
  });
  // A role source that hands out a new key per exchange.
  auto role = std::make_shared<AssumeRoleCredentialsSource>(
      AssumeRoleConfig{"arn:aws:iam::1:role/r", "", "s", "https://sts.eu-west-1.amazonaws.com", "eu-west-1"}, f.keys,
      f.cache, f.clock);
  SigV4Authorizer a(f.cache, role, f.clock, {"eu-west-1"});
  LogCapture logs;
  Result<http::HttpResponse> r = f.Send(a, fake, kAmp);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(amp, 2);
  EXPECT_EQ(sts, 2);
  EXPECT_FALSE(ContainsSecret(logs.Text(), kSecret));
}

TEST(BuildAuthorizerAws, PodIdentityAwsSignsWithTheAmbientIdentityFromEbbsEnvironment) {
  SimulatedClock clock;
  AuthorizerContext ctx;
  ctx.clock = &clock;
  ctx.token_cache = std::make_shared<TokenCache>(clock);
  ctx.aws_env = {{kEnvAwsRoleArn, "arn:aws:iam::1:role/r"}, {kEnvAwsWebIdentityTokenFile, "/var/run/t"}};
  api::TriggerAuthentication ta;
  ta.metadata.name = "amp";
  ta.metadata.namespace_name = "ns";
  ta.spec.pod_identity = api::PodIdentity{.provider = "aws"};
  TriggerAuthInput in{{}, &ta, {}, "", "", "eu-west-1"};
  Result<AuthorizerPtr> a = BuildAuthorizer(in, ctx);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_THAT((*a)->Describe(), HasSubstr("IRSA"));
  EXPECT_THAT((*a)->Describe(), HasSubstr("https://sts.eu-west-1.amazonaws.com"));

  ta.spec.pod_identity->role_arn = "arn:aws:iam::2:role/amp";
  EXPECT_THAT((*BuildAuthorizer(in, ctx))->Describe(), HasSubstr("AWS role arn:aws:iam::2:role/amp assumed with"));

  ta.spec.pod_identity->identity_owner = false;  // identityOwner: workload
  EXPECT_THAT(BuildAuthorizer(in, ctx).status().message(), HasSubstr("identityOwner: workload"));

  ta.spec.pod_identity = api::PodIdentity{.provider = "aws-eks"};
  in.aws_region = "";
  EXPECT_THAT(BuildAuthorizer(in, ctx).status().message(), HasSubstr("metadata.awsRegion"));
}

TEST(BuildAuthorizerAws, StaticKeysAndAwsRegionWithoutCredentials) {
  SimulatedClock clock;
  AuthorizerContext ctx;
  ctx.clock = &clock;
  ctx.token_cache = std::make_shared<TokenCache>(clock);
  api::TriggerAuthentication ta;
  ta.metadata.name = "amp";
  ta.metadata.namespace_name = "ns";
  TriggerAuthInput in{{}, &ta, {{kParamAwsAccessKeyId, SecretString("AKIAK")}, {kParamAwsSecretAccessKey, SecretString(kSecret)},
                                 {kParamAwsRegion, SecretString("eu-west-1")}}, "", "", ""};
  Result<AuthorizerPtr> a = BuildAuthorizer(in, ctx);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_THAT((*a)->Describe(), HasSubstr("AWS access key AKIAK, signed with SigV4 for aps in eu-west-1"));

  in.params.erase(kParamAwsSecretAccessKey);
  EXPECT_THAT(BuildAuthorizer(in, ctx).status().message(), HasSubstr("awsSecretAccessKey is missing"));

  // awsRegion with a bearer token, or with no authenticationRef: never unsigned.
  TriggerAuthInput bearer{{"bearer"}, &ta, {{"bearerToken", SecretString("b")}}, "", "", "eu-west-1"};
  EXPECT_THAT(BuildAuthorizer(bearer, ctx).status().message(), HasSubstr("never sends the query unsigned"));
  TriggerAuthInput none{{}, nullptr, {}, "", "", "eu-west-1"};
  EXPECT_THAT(BuildAuthorizer(none, ctx).status().message(), HasSubstr("no authenticationRef"));
}

}  // namespace
}  // namespace ebb::auth
