#include "testing/pki/test_pki.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

namespace ebb::testing {
namespace {

X509* Parse(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

// Verifies `leaf` against `ca` with OpenSSL's own chain verification.
int Verify(const std::string& ca, const std::string& leaf, const char* host) {
  X509* ca_cert = Parse(ca);
  X509* leaf_cert = Parse(leaf);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca_cert);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf_cert, nullptr);
  if (host) X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), host, 0);
  int ok = X509_verify_cert(ctx);
  int err = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_free(ca_cert);
  X509_free(leaf_cert);
  return ok == 1 ? X509_V_OK : (err == X509_V_OK ? -1 : err);
}

TEST(TestPki, ServerCertVerifiesForItsNamesOnly) {
  auto ca = TestCa::Create();
  ASSERT_TRUE(ca.ok());
  auto server = ca->IssueServer({"localhost", "login.microsoftonline.com"});
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(Verify(ca->cert_pem(), server->cert_pem, "login.microsoftonline.com"), X509_V_OK);
  EXPECT_EQ(Verify(ca->cert_pem(), server->cert_pem, "evil.example"),
            X509_V_ERR_HOSTNAME_MISMATCH);
  EXPECT_NE(server->key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
}

TEST(TestPki, OtherCaDoesNotVerify) {
  auto ca = TestCa::Create();
  auto other = TestCa::Create("other");
  auto server = ca->IssueServer({"localhost"});
  EXPECT_NE(Verify(other->cert_pem(), server->cert_pem, "localhost"), X509_V_OK);
}

TEST(TestPki, ExpiredCertIsReportedExpired) {
  auto ca = TestCa::Create();
  auto server = ca->IssueServer({"localhost"}, {}, -60);
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(Verify(ca->cert_pem(), server->cert_pem, "localhost"), X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST(TestPki, RsaKeyPairIsPem) {
  auto kp = GenerateRsaKeyPair(2048);
  ASSERT_TRUE(kp.ok());
  EXPECT_NE(kp->private_key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  EXPECT_NE(kp->public_key_pem.find("BEGIN PUBLIC KEY"), std::string::npos);
}

}  // namespace
}  // namespace ebb::testing
