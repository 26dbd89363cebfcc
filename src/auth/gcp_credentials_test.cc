#include "auth/gcp_credentials.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "auth/authorizer_factory.h"
#include "auth/gcp_identity.h"
#include "auth/token_test_util.h"
#include "http/testing/fake_http_client.h"
#include "testing/pki/test_pki.h"

namespace ebb::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ParseForm;
using testing::TempDir;

const ebb::testing::RsaKeyPair& Key() {
  static const ebb::testing::RsaKeyPair key = ebb::testing::GenerateRsaKeyPair().value();
  return key;
}

std::string KeyJson(const std::string& type = "service_account", const std::string& token_uri = kGoogleTokenUri) {
  return nlohmann::json{{"type", type},
                        {"project_id", "ebb-proj"},
                        {"private_key_id", "kid-1"},
                        {"private_key", Key().private_key_pem},
                        {"client_email", "ebb-reader@ebb-proj.iam.gserviceaccount.com"},
                        {"client_id", "123"},
                        {"token_uri", token_uri}}
      .dump();
}

bool VerifyRs256(const std::string& jwt, const std::string& public_pem) {
  size_t dot = jwt.rfind('.');
  std::string input = jwt.substr(0, dot);
  std::optional<std::string> sig = Base64Decode(jwt.substr(dot + 1));
  if (!sig) {
    std::string s = jwt.substr(dot + 1);
    for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
    while (s.size() % 4) s += '=';
    sig = Base64Decode(s);
  }
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = pkey && sig && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

nlohmann::json Part(const std::string& jwt, int index) {
  std::vector<std::string> parts = Split(jwt, '.');
  std::string s = parts.at(index);
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4) s += '=';
  return nlohmann::json::parse(*Base64Decode(s));
}

http::HttpResponse Answer(int status, const std::string& body, bool flavor = false) {
  http::HttpResponse r;
  r.status = status;
  r.body = body;
  if (flavor) r.headers.push_back({"Metadata-Flavor", "Google"});
  return r;
}

Result<AccessToken> FetchNow(TokenSource& s, http::HttpClient& c) {
  std::optional<Result<AccessToken>> got;
  s.Fetch(c, [&](Result<AccessToken> t) { got = std::move(t); });
  return got ? *got : Internal("no answer");
}

TEST(ServiceAccountKey, OnlyCompleteServiceAccountKeysAreAccepted) {
  Result<ServiceAccountKey> k = ParseServiceAccountKey(KeyJson(), "key");
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->client_email, "ebb-reader@ebb-proj.iam.gserviceaccount.com");
  Result<ServiceAccountKey> user = ParseServiceAccountKey(KeyJson("authorized_user"), "key");
  EXPECT_THAT(user.status().message(), HasSubstr("\"authorized_user\", not \"service_account\""));
  EXPECT_THAT(ParseServiceAccountKey("not json", "the Secret").status().message(), HasSubstr("the Secret is not JSON"));
  nlohmann::json broken = nlohmann::json::parse(KeyJson());
  broken["private_key"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  Result<ServiceAccountKey> bad = ParseServiceAccountKey(broken.dump(), "key");
  EXPECT_THAT(bad.status().message(), HasSubstr("not a readable PEM private key"));
  EXPECT_THAT(bad.status().message(), Not(HasSubstr("AAAA")));
}

TEST(ServiceAccountKey, TokenUriMustBeGooglesUnlessTheOperatorAllowsIt) {
  ServiceAccountKey google = *ParseServiceAccountKey(KeyJson(), "k");
  EXPECT_TRUE(CheckTokenUri(google, TokenDestinations(), false).ok());
  ServiceAccountKey other = *ParseServiceAccountKey(KeyJson("service_account", "https://collector.example/token"), "k");
  Status refused = CheckTokenUri(other, TokenDestinations(), false);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(refused.message(), HasSubstr("--token-destination collector.example"));
  EXPECT_TRUE(CheckTokenUri(other, TokenDestinations({"collector.example"}), false).ok());
}

TEST(ServiceAccountKey, AssertionIsAnRs256JwtWithGooglesClaims) {
  ServiceAccountKey key = *ParseServiceAccountKey(KeyJson(), "k");
  Result<SecretString> jwt = SignJwtBearerAssertion(key, kMonitoringReadScope, FromUnixSeconds(1'700'000'000));
  ASSERT_TRUE(jwt.ok()) << jwt.status().ToString();
  EXPECT_TRUE(VerifyRs256(jwt->Reveal(), Key().public_key_pem));
  EXPECT_EQ(Part(jwt->Reveal(), 0), (nlohmann::json{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "kid-1"}}));
  nlohmann::json claims = Part(jwt->Reveal(), 1);
  EXPECT_EQ(claims["iss"], key.client_email);
  EXPECT_EQ(claims["aud"], kGoogleTokenUri);
  EXPECT_EQ(claims["scope"], kMonitoringReadScope);
  EXPECT_EQ(claims["exp"].get<int64_t>() - claims["iat"].get<int64_t>(), 3600);
}

TEST(ServiceAccountKeySource, JwtBearerGrantAndGooglesErrors) {
  SimulatedClock clock(FromUnixSeconds(1'700'000'000));
  ServiceAccountKeyTokenSource source(*ParseServiceAccountKey(KeyJson(), "k"), kMonitoringReadScope, clock);
  std::string answer = R"({"access_token":"ya29.token-1","expires_in":3599,"token_type":"Bearer"})";
  int status = 200;
  http::FakeHttpClient fake([&](const http::HttpRequest&) -> Result<http::HttpResponse> { return Answer(status, answer); });
  Result<AccessToken> t = FetchNow(source, fake);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->token.Reveal(), "ya29.token-1");
  http::HttpRequest sent = fake.requests().at(0);
  EXPECT_EQ(sent.url, kGoogleTokenUri);
  EXPECT_TRUE(sent.sensitive_body);
  auto form = ParseForm(sent.body);
  EXPECT_EQ(form.at(0), (std::pair<std::string, std::string>{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"}));
  EXPECT_EQ(form.at(1).first, "assertion");

  status = 400;
  answer = R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})";
  t = FetchNow(source, fake);
  EXPECT_EQ(t.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(t.status().message(), HasSubstr("create a new key"));
  answer = R"({"error":"invalid_grant","error_description":"Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."})";
  EXPECT_THAT(FetchNow(source, fake).status().message(), HasSubstr("clock"));
  answer = R"({"error":"invalid_scope","error_description":"bad"})";
  EXPECT_EQ(FetchNow(source, fake).status().code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(source.CacheKey() + source.Describe(), Not(HasSubstr("PRIVATE KEY")));
}

TEST(GceMetadataSource, AsksWithTheFlavorHeaderAndExplainsWorkloadIdentity) {
  SimulatedClock clock(FromUnixSeconds(1'700'000'000));
  GceMetadataTokenSource source("127.0.0.1:8181", kMonitoringReadScope, clock);
  int status = 200;
  bool flavor = true;
  http::FakeHttpClient fake([&](const http::HttpRequest&) -> Result<http::HttpResponse> {
    return Answer(status, R"({"access_token":"ya29.md","expires_in":3599,"token_type":"Bearer"})", flavor);
  });
  ASSERT_TRUE(FetchNow(source, fake).ok());
  http::HttpRequest sent = fake.requests().at(0);
  EXPECT_EQ(sent.url, "http://127.0.0.1:8181/computeMetadata/v1/instance/service-accounts/default/token?scopes="
                      "https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fmonitoring.read");
  EXPECT_EQ(sent.headers.at(0).name, "Metadata-Flavor");
  status = 404;
  Result<AccessToken> t = FetchNow(source, fake);
  EXPECT_THAT(t.status().message(), HasSubstr("iam.gke.io/gcp-service-account"));
  EXPECT_THAT(t.status().message(), HasSubstr("roles/iam.workloadIdentityUser"));
  status = 200;
  flavor = false;
  EXPECT_THAT(FetchNow(source, fake).status().message(), HasSubstr("not a Google metadata server"));
}

TEST(BuildAuthorizerGcp, PodIdentityGcpUsesAdcAndSendsTokensOnlyToGoogle) {
  SimulatedClock clock(FromUnixSeconds(1'700'000'000));
  AuthorizerContext ctx;
  ctx.clock = &clock;
  ctx.token_cache = std::make_shared<TokenCache>(clock);
  api::TriggerAuthentication ta;
  ta.metadata.name = "gmp";
  ta.metadata.namespace_name = "ns";
  ta.spec.pod_identity = api::PodIdentity{.provider = "gcp"};
  TriggerAuthInput in{{}, &ta, {}, "", "", ""};
  Result<AuthorizerPtr> md = BuildAuthorizer(in, ctx);
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_THAT((*md)->Describe(), HasSubstr("metadata server metadata.google.internal"));

  TempDir dir;
  ctx.gcp_env = {{kEnvGoogleApplicationCredentials, dir.Write("key.json", KeyJson())}};
  Result<AuthorizerPtr> file = BuildAuthorizer(in, ctx);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_THAT((*file)->Describe(), HasSubstr("ebb-reader@ebb-proj.iam.gserviceaccount.com"));
  http::FakeHttpClient fake;
  std::optional<Result<http::HttpResponse>> got;
  http::HttpRequest req;
  req.url = "https://collector.example/v1/projects/p/location/global/prometheus/api/v1/query?query=up";
  (*file)->Send(fake, req, [&](Result<http::HttpResponse> r) { got = std::move(r); });
  ASSERT_TRUE(got.has_value());
  EXPECT_THAT(got->status().message(), HasSubstr("--token-destination collector.example"));
  EXPECT_TRUE(fake.requests().empty());

  ctx.gcp_env = {{kEnvGoogleApplicationCredentials, dir.path() + "/missing.json"}};
  EXPECT_THAT(BuildAuthorizer(in, ctx).status().message(), HasSubstr("cannot be read"));

  api::TriggerAuthentication keys;
  keys.metadata = ta.metadata;
  TriggerAuthInput param{{}, &keys, {{kParamGoogleApplicationCredentials, SecretString(KeyJson("external_account"))}}, "", "", ""};
  EXPECT_THAT(BuildAuthorizer(param, ctx).status().message(), HasSubstr("parameter GoogleApplicationCredentials"));
}

}  // namespace
}  // namespace ebb::auth
