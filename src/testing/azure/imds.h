// Imds: the Azure Instance Metadata Service token endpoint for managed
// identities, plain HTTP like the real 169.254.169.254:
// `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R`
// with header `Metadata: true`; optional client_id, object_id or
// msi_res_id selects a user-assigned identity. Access tokens are signed by
// the IdentityProvider's key (same claims as the token endpoint); every
// number in the reply is a string, and the resource is echoed.
//
//   auto imds = Imds::Start({.identities = {{.client_id = "mi-1", .tenant_id = "t"}}},
//                           idp, registry).value();
//   imds->base_url();  // "http://127.0.0.1:PORT" -> the IMDS host override
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "testing/azure/identity_provider.h"
#include "testing/azure/loopback_server.h"
#include "testing/azure/registry.h"

namespace ebb::testing::azure {

struct ManagedIdentity {
  std::string client_id;
  std::string tenant_id;
  std::string object_id;   // derived from client_id when empty
  std::string msi_res_id;  // optional ARM resource id of a user-assigned identity
};

struct ImdsOptions {
  // The VM's identities. The first one answers requests that name none
  // (the system-assigned identity). Each is registered in the Registry as
  // an application, so role assignments can be made on its client id.
  std::vector<ManagedIdentity> identities;
};

struct ImdsCounters {
  int64_t requests = 0;
  int64_t successes = 0;
  int64_t missing_metadata_header = 0;
  int64_t failures = 0;
};

// Owns its HTTP server. Thread-safe. `idp` and `registry` must outlive it.
class Imds {
 public:
  static Result<std::unique_ptr<Imds>> Start(ImdsOptions options, const IdentityProvider& idp,
                                             Registry& registry);
  ~Imds();

  // "http://127.0.0.1:PORT", no trailing slash.
  std::string base_url() const { return server_->base_url(); }
  std::string token_url() const { return base_url() + "/metadata/identity/oauth2/token"; }
  ImdsCounters counters() const;
  void Stop() { server_->Stop(); }

 private:
  Imds(ImdsOptions options, const IdentityProvider& idp, const Registry& registry)
      : options_(std::move(options)), idp_(idp), registry_(registry) {}
  void HandleToken(const httplib::Request& req, httplib::Response& res);
  // Status and body of one token request.
  std::pair<int, nlohmann::json> Answer(const httplib::Request& req);
  const ManagedIdentity* SelectIdentity(const httplib::Request& req) const;

  const ImdsOptions options_;
  const IdentityProvider& idp_;
  const Registry& registry_;
  std::unique_ptr<LoopbackServer> server_;
  std::atomic<int64_t> requests_{0}, successes_{0}, missing_header_{0}, failures_{0};
};

}  // namespace ebb::testing::azure
