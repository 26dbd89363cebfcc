#include "auth/aws_credentials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
using ::testing::Not;
using testing::LogCapture;
using testing::MakeJwt;
using testing::ParseForm;
using testing::TempDir;

constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY-sts";
constexpr char kSession[] = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN";
constexpr char kRole[] = "arn:aws:iam::111122223333:role/ebb-amp-query";

std::string IrsaJwt() {
  return MakeJwt({{"iss", "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC123"},
                  {"sub", "system:serviceaccount:keda:ebb-operator"},
                  {"aud", "sts.amazonaws.com"},
                  {"exp", 1'700'086'400}});
}

std::string StsSuccess(const std::string& action, const std::string& expiration, const std::string& key = "ASIAEXAMPLE1") {
  return "<" + action + "Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><" + action +
         "Result><Credentials><AccessKeyId>" + key + "</AccessKeyId><SecretAccessKey>" + kSecret +
         "</SecretAccessKey><SessionToken>" + kSession + "</SessionToken><Expiration>" + expiration +
         "</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/ebb-amp-query/"
         "ebb</Arn><AssumedRoleId>AROA:ebb</AssumedRoleId></AssumedRoleUser></" + action + "Result><ResponseMetadata>"
         "<RequestId>req-1</RequestId></ResponseMetadata></" + action + "Response>";
}

std::string StsErrorBody(const std::string& code, const std::string& message) {
  return "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>" + code +
         "</Code><Message>" + message + "</Message></Error><RequestId>req-err</RequestId></ErrorResponse>";
}

http::HttpResponse Answer(int status, const std::string& body) {
  http::HttpResponse r;
  r.status = status;
  r.body = body;
  return r;
}

Result<AccessToken> FetchNow(TokenSource& source, http::HttpClient& client) {
  std::optional<Result<AccessToken>> got;
  source.Fetch(client, [&](Result<AccessToken> t) { got = std::move(t); });
  EXPECT_TRUE(got.has_value());
  return got ? *got : Internal("no answer");
}

SimulatedClock& Clock() {
  static SimulatedClock clock(FromUnixSeconds(1'700'000'000));
  return clock;
}

WebIdentityConfig IrsaConfig(const std::string& token_file) {
  return WebIdentityConfig{kRole, token_file, "ebb-1", "https://sts.eu-west-1.amazonaws.com"};
}

TEST(StsEndpoint, OverridesThenLegacyThenRegional) {
  EXPECT_EQ(*ResolveStsEndpoint({{kEnvAwsRegion, "eu-west-1"}}, "", false), "https://sts.eu-west-1.amazonaws.com");
  EXPECT_EQ(*ResolveStsEndpoint({}, "cn-north-1", false), "https://sts.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(*ResolveStsEndpoint({{kEnvAwsStsRegionalEndpoints, "legacy"}}, "us-east-2", false),
            "https://sts.amazonaws.com");
  AwsEnvironment both{{kEnvAwsEndpointUrl, "https://vpce.example/"}, {kEnvAwsEndpointUrlSts, "https://sts.vpce.example/"}};
  EXPECT_EQ(*ResolveStsEndpoint(both, "eu-west-1", false), "https://sts.vpce.example");
  EXPECT_EQ(*ResolveStsEndpoint({{kEnvAwsEndpointUrl, "https://vpce.example"}}, "", false), "https://vpce.example");
  Result<std::string> plain = ResolveStsEndpoint({{kEnvAwsEndpointUrlSts, "http://127.0.0.1:1"}}, "", false);
  EXPECT_EQ(plain.status().code(), StatusCode::kInvalidConfig);
  EXPECT_TRUE(ResolveStsEndpoint({{kEnvAwsEndpointUrlSts, "http://127.0.0.1:1"}}, "", true).ok());
  EXPECT_THAT(ResolveStsEndpoint({}, "", false).status().message(), HasSubstr("AWS_REGION"));
}

TEST(StsAnswers, CredentialsAreReadAndLimitsHold) {
  Result<AccessToken> t = ParseStsCredentials(StsSuccess("AssumeRole", "2023-11-14T23:13:20Z"), "AssumeRole",
                                              Clock().Now());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->access_key_id, "ASIAEXAMPLE1");
  EXPECT_EQ(t->secret_access_key.Reveal(), kSecret);
  EXPECT_EQ(t->token.Reveal(), kSession);
  EXPECT_EQ(ToUnixSeconds(t->expires_on), 1'700'003'600);
  EXPECT_THAT(t->audience, HasSubstr("assumed-role/ebb-amp-query"));
  // Wrong action, missing pieces and oversize bodies fail without quoting the body.
  for (const std::string& body : {StsSuccess("AssumeRole", "2023-11-14T23:13:20Z"), std::string("<x/>"),
                                  std::string(70 * 1024, 'a')}) {
    Result<AccessToken> bad = ParseStsCredentials(body, "AssumeRoleWithWebIdentity", Clock().Now());
    ASSERT_FALSE(bad.ok());
    EXPECT_THAT(bad.status().message(), Not(HasSubstr(kSecret)));
  }
  StsError e = ParseStsError(403, StsErrorBody("AccessDenied", "Not authorized &amp; more"));
  EXPECT_EQ(e.code, "AccessDenied");
  EXPECT_EQ(e.message, "Not authorized & more");
  EXPECT_EQ(e.request_id, "req-err");
}

TEST(WebIdentity, ExchangesTheRotatedTokenUnsignedAndReadsTheCredentials) {
  TempDir dir;
  std::string file = dir.Write("token", IrsaJwt() + "\n");
  http::FakeHttpClient fake([](const http::HttpRequest&) -> Result<http::HttpResponse> {
    return Answer(200, StsSuccess("AssumeRoleWithWebIdentity", "2023-11-14T23:13:20Z"));
  });
  WebIdentityCredentialsSource source(IrsaConfig(file), Clock());
  ASSERT_TRUE(FetchNow(source, fake).ok());
  dir.Write("token", "rotated." + IrsaJwt().substr(8));
  Result<AccessToken> t = FetchNow(source, fake);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->access_key_id, "ASIAEXAMPLE1");
  ASSERT_EQ(fake.requests().size(), 2u);
  const http::HttpRequest r = fake.requests()[1];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://sts.eu-west-1.amazonaws.com/");
  EXPECT_TRUE(r.sensitive_body);
  EXPECT_EQ(Hdr(r, "Authorization"), "");  // the JWT is the credential
  auto form = ParseForm(r.body);
  std::map<std::string, std::string> f(form.begin(), form.end());
  EXPECT_EQ(f["Action"], "AssumeRoleWithWebIdentity");
  EXPECT_EQ(f["Version"], "2011-06-15");
  EXPECT_EQ(f["RoleArn"], kRole);
  EXPECT_EQ(f["RoleSessionName"], "ebb-1");
  EXPECT_EQ(f["WebIdentityToken"].substr(0, 8), "rotated.");
  EXPECT_THAT(source.CacheKey(), Not(HasSubstr("rotated")));
}

TEST(WebIdentity, AccessDeniedNamesTheTrustPolicyClaimsWithoutTheToken) {
  TempDir dir;
  std::string jwt = IrsaJwt();
  std::string file = dir.Write("token", jwt);
  http::FakeHttpClient fake([](const http::HttpRequest&) -> Result<http::HttpResponse> {
    return Answer(403, StsErrorBody("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"));
  });
  WebIdentityCredentialsSource source(IrsaConfig(file), Clock());
  Result<AccessToken> t = FetchNow(source, fake);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnauthenticated);
  const std::string m = t.status().message();
  EXPECT_THAT(m, HasSubstr("AccessDenied"));
  EXPECT_THAT(m, HasSubstr("https://oidc.eks.eu-west-1.amazonaws.com/id/ABC123"));
  EXPECT_THAT(m, HasSubstr("system:serviceaccount:keda:ebb-operator"));
  EXPECT_THAT(m, HasSubstr("sts.amazonaws.com"));
  EXPECT_THAT(m, HasSubstr("eks.amazonaws.com/role-arn"));
  EXPECT_FALSE(ContainsSecret(m, jwt));
}

TEST(WebIdentity, ErrorCodesSayWhetherToRetry) {
  TempDir dir;
  std::string file = dir.Write("token", IrsaJwt());
  struct Case {
    int status;
    std::string code;
    StatusCode want;
  };
  for (const Case& c : {Case{400, "Throttling", StatusCode::kUnavailable},
                        Case{400, "IDPCommunicationError", StatusCode::kUnavailable},
                        Case{400, "InvalidIdentityToken", StatusCode::kInvalidConfig},
                        Case{403, "RegionDisabledException", StatusCode::kInvalidConfig},
                        Case{400, "ExpiredTokenException", StatusCode::kUnauthenticated},
                        Case{503, "", StatusCode::kUnavailable}}) {
    http::FakeHttpClient fake([&](const http::HttpRequest&) -> Result<http::HttpResponse> {
      return Answer(c.status, c.code.empty() ? "busy" : StsErrorBody(c.code, "m"));
    });
    WebIdentityCredentialsSource source(IrsaConfig(file), Clock());
    EXPECT_EQ(FetchNow(source, fake).status().code(), c.want) << c.code;
  }
  WebIdentityCredentialsSource missing(IrsaConfig(dir.path() + "/nope"), Clock());
  http::FakeHttpClient unused;
  Result<AccessToken> t = FetchNow(missing, unused);
  EXPECT_THAT(t.status().message(), HasSubstr("AWS_WEB_IDENTITY_TOKEN_FILE"));
  EXPECT_TRUE(unused.requests().empty());
}

TEST(ContainerCredentials, SendsTheTokenFileAndReadsTheAgentAnswer) {
  TempDir dir;
  std::string file = dir.Write("eks-pod-identity-token", "pod-identity-jwt\n");
  http::FakeHttpClient fake([](const http::HttpRequest&) -> Result<http::HttpResponse> {
    return Answer(200, std::string(R"({"AccessKeyId":"ASIAPOD","SecretAccessKey":")") + kSecret + R"(","Token":")" +
                           kSession + R"(","AccountId":"111122223333","Expiration":"2023-11-14T23:13:20Z"})");
  });
  ContainerCredentialsSource source({"http://169.254.170.23/v1/credentials", file}, Clock());
  Result<AccessToken> t = FetchNow(source, fake);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->access_key_id, "ASIAPOD");
  EXPECT_EQ(Hdr(fake.requests().at(0), "Authorization"), "pod-identity-jwt");
  EXPECT_TRUE(CheckContainerCredentialsUri("http://169.254.170.23/v1/credentials", false).ok());
  EXPECT_TRUE(CheckContainerCredentialsUri("http://127.0.0.1:8080/creds", false).ok());
  EXPECT_TRUE(CheckContainerCredentialsUri("https://creds.example/x", false).ok());
  EXPECT_EQ(CheckContainerCredentialsUri("http://creds.example/x", false).code(), StatusCode::kInvalidConfig);
}

TEST(ContainerCredentials, RejectedTokenExplainsThePodIdentityAssociation) {
  TempDir dir;
  std::string file = dir.Write("t", "tok");
  http::FakeHttpClient fake([](const http::HttpRequest&) -> Result<http::HttpResponse> {
    return Answer(403, R"({"code":"AccessDeniedException","message":"no association"})");
  });
  ContainerCredentialsSource source({"http://127.0.0.1:1/v1/credentials", file}, Clock());
  Result<AccessToken> t = FetchNow(source, fake);
  EXPECT_EQ(t.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(t.status().message(), HasSubstr("Pod Identity association"));
}

TEST(Ec2Metadata, TokenThenRoleThenCredentials) {
  http::FakeHttpClient fake([](const http::HttpRequest& r) -> Result<http::HttpResponse> {
    if (r.method == "PUT") return Answer(200, "imds-session-token");
    if (Hdr(r, "X-aws-ec2-metadata-token") != "imds-session-token") return Answer(401, "");
    if (EndsWith(r.url, "/security-credentials/")) return Answer(200, "node-role\n");
    return Answer(200, std::string(R"({"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIANODE","SecretAccessKey":")") +
                           kSecret + R"(","Token":")" + kSession + R"(","Expiration":"2023-11-14T23:13:20Z"})");
  });
  Ec2MetadataCredentialsSource source("http://127.0.0.1:9", Clock());
  Result<AccessToken> t = FetchNow(source, fake);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->access_key_id, "ASIANODE");
  ASSERT_EQ(fake.requests().size(), 3u);
  EXPECT_EQ(fake.requests()[0].url, "http://127.0.0.1:9/latest/api/token");
  EXPECT_EQ(Hdr(fake.requests()[0], "X-aws-ec2-metadata-token-ttl-seconds"), "21600");
  EXPECT_EQ(fake.requests()[2].url, "http://127.0.0.1:9/latest/meta-data/iam/security-credentials/node-role");
}

TEST(Ec2Metadata, NoInstanceProfileIsAConfigurationError) {
  http::FakeHttpClient fake([](const http::HttpRequest& r) -> Result<http::HttpResponse> {
    return r.method == "PUT" ? Answer(200, "s") : Answer(404, "");
  });
  Ec2MetadataCredentialsSource source("http://127.0.0.1:9", Clock());
  Result<AccessToken> t = FetchNow(source, fake);
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(t.status().message(), HasSubstr("instance profile"));
}

TEST(AssumeRole, SignsTheStsCallWithTheBaseKeysFromTheSameCache) {
  auto cache = std::make_shared<TokenCache>(Clock());
  auto base = std::make_shared<StaticAwsCredentialsSource>(
      AwsCredentials{"AKIABASE", SecretString("base-secret"), SecretString()}, Clock());
  http::FakeHttpClient fake([](const http::HttpRequest&) -> Result<http::HttpResponse> {
    return Answer(200, StsSuccess("AssumeRole", "2023-11-14T23:13:20Z", "ASIAROLE"));
  });
  AssumeRoleConfig c{kRole, "ext-42", "ebb-1", "https://sts.eu-west-1.amazonaws.com", "eu-west-1"};
  AssumeRoleCredentialsSource role(c, base, cache, Clock());
  Result<AccessToken> t = FetchNow(role, fake);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->access_key_id, "ASIAROLE");
  const http::HttpRequest r = fake.requests().at(0);
  EXPECT_THAT(Hdr(r, "Authorization"),
              HasSubstr("Credential=AKIABASE/20231114/eu-west-1/sts/aws4_request"));
  auto form = ParseForm(r.body);
  std::map<std::string, std::string> f(form.begin(), form.end());
  EXPECT_EQ(f["Action"], "AssumeRole");
  EXPECT_EQ(f["ExternalId"], "ext-42");
  EXPECT_THAT(role.CacheKey(), Not(HasSubstr("ext-42")));
  EXPECT_THAT(role.CacheKey(), Not(HasSubstr("base-secret")));
  EXPECT_THAT(role.Describe(), HasSubstr("AKIABASE"));
}

TEST(AmbientChain, FollowsTheSdkOrderAndNamesWhatIsMissing) {
  TempDir dir;
  AwsSourceOptions o{"eu-west-1"};
  AwsEnvironment irsa{{kEnvAwsRoleArn, kRole}, {kEnvAwsWebIdentityTokenFile, "/t"},
                      {kEnvAwsContainerFullUri, "http://169.254.170.23/v1/credentials"}};
  EXPECT_THAT((*ResolveAwsAmbientSource(irsa, o, Clock()))->CacheKey(), HasSubstr("aws-web-identity|"));
  AwsEnvironment pod{{kEnvAwsContainerFullUri, "http://169.254.170.23/v1/credentials"}};
  EXPECT_THAT((*ResolveAwsAmbientSource(pod, o, Clock()))->CacheKey(), HasSubstr("aws-container|"));
  EXPECT_THAT((*ResolveAwsAmbientSource({}, o, Clock()))->CacheKey(), "aws-imds|http://169.254.169.254");
  Result<TokenSourcePtr> half = ResolveAwsAmbientSource({{kEnvAwsRoleArn, kRole}}, o, Clock());
  EXPECT_THAT(half.status().message(), HasSubstr("AWS_WEB_IDENTITY_TOKEN_FILE is not set"));
  EXPECT_THAT(half.status().message(), HasSubstr("eks.amazonaws.com/role-arn"));
  EXPECT_FALSE(ResolveAwsAmbientSource({{kEnvAwsEc2MetadataDisabled, "true"}}, o, Clock()).ok());
}

// The one TokenCache: one STS call per identity per credential lifetime,
// refreshed ahead of Expiration while the old keys keep signing.
TEST(AwsCredentialsInTheTokenCache, SingleFlightAndRefreshAheadOfExpiration) {
  SimulatedClock clock(FromUnixSeconds(1'700'000'000));
  TempDir dir;
  std::string file = dir.Write("token", IrsaJwt());
  int calls = 0;
  http::FakeHttpClient fake([&](const http::HttpRequest&) -> Result<http::HttpResponse> {
    ++calls;
    Time expiry = clock.Now() + std::chrono::hours(1);
    return Answer(200, StsSuccess("AssumeRoleWithWebIdentity", FormatRfc3339(expiry), "ASIA" + std::to_string(calls)));
  });
  fake.SetDeferred(true);
  TokenCache cache(clock);
  auto source = std::make_shared<WebIdentityCredentialsSource>(IrsaConfig(file), clock);
  std::vector<std::string> keys;
  for (int i = 0; i < 3; ++i) cache.Get(source, fake, [&](Result<AccessToken> t) { keys.push_back(t->access_key_id); });
  EXPECT_EQ(fake.Flush(), 1);
  EXPECT_EQ(keys, (std::vector<std::string>{"ASIA1", "ASIA1", "ASIA1"}));
  clock.Advance(std::chrono::minutes(56));  // inside the refresh-ahead window
  cache.Get(source, fake, [&](Result<AccessToken> t) { keys.push_back(t->access_key_id); });
  EXPECT_EQ(keys.back(), "ASIA1");  // still served while the refresh runs
  EXPECT_EQ(fake.Flush(), 1);
  cache.Get(source, fake, [&](Result<AccessToken> t) { keys.push_back(t->access_key_id); });
  EXPECT_EQ(keys.back(), "ASIA2");
  EXPECT_EQ(calls, 2);
}

TEST(AwsSecrets, NeverInDescriptionsKeysOrLogs) {
  LogCapture logs;
  TempDir dir;
  std::string jwt = IrsaJwt();
  std::string file = dir.Write("token", jwt);
  http::FakeHttpClient fake([](const http::HttpRequest&) -> Result<http::HttpResponse> {
    return Answer(200, StsSuccess("AssumeRoleWithWebIdentity", "2023-11-14T23:13:20Z"));
  });
  auto source = std::make_shared<WebIdentityCredentialsSource>(IrsaConfig(file), Clock());
  TokenCache cache(Clock());
  cache.Get(source, fake, [](Result<AccessToken>) {});
  StaticAwsCredentialsSource keys({"AKIASTATIC", SecretString(kSecret), SecretString(kSession)}, Clock());
  for (const std::string& text : {logs.Text(), source->Describe(), source->CacheKey(), keys.Describe(), keys.CacheKey()}) {
    EXPECT_FALSE(ContainsSecret(text, kSecret)) << text;
    EXPECT_FALSE(ContainsSecret(text, kSession)) << text;
    EXPECT_FALSE(ContainsSecret(text, jwt)) << text;
  }
}

}  // namespace
}  // namespace ebb::auth
