// `ebb operator`: the scaling loop on KEDA resources watched from the
// Kubernetes API (in cluster, or with a kubeconfig), scaling workloads
// through their /scale subresource, writing status and events, with leader
// election on a Lease. Serves /metrics, /healthz and /readyz; stops
// cleanly on SIGINT/SIGTERM (releasing the Lease).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace ebb::cmd {

struct OperatorCommandOptions {
  std::string kubeconfig;                        // "" : in cluster, else $KUBECONFIG / ~/.kube/config
  std::string context;                           // kubeconfig context ("" : current)
  std::vector<std::string> watch_namespaces;     // empty: all namespaces
  std::string metrics_address = "0.0.0.0:8080";  // in a pod, scraped by Prometheus
  std::string log_format = "json";               // text | json
  std::string log_level = "info";
  bool dry_run = false;
  bool leader_elect = true;
  std::string leader_election_namespace;         // "" : the pod's / context's namespace
  std::string leader_election_id = "ebb-operator.ebb.dev";
  std::string identity;                          // "" : $POD_NAME or hostname, plus a random suffix
  double lease_duration = 15, renew_deadline = 10, retry_period = 2;  // seconds
  std::string cluster_object_namespace;          // ClusterTriggerAuthentication Secrets ("" : own namespace)
  double kube_qps = 200;
  int kube_burst = 400;
  bool allow_insecure_auth = false;
  // --token-destination: hosts besides the Azure managed-Prometheus domains
  // that tokens of ebb\'s own identities may go to (token_destination.h).
  std::vector<std::string> token_destinations;
};

// Runs until SIGINT or SIGTERM. Exit code: 0 after a clean shutdown, 2 for
// unusable options or a cluster configuration that cannot be loaded.
int RunOperator(const OperatorCommandOptions& options, std::ostream& err);

}  // namespace ebb::cmd
