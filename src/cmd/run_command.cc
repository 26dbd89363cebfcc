#include "cmd/run_command.h"

#include <algorithm>
#include <csignal>
#include <ostream>
#include <thread>

#include "auth/token_cache.h"
#include "cmd/loop_setup.h"
#include "cmd/manifest_loading.h"
#include "cmd/stop_signals.h"
#include "controller/controller.h"
#include "controller/manifest_watcher.h"
#include "controller/object_status.h"
#include "http/curl_http_client.h"
#include "http/http_server.h"
#include "metrics/endpoints.h"
#include "metrics/keda_metrics.h"
#include "metrics/registry.h"
#include "targets/process_pool_resolver.h"
#include "targets/process_pool_spec.h"

namespace ebb::cmd {

namespace {

// One load of the files: what the controller and the resolver need.
struct Loaded {
  std::vector<api::ScaledObject> objects;
  std::shared_ptr<const api::ManifestSet> lookup;
  api::Problems invalid;
  std::vector<targets::ProcessPoolSpec> pools;
  bool unattributed_errors = false;
};

// Errors no object owns: a file that cannot be read or parsed (or is past
// a limit), a document that is not a manifest, an object without a
// readable name. After such a reload what the files mean is unknown.
bool HasUnattributedErrors(const api::Problems& errors) {
  return std::any_of(errors.begin(), errors.end(),
                     [](const api::Problem& p) { return p.object.empty(); });
}

Loaded Load(const std::vector<std::string>& files, Logger& log) {
  LoadedManifests m = LoadAndValidate(files);
  Loaded out;
  out.unattributed_errors = HasUnattributedErrors(m.errors);
  out.pools = targets::DecodeProcessPools(m.set, &m.errors, &m.warnings);
  for (const api::Problem& p : m.warnings) log.Warn("manifest warning", {{"problem", p.ToString()}});
  for (const api::Problem& p : m.errors) log.Error("manifest error", {{"problem", p.ToString()}});
  out.objects = m.set.scaled_objects;
  out.invalid = m.errors;
  out.lookup = std::make_shared<const api::ManifestSet>(std::move(m.set));
  return out;
}

bool ConfigureLogger(const RunOptions& o, Logger& log, std::ostream& err) {
  LogFormat format;
  LogLevel level;
  if (!ParseLogFormat(o.log_format, &format)) {
    err << "error: --log-format must be text or json, not \"" << o.log_format << "\"\n";
    return false;
  }
  if (!ParseLogLevel(o.log_level, &level)) {
    err << "error: --log-level must be debug, info, warn or error\n";
    return false;
  }
  log.SetFormat(format);
  log.SetLevel(level);
  return true;
}

}  // namespace

int RunLoop(const RunOptions& o, std::ostream& err) {
  Logger& log = Logger::Default();
  if (!ConfigureLogger(o, log, err)) return 2;
  if (o.files.empty()) {
    err << "error: give the manifests with -f FILE_OR_DIR\n";
    return 2;
  }
  sigset_t stop_signals = BlockStopSignals();

  const Clock& clock = RealClock::Instance();
  auto token_cache = std::make_shared<auth::TokenCache>(clock);
  http::CurlHttpClient http;
  metrics::Registry registry;
  metrics::KedaMetrics keda_metrics(registry, LoopMetricsOptions(token_cache, http));

  std::atomic<bool> loaded{false};
  http::HttpServer server;
  metrics::HealthChecks checks;
  checks.ready = [&loaded]() -> Status {
    return loaded ? Status::Ok() : Unavailable("manifests not loaded yet");
  };
  metrics::AddEndpoints(server, registry, std::move(checks));
  Status started = server.Start(o.metrics_address);
  if (!started.ok()) {
    err << "error: --metrics-address: " << started.message() << "\n";
    return 2;
  }

  targets::ProcessPoolResolver resolver;
  controller::TriggerEnvironment env =
      LoopTriggerEnvironment(clock, token_cache, o.allow_insecure_auth, o.token_destinations);
  controller::LoggingStatusSink status_sink(log);
  controller::ControllerOptions co;
  co.dry_run = o.dry_run;
  controller::Controller loop(co, clock, http, resolver, env, &keda_metrics, &status_sink, &log);

  Loaded first = Load(o.files, log);
  resolver.Update(first.pools);
  loop.Update(std::move(first.objects), first.lookup, first.invalid);
  loaded = true;
  log.Info("ebb run started", {{"metrics", "http://" + o.metrics_address + "/metrics"},
                               {"dryRun", o.dry_run ? "true" : "false"}});

  std::jthread loop_thread([&loop](std::stop_token st) { loop.Run(st); });
  controller::ManifestWatcher watcher(o.files);
  std::jthread watch_thread([&](std::stop_token st) {
    watcher.Run(st, std::chrono::seconds(o.reload_seconds), [&] {
      log.Info("manifests changed; reloading");
      Loaded next = Load(o.files, log);
      if (next.unattributed_errors) {
        // Half an edit, a truncated copy or garbage must not stop every
        // worker of the files it hides: keep running what was loaded.
        log.Error("reload refused: a manifest file has errors no object owns (see above); "
                  "keeping the previous manifests until the files are fixed");
        return;
      }
      resolver.Update(next.pools);
      loop.PostUpdate(std::move(next.objects), next.lookup, std::move(next.invalid));
    });
  });

  int signal = 0;
  sigwait(&stop_signals, &signal);
  log.Info("stopping", {{"signal", signal == SIGINT ? "SIGINT" : "SIGTERM"}});
  watch_thread.request_stop();
  watch_thread.join();
  loop_thread.request_stop();
  loop_thread.join();  // in-flight work finishes or is cancelled within the grace
  resolver.Shutdown();  // stops every copy, waits for them
  server.Stop();
  http.Shutdown();
  log.Info("stopped");
  return 0;
}

}  // namespace ebb::cmd
