// bench/scale: ebb's own cost at scale. N ScaledObjects (1,000 and 10,000;
// distinct queries, or groups sharing one) poll every P seconds for a fixed
// duration against a local server, and the figures are printed:
//   - ebb's CPU seconds per 1,000 polls (the server runs in another process,
//     so its CPU is not counted),
//   - peak RSS and RSS per object,
//   - p50/p99 lag between a poll's due time and its decision,
//   - requests actually sent (coalescing) against polls,
//   - the same requests made by a bare libcurl-multi loop (the baseline),
//     and the ratio ebb / baseline.
// Backends: a minimal HTTP server answering a fixed vector (isolates ebb's
// own cost), or the real Prometheus (Debian's package) answering vector(i).
//
//   build/bench/scale                          # the default matrix
//   build/bench/scale --objects 10000 --share 10 --interval 5 --duration 20 --backend prometheus
//
// A benchmark prints figures; it asserts nothing.
#include <curl/curl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/manifest_set.h"
#include "bench_util.h"
#include "common/strings.h"
#include "controller/controller.h"
#include "controller/object_status.h"
#include "http/curl_http_client.h"
#include "testing/prometheus/prometheus_server.h"

namespace ebb::bench {
namespace {

struct Config {
  int objects = 1000;
  int share = 1;  // objects per distinct query
  int interval = 5;
  int duration = 20;
  int in_flight = 32;
  std::string backend = "fixed";  // fixed | prometheus
};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// A target that only remembers its replica count.
class MemoryTarget final : public targets::ScaleTarget {
 public:
  void GetScale(std::function<void(Result<targets::ScaleState>)> done) override {
    int32_t r = replicas_.load();
    done(targets::ScaleState{r, r});
  }
  void SetReplicas(int32_t replicas, std::function<void(Status)> done) override {
    replicas_ = replicas;
    done(Status::Ok());
  }
  std::string Describe() const override { return "memory"; }

 private:
  std::atomic<int32_t> replicas_{1};
};

class MemoryResolver final : public targets::ScaleTargetResolver {
 public:
  Result<targets::ScaleTargetPtr> Resolve(const api::ScaledObject&) override {
    return targets::ScaleTargetPtr(std::make_shared<MemoryTarget>());
  }
};

// Records each decision's lag (due time -> decision).
class LagRecorder final : public controller::ControllerObserver {
 public:
  void OnDecision(const controller::DecisionMade& d) override {
    std::lock_guard l(mu_);
    lags_ms_.push_back(std::chrono::duration<double, std::milli>(d.loop_latency).count());
  }
  void OnQuerySent(int) override { ++queries_; }
  std::vector<double> Lags() {
    std::lock_guard l(mu_);
    return lags_ms_;
  }
  long queries() const { return queries_.load(); }

 private:
  std::mutex mu_;
  std::vector<double> lags_ms_;
  std::atomic<long> queries_{0};
};

std::vector<api::ScaledObject> MakeObjects(const Config& c, const std::string& server,
                                           bool prometheus) {
  std::vector<api::ScaledObject> out;
  out.reserve(c.objects);
  for (int i = 0; i < c.objects; ++i) {
    api::ScaledObject so;
    so.metadata.name = "bench-" + std::to_string(i);
    so.spec.scale_target_ref.name = so.metadata.name;
    so.spec.polling_interval = c.interval;
    so.spec.min_replica_count = 1;
    so.spec.max_replica_count = 50;
    api::Trigger t;
    t.type = "prometheus";
    int group = i / std::max(c.share, 1);
    std::string query = prometheus ? "vector(" + std::to_string(group) + ")"
                                   : "sum(rate(bench_requests_total{id=\"" + std::to_string(group) + "\"}[1m]))";
    t.metadata = {{"serverAddress", server}, {"query", query}, {"threshold", "10"}};
    so.spec.triggers.push_back(std::move(t));
    out.push_back(std::move(so));
  }
  return out;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// The baseline: the same number of GETs with a bare libcurl multi loop,
// max `in_flight` at once, reusing handles. Returns CPU seconds.
double BaselineCpu(const std::string& url, long requests, int in_flight) {
  double cpu0 = CpuSeconds();
  CURLM* multi = curl_multi_init();
  std::vector<CURL*> handles;
  std::string sink;
  auto write = +[](char* p, size_t s, size_t n, void* ud) -> size_t {
    static_cast<std::string*>(ud)->append(p, s * n);
    return s * n;
  };
  long started = 0, done = 0;
  auto start_one = [&](CURL* h) {
    sink.clear();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_multi_add_handle(multi, h);
    ++started;
  };
  for (int i = 0; i < in_flight && started < requests; ++i) {
    handles.push_back(curl_easy_init());
    start_one(handles.back());
  }
  while (done < requests) {
    int running = 0;
    curl_multi_perform(multi, &running);
    curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      CURL* h = m->easy_handle;
      curl_multi_remove_handle(multi, h);
      ++done;
      if (started < requests) start_one(h);
    }
  }
  for (CURL* h : handles) curl_easy_cleanup(h);
  curl_multi_cleanup(multi);
  return CpuSeconds() - cpu0;
}

void RunOne(const Config& c) {
  int port = 0;
  pid_t server_pid = -1;
  std::unique_ptr<testing::PrometheusServer> prom;
  std::string base;
  if (c.backend == "prometheus") {
    auto p = testing::PrometheusServer::Start({});
    if (!p.ok()) {
      std::cerr << "prometheus: " << p.status().ToString() << "\n";
      return;
    }
    prom = std::move(*p);
    base = prom->base_url();
  } else {
    server_pid = StartFixedServer(&port, -1);
    base = "http://127.0.0.1:" + std::to_string(port);
  }
  long rss0 = ProcStatusKiB("VmRSS:");
  {
    const Clock& clock = RealClock::Instance();
    http::CurlHttpClient http(http::CurlHttpClientOptions{.max_in_flight = c.in_flight});
    MemoryResolver resolver;
    LagRecorder recorder;
    controller::TriggerEnvironment env;
    controller::ControllerOptions options;
    controller::Controller loop(options, clock, http, resolver, env, &recorder, nullptr, nullptr);
    auto lookup = std::make_shared<const api::ManifestSet>();
    loop.Update(MakeObjects(c, base, c.backend == "prometheus"), lookup, {});
    long rss_loaded = ProcStatusKiB("VmRSS:");
    double cpu0 = CpuSeconds();
    {
      std::jthread t([&](std::stop_token st) { loop.Run(st); });
      std::this_thread::sleep_for(std::chrono::seconds(c.duration));
    }
    double cpu = CpuSeconds() - cpu0;
    long rss_end = ProcStatusKiB("VmRSS:");
    std::vector<double> lags = recorder.Lags();
    long polls = static_cast<long>(lags.size());
    long sent = recorder.queries();
    long server_count = c.backend == "fixed" ? FixedServerCount(port) : sent;
    std::string one = base + "/api/v1/query?query=" +
                      (c.backend == "prometheus" ? std::string("vector(1)") : std::string("up"));
    double baseline = BaselineCpu(one, sent, c.in_flight);
    double per_k = polls ? cpu / static_cast<double>(polls) * 1000 : 0;
    double base_per_k = polls ? baseline / static_cast<double>(polls) * 1000 : 0;
    std::printf(
        "%-10s objects=%-6d share=%-3d interval=%ds duration=%ds | polls=%-7ld requests=%-7ld (server saw %ld) | "
        "cpu=%.2fs %.3fs/1k polls | baseline %.3fs/1k, ratio %.2f | lag p50=%.1fms p99=%.1fms | "
        "rss loaded=%.1fMiB (%.2f KiB/object) end=%.1fMiB peak=%.1fMiB\n",
        c.backend.c_str(), c.objects, c.share, c.interval, c.duration, polls, sent, server_count, cpu, per_k,
        base_per_k, base_per_k > 0 ? per_k / base_per_k : 0, Percentile(lags, 0.5), Percentile(lags, 0.99),
        static_cast<double>(rss_loaded) / 1024,
        static_cast<double>(rss_loaded - rss0) / std::max(c.objects, 1),
        static_cast<double>(rss_end) / 1024, static_cast<double>(ProcStatusKiB("VmHWM:")) / 1024);
    std::fflush(stdout);
  }
  if (server_pid > 0) {
    kill(server_pid, SIGKILL);
    waitpid(server_pid, nullptr, 0);
  }
}

bool Parse(int argc, char** argv, Config* c, bool* matrix) {
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (i + 1 >= argc) return false;
    std::string v = argv[++i];
    *matrix = false;
    if (f == "--objects") c->objects = std::atoi(v.c_str());
    else if (f == "--share") c->share = std::atoi(v.c_str());
    else if (f == "--interval") c->interval = std::atoi(v.c_str());
    else if (f == "--duration") c->duration = std::atoi(v.c_str());
    else if (f == "--in-flight") c->in_flight = std::atoi(v.c_str());
    else if (f == "--backend") c->backend = v;
    else return false;
  }
  return true;
}

}  // namespace
}  // namespace ebb::bench

int main(int argc, char** argv) {
  using ebb::bench::Config;
  Config c;
  bool matrix = true;
  if (!ebb::bench::Parse(argc, argv, &c, &matrix)) {
    std::cerr << "usage: scale [--objects N] [--share K] [--interval S] [--duration S] [--in-flight N] "
                 "[--backend fixed|prometheus]\n";
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  ebb::Logger::Default().SetLevel(ebb::LogLevel::kError);
  if (!matrix) {
    ebb::bench::RunOne(c);
    return 0;
  }
  for (Config m : {Config{1000, 1, 5, 20, 32, "fixed"}, Config{1000, 10, 5, 20, 32, "fixed"},
                   Config{10000, 1, 5, 20, 32, "fixed"}, Config{10000, 10, 5, 20, 32, "fixed"},
                   Config{1000, 1, 5, 20, 32, "prometheus"}, Config{10000, 10, 5, 20, 32, "prometheus"}}) {
    ebb::bench::RunOne(m);
  }
  return 0;
}
