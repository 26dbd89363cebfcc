// ControllerHarness: a Controller wired to fakes for unit tests -- a
// SimulatedClock, a FakeHttpClient that answers Prometheus queries from a
// table (HoldingHttpClient in front of it to delay chosen queries), fake
// scale targets, and recording observer, status sink and logger. Tests
// drive time explicitly: Step() polls what is due and processes answers,
// RunFor() advances the clock second by second. No sleeps, no threads.
//
//   ControllerHarness h;
//   h.SetValue("q_web", 42);
//   auto web = h.resolver.Add("default", "web", 1);
//   h.Update({MakeObject("web", "q_web", 10)});
//   h.RunFor(std::chrono::seconds(30));
//   EXPECT_EQ(web->replicas(), 5);
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/manifest_set.h"
#include "common/log.h"
#include "common/strings.h"
#include "controller/controller.h"
#include "controller/testing/fake_scale_target.h"
#include "http/testing/fake_http_client.h"

namespace ebb::controller::testing {

inline constexpr char kPromAddress[] = "https://prom.example:9090";

// A Prometheus instant-query answer holding one sample.
inline std::string PromVector(double value) {
  return R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,")" +
         FormatDouble(value) + R"("]}]}})";
}

// The `query` parameter of a request URL, as sent (tests use plain names).
inline std::string QueryOf(const http::HttpRequest& r) {
  const size_t start = r.url.find("query=");
  if (start == std::string::npos) return "";
  const size_t end = r.url.find('&', start);
  return r.url.substr(start + 6, end == std::string::npos ? std::string::npos : end - start - 6);
}

// A ScaledObject "default/<name>" scaling target "<name>" on one prometheus
// trigger; min 0, max 10, cooldown 300 s.
inline api::ScaledObject MakeObject(const std::string& name, const std::string& query, double threshold,
                                    int32_t polling_interval = 30) {
  api::ScaledObject so;
  so.metadata.name = name;
  so.spec.scale_target_ref.name = name;
  so.spec.polling_interval = polling_interval;
  so.spec.max_replica_count = 10;
  api::Trigger t;
  t.type = "prometheus";
  t.metadata = {{"serverAddress", kPromAddress}, {"query", query}, {"threshold", FormatDouble(threshold)}};
  so.spec.triggers.push_back(std::move(t));
  return so;
}

// Holds the requests `hold` selects until Release(); passes the others to
// `inner` at once. Thread-safe.
class HoldingHttpClient final : public http::HttpClient {
 public:
  HoldingHttpClient(http::HttpClient& inner, std::function<bool(const http::HttpRequest&)> hold)
      : inner_(inner), hold_(std::move(hold)) {}
  void Send(http::HttpRequest request, http::HttpCallback done) override {
    {
      std::lock_guard l(mu_);
      if (hold_ && hold_(request)) {
        held_.push_back({std::move(request), std::move(done)});
        return;
      }
    }
    inner_.Send(std::move(request), std::move(done));
  }
  void SetHold(std::function<bool(const http::HttpRequest&)> hold) {
    std::lock_guard l(mu_);
    hold_ = std::move(hold);
  }
  int Release() {
    std::deque<std::pair<http::HttpRequest, http::HttpCallback>> held;
    {
      std::lock_guard l(mu_);
      held.swap(held_);
    }
    for (auto& [req, done] : held) inner_.Send(std::move(req), std::move(done));
    return static_cast<int>(held.size());
  }
  size_t held() const {
    std::lock_guard l(mu_);
    return held_.size();
  }

 private:
  http::HttpClient& inner_;
  mutable std::mutex mu_;
  std::function<bool(const http::HttpRequest&)> hold_;                   // guarded by mu_
  std::deque<std::pair<http::HttpRequest, http::HttpCallback>> held_;    // guarded by mu_
};

// Records everything the controller reports. Thread-safe enough for tests
// (called on the test thread only).
class RecordingObserver final : public ControllerObserver {
 public:
  void OnObjectRegistered(const ObjectRef& r) override { registered.push_back(KeyOf(r)); }
  void OnObjectRemoved(const ObjectRef& r) override { removed.push_back(KeyOf(r)); }
  void OnTriggerEvaluated(const TriggerEvaluated& e) override { evaluations.push_back(e); }
  void OnDecision(const DecisionMade& d) override { decisions.push_back(d); }
  void OnObjectError(const ObjectRef& r, const Status& s) override { errors.push_back({KeyOf(r), s}); }
  void OnQuerySent(int triggers) override { queries.push_back(triggers); }

  std::vector<std::string> registered;
  std::vector<std::string> removed;
  std::vector<TriggerEvaluated> evaluations;
  std::vector<DecisionMade> decisions;
  std::vector<std::pair<std::string, Status>> errors;
  std::vector<int> queries;  // members per request sent
};

class RecordingStatusSink final : public StatusSink {
 public:
  struct Event {
    std::string object, type, reason, message;
  };
  void Publish(const ObjectRef& r, const ObjectStatus& s) override { published.push_back({KeyOf(r), s}); }
  void RecordEvent(const ObjectRef& r, const std::string& type, const std::string& reason,
                   const std::string& message) override {
    events.push_back({KeyOf(r), type, reason, message});
  }
  int PublishedFor(const std::string& key) const {
    int n = 0;
    for (const auto& [k, s] : published) n += k == key;
    return n;
  }
  std::vector<std::pair<std::string, ObjectStatus>> published;
  std::vector<Event> events;
};

struct ControllerHarness {
  ControllerHarness() {
    fake_http.SetHandler([this](const http::HttpRequest& r) -> Result<http::HttpResponse> {
      std::lock_guard l(mu);
      const std::string q = QueryOf(r);
      if (failing.contains(q)) return Response(500, "boom");
      auto it = values.find(q);
      return Response(200, PromVector(it == values.end() ? 0 : it->second));
    });
    logger.SetClock(&clock);
    logger.SetSink([this](std::string_view line) { log_lines.emplace_back(line); });
  }

  static http::HttpResponse Response(int status, std::string body) {
    http::HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }

  // Builds the controller (again) with `options`; jitter defaults to 0
  // unless `default_phase` asks for the production default (a phase per
  // query).
  void Start(ControllerOptions options = {}, bool default_phase = false) {
    if (!options.jitter && !default_phase) options.jitter = [] { return 0.0; };
    controller = std::make_unique<Controller>(std::move(options), clock, http, resolver, TriggerEnvironment{},
                                              &observer, &sink, &logger);
  }

  void Update(std::vector<api::ScaledObject> objects, api::Problems invalid = {}) {
    if (!controller) Start();
    controller->Update(std::move(objects), lookup, invalid);
  }

  void SetValue(const std::string& query, double v) {
    std::lock_guard l(mu);
    values[query] = v;
  }
  void SetFailing(const std::string& query, bool fail) {
    std::lock_guard l(mu);
    if (fail) failing.insert(query);
    else failing.erase(query);
  }

  // Polls what is due now and processes every answer.
  void Step() {
    controller->RunDue(clock.Now());
    controller->DrainResults();
  }
  // Advances the clock in 1 s steps for `d`, stepping after each.
  void RunFor(Duration d, Duration step = std::chrono::seconds(1)) {
    Step();
    for (Duration done{0}; done < d; done += step) {
      clock.Advance(step);
      Step();
    }
  }

  std::vector<http::HttpRequest> RequestsFor(const std::string& query) const {
    std::vector<http::HttpRequest> out;
    for (const auto& r : fake_http.requests()) {
      if (QueryOf(r) == query) out.push_back(r);
    }
    return out;
  }
  ObjectSnapshot SnapshotOf(const std::string& key) const {
    for (const ObjectSnapshot& s : controller->Snapshot()) {
      if (KeyOf(s.ref) == key) return s;
    }
    return ObjectSnapshot{};
  }

  std::mutex mu;
  std::map<std::string, double> values;  // guarded by mu
  std::set<std::string> failing;         // guarded by mu
  SimulatedClock clock;
  http::FakeHttpClient fake_http;
  HoldingHttpClient http{fake_http, nullptr};
  FakeScaleTargetResolver resolver;
  RecordingObserver observer;
  RecordingStatusSink sink;
  Logger logger;
  std::vector<std::string> log_lines;
  std::shared_ptr<api::ManifestSet> lookup = std::make_shared<api::ManifestSet>();
  std::unique_ptr<Controller> controller;
};

}  // namespace ebb::controller::testing
