// ebb-testenv: starts emulated cloud endpoints on loopback so that a user
// can try ebb's cloud flows on a laptop.
//
//   ebb-testenv azure --prometheus http://127.0.0.1:9090 [--dir DIR]
//       [--token-lifetime 3600] [--access-token-lifetime 3600]
//       [--namespace NS] [--service-account SA] [--tenant-id T] [--client-id C]
//       [--workspace NAME] [--host NAME]... [--misconfigure KIND]
//       [--fault-latency-ms N] [--fault-5xx-share X] [--fault-700213-share X]
//
// Runs until SIGINT or SIGTERM; rewrites the token file at 80% of its lifetime.
//
//   ebb-testenv aws --prometheus http://127.0.0.1:9090 [--dir DIR] [--region R]
//       [--namespace NS] [--service-account SA] [--workspace ID] [--token-lifetime S]
//       [--session-lifetime S] [--misconfigure none|subject|audience|issuer|permission]
//
// The same for Amazon Managed Prometheus (STS, EKS Pod Identity agent,
// IMDSv2, a SigV4-verifying front door); writes env and env-pod-identity.
//
//   ebb-testenv gcp --prometheus http://127.0.0.1:9090 [--dir DIR] [--project P]
//       [--misconfigure none|role|unbound|deleted-key]
//
// The same for Google Cloud Managed Service for Prometheus (token endpoint,
// metadata server, GMP front door); writes key.json, env and env-metadata.
//
//   ebb-testenv loadgen [--port N] [--peak X] [--idle S] [--rise S] [--hold S]
//       [--fall S] [--repeat]
//
// Serves ebb_queue_depth{queue="orders"} on http://127.0.0.1:PORT/metrics,
// idle, rising to the peak, holding, falling to 0 (the quickstart's load).
#include <signal.h>
#include <stdlib.h>

#include <cstdio>
#include <ctime>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/strings.h"
#include "testing/prometheus/exporter.h"
#include "testing/testenv/aws_env.h"
#include "testing/testenv/azure_env.h"
#include "testing/testenv/gcp_env.h"
#include "testing/testenv/loadgen.h"

namespace {

using ebb::testing::azure::AzureTestEnv;
using ebb::testing::azure::AzureTestEnvOptions;
using ebb::testing::azure::ParseMisconfiguration;

constexpr char kUsage[] =
    "usage: ebb-testenv azure --prometheus URL [--dir DIR] [--token-lifetime SECONDS]\n"
    "           [--access-token-lifetime SECONDS] [--namespace NS] [--service-account SA]\n"
    "           [--tenant-id ID] [--client-id ID] [--workspace NAME] [--host NAME]...\n"
    "           [--misconfigure none|subject|issuer|audience|role|client-id]\n"
    "           [--fault-latency-ms N] [--fault-5xx-share X] [--fault-700213-share X]\n"
    "       ebb-testenv aws --prometheus URL [--dir DIR] [--region R] [--namespace NS]\n"
    "           [--service-account SA] [--workspace ID] [--token-lifetime S] [--session-lifetime S]\n"
    "           [--misconfigure none|subject|audience|issuer|permission]\n"
    "       ebb-testenv gcp --prometheus URL [--dir DIR] [--project P]\n"
    "           [--misconfigure none|role|unbound|deleted-key]\n"
    "       ebb-testenv loadgen [--port N] [--peak X] [--idle S] [--rise S] [--hold S] [--fall S]\n"
    "           [--repeat]\n";

int Fail(const std::string& message) {
  std::cerr << "ebb-testenv: " << message << "\n" << kUsage;
  return 2;
}

bool ParseSeconds(const std::string& text, std::chrono::seconds* out) {
  std::optional<int64_t> v = ebb::ParseInt(text);
  if (!v || *v <= 0) return false;
  *out = std::chrono::seconds(*v);
  return true;
}

bool ParseShare(const std::string& text, double* out) {
  std::optional<double> v = ebb::ParseDouble(text);
  if (!v || *v < 0 || *v > 1) return false;
  *out = *v;
  return true;
}

using FlagSetter = std::function<bool(const std::string&, AzureTestEnvOptions*)>;

// A setter that stores the value into a string field.
FlagSetter Text(std::string AzureTestEnvOptions::*field) {
  return [field](const std::string& v, AzureTestEnvOptions* o) {
    o->*field = v;
    return true;
  };
}

const std::map<std::string, FlagSetter>& Flags() {
  using O = AzureTestEnvOptions;
  static const std::map<std::string, FlagSetter> kFlags = {
      {"--prometheus", Text(&O::prometheus_url)},
      {"--dir", Text(&O::dir)},
      {"--namespace", Text(&O::ns)},
      {"--service-account", Text(&O::service_account)},
      {"--tenant-id", Text(&O::tenant_id)},
      {"--client-id", Text(&O::client_id)},
      {"--workspace", Text(&O::workspace)},
      {"--host", [](const std::string& v, O* o) { return o->extra_hosts.push_back(v), true; }},
      {"--token-lifetime",
       [](const std::string& v, O* o) { return ParseSeconds(v, &o->token_lifetime); }},
      {"--access-token-lifetime",
       [](const std::string& v, O* o) { return ParseSeconds(v, &o->access_token_lifetime); }},
      {"--misconfigure",
       [](const std::string& v, O* o) { return ParseMisconfiguration(v, &o->misconfiguration); }},
      {"--fault-5xx-share",
       [](const std::string& v, O* o) { return ParseShare(v, &o->faults.server_error_share); }},
      {"--fault-700213-share",
       [](const std::string& v, O* o) { return ParseShare(v, &o->faults.transient_700213_share); }},
      {"--fault-latency-ms", [](const std::string& v, O* o) {
         std::optional<int64_t> ms = ebb::ParseInt(v);
         if (!ms || *ms < 0) return false;
         o->faults.latency = std::chrono::milliseconds(*ms);
         return true;
       }}};
  return kFlags;
}

// Applies one "--flag value" pair; false with `error` set when invalid.
bool ApplyFlag(const std::string& flag, const std::string& value, AzureTestEnvOptions* o,
               std::string* error) {
  auto it = Flags().find(flag);
  if (it == Flags().end()) {
    *error = "unknown flag " + flag;
    return false;
  }
  if (it->second(value, o)) return true;
  *error = "invalid value for " + flag + ": " + value;
  return false;
}

bool ParseArgs(const std::vector<std::string>& args, AzureTestEnvOptions* o, std::string* error) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    size_t eq = flag.find('=');
    if (eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      *error = "missing value for " + flag;
      return false;
    }
    if (!ApplyFlag(flag, value, o, error)) return false;
  }
  return true;
}

// Blocks until SIGINT/SIGTERM, rewriting the token file when due. The
// signals are blocked in every thread (set before any server starts) and
// taken here with sigtimedwait.
template <typename Env, typename Refresh>
void RunUntilSignal(Env& env, const sigset_t& signals, Refresh refresh) {
  for (;;) {
    auto wait = env.NextRefresh() - ebb::RealClock::Instance().Now();
    auto secs =
        std::max<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(wait).count(), 1);
    timespec timeout{static_cast<time_t>(std::min<int64_t>(secs, 60)), 0};
    int sig = sigtimedwait(&signals, nullptr, &timeout);
    if (sig == SIGINT || sig == SIGTERM) return;
    if (ebb::RealClock::Instance().Now() < env.NextRefresh()) continue;
    ebb::Status s = refresh(env);
    if (s.ok()) {
      ebb::Logger::Default().Info("token files refreshed");
    } else {
      ebb::Logger::Default().Error("token file refresh failed", {{"error", s.ToString()}});
    }
  }
}

int RunAzure(const std::vector<std::string>& args) {
  AzureTestEnvOptions options;
  std::string error;
  if (!ParseArgs(args, &options, &error)) return Fail(error);
  if (options.prometheus_url.empty()) return Fail("--prometheus URL is required");
  if (options.dir.empty()) {
    char tmpl[] = "/tmp/ebb-testenv-azure-XXXXXX";
    if (!mkdtemp(tmpl)) return Fail("cannot create a temporary directory");
    options.dir = tmpl;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto env = AzureTestEnv::Start(options);
  if (!env.ok()) return Fail(env.status().ToString());
  std::cout << (*env)->Describe() << std::flush;
  RunUntilSignal(**env, signals, [](AzureTestEnv& e) { return e.RefreshTokenFile(); });
  std::cout << "ebb-testenv: stopping\n";
  return 0;
}

sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

int RunAws(const std::vector<std::string>& args) {
  using ebb::testing::aws::AwsTestEnv;
  auto options = ebb::testing::aws::ParseAwsTestEnvArgs(args);
  if (!options.ok()) return Fail(options.status().message());
  if (options->dir.empty()) {
    char tmpl[] = "/tmp/ebb-testenv-aws-XXXXXX";
    if (!mkdtemp(tmpl)) return Fail("cannot create a temporary directory");
    options->dir = tmpl;
  }
  sigset_t signals = BlockStopSignals();
  auto env = AwsTestEnv::Start(*options);
  if (!env.ok()) return Fail(env.status().ToString());
  std::cout << (*env)->Describe() << std::flush;
  RunUntilSignal(**env, signals, [](AwsTestEnv& e) { return e.RefreshTokenFiles(); });
  std::cout << "ebb-testenv: stopping\n";
  return 0;
}

int RunGcp(const std::vector<std::string>& args) {
  using ebb::testing::gcp::GcpTestEnv;
  auto options = ebb::testing::gcp::ParseGcpTestEnvArgs(args);
  if (!options.ok()) return Fail(options.status().message());
  if (options->dir.empty()) {
    char tmpl[] = "/tmp/ebb-testenv-gcp-XXXXXX";
    if (!mkdtemp(tmpl)) return Fail("cannot create a temporary directory");
    options->dir = tmpl;
  }
  sigset_t signals = BlockStopSignals();
  auto env = GcpTestEnv::Start(*options);
  if (!env.ok()) return Fail(env.status().ToString());
  std::cout << (*env)->Describe() << std::flush;
  int sig = 0;
  sigwait(&signals, &sig);
  std::cout << "ebb-testenv: stopping\n";
  return 0;
}

// Serves the load profile until SIGINT or SIGTERM, updating it twice a second.
int RunLoadgen(const std::vector<std::string>& args) {
  int port = 0;
  auto profile = ebb::testing::ParseLoadgenArgs(args, &port);
  if (!profile.ok()) return Fail(profile.status().message());
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto exporter = ebb::testing::MetricsExporter::Start({port});
  if (!exporter.ok()) return Fail(exporter.status().ToString());
  std::cout << "ebb-testenv loadgen: serving ebb_queue_depth{queue=\"orders\"} on " << (*exporter)->url()
            << std::endl;
  const ebb::Clock& clock = ebb::RealClock::Instance();
  ebb::Time start = clock.Now();
  for (;;) {
    (*exporter)->Set("ebb_queue_depth", {{"queue", "orders"}}, ebb::testing::LoadAt(*profile, clock.Now() - start));
    timespec tick{0, 500'000'000};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) return 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "loadgen") return RunLoadgen(std::vector<std::string>(args.begin() + 1, args.end()));
  if (args[0] == "gcp") return RunGcp(std::vector<std::string>(args.begin() + 1, args.end()));
  if (args[0] == "aws") return RunAws(std::vector<std::string>(args.begin() + 1, args.end()));
  if (args[0] != "azure") return Fail("unknown environment " + args[0]);
  return RunAzure(std::vector<std::string>(args.begin() + 1, args.end()));
}
