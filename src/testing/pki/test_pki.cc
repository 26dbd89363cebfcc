#include "testing/pki/test_pki.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>

namespace ebb::testing {

namespace {

struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct BioFree { void operator()(BIO* p) const { BIO_free(p); } };
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return BioString(bio.get());
}

std::string CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return BioString(bio.get());
}

PkeyPtr ReadKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

X509Ptr ReadCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

bool AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return true;
}

// A certificate for `key` named `cn`, not yet signed, valid from an hour
// ago (clock skew) for `valid_seconds`.
X509Ptr NewCert(EVP_PKEY* key, const std::string& cn, long valid_seconds) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), valid_seconds);
  if (valid_seconds < 0) X509_gmtime_adj(X509_getm_notBefore(cert.get()), valid_seconds - 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

PkeyPtr NewEcKey() { return PkeyPtr(EVP_EC_gen("P-256")); }

}  // namespace

Result<TestCa> TestCa::Create(const std::string& common_name) {
  PkeyPtr key = NewEcKey();
  if (!key) return Internal("TestCa: EC key generation failed");
  X509Ptr cert = NewCert(key.get(), common_name, 86400L * 3650);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  AddExt(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  AddExt(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExt(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  if (!X509_sign(cert.get(), key.get(), EVP_sha256())) return Internal("TestCa: signing failed");
  TestCa ca;
  ca.ca_ = {CertPem(cert.get()), KeyPem(key.get())};
  return ca;
}

Result<IssuedCert> TestCa::IssueServer(const std::vector<std::string>& dns_names,
                                       const std::vector<std::string>& ips,
                                       long valid_seconds) const {
  PkeyPtr ca_key = ReadKey(ca_.key_pem);
  X509Ptr ca_cert = ReadCert(ca_.cert_pem);
  PkeyPtr key = NewEcKey();
  if (!ca_key || !ca_cert || !key) return Internal("TestCa: key or CA unreadable");
  std::string cn = !dns_names.empty() ? dns_names[0] : (!ips.empty() ? ips[0] : "localhost");
  X509Ptr cert = NewCert(key.get(), cn, valid_seconds);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  std::string san;
  for (const auto& d : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  for (const auto& ip : ips) san += (san.empty() ? "IP:" : ",IP:") + ip;
  if (!san.empty() && !AddExt(cert.get(), ca_cert.get(), NID_subject_alt_name, san)) {
    return Internal("TestCa: bad subjectAltName " + san);
  }
  AddExt(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExt(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
  AddExt(cert.get(), ca_cert.get(), NID_ext_key_usage, "serverAuth");
  AddExt(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always");
  if (!X509_sign(cert.get(), ca_key.get(), EVP_sha256())) return Internal("TestCa: signing failed");
  return IssuedCert{CertPem(cert.get()), KeyPem(key.get())};
}

Result<IssuedCert> TestCa::IssueClient(const std::string& common_name) const {
  PkeyPtr ca_key = ReadKey(ca_.key_pem);
  X509Ptr ca_cert = ReadCert(ca_.cert_pem);
  PkeyPtr key = NewEcKey();
  if (!ca_key || !ca_cert || !key) return Internal("TestCa: key or CA unreadable");
  X509Ptr cert = NewCert(key.get(), common_name, 86400L * 365);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  AddExt(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExt(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature");
  AddExt(cert.get(), ca_cert.get(), NID_ext_key_usage, "clientAuth");
  if (!X509_sign(cert.get(), ca_key.get(), EVP_sha256())) return Internal("TestCa: signing failed");
  return IssuedCert{CertPem(cert.get()), KeyPem(key.get())};
}

Result<RsaKeyPair> GenerateRsaKeyPair(int bits) {
  PkeyPtr key(EVP_RSA_gen(static_cast<unsigned>(bits)));
  if (!key) return Internal("RSA key generation failed");
  BioPtr pub(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(pub.get(), key.get());
  return RsaKeyPair{KeyPem(key.get()), BioString(pub.get())};
}

Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return Internal("cannot create " + tmp);
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n <= 0) {
      ::close(fd);
      return Internal("cannot write " + tmp);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Internal("cannot rename to " + path);
  return Status::Ok();
}

}  // namespace ebb::testing
