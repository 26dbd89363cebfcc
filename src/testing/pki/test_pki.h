// Test PKI: a throwaway certificate authority and the certificates tests
// need for TLS on loopback (Prometheus behind TLS, the Azure emulators, the
// fake API server, client-certificate authentication).
//
//   TestCa ca = TestCa::Create("ebb test CA").value();
//   IssuedCert server = ca.IssueServer({"localhost", "login.microsoftonline.com"}).value();
//   // server.cert_pem / server.key_pem -> the test server; ca.cert_pem() -> the client's CA
//
// Keys are EC P-256 (fast to generate). Library code for tests only: never
// linked into the ebb binary. Thread-compatible (const methods are safe to
// call concurrently).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace ebb::testing {

struct IssuedCert {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8 PEM, unencrypted
};

class TestCa {
 public:
  // A self-signed CA valid from one hour ago for ten years.
  static Result<TestCa> Create(const std::string& common_name = "ebb test CA");

  const std::string& cert_pem() const { return ca_.cert_pem; }
  const std::string& key_pem() const { return ca_.key_pem; }

  // A server certificate for the given DNS names and IP addresses (both go
  // into subjectAltName; the first DNS name, or IP, is the CN).
  // `valid_seconds` may be negative to make an already-expired certificate.
  Result<IssuedCert> IssueServer(const std::vector<std::string>& dns_names,
                                 const std::vector<std::string>& ips = {"127.0.0.1", "::1"},
                                 long valid_seconds = 86400L * 365) const;

  // A client certificate (extendedKeyUsage clientAuth) with this CN.
  Result<IssuedCert> IssueClient(const std::string& common_name) const;

 private:
  IssuedCert ca_;
};

// An RSA private key (PKCS#8 PEM) and its public key (SPKI PEM), for
// signing JWTs with RS256.
struct RsaKeyPair {
  std::string private_key_pem;
  std::string public_key_pem;
};
Result<RsaKeyPair> GenerateRsaKeyPair(int bits = 2048);

// Writes `contents` to `path` (mode 0600), replacing it atomically.
Status WriteFileAtomically(const std::string& path, const std::string& contents);

}  // namespace ebb::testing
