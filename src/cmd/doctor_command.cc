#include "cmd/doctor_command.h"

#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <regex>

#include "api/manifest_set.h"
#include "auth/token_cache.h"
#include "common/clock.h"
#include "common/log.h"
#include "doctor/doctor.h"
#include "http/curl_http_client.h"
#include "kube/config.h"
#include "kube/rest_client.h"

namespace ebb::cmd {

namespace {

// "" when the options are usable, else what is wrong.
std::string InvalidOption(const DoctorOptions& o) {
  if (o.output != "text" && o.output != "json") {
    return "--output must be text or json, not \"" + o.output + "\"";
  }
  if (o.in_cluster && !o.kubeconfig.empty())
    return "--in-cluster and --kubeconfig exclude each other";
  static const std::regex kPin(R"(^[^:\s]+:[0-9]{1,5}:[^\s]+$)");
  for (const std::string& pin : o.resolve) {
    if (!std::regex_match(pin, kPin)) {
      return "--resolve \"" + pin +
             "\" is not HOST:PORT:ADDR (e.g. ws.eastus.prometheus.monitor.azure.com:443:127.0.0.1)";
    }
  }
  if (!o.operator_pod.empty()) {
    size_t slash = o.operator_pod.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == o.operator_pod.size()) {
      return "--operator-pod \"" + o.operator_pod + "\" is not NAMESPACE/NAME";
    }
  }
  if (!o.name.empty() && o.name.find('/') == std::string::npos) {
    return "--name \"" + o.name + "\" is not NAMESPACE/NAME";
  }
  for (const std::string& f : o.files) {
    std::error_code ec;
    if (!std::filesystem::exists(f, ec)) return "-f " + f + ": no such file or directory";
  }
  return "";
}

bool HasScaledObject(const api::ManifestSet& set, const std::string& name) {
  for (const api::ScaledObject& so : set.scaled_objects) {
    if (name.empty() || so.metadata.Key() == name) return true;
  }
  for (const api::Problem& p : set.errors) {
    if (p.kind == "ScaledObject" && (name.empty() || p.object == name)) return true;
  }
  return false;
}

std::string EnvOr(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

}  // namespace

int RunDoctor(const DoctorOptions& options, std::ostream& out, std::ostream& err) {
  if (std::string bad = InvalidOption(options); !bad.empty()) {
    err << "error: " << bad << "\n";
    return 2;
  }
  std::optional<Time> query_time;
  if (!options.time.empty()) {
    Time t;
    if (!ParseRfc3339(options.time, &t)) {
      err << "error: --time \"" << options.time << "\" is not an RFC 3339 time\n";
      return 2;
    }
    query_time = t;
  }
  api::ManifestSet set = api::LoadManifestSet(options.files);
  if (!HasScaledObject(set, options.name)) {
    // Say why: a file that does not parse, an apiVersion that is not a string.
    for (const api::Problem& p : set.errors) err << "error: " << p.ToString() << "\n";
    err << "error: no ScaledObject" << (options.name.empty() ? "" : " " + options.name)
        << " (keda.sh/v1alpha1) found in the given files\n";
    return 2;
  }
  // Doctor reports every failure itself, with its cause and fix; the token
  // cache's warnings would only repeat them on stderr.
  Logger::Default().SetLevel(LogLevel::kError);
  const Clock& clock = RealClock::Instance();
  doctor::DoctorContext ctx;
  ctx.env = options.environment ? *options.environment : doctor::ProcessEnvironment();
  ctx.clock = &clock;
  ctx.offline = options.offline;
  ctx.cluster_requested = options.in_cluster || !options.kubeconfig.empty();
  ctx.resolve = options.resolve;
  ctx.ca_file = EnvOr("SSL_CERT_FILE");
  ctx.query_time = query_time;
  ctx.value = options.value;
  ctx.allow_insecure = options.allow_insecure_auth;
  ctx.token_destinations = options.token_destinations;
  ctx.connect_timeout = options.connect_timeout;
  std::unique_ptr<http::CurlHttpClient> client;
  if (!options.offline) {
    http::CurlHttpClientOptions client_options;
    client_options.resolve = options.resolve;
    client = std::make_unique<http::CurlHttpClient>(client_options);
    ctx.client = client.get();
    ctx.token_cache = std::make_shared<auth::TokenCache>(clock);
  }
  // The cluster checks' API client: its own HTTP client (no --resolve
  // pins: those are for the query's host). Read-only calls.
  std::unique_ptr<http::CurlHttpClient> kube_http;
  std::unique_ptr<kube::RestClient> kube_client;
  ctx.in_cluster = options.in_cluster;
  ctx.operator_pod = options.operator_pod;
  if (ctx.cluster_requested && !options.offline) {
    Result<kube::RestConfig> config =
        options.in_cluster ? kube::LoadInClusterConfig()
                           : kube::LoadKubeconfig({.kubeconfig = options.kubeconfig});
    if (config.ok()) {
      kube_http = std::make_unique<http::CurlHttpClient>();
      kube_client = std::make_unique<kube::RestClient>(*kube_http, *config, clock);
      ctx.kube = kube_client.get();
    } else {
      ctx.kube_error = config.status().message();
    }
  }
  doctor::RunOptions run;
  run.name = options.name;
  doctor::Report report = doctor::RunDoctor(set, ctx, run);
  if (options.output == "json") {
    report.RenderJson(out);
  } else {
    report.RenderText(out, {.color = !options.no_color});
  }
  if (kube_http) kube_http->Shutdown();
  return report.HasFailure() ? 1 : 0;
}

}  // namespace ebb::cmd
