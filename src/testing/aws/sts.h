// StsEmulator: AWS STS's query API on an HTTPS loopback server, written to
// facts/aws-gcp.md ("AWS STS AssumeRoleWithWebIdentity") and
// docs/facts-aws-gcp-notes.md:
//   POST / Action=AssumeRoleWithWebIdentity (unsigned): the JWT is checked
//     against the account's OIDC providers (issuer registered, RS256
//     signature, exp) and the role's trust policy (issuer, aud, sub);
//   POST / Action=AssumeRole (SigV4-signed for service "sts"): the signer
//     must be a principal the role trusts, with the role's ExternalId;
//   success: the <ActionResponse><ActionResult><Credentials>... XML;
//   errors: <ErrorResponse><Error><Type/><Code/><Message/></Error>...
//     (AccessDenied 403, InvalidIdentityToken 400, ExpiredTokenException 400,
//     MissingParameter / InvalidAction 400, SigV4 denials 403).
//
//   auto sts = StsEmulator::Start(cert, account).value();
//   sts->base_url();   // AWS_ENDPOINT_URL_STS
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "testing/aws/account.h"
#include "testing/azure/loopback_server.h"

namespace ebb::testing::aws {

struct StsCounters {
  int64_t web_identity = 0;  // AssumeRoleWithWebIdentity calls
  int64_t assume_role = 0;   // AssumeRole calls
  int64_t failures = 0;      // answers other than 200
};

// Owns its HTTPS server. Thread-safe. `account` must outlive it.
class StsEmulator {
 public:
  static Result<std::unique_ptr<StsEmulator>> Start(const IssuedCert& tls, AwsAccount& account);
  ~StsEmulator();

  std::string base_url() const { return server_->base_url(); }
  StsCounters counters() const;
  void Stop() { server_->Stop(); }

 private:
  explicit StsEmulator(AwsAccount& account) : account_(account) {}
  void Handle(const httplib::Request& req, httplib::Response& res);
  Result<IssuedCredentials> WebIdentity(const std::map<std::string, std::string>& form, Denial* denial);
  Result<IssuedCredentials> AssumeRole(const httplib::Request& req, const std::map<std::string, std::string>& form,
                                       Denial* denial);

  AwsAccount& account_;
  std::unique_ptr<azure::LoopbackServer> server_;
  std::atomic<int64_t> web_identity_{0}, assume_role_{0}, failures_{0};
};

// Decodes an application/x-www-form-urlencoded body ('+' is a space).
std::map<std::string, std::string> ParseFormBody(const std::string& body);

// The success XML of `action` for `c` (exposed for tests).
std::string StsSuccessXml(const std::string& action, const IssuedCredentials& c, const std::string& extra = "");

}  // namespace ebb::testing::aws
