#include "cmd/query_command.h"

#include <cmath>
#include <future>
#include <memory>
#include <ostream>

#include <nlohmann/json.hpp>

#include "auth/gcp_identity.h"
#include "auth/token_cache.h"
#include "cmd/manifest_loading.h"
#include "common/strings.h"
#include "controller/trigger_factory.h"
#include "http/curl_http_client.h"
#include "controller/implied_replicas.h"

namespace ebb::cmd {

namespace {

struct TriggerOutcome {
  size_t index = 0;
  std::string name;  // as written ("" when unnamed)
  std::string type;
  std::optional<prometheus::TriggerValue> value;
  Status error;
  double threshold = 0;
  double activation_threshold = 0;
  api::MetricType metric_type = api::MetricType::kAverageValue;
};

struct ObjectOutcome {
  const api::ScaledObject* so = nullptr;
  std::vector<TriggerOutcome> triggers;
  std::optional<int32_t> replicas_implied;
};

// Starts every trigger of `so`; the futures complete when the answers come.
std::vector<std::future<TriggerOutcome>> StartObject(const api::ScaledObject& so,
                                                     const api::ObjectLookup& lookup,
                                                     const controller::TriggerEnvironment& env,
                                                     http::HttpClient& client, Time now) {
  std::vector<std::future<TriggerOutcome>> futures;
  for (size_t i = 0; i < so.spec.triggers.size(); ++i) {
    auto promise = std::make_shared<std::promise<TriggerOutcome>>();
    futures.push_back(promise->get_future());
    TriggerOutcome base;
    base.index = i;
    base.name = so.spec.triggers[i].name;
    base.type = so.spec.triggers[i].type;
    base.metric_type = so.spec.triggers[i].metric_type;
    Result<controller::BuiltTrigger> built = controller::BuildTrigger(so, i, lookup, env);
    if (!built.ok()) {
      base.error = built.status();
      promise->set_value(base);
      continue;
    }
    base.threshold = built->target;
    base.activation_threshold = built->activation_target;
    built->prometheus->Evaluate(client, now, [promise, base](Result<prometheus::TriggerValue> v) mutable {
      if (v.ok()) base.value = *v; else base.error = v.status();
      promise->set_value(std::move(base));
    });
  }
  return futures;
}

std::optional<int32_t> Implied(const api::ScaledObject& so, const std::vector<TriggerOutcome>& ts) {
  std::vector<controller::TriggerReading> readings;
  for (const TriggerOutcome& t : ts) {
    controller::TriggerReading r;
    r.name = controller::TriggerName(so.spec.triggers[t.index], t.index);
    if (t.value) r.value = t.value->value;
    r.target = t.threshold;
    r.activation_target = t.activation_threshold;
    readings.push_back(r);
  }
  return controller::ImpliedReplicas(so, readings);
}

void PrintText(const std::vector<ObjectOutcome>& objects, std::ostream& out) {
  for (const ObjectOutcome& o : objects) {
    const auto& spec = o.so->spec;
    out << "ScaledObject " << o.so->metadata.Key() << " (min " << spec.min_replica_count << ", max "
        << spec.max_replica_count << ")\n";
    for (const TriggerOutcome& t : o.triggers) {
      out << "  trigger " << t.index;
      if (!t.name.empty()) out << " \"" << t.name << "\"";
      out << " (" << t.type << "): ";
      if (!t.value) {
        out << "error " << t.error.ToString() << "\n";
        continue;
      }
      out << "value " << FormatDouble(t.value->value) << ", "
          << (t.value->active ? "active" : "not active") << " (activationThreshold "
          << FormatDouble(t.activation_threshold) << "), threshold " << FormatDouble(t.threshold)
          << " -> " << prometheus::ImpliedReplicas(t.value->value, t.threshold) << " replicas\n";
    }
    out << "  replicas implied: "
        << (o.replicas_implied ? std::to_string(*o.replicas_implied) : "unknown (every trigger failed)")
        << "\n";
  }
}

nlohmann::ordered_json TriggerJson(const TriggerOutcome& t) {
  nlohmann::ordered_json j = {{"index", t.index}, {"name", t.name}, {"type", t.type}};
  if (t.value) {
    j["value"] = t.value->value;
    j["active"] = t.value->active;
    j["error"] = nullptr;
  } else {
    j["value"] = nullptr;
    j["active"] = false;
    j["error"] = {{"code", std::string(StatusCodeName(t.error.code()))}, {"message", t.error.message()}};
  }
  return j;
}

void PrintJson(const std::vector<ObjectOutcome>& objects, std::ostream& out) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const ObjectOutcome& o : objects) {
    nlohmann::ordered_json triggers = nlohmann::ordered_json::array();
    for (const TriggerOutcome& t : o.triggers) triggers.push_back(TriggerJson(t));
    nlohmann::ordered_json j = {{"namespace", o.so->metadata.namespace_name},
                        {"name", o.so->metadata.name},
                        {"triggers", triggers}};
    j["replicasImplied"] = o.replicas_implied ? nlohmann::ordered_json(*o.replicas_implied) : nlohmann::ordered_json(nullptr);
    list.push_back(j);
  }
  // Names come from manifests: invalid UTF-8 becomes U+FFFD instead of throwing.
  out << nlohmann::ordered_json{{"scaledObjects", list}}.dump(
             -1, ' ', false, nlohmann::json::error_handler_t::replace)
      << "\n";
}

}  // namespace

int RunQuery(const QueryOptions& options, std::ostream& out, std::ostream& err) {
  if (options.output != "text" && options.output != "json") {
    err << "error: --output must be text or json, not \"" << options.output << "\"\n";
    return 2;
  }
  Time now = RealClock::Instance().Now();
  if (!options.time.empty() && !ParseRfc3339(options.time, &now)) {
    err << "error: --time \"" << options.time << "\" is not an RFC 3339 time (e.g. 2026-11-26T05:30:00Z)\n";
    return 2;
  }
  LoadedManifests loaded = LoadAndValidate(options.files);
  PrintProblems(loaded, err);
  if (!loaded.errors.empty()) return 2;
  if (loaded.set.scaled_objects.empty()) {
    err << "error: no ScaledObject (keda.sh/v1alpha1) found in the given files\n";
    return 2;
  }
  const Clock& clock = RealClock::Instance();
  controller::TriggerEnvironment env;
  env.auth.clock = &clock;
  env.auth.token_cache = std::make_shared<auth::TokenCache>(clock);
  env.auth.azure_env = auth::AzureEnvironmentFromProcess();
  env.auth.aws_env = auth::AwsEnvironmentFromProcess();
  env.auth.gcp_env = auth::GcpEnvironmentFromProcess();
  env.auth.allow_insecure = options.allow_insecure_auth;
  env.auth.token_destinations = options.token_destinations;
  http::CurlHttpClient client;
  std::vector<std::vector<std::future<TriggerOutcome>>> pending;
  for (const api::ScaledObject& so : loaded.set.scaled_objects) {
    pending.push_back(StartObject(so, loaded.set, env, client, now));
  }
  std::vector<ObjectOutcome> objects;
  bool any_failed = false;
  for (size_t i = 0; i < pending.size(); ++i) {
    ObjectOutcome o;
    o.so = &loaded.set.scaled_objects[i];
    for (auto& f : pending[i]) {
      o.triggers.push_back(f.get());
      any_failed = any_failed || !o.triggers.back().value;
    }
    o.replicas_implied = Implied(*o.so, o.triggers);
    objects.push_back(std::move(o));
  }
  if (options.output == "json") PrintJson(objects, out); else PrintText(objects, out);
  return any_failed ? 1 : 0;
}

}  // namespace ebb::cmd
