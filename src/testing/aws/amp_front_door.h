// AmpFrontDoor: an emulated Amazon Managed Service for Prometheus query
// endpoint. An HTTPS server that VERIFIES SigV4 on every request
// (AwsAccount::VerifySigV4: scope, service "aps", region, X-Amz-Date skew,
// key and session token, recomputed signature), checks aps:QueryMetrics on
// the workspace, and proxies /workspaces/WS/api/v1/... to a real
// Prometheus over plain http on loopback. Answers (facts/aws-gcp.md):
//   403 {"message":"Missing Authentication Token"}            unsigned
//   403 {"message":"The request signature we calculated does not match ..."}
//   403 {"message":"Signature expired: ... is now earlier than ..."}
//   403 {"message":"Credential should be scoped to a valid region. "}
//   403 {"message":"The security token included in the request is expired"}
//   403 {"message":"User: ARN is not authorized to perform: aps:QueryMetrics on resource: ..."}
//   404 for an unknown workspace; otherwise the upstream's answer.
//
//   auto amp = AmpFrontDoor::Start({.tls = cert, .upstream_url = prom, .workspace_id = "ws-1"}, account).value();
//   amp->workspace_url();   // the trigger's serverAddress
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "testing/aws/account.h"
#include "testing/azure/loopback_server.h"

namespace ebb::testing::aws {

struct AmpFrontDoorOptions {
  IssuedCert tls;
  std::string upstream_url;  // e.g. "http://127.0.0.1:9090"
  std::string workspace_id = "ws-ebb";
};

struct AmpCounters {
  int64_t requests = 0;
  int64_t unsigned_requests = 0;  // no Authorization header at all
  int64_t denied = 0;             // 403s (unsigned included)
  int64_t proxied = 0;
  int64_t not_found = 0;
};

// Owns its server. Thread-safe. `account` must outlive it.
class AmpFrontDoor {
 public:
  static Result<std::unique_ptr<AmpFrontDoor>> Start(AmpFrontDoorOptions options, const AwsAccount& account);
  ~AmpFrontDoor();

  std::string base_url() const { return server_->base_url(); }
  // "{base_url}/workspaces/{id}": KEDA's serverAddress for AMP.
  std::string workspace_url() const { return base_url() + "/workspaces/" + options_.workspace_id; }
  // The workspace ARN the permission covers.
  std::string workspace_arn() const;
  AmpCounters counters() const;
  void Stop() { server_->Stop(); }

 private:
  AmpFrontDoor(AmpFrontDoorOptions options, const AwsAccount& account)
      : options_(std::move(options)), account_(account) {}
  void Handle(const httplib::Request& req, httplib::Response& res);
  void Proxy(const std::string& target, httplib::Response& res);
  void Count(int64_t AmpCounters::*field);

  const AmpFrontDoorOptions options_;
  const AwsAccount& account_;
  std::unique_ptr<azure::LoopbackServer> server_;
  mutable std::mutex mu_;
  AmpCounters counters_;  // guarded by mu_
};

}  // namespace ebb::testing::aws
