// The link-local AWS credential endpoints, emulated on plain-http loopback
// servers (both are plain http by design), written to facts/aws-gcp.md
// ("EKS Pod Identity and IMDSv2"):
//
// PodIdentityAgent -- GET /v1/credentials with "Authorization: <projected
//   service-account token>" (audience pods.eks.amazonaws.com, signed by the
//   cluster's issuer); the token's subject must have a pod identity
//   association in the account. 200 {"AccessKeyId","SecretAccessKey",
//   "Token","AccountId","Expiration"}.
// Ec2Metadata -- IMDSv2: PUT /latest/api/token with
//   X-aws-ec2-metadata-token-ttl-seconds -> session token; then with
//   X-aws-ec2-metadata-token: GET /latest/meta-data/iam/security-credentials/
//   -> role name (404 without an instance profile), GET .../ROLE -> the
//   credentials JSON with "Code":"Success". 401 without a valid session token.
//
//   auto agent = PodIdentityAgent::Start(account, issuer_public_key_pem).value();
//   agent->credentials_url();   // AWS_CONTAINER_CREDENTIALS_FULL_URI
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "testing/aws/account.h"
#include "testing/azure/loopback_server.h"

namespace ebb::testing::aws {

// Owns its server. Thread-safe. `account` must outlive it.
class PodIdentityAgent {
 public:
  static Result<std::unique_ptr<PodIdentityAgent>> Start(AwsAccount& account, std::string issuer_public_key_pem);
  ~PodIdentityAgent();
  // "http://127.0.0.1:PORT/v1/credentials".
  std::string credentials_url() const { return server_->base_url() + "/v1/credentials"; }
  int64_t requests() const { return requests_; }
  void Stop() { server_->Stop(); }

 private:
  PodIdentityAgent(AwsAccount& account, std::string key) : account_(account), issuer_key_(std::move(key)) {}
  void Handle(const httplib::Request& req, httplib::Response& res);

  AwsAccount& account_;
  const std::string issuer_key_;
  std::unique_ptr<azure::LoopbackServer> server_;
  std::atomic<int64_t> requests_{0};
};

// Owns its server. Thread-safe. `account` must outlive it.
class Ec2Metadata {
 public:
  static Result<std::unique_ptr<Ec2Metadata>> Start(AwsAccount& account);
  ~Ec2Metadata();
  // "http://127.0.0.1:PORT": AWS_EC2_METADATA_SERVICE_ENDPOINT.
  std::string base_url() const { return server_->base_url(); }
  int64_t credential_requests() const { return credential_requests_; }
  void Stop() { server_->Stop(); }

 private:
  explicit Ec2Metadata(AwsAccount& account) : account_(account) {}
  void Routes(httplib::Server& s);
  bool Authorized(const httplib::Request& req, httplib::Response& res) const;

  AwsAccount& account_;
  std::unique_ptr<azure::LoopbackServer> server_;
  mutable std::mutex mu_;
  std::set<std::string> sessions_;  // guarded by mu_
  std::atomic<int64_t> credential_requests_{0};
};

}  // namespace ebb::testing::aws
