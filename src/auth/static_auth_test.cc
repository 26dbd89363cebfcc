#include "auth/static_auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/strings.h"
#include "http/testing/fake_http_client.h"

namespace ebb::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPassword[] = "s3cr3t-P@ss";
constexpr char kToken[] = "tok-4f9a1c77e0";
constexpr char kCustomValue[] = "apikey-88d1e0c2";

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

std::string Pem(bool key, EVP_PKEY* pkey, X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (key) {
    PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_X509(bio, cert);
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

// A self-signed EC P-256 certificate with this CN.
KeyPair SelfSigned(const std::string& cn) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_set_pubkey(cert, pkey);
  X509_sign(cert, pkey, EVP_sha256());
  KeyPair out{Pem(false, pkey, cert), Pem(true, pkey, cert)};
  X509_free(cert);
  EVP_PKEY_free(pkey);
  return out;
}

const KeyPair& Client() {
  static const KeyPair kp = SelfSigned("ebb-client");
  return kp;
}
const KeyPair& Other() {
  static const KeyPair kp = SelfSigned("other");
  return kp;
}

std::map<std::string, SecretString> AllParams() {
  return {{"username", SecretString("svc")},
          {"password", SecretString(kPassword)},
          {"bearerToken", SecretString(kToken)},
          {"customAuthHeader", SecretString("X-Api-Key")},
          {"customAuthValue", SecretString(kCustomValue)},
          {"cert", SecretString(Client().cert_pem)},
          {"key", SecretString(Client().key_pem)}};
}

// Sends one request through the authorizer and returns what reached the wire.
http::HttpRequest Sent(Authorizer& a, http::HttpRequest in = {}) {
  http::FakeHttpClient fake([](const http::HttpRequest&) -> Result<http::HttpResponse> {
    http::HttpResponse ok;
    ok.status = 200;
    return ok;
  });
  if (in.url.empty()) in.url = "https://prom.example/api/v1/query?query=up";
  bool called = false;
  a.Send(fake, std::move(in), [&](Result<http::HttpResponse> r) { called = r.ok(); });
  EXPECT_TRUE(called);
  EXPECT_EQ(fake.requests().size(), 1u);
  return fake.requests().at(0);
}

std::vector<std::pair<std::string, std::string>> Headers(const http::HttpRequest& r) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& h : r.headers) out.emplace_back(h.name, h.value);
  return out;
}

using HeaderList = std::vector<std::pair<std::string, std::string>>;

void ExpectNoSecret(const std::string& text) {
  for (const std::string& s :
       {std::string(kPassword), std::string(kToken), std::string(kCustomValue), Client().key_pem,
        std::string("PRIVATE KEY")}) {
    EXPECT_FALSE(ContainsSecret(text, s)) << text;
  }
}

TEST(ParseAuthModesTest, TrimsLowersAndDeduplicates) {
  auto m = ParseAuthModes(" basic , TLS,,basic");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(*m, (std::vector<std::string>{"basic", "tls"}));
  EXPECT_TRUE(ParseAuthModes("").value().empty());
}

TEST(ParseAuthModesTest, UnknownModeNamesTheAcceptedOnes) {
  auto m = ParseAuthModes("basic,kerberos");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(m.status().message(), HasSubstr("\"kerberos\""));
  EXPECT_THAT(m.status().message(), HasSubstr("basic, bearer, tls, custom"));
  EXPECT_THAT(ParseAuthModes("oauth").status().message(), HasSubstr("not supported"));
}

TEST(StaticAuthTest, BasicSendsExactHeader) {
  auto a = MakeStaticAuthorizer({"basic"}, AllParams());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  http::HttpRequest r = Sent(**a);
  EXPECT_EQ(Headers(r),
            (HeaderList{{"Authorization", "Basic " + Base64Encode("svc:s3cr3t-P@ss")}}));
  EXPECT_TRUE(r.headers[0].sensitive);
  EXPECT_TRUE(r.tls.client_cert_pem.empty());
  EXPECT_EQ((*a)->Describe(), "basic auth (username \"svc\")");
}

TEST(StaticAuthTest, BasicWithoutPasswordIsAllowedAsInKeda) {
  auto a = MakeStaticAuthorizer({"basic"}, {{"username", SecretString("apikey")}});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(Headers(Sent(**a)), (HeaderList{{"Authorization", "Basic YXBpa2V5Og=="}}));  // apikey:
}

TEST(StaticAuthTest, BearerSendsExactHeaderAndDropsTrailingNewline) {
  auto params = AllParams();
  params["bearerToken"] = SecretString(std::string(kToken) + "\n");
  auto a = MakeStaticAuthorizer({"bearer"}, params);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  http::HttpRequest r = Sent(**a);
  EXPECT_EQ(Headers(r), (HeaderList{{"Authorization", std::string("Bearer ") + kToken}}));
  EXPECT_EQ((*a)->Describe(), "bearer token");
}

// KEDA: `keda:"name=bearerToken;token"` -- the first name that is set wins.
TEST(StaticAuthTest, BearerTokenAliasTokenAsKeda) {
  auto a = MakeStaticAuthorizer({"bearer"}, {{"token", SecretString(kToken)}});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(Headers(Sent(**a)), (HeaderList{{"Authorization", std::string("Bearer ") + kToken}}));
  auto both = MakeStaticAuthorizer({"bearer"}, {{"token", SecretString("other")}, {"bearerToken", SecretString(kToken)}});
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_EQ(Headers(Sent(**both)), (HeaderList{{"Authorization", std::string("Bearer ") + kToken}}));
  auto unused = MakeStaticAuthorizer({}, {{"token", SecretString(kToken)}});
  ASSERT_FALSE(unused.ok());
  EXPECT_THAT(unused.status().message(), HasSubstr("bearer"));
}

TEST(StaticAuthTest, CustomSendsExactHeader) {
  auto a = MakeStaticAuthorizer({"custom"}, AllParams());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  http::HttpRequest r = Sent(**a);
  EXPECT_EQ(Headers(r), (HeaderList{{"X-Api-Key", kCustomValue}}));
  EXPECT_TRUE(r.headers[0].sensitive);
  EXPECT_EQ((*a)->Describe(), "custom header \"X-Api-Key\"");
}

TEST(StaticAuthTest, TlsSetsClientCertificateAndNoHeader) {
  auto a = MakeStaticAuthorizer({"tls"}, AllParams());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  http::HttpRequest r = Sent(**a);
  EXPECT_TRUE(r.headers.empty());
  EXPECT_EQ(r.tls.client_cert_pem, Client().cert_pem);
  EXPECT_EQ(r.tls.client_key_pem.Reveal(), Client().key_pem);
  EXPECT_TRUE(r.tls.ca_pem.empty());
  EXPECT_EQ((*a)->Describe(), "TLS client certificate (subject CN \"ebb-client\")");
}

TEST(StaticAuthTest, CaIsAppliedWheneverPresent) {
  auto params = AllParams();
  params["ca"] = SecretString(Other().cert_pem);
  auto a = MakeStaticAuthorizer({"bearer"}, params);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(Sent(**a).tls.ca_pem, Other().cert_pem);
}

TEST(StaticAuthTest, CaAloneWithoutModesSetsOnlyTheCa) {
  auto a = MakeStaticAuthorizer({}, {{"ca", SecretString(Other().cert_pem)}});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  http::HttpRequest r = Sent(**a);
  EXPECT_TRUE(r.headers.empty());
  EXPECT_EQ(r.tls.ca_pem, Other().cert_pem);
  EXPECT_THAT((*a)->Describe(), HasSubstr("no credentials"));
}

TEST(StaticAuthTest, CombinedModesApplyEveryCredential) {
  auto a = MakeStaticAuthorizer({"bearer", "custom", "tls"}, AllParams());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  http::HttpRequest r = Sent(**a);
  EXPECT_EQ(Headers(r), (HeaderList{{"Authorization", std::string("Bearer ") + kToken},
                                    {"X-Api-Key", kCustomValue}}));
  EXPECT_EQ(r.tls.client_cert_pem, Client().cert_pem);
  EXPECT_EQ((*a)->Describe(),
            "bearer token + custom header \"X-Api-Key\" + TLS client certificate (subject CN "
            "\"ebb-client\")");
}

TEST(StaticAuthTest, ReplacesAnAuthorizationHeaderAlreadyOnTheRequest) {
  auto a = MakeStaticAuthorizer({"bearer"}, AllParams());
  ASSERT_TRUE(a.ok());
  http::HttpRequest in;
  in.url = "https://prom.example/api/v1/query";
  in.headers = {{"authorization", "Bearer stale"}, {"X-Scope-OrgID", "t1"}};
  EXPECT_EQ(
      Headers(Sent(**a, in)),
      (HeaderList{{"X-Scope-OrgID", "t1"}, {"Authorization", std::string("Bearer ") + kToken}}));
}

TEST(StaticAuthTest, BasicAndBearerAreRejectedTogether) {
  auto a = MakeStaticAuthorizer({"basic", "bearer"}, AllParams());
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(a.status().message(), HasSubstr("cannot be combined"));
  ExpectNoSecret(a.status().ToString());
}

TEST(StaticAuthTest, CustomAuthorizationHeaderCannotJoinBasic) {
  auto params = AllParams();
  params["customAuthHeader"] = SecretString("authorization");
  auto a = MakeStaticAuthorizer({"basic", "custom"}, params);
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("Authorization header"));
  ExpectNoSecret(a.status().ToString());
}

struct MissingCase {
  std::vector<std::string> modes;
  std::string removed;
};

TEST(StaticAuthTest, MissingParameterIsNamedWithTheFieldToAdd) {
  const std::vector<MissingCase> cases = {
      {{"basic"}, "username"}, {{"bearer"}, "bearerToken"},      {{"tls"}, "cert"},
      {{"tls"}, "key"},        {{"custom"}, "customAuthHeader"}, {{"custom"}, "customAuthValue"}};
  for (const MissingCase& c : cases) {
    auto params = AllParams();
    params.erase(c.removed);
    auto a = MakeStaticAuthorizer(c.modes, params);
    ASSERT_FALSE(a.ok()) << c.removed;
    EXPECT_EQ(a.status().code(), StatusCode::kInvalidConfig);
    EXPECT_THAT(a.status().message(), HasSubstr("needs parameter \"" + c.removed + "\""));
    EXPECT_THAT(a.status().message(), HasSubstr("secretTargetRef"));
    EXPECT_THAT(a.status().message(), HasSubstr("parameter: " + c.removed));
    ExpectNoSecret(a.status().ToString());
  }
}

TEST(StaticAuthTest, EmptyParameterCountsAsMissing) {
  auto params = AllParams();
  params["bearerToken"] = SecretString("\n");
  auto a = MakeStaticAuthorizer({"bearer"}, params);
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("bearerToken"));
}

TEST(StaticAuthTest, CredentialWithoutModesIsAnErrorNotSilentlyDropped) {
  auto a = MakeStaticAuthorizer({}, {{"bearerToken", SecretString(kToken)}});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(a.status().message(), HasSubstr("authModes: \"bearer\""));
  ExpectNoSecret(a.status().ToString());
  auto none = MakeStaticAuthorizer({}, {});
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(), HasSubstr("no credential"));
}

TEST(StaticAuthTest, MalformedPemIsRejectedWithoutEchoingIt) {
  auto params = AllParams();
  params["key"] = SecretString(std::string("-----BEGIN PRIVATE KEY-----\n") + kPassword + "\n");
  auto bad_key = MakeStaticAuthorizer({"tls"}, params);
  ASSERT_FALSE(bad_key.ok());
  EXPECT_THAT(bad_key.status().message(), HasSubstr("parameter \"key\""));
  EXPECT_FALSE(ContainsSecret(bad_key.status().ToString(), kPassword));

  params = AllParams();
  params["cert"] = SecretString("not a cert");
  EXPECT_THAT(MakeStaticAuthorizer({"tls"}, params).status().message(),
              HasSubstr("parameter \"cert\""));

  params = AllParams();
  params["ca"] = SecretString("garbage");
  EXPECT_THAT(MakeStaticAuthorizer({"basic"}, params).status().message(),
              HasSubstr("parameter \"ca\""));
}

TEST(StaticAuthTest, KeyFromAnotherCertificateIsRejected) {
  auto params = AllParams();
  params["key"] = SecretString(Other().key_pem);
  auto a = MakeStaticAuthorizer({"tls"}, params);
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("do not belong together"));
  EXPECT_FALSE(ContainsSecret(a.status().ToString(), Other().key_pem));
}

TEST(StaticAuthTest, HeaderInjectionIsRejected) {
  auto params = AllParams();
  params["customAuthValue"] = SecretString(std::string(kCustomValue) + "\r\nX-Evil: 1");
  auto a = MakeStaticAuthorizer({"custom"}, params);
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("customAuthValue"));
  ExpectNoSecret(a.status().ToString());
  params = AllParams();
  params["customAuthHeader"] = SecretString("X Api Key");
  EXPECT_FALSE(MakeStaticAuthorizer({"custom"}, params).ok());
}

TEST(StaticAuthTest, DescribeAndIdentityKeyHoldNoSecret) {
  auto a = MakeStaticAuthorizer({"basic", "custom", "tls"}, AllParams());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ExpectNoSecret((*a)->Describe());
  ExpectNoSecret((*a)->IdentityKey());
  EXPECT_THAT((*a)->IdentityKey(), HasSubstr("username=svc"));
  EXPECT_THAT((*a)->IdentityKey(), HasSubstr("sha256="));
}

TEST(StaticAuthTest, IdentityKeyDiffersBySecretAndIsStable) {
  auto params = AllParams();
  auto a = MakeStaticAuthorizer({"bearer"}, params).value();
  auto b = MakeStaticAuthorizer({"bearer"}, params).value();
  params["bearerToken"] = SecretString("another-token");
  auto c = MakeStaticAuthorizer({"bearer"}, params).value();
  EXPECT_EQ(a->IdentityKey(), b->IdentityKey());
  EXPECT_NE(a->IdentityKey(), c->IdentityKey());
  EXPECT_NE(a->IdentityKey(), NoAuthorizer().IdentityKey());
}

}  // namespace
}  // namespace ebb::auth
