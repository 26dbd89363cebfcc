// The checks of `ebb doctor`, one function per step of the path a query
// travels (docs/doctor.md lists every id with its causes and fixes):
//
//   manifest.*   the ScaledObject, its trigger and authenticationRef (offline)
//   identity.*   the Azure identity: AZURE_* variables, token file, claims
//                (offline), and the token exchange (network)
//   endpoint.*   DNS, TCP, TLS and proxy of serverAddress (network)
//   query.*      the query sent as the operator sends it (network)
//   threshold.*  the value against threshold and activationThreshold
//
// Each check reads and fills a TriggerUnderTest, so that a later step uses
// what an earlier one resolved (the identity, the token source, the value).
// doctor.h runs them in order and skips the rest of a trigger after a
// failure. No check ever puts a token, assertion, password or key into a
// CheckResult.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/manifest_set.h"
#include "api/scaled_object.h"
#include "auth/authorizer.h"
#include "auth/azure_workload_identity.h"
#include "auth/imds_source.h"
#include "auth/jwt_claims.h"
#include "auth/token_cache.h"
#include "common/clock.h"
#include "common/secret.h"
#include "doctor/check.h"
#include "http/http_client.h"
#include "kube/rest_client.h"
#include "prometheus/config.h"

namespace ebb::doctor {

// What every check may use. The pointers are not owned and must outlive
// the run.
struct DoctorContext {
  // The environment: AZURE_* variables and proxy settings. Default: the
  // process environment (ProcessEnvironment()); tests pass a map.
  auth::Environment env;
  const Clock* clock = nullptr;        // REQUIRED
  http::HttpClient* client = nullptr;  // REQUIRED unless offline
  // Shared by the token exchange and the query. REQUIRED unless offline.
  std::shared_ptr<auth::TokenCache> token_cache;
  // Run only the checks that need no network. Default false.
  bool offline = false;
  // --in-cluster or --kubeconfig was given. Default false.
  bool cluster_requested = false;
  // --in-cluster: the operator pod defaults to $POD_NAMESPACE/$POD_NAME of
  // `env`. Default false.
  bool in_cluster = false;
  // The Kubernetes API, for the cluster.* checks. nullptr when the
  // configuration could not be loaded (then `kube_error` says why) or no
  // cluster was requested.
  kube::RestClient* kube = nullptr;
  std::string kube_error;
  // --operator-pod "NAMESPACE/NAME": the pod the cluster checks examine.
  // Default "": $POD_NAMESPACE/$POD_NAME with in_cluster.
  std::string operator_pod;
  // curl --resolve pins "HOST:PORT:ADDR", for the endpoint probe (the
  // HttpClient must be built with the same pins). Default none.
  std::vector<std::string> resolve;
  // Trust store of the endpoint probe when the trigger names no CA, as the
  // HttpClient's default_ca_file ($SSL_CERT_FILE). Default "" (curl's).
  std::string ca_file;
  // The query's `time`. Default: the clock's now.
  std::optional<Time> query_time;
  // A value to check the threshold against when the query is not run
  // (--offline, --value). Default none.
  std::optional<double> value;
  // http:// token authorities and bearer tokens over http (emulators).
  bool allow_insecure = false;
  // --token-destination: hosts besides the Azure managed-Prometheus
  // domains that tokens of ebb's own identities may go to. Default none.
  std::vector<std::string> token_destinations;
  // Bound on the endpoint probe's connect and TLS handshake. Default 5 s.
  std::chrono::milliseconds connect_timeout{5000};
  // Namespace of ClusterTriggerAuthentication Secrets. Default "keda".
  std::string cluster_object_namespace = "keda";
};

// The title of check `id` ("identity.token-claims" -> "Service-account
// token claims"); the id itself when unknown.
std::string CheckTitle(std::string_view id);

// A passing result for check `id` in `scope`, to be filled in.
inline CheckResult NewCheck(std::string_view id, std::string scope) {
  CheckResult r;
  r.id = std::string(id);
  r.title = CheckTitle(id);
  r.scope = std::move(scope);
  return r;
}

// Every variable of this process.
auth::Environment ProcessEnvironment();

// One trigger being checked, and what the checks found so far. Not
// thread-safe. Holds resolved credentials (SecretString) but never shows them.
struct TriggerUnderTest {
  const api::ScaledObject* so = nullptr;
  size_t index = 0;
  const api::ManifestSet* set = nullptr;
  // Filled by the manifest checks.
  std::optional<prometheus::PrometheusConfig> config;
  const api::TriggerAuthentication* authentication = nullptr;
  std::map<std::string, SecretString> params;
  std::string provider;            // podIdentity.provider ("" without one)
  auth::AuthorizerPtr authorizer;  // static or none; token identities: after the exchange
  // Filled by the identity checks.
  std::optional<auth::AzureWorkloadIdentityConfig> workload;
  std::optional<auth::ImdsConfig> imds;
  std::optional<auth::JwtClaims> assertion;
  auth::TokenSourcePtr token_source;
  // Filled by the query checks (or DoctorContext::value).
  std::optional<double> value;

  const api::Trigger& trigger() const { return so->spec.triggers[index]; }
  // "ScaledObject ns/name, trigger 0 (prometheus)" or with the trigger's name.
  std::string Scope() const;
  bool UsesWorkloadIdentity() const;
  bool UsesManagedIdentity() const;
};

// --- manifest.* (no network) ---
// The problems of the files (not of one ScaledObject): "manifest.parse".
CheckResult CheckFiles(const api::ManifestSet& set, const api::Problems& errors,
                       const api::Problems& warnings);
// One ScaledObject's decode and engine problems: "manifest.parse".
CheckResult CheckObject(const std::string& scope, const api::Problems& errors,
                        const api::Problems& warnings);
CheckResult CheckTrigger(TriggerUnderTest& t);                            // manifest.trigger
CheckResult CheckAuthRef(TriggerUnderTest& t, const DoctorContext& ctx);  // manifest.auth-ref
CheckResult CheckAuthModesWithPodIdentity(const TriggerUnderTest& t);
CheckResult CheckAzureHostIdentity(const TriggerUnderTest& t);

// --- identity.aws-* (podIdentity aws / aws-eks) ---
bool UsesAwsIdentity(const TriggerUnderTest& t);
// Which provider of the AWS chain ebb's environment selects; for IRSA, the
// token's issuer, subject and audience (must be sts.amazonaws.com).
CheckResult CheckAwsChain(TriggerUnderTest& t, const DoctorContext& ctx);  // identity.aws-chain
// The credential exchange of that provider (STS, agent or IMDS), through
// the shared cache, before any query is signed.
CheckResult CheckAwsCredentials(TriggerUnderTest& t, const DoctorContext& ctx);  // identity.aws-credentials

// --- identity.* ---
CheckResult CheckIdentityEnv(TriggerUnderTest& t, const DoctorContext& ctx);
CheckResult CheckTokenFile(const TriggerUnderTest& t);
CheckResult CheckTokenClaims(TriggerUnderTest& t, const DoctorContext& ctx);
// Step 3 without --in-cluster or --kubeconfig: always kSkip.
CheckResult CheckClusterSkipped(const TriggerUnderTest& t);
// Performs a real exchange; fills t.token_source and t.authorizer.
CheckResult CheckTokenExchange(TriggerUnderTest& t, const DoctorContext& ctx);

// --- cluster.* --- (azure-workload; needs ctx.kube or ctx.kube_error)
// cluster.operator-pod, cluster.pod-label, cluster.service-account,
// cluster.webhook, cluster.pod-injected, in that order; a failure ends the
// group. Reads (get pods and serviceaccounts in the pod's namespace, list
// mutatingwebhookconfigurations); writes nothing.
extern const std::vector<std::string_view> kClusterIds;
std::vector<CheckResult> CheckCluster(const TriggerUnderTest& t, const DoctorContext& ctx);

// --- endpoint.* --- (dns, tcp, tls when https, proxy), in that order; a
// failure skips the rest of the group.
std::vector<CheckResult> CheckEndpoint(const TriggerUnderTest& t, const DoctorContext& ctx);

// --- query.* ---
// Sends the query through t.authorizer; query.status, then query.shape
// (which fills t.value), or query.status failed alone.
std::vector<CheckResult> CheckQuery(TriggerUnderTest& t, const DoctorContext& ctx);

// --- threshold.* ---
CheckResult CheckThreshold(const TriggerUnderTest& t);

// Proxy variables that apply to `url` under `env` (curl's rules:
// https_proxy/HTTPS_PROXY for https, http_proxy for http, then
// all_proxy/ALL_PROXY; no_proxy/NO_PROXY exempts hosts). "" when none.
std::string ProxyFor(const std::string& url, const auth::Environment& env);

}  // namespace ebb::doctor
