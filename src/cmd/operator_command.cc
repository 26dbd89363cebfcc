#include "cmd/operator_command.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <random>
#include <thread>

#include "auth/token_cache.h"
#include "cmd/loop_setup.h"
#include "cmd/stop_signals.h"
#include "common/event_loop.h"
#include "common/log.h"
#include "http/curl_http_client.h"
#include "http/http_server.h"
#include "kube/config.h"
#include "kube/leader_election.h"
#include "kube/rest_client.h"
#include "metrics/endpoints.h"
#include "metrics/keda_metrics.h"
#include "metrics/registry.h"
#include "operator/operator.h"

namespace ebb::cmd {

namespace {

Duration Seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

// $POD_NAME (the downward API) or the host name, plus a random suffix: a
// restarted pod must never take its predecessor's lease for its own.
std::string DefaultIdentity() {
  std::string base;
  if (const char* pod = std::getenv("POD_NAME"); pod && *pod) base = pod;
  if (base.empty()) {
    char host[256] = {};
    base = gethostname(host, sizeof(host) - 1) == 0 && host[0] ? host : "ebb";
  }
  std::random_device rd;
  char suffix[9];
  std::snprintf(suffix, sizeof(suffix), "%08x", rd());
  return base + "_" + suffix;
}

Result<kube::RestConfig> LoadConfig(const OperatorCommandOptions& o) {
  const bool in_cluster = o.kubeconfig.empty() && std::getenv("KUBERNETES_SERVICE_HOST") != nullptr;
  if (in_cluster) return kube::LoadInClusterConfig();
  return kube::LoadKubeconfig({.kubeconfig = o.kubeconfig, .context = o.context});
}

// Validates the options that need no cluster; "" when usable.
std::string InvalidOption(const OperatorCommandOptions& o) {
  LogFormat format;
  LogLevel level;
  if (!ParseLogFormat(o.log_format, &format)) return "--log-format must be text or json";
  if (!ParseLogLevel(o.log_level, &level)) return "--log-level must be debug, info, warn or error";
  if (o.kube_burst < 1) return "--kube-api-burst must be at least 1";
  return "";
}

// ClusterTriggerAuthentications read their Secrets from the operator's
// namespace: with a namespace list, that namespace must be watched too.
std::vector<std::string> WatchedNamespaces(std::vector<std::string> list, const std::string& own) {
  if (!list.empty() && std::find(list.begin(), list.end(), own) == list.end()) list.push_back(own);
  return list;
}

}  // namespace

int RunOperator(const OperatorCommandOptions& o, std::ostream& err) {
  if (std::string bad = InvalidOption(o); !bad.empty()) {
    err << "error: " << bad << "\n";
    return 2;
  }
  Logger& log = Logger::Default();
  LogFormat format;
  LogLevel level;
  ParseLogFormat(o.log_format, &format);
  ParseLogLevel(o.log_level, &level);
  log.SetFormat(format);
  log.SetLevel(level);

  Result<kube::RestConfig> config = LoadConfig(o);
  if (!config.ok()) {
    err << "error: cannot load the cluster configuration: " << config.status().message() << "\n";
    return 2;
  }
  const std::string own_namespace = config->namespace_name;
  kube::LeaderElectionConfig election;
  election.lease_namespace =
      o.leader_election_namespace.empty() ? own_namespace : o.leader_election_namespace;
  election.lease_name = o.leader_election_id;
  election.identity = o.identity.empty() ? DefaultIdentity() : o.identity;
  election.lease_duration = Seconds(o.lease_duration);
  election.renew_deadline = Seconds(o.renew_deadline);
  election.retry_period = Seconds(o.retry_period);
  if (o.leader_elect) {
    if (Status s = kube::ValidateLeaderElection(election); !s.ok()) {
      err << "error: " << s.message() << "\n";
      return 2;
    }
  }
  sigset_t stop_signals = BlockStopSignals();

  const Clock& clock = RealClock::Instance();
  // Two HTTP clients: the API server's watches are long-lived streams and
  // must not take the in-flight slots Prometheus queries need.
  http::CurlHttpClient kube_http;
  http::CurlHttpClient http;
  kube::RestClientOptions kube_options;
  kube_options.qps = o.kube_qps;
  kube_options.burst = o.kube_burst;
  kube::RestClient kube(kube_http, *config, clock, kube_options);
  auto token_cache = std::make_shared<auth::TokenCache>(clock);

  metrics::Registry registry;
  metrics::KedaMetrics keda_metrics(registry, LoopMetricsOptions(token_cache, http));

  controller::TriggerEnvironment env =
      LoopTriggerEnvironment(clock, token_cache, o.allow_insecure_auth, o.token_destinations);
  env.resolve.cluster_object_namespace =
      o.cluster_object_namespace.empty() ? own_namespace : o.cluster_object_namespace;
  // KEDA reads `env` references from the target's pod template; ebb does
  // not yet, and must never hand a trigger the operator's own environment.
  env.resolve.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };

  // The elector's own loop, on a clock that never steps: lease intervals
  // are waits, and a wall-clock step must not stretch or cut them.
  SteadyClock election_clock;
  EventLoop election_loop(election_clock);
  std::unique_ptr<kube::LeaderElector> elector;
  op::Operator* op_ptr = nullptr;
  if (o.leader_elect) {
    kube::LeaderCallbacks callbacks;
    callbacks.on_started_leading = [&op_ptr] { if (op_ptr) op_ptr->LeadershipChanged(); };
    callbacks.on_stopped_leading = [&op_ptr] { if (op_ptr) op_ptr->LeadershipChanged(); };
    elector = std::make_unique<kube::LeaderElector>(kube, election_loop, election, callbacks, &log);
  }
  op::OperatorOptions options;
  options.caches.namespaces = WatchedNamespaces(o.watch_namespaces, env.resolve.cluster_object_namespace);
  options.controller.dry_run = o.dry_run;
  options.instance = election.identity;
  std::function<bool()> leading;
  if (elector) leading = [e = elector.get()] { return e->IsLeader(); };
  op::Operator op(kube, http, clock, env, options, leading, &keda_metrics, &log);
  op_ptr = &op;

  registry.AddCallbackGauge("ebb_leader", "1 while this process is the leader and scales",
                            [&op] { return op.Acting() ? 1 : 0; });
  registry.AddCallbackCounter("ebb_status_writes_total", "ScaledObject status writes",
                              [&op] { return static_cast<double>(op.StatusCounters().status_writes); });
  registry.AddCallbackCounter("ebb_events_created_total", "Events created",
                              [&op] { return static_cast<double>(op.StatusCounters().events_created); });
  registry.AddCallbackCounter("ebb_kube_requests_throttled_total",
                              "Kubernetes API requests that waited for the client-side rate limit",
                              [&kube] { return static_cast<double>(kube.throttled()); });

  http::HttpServer server;
  metrics::HealthChecks checks;
  checks.ready = [&op]() -> Status {
    return op.Synced() ? Status::Ok() : Unavailable("caches not synced yet");
  };
  metrics::AddEndpoints(server, registry, std::move(checks));
  if (Status started = server.Start(o.metrics_address); !started.ok()) {
    err << "error: --metrics-address: " << started.message() << "\n";
    return 2;
  }
  log.Info("ebb operator starting",
           {{"server", config->server}, {"config", config->source},
            {"identity", election.identity},
            {"leaderElection", o.leader_elect ? election.lease_namespace + "/" + election.lease_name : "off"},
            {"metrics", "http://" + o.metrics_address + "/metrics"},
            {"dryRun", o.dry_run ? "true" : "false"}});

  std::jthread op_thread([&op](std::stop_token st) { op.Run(st); });
  if (elector) {
    election_loop.StartThread();
    elector->Start();
  }

  int signal = 0;
  sigwait(&stop_signals, &signal);
  log.Info("stopping", {{"signal", signal == SIGINT ? "SIGINT" : "SIGTERM"}});
  op_thread.request_stop();
  op_thread.join();  // in-flight polls finish or are cancelled within the grace
  if (elector) elector->StopAndWait();  // releases the Lease
  election_loop.Stop();
  server.Stop();
  http.Shutdown();
  kube_http.Shutdown();
  log.Info("stopped");
  return 0;
}

}  // namespace ebb::cmd
