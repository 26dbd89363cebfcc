// AwsTestEnv: the Amazon Managed Prometheus flow on loopback, for
// `ebb-testenv aws` and end-to-end tests. Starts the cluster OIDC issuer,
// STS, the EKS Pod Identity agent, IMDSv2 and the AMP front door (verifying
// SigV4, proxying to a real Prometheus); registers the issuer as an IAM
// OIDC provider, a role "ebb-amp" trusting system:serviceaccount:NS:SA with
// audience sts.amazonaws.com and allowed aps:QueryMetrics on the
// workspace, a pod identity association and an instance profile for the
// same role, and an IAM user with static keys; and writes into `dir`:
//   ca.crt                  the CA of every TLS endpoint (SSL_CERT_FILE)
//   web-identity-token      IRSA's projected token (aud sts.amazonaws.com)
//   eks-pod-identity-token  EKS Pod Identity's token (aud pods.eks.amazonaws.com)
//   env                     `export AWS_...` lines a pod with IRSA gets
//   env-pod-identity        the same for EKS Pod Identity
//
//   AwsTestEnvOptions o;
//   o.prometheus_url = "http://127.0.0.1:9090";
//   o.dir = "/tmp/ebb-aws";
//   auto env = AwsTestEnv::Start(o).value();
//   std::cout << env->Describe();
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "testing/aws/account.h"
#include "testing/aws/amp_front_door.h"
#include "testing/aws/metadata.h"
#include "testing/aws/sts.h"
#include "testing/azure/oidc_issuer.h"
#include "testing/pki/test_pki.h"

namespace ebb::testing::aws {

// A deliberate mistake, to show what each looks like from ebb.
enum class AwsMisconfiguration {
  kNone,
  kSubject,     // the role trusts another service account -> AccessDenied
  kAudience,    // the role trusts another audience -> AccessDenied
  kIssuer,      // the OIDC provider is not registered -> InvalidIdentityToken
  kPermission,  // no aps:QueryMetrics -> 403 AccessDeniedException
};

// Parses "none|subject|audience|issuer|permission"; false when unknown.
bool ParseAwsMisconfiguration(const std::string& text, AwsMisconfiguration* out);

struct AwsTestEnvOptions {
  std::string prometheus_url;  // REQUIRED: what the front door proxies to
  std::string dir;             // REQUIRED: where the files go (created)
  std::string ns = "default";
  std::string service_account = "ebb";
  std::string region = "eu-west-1";
  std::string workspace_id = "ws-ebb";
  std::string role_name = "ebb-amp";
  std::string access_key_id = "AKIAEBBTESTENVUSER01";
  std::string secret_access_key = "ebb+testenv/secret/0123456789abcdefABCDEF";
  // Lifetime of the projected tokens; rewritten at 80%. Default 3600 s.
  std::chrono::seconds token_lifetime{3600};
  // Lifetime of issued temporary credentials. Default 3600 s.
  std::chrono::seconds session_lifetime{3600};
  AwsMisconfiguration misconfiguration = AwsMisconfiguration::kNone;
};

// Parses `ebb-testenv aws` flags (--prometheus, --dir, --namespace,
// --service-account, --region, --workspace, --token-lifetime,
// --session-lifetime, --misconfigure). kInvalidConfig naming the flag.
Result<AwsTestEnvOptions> ParseAwsTestEnvArgs(const std::vector<std::string>& args);

// Owns every emulator. Thread-safe after Start. `clock` must outlive it.
class AwsTestEnv {
 public:
  static Result<std::unique_ptr<AwsTestEnv>> Start(AwsTestEnvOptions options,
                                                   const Clock& clock = RealClock::Instance());
  ~AwsTestEnv();

  const AwsTestEnvOptions& options() const { return options_; }
  const std::string& ca_file() const { return ca_file_; }
  const std::string& web_identity_token_file() const { return web_identity_file_; }
  const std::string& pod_identity_token_file() const { return pod_identity_file_; }
  const std::string& env_file() const { return env_file_; }
  std::string role_arn() const { return account_.RoleArn(options_.role_name); }

  AwsAccount& account() { return account_; }
  StsEmulator& sts() { return *sts_; }
  PodIdentityAgent& pod_identity_agent() { return *agent_; }
  Ec2Metadata& imds() { return *imds_; }
  AmpFrontDoor& front_door() { return *front_door_; }

  // Variable -> value of the IRSA pod environment (what `env` exports).
  std::vector<std::pair<std::string, std::string>> IrsaEnvironment() const;
  // Variable -> value of the EKS Pod Identity pod environment.
  std::vector<std::pair<std::string, std::string>> PodIdentityEnvironment() const;

  Status RefreshTokenFiles();
  Time NextRefresh() const;
  // Endpoints, files, and what to put in a ScaledObject.
  std::string Describe() const;

 private:
  AwsTestEnv(AwsTestEnvOptions options, const Clock& clock);
  Status StartEmulators(const TestCa& ca);
  void RegisterIdentity();
  Status WriteFiles(const TestCa& ca);

  const AwsTestEnvOptions options_;
  const Clock& clock_;
  AwsAccount account_;
  std::unique_ptr<azure::OidcIssuer> issuer_;
  std::unique_ptr<StsEmulator> sts_;
  std::unique_ptr<PodIdentityAgent> agent_;
  std::unique_ptr<Ec2Metadata> imds_;
  std::unique_ptr<AmpFrontDoor> front_door_;
  std::string ca_file_, web_identity_file_, pod_identity_file_, env_file_, pod_env_file_;
  mutable std::mutex mu_;
  Time last_refresh_;  // guarded by mu_
};

}  // namespace ebb::testing::aws
