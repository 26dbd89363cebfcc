// The ebb binary: one executable, one subcommand per job (docs/design.md).
#include <CLI/CLI.hpp>

#include <iostream>

#include "auth/token_destination.h"
#include "cmd/doctor_command.h"
#include "cmd/query_command.h"
#include "cmd/operator_command.h"
#include "cmd/run_command.h"
#include "cmd/simulate_command.h"
#include "cmd/version.h"

namespace {

// The flags that decide how and where credentials may be sent; the same on
// every subcommand that sends queries.
void AddAuthFlags(CLI::App* cmd, bool& allow_insecure, std::vector<std::string>& destinations) {
  cmd->add_flag("--allow-insecure-auth", allow_insecure,
                "Allow http:// token authorities and bearer tokens over plain http (local testing)");
  cmd->add_option("--token-destination", destinations,
                  "A host (or *.domain) that tokens of ebb's own identities may be sent to, besides the "
                  "Azure Managed Prometheus domains (repeatable)")
      ->check([](const std::string& v) {
        ebb::Status s = ebb::auth::ValidateDestinationPattern(v);
        return s.ok() ? std::string() : s.message();
      });
}

void AddVersion(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("version", "Print ebb's version");
  cmd->callback([exit_code] {
    std::cout << "ebb " << ebb::cmd::kVersion << "\n";
    *exit_code = 0;
  });
}

void AddQuery(CLI::App& app, int* exit_code) {
  static ebb::cmd::QueryOptions options;
  CLI::App* cmd = app.add_subcommand(
      "query", "Evaluate every trigger of every ScaledObject once: value, active, replicas implied");
  cmd->add_option("-f,--filename", options.files, "Manifest file or directory (repeatable)")
      ->required();
  cmd->add_option("-o,--output", options.output, "text or json")->capture_default_str();
  cmd->add_option("--time", options.time, "Evaluate at this RFC 3339 time instead of now");
  AddAuthFlags(cmd, options.allow_insecure_auth, options.token_destinations);
  cmd->callback([exit_code] { *exit_code = ebb::cmd::RunQuery(options, std::cout, std::cerr); });
}

void AddSimulate(CLI::App& app, int* exit_code) {
  static ebb::cmd::SimulateOptions options;
  static int initial = -1;
  CLI::App* cmd = app.add_subcommand(
      "simulate", "Replay a metric timeline through the decision engine and print the replicas");
  cmd->add_option("-f,--filename", options.files, "Manifest file or directory (repeatable)")->required();
  cmd->add_option("--name", options.name, "NAMESPACE/NAME of the ScaledObject when the files hold several");
  cmd->add_option("--series", options.series, "CSV: time,<trigger>,... one row per poll");
  cmd->add_flag("--from-prometheus", options.from_prometheus,
                "Fetch each trigger's series with query_range (same auth as the trigger)");
  cmd->add_option("--start", options.start, "RFC 3339 start, with --from-prometheus");
  cmd->add_option("--end", options.end, "RFC 3339 end, with --from-prometheus");
  cmd->add_option("--step", options.step, "Poll interval of the replay, with --from-prometheus")
      ->capture_default_str();
  cmd->add_option("--initial-replicas", initial, "Replicas before the first row (default: minReplicaCount)");
  cmd->add_option("-o,--output", options.output, "csv or json")->capture_default_str();
  AddAuthFlags(cmd, options.allow_insecure_auth, options.token_destinations);
  cmd->callback([exit_code] {
    if (initial >= 0) options.initial_replicas = initial;
    *exit_code = ebb::cmd::RunSimulate(options, std::cout, std::cerr);
  });
}

void AddDoctor(CLI::App& app, int* exit_code) {
  static ebb::cmd::DoctorOptions options;
  static double value = 0;
  CLI::App* cmd = app.add_subcommand(
      "doctor", "Check every step of each trigger's path and say pass, or the cause and the fix");
  cmd->add_option("-f,--filename", options.files, "Manifest file or directory (repeatable)")->required();
  cmd->add_option("--name", options.name, "NAMESPACE/NAME of the one ScaledObject to check");
  cmd->add_flag("--in-cluster", options.in_cluster, "Also run the cluster checks, from inside the operator's pod");
  cmd->add_option("--kubeconfig", options.kubeconfig, "Also run the cluster checks with this kubeconfig");
  cmd->add_option("--operator-pod", options.operator_pod, "NAMESPACE/NAME of the operator pod the cluster checks examine");
  cmd->add_flag("--offline", options.offline, "Only the checks that need no network (CI linting)");
  cmd->add_option("--resolve", options.resolve, "HOST:PORT:ADDR: connect to ADDR for HOST:PORT, as curl's --resolve");
  cmd->add_option("-o,--output", options.output, "text or json")->capture_default_str();
  cmd->add_flag("--no-color", options.no_color, "No ANSI colours in text output");
  cmd->add_option("--time", options.time, "Send the query at this RFC 3339 time instead of now");
  CLI::Option* value_option =
      cmd->add_option("--value", value, "A metric value for the threshold check (with --offline)");
  AddAuthFlags(cmd, options.allow_insecure_auth, options.token_destinations);
  cmd->callback([exit_code, value_option] {
    if (value_option->count() > 0) options.value = value;
    *exit_code = ebb::cmd::RunDoctor(options, std::cout, std::cerr);
  });
}

void AddRun(CLI::App& app, int* exit_code) {
  static ebb::cmd::RunOptions options;
  CLI::App* cmd = app.add_subcommand(
      "run", "Run the scaling loop on manifests from files (ProcessPool targets), until SIGINT/SIGTERM");
  cmd->add_option("-f,--filename", options.files, "Manifest file or directory (repeatable)")->required();
  cmd->add_option("--metrics-address", options.metrics_address, "Address of /metrics, /healthz, /readyz")
      ->capture_default_str();
  cmd->add_option("--log-format", options.log_format, "text or json")->capture_default_str();
  cmd->add_option("--log-level", options.log_level, "debug, info, warn or error")->capture_default_str();
  cmd->add_flag("--dry-run", options.dry_run, "Decide and log, but change nothing");
  cmd->add_option("--reload-interval", options.reload_seconds, "Seconds between checks of the files")
      ->capture_default_str();
  AddAuthFlags(cmd, options.allow_insecure_auth, options.token_destinations);
  cmd->callback([exit_code] { *exit_code = ebb::cmd::RunLoop(options, std::cerr); });
}

void AddOperator(CLI::App& app, int* exit_code) {
  static ebb::cmd::OperatorCommandOptions o;
  CLI::App* cmd = app.add_subcommand(
      "operator", "Run the scaling loop on KEDA resources in a Kubernetes cluster, until SIGINT/SIGTERM");
  cmd->add_option("--kubeconfig", o.kubeconfig,
                  "Kubeconfig file (default: in-cluster config in a pod, else $KUBECONFIG or ~/.kube/config)");
  cmd->add_option("--context", o.context, "Kubeconfig context (default: current-context)");
  cmd->add_option("--watch-namespace", o.watch_namespaces,
                  "Namespace to watch (repeatable; default: all namespaces)");
  cmd->add_option("--metrics-address", o.metrics_address, "Address of /metrics, /healthz, /readyz")
      ->capture_default_str();
  cmd->add_option("--log-format", o.log_format, "text or json")->capture_default_str();
  cmd->add_option("--log-level", o.log_level, "debug, info, warn or error")->capture_default_str();
  cmd->add_flag("--dry-run", o.dry_run, "Decide and log, but change nothing");
  cmd->add_option("--leader-elect", o.leader_elect,
                  "Elect a leader on a Lease; only the leader scales and writes status")
      ->capture_default_str();
  cmd->add_option("--leader-election-namespace,--lease-namespace", o.leader_election_namespace,
                  "Namespace of the Lease (default: the operator's namespace)");
  cmd->add_option("--leader-election-id", o.leader_election_id, "Name of the Lease")->capture_default_str();
  cmd->add_option("--identity", o.identity, "This process's holder identity (default: $POD_NAME or host name, plus a random suffix)");
  cmd->add_option("--lease-duration", o.lease_duration, "Seconds a follower waits before taking over")
      ->capture_default_str();
  cmd->add_option("--renew-deadline", o.renew_deadline, "Seconds the leader acts without a successful renew")
      ->capture_default_str();
  cmd->add_option("--retry-period", o.retry_period, "Seconds between acquire and renew attempts")
      ->capture_default_str();
  cmd->add_option("--cluster-object-namespace", o.cluster_object_namespace,
                  "Namespace of ClusterTriggerAuthentication Secrets (default: the operator's namespace)");
  cmd->add_option("--kube-api-qps", o.kube_qps, "Client-side rate limit of Kubernetes API requests")
      ->capture_default_str();
  cmd->add_option("--kube-api-burst", o.kube_burst, "Burst of that rate limit")->capture_default_str();
  AddAuthFlags(cmd, o.allow_insecure_auth, o.token_destinations);
  cmd->callback([exit_code] { *exit_code = ebb::cmd::RunOperator(o, std::cerr); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ebb: an event-driven autoscaler that reads KEDA's resources"};
  app.require_subcommand(1);
  int exit_code = 0;
  AddVersion(app, &exit_code);
  AddQuery(app, &exit_code);
  AddSimulate(app, &exit_code);
  AddDoctor(app, &exit_code);
  AddRun(app, &exit_code);
  AddOperator(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
