#include "cmd/simulate_command.h"

#include <fstream>
#include <future>
#include <map>
#include <ostream>
#include <sstream>

#include "auth/token_cache.h"
#include "cmd/manifest_loading.h"
#include "common/duration.h"
#include "controller/trigger_factory.h"
#include "http/curl_http_client.h"
#include "prometheus/config.h"
#include "prometheus/request.h"
#include "prometheus/response.h"
#include "scaling/replay.h"

namespace ebb::cmd {

namespace {

Result<const api::ScaledObject*> Select(const api::ManifestSet& set, const std::string& name) {
  if (name.empty()) {
    if (set.scaled_objects.size() == 1) return &set.scaled_objects[0];
    if (set.scaled_objects.empty()) return InvalidConfig("no ScaledObject found in the given files");
    return InvalidConfig("the files hold " + std::to_string(set.scaled_objects.size()) +
                         " ScaledObjects; choose one with --name NAMESPACE/NAME");
  }
  size_t slash = name.find('/');
  std::string ns = slash == std::string::npos ? "default" : name.substr(0, slash);
  std::string n = slash == std::string::npos ? name : name.substr(slash + 1);
  if (const api::ScaledObject* so = set.FindScaledObject(ns, n)) return so;
  return NotFound("ScaledObject " + ns + "/" + n + " not found in the given files");
}

Result<std::vector<scaling::TriggerTarget>> Targets(const api::ScaledObject& so) {
  std::vector<scaling::TriggerTarget> targets;
  for (const api::Trigger& t : so.spec.triggers) {
    Result<prometheus::PrometheusConfig> c = prometheus::ParsePrometheusMetadata(t.metadata);
    if (!c.ok()) return c.status();
    targets.push_back({c->threshold, c->activation_threshold, t.metric_type});
  }
  return targets;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot be read");
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

struct Window {
  Time start, end;
  Duration step;
};

Result<Window> ParseWindow(const SimulateOptions& o) {
  Window w;
  if (!ParseRfc3339(o.start, &w.start)) return InvalidConfig("--start \"" + o.start + "\" is not an RFC 3339 time");
  if (!ParseRfc3339(o.end, &w.end)) return InvalidConfig("--end \"" + o.end + "\" is not an RFC 3339 time");
  Result<Duration> step = ParseGoDuration(o.step);
  if (!step.ok()) return step.status().WithContext("--step");
  w.step = *step;
  if (w.step.count() <= 0) return InvalidConfig("--step must be positive");
  if (w.end <= w.start) return InvalidConfig("--end must be after --start");
  if ((w.end - w.start) / w.step > 100000) return InvalidConfig("--step is too small: more than 100000 polls");
  return w;
}

// One trigger's range query through its authorizer, as the poll would send it.
Result<std::vector<prometheus::RangePoint>> FetchRange(const controller::BuiltTrigger& t,
                                                       http::HttpClient& client, const Window& w) {
  const prometheus::PrometheusConfig& c = t.prometheus->config();
  std::promise<Result<http::HttpResponse>> p;
  t.prometheus->authorizer()->Send(client, prometheus::BuildRangeRequest(c, w.start, w.end, w.step),
                                          [&p](Result<http::HttpResponse> r) { p.set_value(std::move(r)); });
  Result<http::HttpResponse> r = p.get_future().get();
  if (!r.ok()) return r.status();
  if (r->status < 200 || r->status > 299) {
    return prometheus::HttpErrorStatus(r->status, r->body, t.prometheus->authorizer()->Describe());
  }
  return prometheus::ParseRangeResponse(r->body, c.ignore_null_values);
}

// Poll times start, start+step, ... <= end; a trigger's value at a poll is
// its point at that time, or (none returned) 0 under ignoreNullValues as
// the instant query would read it, else a failure.
Result<scaling::Series> SeriesFromPrometheus(const api::ScaledObject& so, const api::ManifestSet& set,
                                             const Window& w, const SimulateOptions& o) {
  const Clock& clock = RealClock::Instance();
  controller::TriggerEnvironment env;
  env.auth.clock = &clock;
  env.auth.token_cache = std::make_shared<auth::TokenCache>(clock);
  env.auth.azure_env = auth::AzureEnvironmentFromProcess();
  env.auth.allow_insecure = o.allow_insecure_auth;
  env.auth.token_destinations = o.token_destinations;
  http::CurlHttpClient client;
  scaling::Series series;
  for (Time t = w.start; t <= w.end; t += w.step) series.times.push_back(ToUnixSeconds(t));
  series.values.assign(series.times.size(), {});
  for (size_t i = 0; i < so.spec.triggers.size(); ++i) {
    Result<controller::BuiltTrigger> built = controller::BuildTrigger(so, i, set, env);
    if (!built.ok()) return built.status();
    Result<std::vector<prometheus::RangePoint>> points = FetchRange(*built, client, w);
    if (!points.ok()) return points.status().WithContext("spec.triggers[" + std::to_string(i) + "]");
    std::map<int64_t, double> by_ms;
    for (const auto& pt : *points) by_ms[std::llround(ToUnixSeconds(pt.time) * 1000)] = pt.value;
    series.columns.push_back(built->name);
    bool lenient = built->prometheus->config().ignore_null_values;
    for (size_t row = 0; row < series.times.size(); ++row) {
      auto it = by_ms.find(std::llround(series.times[row] * 1000));
      std::optional<double> v;
      if (it != by_ms.end()) v = it->second; else if (lenient) v = 0.0;
      series.values[row].push_back(v);
    }
  }
  return series;
}

}  // namespace

int RunSimulate(const SimulateOptions& o, std::ostream& out, std::ostream& err) {
  if (o.output != "csv" && o.output != "json") {
    err << "error: --output must be csv or json, not \"" << o.output << "\"\n";
    return 2;
  }
  if (o.from_prometheus == !o.series.empty()) {
    err << "error: give either --series FILE.csv or --from-prometheus --start --end [--step]\n";
    return 2;
  }
  LoadedManifests loaded = LoadAndValidate(o.files);
  PrintProblems(loaded, err);
  if (!loaded.errors.empty()) return 2;
  Result<const api::ScaledObject*> so = Select(loaded.set, o.name);
  if (!so.ok()) {
    err << "error: " << so.status().message() << "\n";
    return 2;
  }
  Result<std::vector<scaling::TriggerTarget>> targets = Targets(**so);
  if (!targets.ok()) {
    err << "error: " << targets.status().message() << "\n";
    return 2;
  }
  Result<scaling::Series> series = InvalidConfig("no series");
  if (o.from_prometheus) {
    Result<Window> w = ParseWindow(o);
    if (!w.ok()) {
      err << "error: " << w.status().message() << "\n";
      return 2;
    }
    series = SeriesFromPrometheus(**so, loaded.set, *w, o);
    if (!series.ok()) {
      err << "error: " << series.status().ToString() << "\n";
      return 1;
    }
  } else {
    Result<std::string> text = ReadFile(o.series);
    if (!text.ok()) {
      err << "error: " << text.status().message() << "\n";
      return 2;
    }
    series = scaling::ParseSeriesCsv(*text, o.series);
  }
  if (!series.ok()) {
    err << "error: " << series.status().message() << "\n";
    return 2;
  }
  scaling::ReplayOptions options;
  options.targets = std::move(*targets);
  options.file_name = o.from_prometheus ? "prometheus" : o.series;
  if (o.initial_replicas) options.initial_replicas = *o.initial_replicas;
  Result<scaling::ReplayResult> result = scaling::Replay(**so, *series, options);
  if (!result.ok()) {
    err << "error: " << result.status().message() << "\n";
    return 2;
  }
  out << (o.output == "json" ? scaling::ReplayToJson(*result) + "\n" : scaling::ReplayToCsv(*result));
  return 0;
}

}  // namespace ebb::cmd
