// OidcIssuer: the cluster's OIDC issuer, as a Kubernetes API server with
// service-account issuer discovery exposes it: an HTTPS server whose base
// URL is the issuer URL, serving `/.well-known/openid-configuration` and
// `/openid/v1/jwks`, and signing projected service-account tokens (RS256)
// the way kubelet writes them for Azure Workload Identity.
//
//   OidcIssuer issuer = ...OidcIssuer::Start({.tls = server_cert}, clock).value();
//   std::string jwt = issuer->IssueServiceAccountToken({.ns = "keda", .service_account =
//   "ebb"}).value(); issuer->WriteTokenFile(dir + "/azure-identity-token", {...});
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "testing/azure/jwt.h"
#include "testing/azure/loopback_server.h"
#include "testing/azure/registry.h"

namespace ebb::testing::azure {

struct OidcIssuerOptions {
  // Server certificate (from the same TestCa as the other emulators).
  IssuedCert tls;
  // The signing key; a fresh one when absent.
  std::optional<RsaSigningKey> signing_key;
};

// What goes into one service-account token.
struct ServiceAccountTokenRequest {
  std::string ns = "default";
  std::string service_account = "default";
  std::vector<std::string> audiences = {kTokenExchangeAudience};
  // Default: 3600 s (the webhook's default token expiration).
  std::chrono::seconds lifetime{3600};
  // Overrides for tests (stale or not-yet-valid tokens). iat defaults to
  // the clock's now, nbf to iat, exp to iat + lifetime.
  std::optional<Time> issued_at;
  std::optional<Time> not_before;
  std::optional<Time> expires_at;
  // Override of the "iss" claim (default: this issuer's URL).
  std::optional<std::string> issuer;
  // Override of "sub" (default: system:serviceaccount:<ns>:<sa>).
  std::optional<std::string> subject;
};

// Owns its HTTPS server and signing key. Thread-safe. `clock` must outlive it.
class OidcIssuer {
 public:
  static Result<std::unique_ptr<OidcIssuer>> Start(OidcIssuerOptions options, const Clock& clock);

  // "https://127.0.0.1:PORT" -- the issuer URL, no trailing slash (like
  // the "iss" claim, it must match the federated credential exactly).
  std::string issuer_url() const { return server_->base_url(); }
  std::string jwks_url() const { return issuer_url() + "/openid/v1/jwks"; }
  const RsaSigningKey& signing_key() const { return key_; }
  nlohmann::json Discovery() const;
  nlohmann::json Jwks() const;

  // A signed JWT with Kubernetes' projected-token claims (aud array, iss,
  // sub, iat, nbf, exp, kubernetes.io).
  Result<std::string> IssueServiceAccountToken(const ServiceAccountTokenRequest& request) const;
  // Issues a token and writes it to `path` atomically (mode 0600), as kubelet does.
  Status WriteTokenFile(const std::string& path, const ServiceAccountTokenRequest& request) const;

  // When false, discovery and JWKS answer 503 (to emulate an unreachable
  // issuer: the identity provider then answers AADSTS90061).
  void SetServing(bool serving) { serving_ = serving; }
  // Number of discovery + JWKS requests served (the IdP's fetches).
  int64_t requests() const { return requests_; }

  void Stop() { server_->Stop(); }

 private:
  OidcIssuer(RsaSigningKey key, const Clock& clock) : key_(std::move(key)), clock_(clock) {}
  void Routes(httplib::Server& server);

  RsaSigningKey key_;
  const Clock& clock_;
  std::unique_ptr<LoopbackServer> server_;
  std::atomic<bool> serving_{true};
  std::atomic<int64_t> requests_{0};
};

}  // namespace ebb::testing::azure
