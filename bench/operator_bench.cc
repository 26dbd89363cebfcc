// bench/operator: what `ebb operator` (the real binary) costs at scale, so
// that the Deployment's resource requests can be sized from figures.
//
// Three processes besides this one, none of them threaded before it forks:
//   - a fixed-answer Prometheus-like server (bench_util.h; value 42),
//   - the fake Kubernetes API server (src/testing/kube) over plain HTTP with
//     a bearer token, seeded with N Deployments (1 replica) and N
//     ScaledObjects (pollingInterval P, threshold 10, so every object asks
//     for 5 replicas); it also serves a counter endpoint of the API requests
//     it saw,
//   - `ebb operator --leader-elect=false`, exec'd from EBB_BINARY.
// Phases, each figure from outside ebb (/proc, the servers' counts, ebb's
// own /metrics):
//   - start -> /readyz 200 (caches synced): time to ready;
//   - the first poll of every object scales its Deployment and writes its
//     status: that burst's API requests, counted until they stop;
//   - a steady phase of D seconds: ebb's CPU (utime+stime from
//     /proc/PID/stat, in mCPU), API requests per second (status is written
//     only on change, so near zero), queries per second, VmRSS at the end
//     and VmHWM; RSS per object is (VmRSS - VmRSS of an ebb watching no
//     object) / N.
//
//   build/bench/operator                                # the default matrix
//   build/bench/operator --objects 10000 --interval 5 --share 10 --duration 30
//
// A benchmark prints figures; it asserts nothing.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "bench_util.h"
#include "testing/kube/fake_apiserver.h"
#include "testing/prometheus/child_process.h"
#include "testing/prometheus/prometheus_server.h"

namespace ebb::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Steady = std::chrono::steady_clock;

constexpr char kToken[] = "bench-t0k3n";
constexpr char kNamespace[] = "bench";
constexpr char kOperatorNamespace[] = "keda";
// The first-poll burst is over once nothing was scaled or throttled for this long.
constexpr auto kQuiet = std::chrono::seconds(3);

struct Config {
  int objects = 1000;
  int interval = 30;  // pollingInterval, seconds
  int share = 1;      // objects per distinct query
  int duration = 30;  // steady phase, seconds
  // Longest wait for the first-poll burst, seconds; 0: two intervals + 10 s.
  int burst_limit = 0;

  std::chrono::seconds BurstLimit() const {
    return std::chrono::seconds(burst_limit > 0 ? burst_limit : 2 * interval + 10);
  }
};

// Longest wait for /readyz.
constexpr auto kReadyTimeout = std::chrono::seconds(300);

double SecondsSince(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

// Waits (bounded, polling every 50 ms) until `pred` holds.
bool WaitUntil(const std::function<bool()>& pred, std::chrono::seconds timeout) {
  auto end = Steady::now() + timeout;
  while (Steady::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

// utime + stime of `pid`, in seconds (/proc/PID/stat fields 14 and 15).
double ProcCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(paren + 2));  // from field 3 (state)
  std::string f;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::atol(f.c_str());
    if (i == 15) stime = std::atol(f.c_str());
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// ---- The fake API server, in a child process ----

// API requests seen, by kind. Plain value type.
struct ApiCounts {
  long total = 0;
  long reads = 0;    // GET (get and list)
  long watches = 0;  // GET ?watch
  long scale = 0;    // writes to .../scale
  long status = 0;   // writes to .../status
  long events = 0;   // writes to events
  long other = 0;    // other writes
  long errors = 0;   // answers >= 400

  long writes() const { return scale + status + events + other; }
  ApiCounts operator-(const ApiCounts& b) const {
    return {total - b.total, reads - b.reads,   watches - b.watches, scale - b.scale,
            status - b.status, events - b.events, other - b.other,   errors - b.errors};
  }
};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

json CountRequests(const std::vector<testing::kube::RequestRecord>& records) {
  ApiCounts c;
  for (const auto& r : records) {
    ++c.total;
    if (r.status >= 400) ++c.errors;
    if (r.method == "GET") {
      bool watch = r.query.find("watch=true") != std::string::npos ||
                   r.query.find("watch=1") != std::string::npos;
      ++(watch ? c.watches : c.reads);
    } else if (EndsWith(r.path, "/scale")) {
      ++c.scale;
    } else if (EndsWith(r.path, "/status")) {
      ++c.status;
    } else if (r.path.find("/events") != std::string::npos) {
      ++c.events;
    } else {
      ++c.other;
    }
  }
  return {{"total", c.total}, {"reads", c.reads},   {"watches", c.watches}, {"scale", c.scale},
          {"status", c.status}, {"events", c.events}, {"other", c.other},   {"errors", c.errors}};
}

json DeploymentJson(const std::string& name) {
  return {{"metadata", {{"name", name}, {"namespace", kNamespace}}},
          {"spec",
           {{"replicas", 1},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}}}}},
              {"spec", {{"containers", {{{"name", "app"}, {"image", "busybox"}}}}}}}}}}};
}

json ScaledObjectJson(const Config& c, int i, const std::string& server) {
  std::string name = "bench-" + std::to_string(i);
  int group = i / std::max(c.share, 1);
  json trigger = {{"type", "prometheus"},
                  {"metadata",
                   {{"serverAddress", server},
                    {"query", "sum(rate(bench_requests_total{id=\"" + std::to_string(group) + "\"}[1m]))"},
                    {"threshold", "10"}}}};
  return {{"metadata", {{"name", name}, {"namespace", kNamespace}}},
          {"spec",
           {{"scaleTargetRef", {{"name", name}}},
            {"pollingInterval", c.interval},
            {"minReplicaCount", 1},
            {"maxReplicaCount", 50},
            {"triggers", json::array({trigger})}}}};
}

// What the API server child reports once it is seeded and serving.
struct ApiServerReady {
  int api_port = 0;
  int counter_port = 0;
  double seed_seconds = 0;
};

// The child's body: never returns.
[[noreturn]] void RunApiServer(const Config& c, const std::string& fixed_url, int ready_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  testing::kube::FakeApiServerOptions o;
  o.tokens = {{kToken, "system:serviceaccount:keda:ebb"}};
  o.bookmark_interval = std::chrono::seconds(60);  // about the real server's rate
  o.history_limit = static_cast<size_t>(c.objects) * 6 + 10000;  // the burst never expires a watch
  auto server = testing::kube::FakeApiServer::Start(std::move(o));
  if (!server.ok()) {
    std::cerr << "fake apiserver: " << server.status().ToString() << "\n";
    _exit(1);
  }
  testing::kube::FakeApiServer& api = **server;
  auto seed_start = Steady::now();
  const auto* deployments = api.Type("apps", "v1", "deployments");
  const auto* scaled_objects = api.Type("keda.sh", "v1alpha1", "scaledobjects");
  for (int i = 0; i < c.objects; ++i) {
    api.store().Seed(*deployments, DeploymentJson("bench-" + std::to_string(i)));
    api.store().Seed(*scaled_objects, ScaledObjectJson(c, i, fixed_url));
  }
  ApiServerReady ready{api.port(), 0, SecondsSince(seed_start)};
  httplib::Server counter;
  counter.Get("/counts", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(CountRequests(api.Requests()).dump(), "application/json");
  });
  ready.counter_port = counter.bind_to_any_port("127.0.0.1");
  (void)!write(ready_fd, &ready, sizeof ready);
  close(ready_fd);
  counter.listen_after_bind();
  _exit(0);
}

// Forks the API server child; fork before this process starts any thread.
pid_t StartApiServer(const Config& c, const std::string& fixed_url, ApiServerReady* ready) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    RunApiServer(c, fixed_url, fds[1]);
  }
  close(fds[1]);
  bool ok = read(fds[0], ready, sizeof *ready) == static_cast<ssize_t>(sizeof *ready);
  close(fds[0]);
  return ok ? pid : -1;
}

std::optional<ApiCounts> GetCounts(int counter_port) {
  httplib::Client client("127.0.0.1", counter_port);
  client.set_read_timeout(30);
  auto r = client.Get("/counts");
  if (!r || r->status != 200) return std::nullopt;
  json j = json::parse(r->body, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto n = [&j](const char* key) { return j.value(key, 0L); };
  return ApiCounts{n("total"),  n("reads"),  n("watches"), n("scale"),
                   n("status"), n("events"), n("other"),   n("errors")};
}

void WriteKubeconfig(const fs::path& path, int api_port) {
  std::ofstream(path) << "apiVersion: v1\nkind: Config\ncurrent-context: bench\n"
                         "clusters:\n- name: bench\n  cluster:\n    server: http://127.0.0.1:"
                      << api_port
                      << "\ncontexts:\n- name: bench\n  context:\n    cluster: bench\n    user: bench\n"
                         "    namespace: "
                      << kOperatorNamespace << "\nusers:\n- name: bench\n  user:\n    token: " << kToken
                      << "\n";
}

// ---- ebb ----

// One `ebb operator` process and its /metrics.
struct Ebb {
  std::unique_ptr<testing::ChildProcess> child;
  int port = 0;
  fs::path log_path;

  pid_t pid() const { return child->pid(); }
  bool Ready() const {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(1);
    auto r = c.Get("/readyz");
    return r && r->status == 200;
  }
  // The sum of every sample of `name` (all label sets); 0 when absent.
  double Metric(const std::string& name) const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10);
    auto r = c.Get("/metrics");
    if (!r || r->status != 200) return -1;
    std::istringstream in(r->body);
    double sum = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
      if (line[name.size()] != ' ' && line[name.size()] != '{') continue;
      sum += std::atof(line.substr(line.rfind(' ') + 1).c_str());
    }
    return sum;
  }
};

std::unique_ptr<Ebb> StartEbb(const fs::path& dir, const fs::path& kubeconfig) {
  Result<int> port = testing::PickFreeLoopbackPort();
  if (!port.ok()) return nullptr;
  auto e = std::make_unique<Ebb>();
  e->port = *port;
  e->log_path = dir / "ebb.log";
  auto child = testing::ChildProcess::Spawn(
      {EBB_BINARY,
       {"operator", "--kubeconfig", kubeconfig.string(), "--leader-elect=false", "--metrics-address",
        "127.0.0.1:" + std::to_string(*port), "--log-format", "json", "--log-level", "warn"},
       e->log_path.string()});
  if (!child.ok()) {
    std::cerr << "ebb: " << child.status().ToString() << "\n";
    return nullptr;
  }
  e->child = std::move(*child);
  return e;
}

// ---- One configuration ----

struct Figures {
  Config config;
  double seed_s = 0;
  double ready_s = -1;
  double burst_s = -1;  // ready -> the burst's last scale write
  bool burst_drained = false;
  ApiCounts burst;
  double burst_status_writes = 0, burst_events = 0, burst_throttled = 0;
  double steady_s = 0;
  double mcpu = 0;
  ApiCounts steady;
  double queries_per_s = 0;
  double steady_status_writes = 0;
  long rss_kib = 0, hwm_kib = 0;
  long idle_rss_kib = 0;
};

struct Children {
  pid_t fixed = -1;
  pid_t api = -1;
  ~Children() {
    for (pid_t p : {fixed, api}) {
      if (p <= 0) continue;
      kill(p, SIGKILL);
      waitpid(p, nullptr, 0);
    }
  }
};

// Waits for the first-poll burst: at least one interval, then until no
// Deployment was scaled and no request waited for ebb's client-side rate
// limit for kQuiet (at most BurstLimit()). Not "until no
// request": every poll reads the target's scale, and an always-active
// object rewrites lastActiveTime every 30 s. Fills f->burst*.
void WaitForBurst(const Config& c, const Ebb& ebb, int counter_port, const ApiCounts& at_ready,
                  Steady::time_point ready, Figures* f) {
  auto min_end = ready + std::chrono::seconds(c.interval) + std::chrono::seconds(1);
  auto limit = ready + c.BurstLimit();
  ApiCounts last = at_ready;
  auto last_change = ready;
  double last_throttled = ebb.Metric("ebb_kube_requests_throttled_total");
  while (Steady::now() < limit) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ApiCounts now = GetCounts(counter_port).value_or(last);
    double throttled = ebb.Metric("ebb_kube_requests_throttled_total");
    if (now.scale != last.scale || throttled != last_throttled) last_change = Steady::now();
    last_throttled = throttled;
    last = now;
    if (Steady::now() >= min_end && Steady::now() - last_change >= kQuiet) {
      f->burst_drained = true;
      break;
    }
  }
  f->burst = last - at_ready;
  f->burst_s = std::chrono::duration<double>(last_change - ready).count();
  f->burst_status_writes = ebb.Metric("ebb_status_writes_total");
  f->burst_events = ebb.Metric("ebb_events_created_total");
  f->burst_throttled = ebb.Metric("ebb_kube_requests_throttled_total");
}

void MeasureSteady(const Config& c, const Ebb& ebb, int counter_port, int fixed_port, Figures* f) {
  ApiCounts api0 = GetCounts(counter_port).value_or(ApiCounts{});
  long queries0 = FixedServerCount(fixed_port);
  double writes0 = ebb.Metric("ebb_status_writes_total");
  double cpu0 = ProcCpuSeconds(ebb.pid());
  auto t0 = Steady::now();
  std::this_thread::sleep_for(std::chrono::seconds(c.duration));
  double cpu = ProcCpuSeconds(ebb.pid()) - cpu0;
  f->steady_s = SecondsSince(t0);
  long queries = FixedServerCount(fixed_port) - queries0;
  f->steady = GetCounts(counter_port).value_or(api0) - api0;
  f->steady_status_writes = ebb.Metric("ebb_status_writes_total") - writes0;
  f->mcpu = cpu / f->steady_s * 1000;
  f->queries_per_s = static_cast<double>(queries) / f->steady_s;
  f->rss_kib = ProcStatusKiB("VmRSS:", ebb.pid());
  f->hwm_kib = ProcStatusKiB("VmHWM:", ebb.pid());
}

std::optional<Figures> RunOne(const Config& c, const fs::path& dir, long idle_rss_kib) {
  Figures f;
  f.config = c;
  f.idle_rss_kib = idle_rss_kib;
  Children children;
  int fixed_port = 0;
  children.fixed = StartFixedServer(&fixed_port, -1);
  ApiServerReady api;
  children.api = StartApiServer(c, "http://127.0.0.1:" + std::to_string(fixed_port), &api);
  if (children.fixed <= 0 || children.api <= 0) {
    std::cerr << "cannot start the servers\n";
    return std::nullopt;
  }
  f.seed_s = api.seed_seconds;
  fs::path kubeconfig = dir / "kubeconfig";
  WriteKubeconfig(kubeconfig, api.api_port);
  ApiCounts at_start = GetCounts(api.counter_port).value_or(ApiCounts{});
  auto start = Steady::now();
  std::unique_ptr<Ebb> ebb = StartEbb(dir, kubeconfig);
  if (!ebb) return std::nullopt;
  if (!WaitUntil([&] { return ebb->Ready(); }, kReadyTimeout)) {
    std::cerr << "ebb not ready after " << kReadyTimeout.count() << " s:\n"
              << testing::ReadFileTail(ebb->log_path.string(), 4000) << "\n";
    return std::nullopt;
  }
  f.ready_s = SecondsSince(start);
  auto ready = Steady::now();
  ApiCounts at_ready = GetCounts(api.counter_port).value_or(at_start);
  WaitForBurst(c, *ebb, api.counter_port, at_ready, ready, &f);
  MeasureSteady(c, *ebb, api.counter_port, fixed_port, &f);
  ebb->child->Terminate(std::chrono::seconds(10));
  return f;
}

// VmRSS of an ebb that watches no object, for RSS per object.
long IdleRssKiB(const fs::path& dir) {
  Config none;
  none.objects = 0;
  Children children;
  int fixed_port = 0;
  children.fixed = StartFixedServer(&fixed_port, -1);
  ApiServerReady api;
  children.api = StartApiServer(none, "http://127.0.0.1:" + std::to_string(fixed_port), &api);
  if (children.api <= 0) return 0;
  fs::path kubeconfig = dir / "kubeconfig";
  WriteKubeconfig(kubeconfig, api.api_port);
  std::unique_ptr<Ebb> ebb = StartEbb(dir, kubeconfig);
  if (!ebb || !WaitUntil([&] { return ebb->Ready(); }, std::chrono::seconds(30))) return 0;
  std::this_thread::sleep_for(std::chrono::seconds(2));
  long rss = ProcStatusKiB("VmRSS:", ebb->pid());
  ebb->child->Terminate(std::chrono::seconds(10));
  return rss;
}

// ---- Output ----

std::string Thousands(long n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

double MiB(long kib) { return static_cast<double>(kib) / 1024; }

void PrintDetail(const Figures& f) {
  const Config& c = f.config;
  std::printf(
      "objects=%d interval=%ds share=%d | seed %.1fs | ready %.2fs | burst %s%.1fs: api=%ld "
      "(reads=%ld watches=%ld scale=%ld status=%ld events=%ld other=%ld errors=%ld) ebb status writes=%.0f "
      "events=%.0f throttled=%.0f | steady %.0fs: cpu=%.0f mCPU api=%ld (%.2f/s, writes=%ld, errors=%ld) "
      "status writes=%.0f queries=%.1f/s | rss=%.1fMiB idle=%.1fMiB (%.2f KiB/object) peak=%.1fMiB\n",
      c.objects, c.interval, c.share, f.seed_s, f.ready_s, f.burst_drained ? "" : "NOT DRAINED after ",
      f.burst_s, f.burst.total, f.burst.reads, f.burst.watches, f.burst.scale, f.burst.status, f.burst.events,
      f.burst.other, f.burst.errors, f.burst_status_writes, f.burst_events, f.burst_throttled, f.steady_s,
      f.mcpu, f.steady.total, static_cast<double>(f.steady.total) / f.steady_s, f.steady.writes(),
      f.steady.errors, f.steady_status_writes, f.queries_per_s, MiB(f.rss_kib), MiB(f.idle_rss_kib),
      static_cast<double>(f.rss_kib - f.idle_rss_kib) / std::max(c.objects, 1), MiB(f.hwm_kib));
  std::fflush(stdout);
}

void PrintTable(const std::vector<Figures>& all) {
  std::printf(
      "\n| objects | interval | share | seed | time to ready | first-poll burst: API requests (writes) / "
      "status writes / events (time) | steady mCPU | steady API requests/s (reads + writes) | queries/s | "
      "RSS (per object) | peak RSS |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Figures& f : all) {
    const Config& c = f.config;
    std::printf(
        "| %s | %d s | %d | %.1f s | %.2f s | %s (%s) / %s / %s (%s%.0f s) | %.0f | %.1f (%.1f + %.1f) | "
        "%.0f | %.1f MiB (%.1f KiB) | %.1f MiB |\n",
        Thousands(c.objects).c_str(), c.interval, c.share, f.seed_s, f.ready_s,
        Thousands(f.burst.total).c_str(), Thousands(f.burst.writes()).c_str(),
        Thousands(static_cast<long>(f.burst_status_writes)).c_str(),
        Thousands(static_cast<long>(f.burst_events)).c_str(), f.burst_drained ? "" : "not over after ", f.burst_s, f.mcpu,
        static_cast<double>(f.steady.total) / f.steady_s,
        static_cast<double>(f.steady.reads + f.steady.watches) / f.steady_s,
        static_cast<double>(f.steady.writes()) / f.steady_s, f.queries_per_s, MiB(f.rss_kib),
        static_cast<double>(f.rss_kib - f.idle_rss_kib) / std::max(c.objects, 1), MiB(f.hwm_kib));
  }
  std::printf("\nidle ebb (no objects): VmRSS %.1f MiB\n", all.empty() ? 0 : MiB(all[0].idle_rss_kib));
  std::fflush(stdout);
}

bool Parse(int argc, char** argv, Config* c, bool* matrix) {
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (i + 1 >= argc) return false;
    int v = std::atoi(argv[++i]);
    *matrix = false;
    if (f == "--objects") c->objects = v;
    else if (f == "--interval") c->interval = v;
    else if (f == "--share") c->share = v;
    else if (f == "--duration") c->duration = v;
    else if (f == "--burst-limit") c->burst_limit = v;
    else return false;
  }
  return c->objects > 0 && c->interval > 0 && c->share > 0 && c->duration > 0 && c->burst_limit >= 0;
}

}  // namespace
}  // namespace ebb::bench

int main(int argc, char** argv) {
  namespace b = ebb::bench;
  b::Config c;
  bool matrix = true;
  if (!b::Parse(argc, argv, &c, &matrix)) {
    std::cerr << "usage: operator [--objects N] [--interval S] [--share K] [--duration S] "
                 "[--burst-limit S]\n";
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  b::fs::path dir = b::fs::temp_directory_path() / ("ebb-bench-operator-" + std::to_string(getpid()));
  b::fs::create_directories(dir);
  long idle = b::IdleRssKiB(dir);
  std::vector<b::Config> configs;
  if (matrix) {
    for (int n : {1000, 10000}) {
      for (int p : {30, 5}) configs.push_back({n, p, 1, c.duration, c.burst_limit});
    }
  } else {
    configs.push_back(c);
  }
  std::vector<b::Figures> all;
  for (const b::Config& one : configs) {
    std::optional<b::Figures> f = b::RunOne(one, dir, idle);
    if (!f) continue;
    b::PrintDetail(*f);
    all.push_back(*f);
  }
  b::PrintTable(all);
  std::error_code ignored;
  b::fs::remove_all(dir, ignored);
  return 0;
}
