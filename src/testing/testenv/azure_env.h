// AzureTestEnv: the whole Azure Workload Identity + Managed Prometheus flow
// on loopback, for `ebb-testenv azure` and end-to-end tests. Starts the
// cluster OIDC issuer, the Entra ID token endpoint, IMDS and the Managed
// Prometheus front door (proxying to a real Prometheus), registers one
// tenant, one application with a federated credential for
// system:serviceaccount:NS:SA and the "Monitoring Data Reader" role on the
// workspace, and writes into `dir`:
//   ca.crt                the CA of every TLS endpoint (SSL_CERT_FILE)
//   azure-identity-token  the projected service-account token (refreshed)
//   env                   `export AZURE_CLIENT_ID=...` lines to source
//
//   AzureTestEnvOptions options;
//   options.prometheus_url = "http://127.0.0.1:9090";
//   options.dir = "/tmp/ebb-azure";
//   auto env = AzureTestEnv::Start(options).value();
//   std::cout << env->Describe();
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "testing/azure/front_door.h"
#include "testing/azure/identity_provider.h"
#include "testing/azure/imds.h"
#include "testing/azure/oidc_issuer.h"
#include "testing/azure/registry.h"
#include "testing/pki/test_pki.h"

namespace ebb::testing::azure {

// A deliberate mistake to register instead of the right configuration,
// to demonstrate what each looks like from ebb.
enum class Misconfiguration {
  kNone,
  kSubject,   // federated credential for another service account -> AADSTS700213
  kIssuer,    // issuer registered with a trailing slash -> AADSTS700211
  kAudience,  // credential audience differs -> AADSTS70021
  kRole,      // no "Monitoring Data Reader" role -> 403 from the front door
  kClientId,  // AZURE_CLIENT_ID names no application -> AADSTS700016
};

// Parses "none|subject|issuer|audience|role|client-id"; false when unknown.
bool ParseMisconfiguration(const std::string& text, Misconfiguration* out);

struct AzureTestEnvOptions {
  // Base URL of the Prometheus the front door proxies to. Required.
  std::string prometheus_url;
  // Where the files go; created if missing. Required.
  std::string dir;
  std::string ns = "default";
  std::string service_account = "ebb";
  std::string tenant_id = "3b2e8c1a-5d4f-4e6a-9b7c-0d1e2f3a4b5c";
  std::string client_id = "5c2d7a9e-1f3b-4c8d-9e0a-6b7c8d9e0f1a";
  std::string managed_identity_client_id = "8a4b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
  std::string workspace = "ebb-workspace";
  std::string region = "eastus";
  // Lifetime of the projected service-account token; the file is
  // rewritten at 80% of it, as kubelet does. Default 3600 s.
  std::chrono::seconds token_lifetime{3600};
  // Lifetime of access tokens. Default 3600 s.
  std::chrono::seconds access_token_lifetime{3600};
  // Extra DNS names on the server certificate (for `curl --resolve` tests).
  std::vector<std::string> extra_hosts;
  Misconfiguration misconfiguration = Misconfiguration::kNone;
  FaultInjection faults;
};

// Owns every emulator. Thread-safe after Start (RefreshTokenFile may run
// on any thread). `clock` must outlive it.
class AzureTestEnv {
 public:
  static Result<std::unique_ptr<AzureTestEnv>> Start(AzureTestEnvOptions options,
                                                     const Clock& clock = RealClock::Instance());
  ~AzureTestEnv();

  const AzureTestEnvOptions& options() const { return options_; }
  const std::string& ca_file() const { return ca_file_; }
  const std::string& token_file() const { return token_file_; }
  const std::string& env_file() const { return env_file_; }
  // The Azure resource id of the workspace (the role's scope).
  std::string workspace_scope() const;
  // The real front door's host name, kept on the certificate.
  std::string workspace_host() const;

  OidcIssuer& issuer() { return *issuer_; }
  IdentityProvider& idp() { return *idp_; }
  Imds& imds() { return *imds_; }
  PrometheusFrontDoor& front_door() { return *front_door_; }
  Registry& registry() { return registry_; }

  // Rewrites the token file with a fresh token.
  Status RefreshTokenFile();
  // When the token file should next be rewritten (80% of its lifetime).
  Time NextRefresh() const;
  // The env file's contents.
  std::string EnvFileContents() const;
  // A human-readable list of endpoints, files and a curl to try.
  std::string Describe() const;

 private:
  AzureTestEnv(AzureTestEnvOptions options, const Clock& clock)
      : options_(std::move(options)), clock_(clock) {}
  Status StartEmulators(const TestCa& ca);
  Status RegisterIdentity();
  Status WriteFiles(const TestCa& ca);

  const AzureTestEnvOptions options_;
  const Clock& clock_;
  Registry registry_;
  std::unique_ptr<OidcIssuer> issuer_;
  std::unique_ptr<IdentityProvider> idp_;
  std::unique_ptr<Imds> imds_;
  std::unique_ptr<PrometheusFrontDoor> front_door_;
  std::string ca_file_, token_file_, env_file_;
  mutable std::mutex mu_;
  Time last_refresh_;  // guarded by mu_
};

}  // namespace ebb::testing::azure
