// GcpTestEnv: the Google Cloud Managed Service for Prometheus flow on
// loopback, for `ebb-testenv gcp` and end-to-end tests. Starts Google's
// token endpoint, the GCE metadata server and the GMP front door (proxying
// to a real Prometheus); registers a service account "ebb-reader" with a
// key, roles/monitoring.viewer on the project and the Workload Identity
// binding the metadata server serves; and writes into `dir`:
//   ca.crt         the CA of every TLS endpoint (SSL_CERT_FILE)
//   key.json       the service-account key (token_uri = the emulator)
//   env            GOOGLE_APPLICATION_CREDENTIALS (key file) variables
//   env-metadata   GCE_METADATA_HOST variables (GKE Workload Identity)
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "testing/gcp/google.h"

namespace ebb::testing::gcp {

enum class GcpMisconfiguration {
  kNone,
  kRole,        // no roles/monitoring.viewer -> 403 PERMISSION_DENIED
  kUnbound,     // no Workload Identity binding -> metadata server 404
  kDeletedKey,  // the key was deleted -> invalid_grant "Invalid JWT Signature."
};

// Parses "none|role|unbound|deleted-key"; false when unknown.
bool ParseGcpMisconfiguration(const std::string& text, GcpMisconfiguration* out);

struct GcpTestEnvOptions {
  std::string prometheus_url;  // REQUIRED
  std::string dir;             // REQUIRED (created)
  std::string project_id = "ebb-proj";
  GcpMisconfiguration misconfiguration = GcpMisconfiguration::kNone;
};

// Parses `ebb-testenv gcp` flags (--prometheus, --dir, --project,
// --misconfigure). kInvalidConfig naming the flag.
Result<GcpTestEnvOptions> ParseGcpTestEnvArgs(const std::vector<std::string>& args);

// Owns every emulator. Thread-safe after Start. `clock` must outlive it.
class GcpTestEnv {
 public:
  static Result<std::unique_ptr<GcpTestEnv>> Start(GcpTestEnvOptions options,
                                                   const Clock& clock = RealClock::Instance());
  ~GcpTestEnv();

  const GcpTestEnvOptions& options() const { return options_; }
  const std::string& ca_file() const { return ca_file_; }
  const std::string& key_file() const { return key_file_; }
  std::string key_json() const;
  GoogleProject& project() { return project_; }
  GoogleTokenEndpoint& token_endpoint() { return *endpoint_; }
  GceMetadataServer& metadata() { return *metadata_; }
  GmpFrontDoor& front_door() { return *front_door_; }

  std::vector<std::pair<std::string, std::string>> KeyFileEnvironment() const;
  std::vector<std::pair<std::string, std::string>> MetadataEnvironment() const;
  std::string Describe() const;

 private:
  GcpTestEnv(GcpTestEnvOptions options, const Clock& clock)
      : options_(std::move(options)), project_(clock, options_.project_id) {}
  Status StartEmulators(const TestCa& ca);
  Status Register();
  Status WriteFiles(const TestCa& ca);

  const GcpTestEnvOptions options_;
  GoogleProject project_;
  RsaKeyPair key_;
  std::unique_ptr<GoogleTokenEndpoint> endpoint_;
  std::unique_ptr<GceMetadataServer> metadata_;
  std::unique_ptr<GmpFrontDoor> front_door_;
  std::string ca_file_, key_file_;
};

}  // namespace ebb::testing::gcp
