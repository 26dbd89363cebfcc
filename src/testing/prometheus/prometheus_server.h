// PrometheusServer: a real Prometheus (Debian's /usr/bin/prometheus 2.42)
// started for one test on a free loopback port, with data loaded before it
// starts, optional scrape targets, TLS and basic auth, in a temporary
// directory of its own that Stop() removes.
//
//   PrometheusOptions options;
//   options.openmetrics = dataset::OpenMetrics();
//   options.basic_auth_users = {TestBasicAuthUser()};
//   options.tls = PrometheusTls{};  // a fresh CA and server certificate
//   Result<std::unique_ptr<PrometheusServer>> prometheus = PrometheusServer::Start(options);
//   ASSERT_TRUE(prometheus.ok()) << prometheus.status().ToString();  // holds the log's tail
//   // (*prometheus)->base_url() == "https://127.0.0.1:41234", ca_file() verifies it
//   ...
//   if (HasFailure()) std::cerr << (*prometheus)->ReadLog();
//
// Robust on a loaded 2-core CI machine running many of these at once: the
// port comes from the kernel and start is retried on another port when
// Prometheus cannot bind; readiness is polled with a bound, and only once
// the Prometheus process itself holds the port (a foreign server that took
// the port in the meantime cannot answer for it); the process is
// killed with the test process even when that one is SIGKILLed (see
// child_process.h: start it from a thread that outlives it).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "testing/prometheus/child_process.h"

namespace httplib {
class Client;
}

namespace ebb::testing {

// The test credentials: a user, its plaintext password and its bcrypt hash
// (cost 10), generated once with
//   python3 -c 'import crypt; print(crypt.crypt("ebb-test-password",
//               crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))'
// (same format as `htpasswd -nbBC 10 ebb ebb-test-password`), so that no test
// needs a hashing tool. Prometheus caches checked credentials: cost 10 costs
// about 0.1 s once per distinct user and password, not per request.
inline constexpr std::string_view kTestBasicAuthUsername = "ebb";
inline constexpr std::string_view kTestBasicAuthPassword = "ebb-test-password";
inline constexpr std::string_view kTestBasicAuthBcrypt =
    "$2b$10$VGgt8gvf2OVT1/dOCjItG.E80Jus3oYhBGQ7xChGLws/euasVQFYG";

struct BasicAuthUser {
  std::string username;
  // Plaintext: the harness's own requests (readiness, Query) log in with the
  // first user's password.
  std::string password;
  // What Prometheus's web config stores (bcrypt of `password`).
  std::string bcrypt_hash;
};

// {kTestBasicAuthUsername, kTestBasicAuthPassword, kTestBasicAuthBcrypt}.
BasicAuthUser TestBasicAuthUser();

// The same user with a second password (for rotation tests), hashed the
// same way: "ebb-rotated-password".
inline constexpr std::string_view kRotatedBasicAuthPassword = "ebb-rotated-password";
inline constexpr std::string_view kRotatedBasicAuthBcrypt =
    "$2b$10$1suijIXrahkvSbNMeB3E7ufwRzJe1dYJ0MDcn6yM6fKCHHV5TWhZ2";
// {kTestBasicAuthUsername, kRotatedBasicAuthPassword, kRotatedBasicAuthBcrypt}.
BasicAuthUser RotatedBasicAuthUser();

struct PrometheusTls {
  // Server certificate and key (PEM), with 127.0.0.1 in subjectAltName.
  // Default empty: the harness makes a fresh CA and a certificate for
  // "localhost", 127.0.0.1 and ::1.
  std::string cert_pem;
  std::string key_pem;
  // The CA that issued cert_pem (REQUIRED when cert_pem is set); written to
  // ca_file() for clients.
  std::string ca_pem;

  // Require clients to present a certificate issued by client_ca_pem
  // (client_auth_type: RequireAndVerifyClientCert). Default false.
  bool require_client_cert = false;
  // Default empty: ca_pem.
  std::string client_ca_pem;
  // The client certificate the harness itself presents (readiness, Query),
  // written to client_cert_file() and client_key_file() for tests too.
  // Default empty: issued (CN "ebb-harness") by the generated CA; REQUIRED
  // with require_client_cert when cert_pem is set.
  std::string client_cert_pem;
  std::string client_key_pem;
};

struct PrometheusOptions {
  // OpenMetrics text loaded into the TSDB before start (promtool tsdb
  // create-blocks-from openmetrics). Default empty: no data.
  std::string openmetrics;

  // Targets to scrape, "127.0.0.1:PORT" (path /metrics, job "ebb"; samples get
  // the labels job="ebb", instance="127.0.0.1:PORT"), and their interval.
  // Scraping begins about 5 s after start, whatever the interval.
  // Default: none, 1 s.
  std::vector<std::string> scrape_targets;
  std::chrono::milliseconds scrape_interval{1000};

  // Serve HTTPS. Default: plain HTTP.
  std::optional<PrometheusTls> tls;
  // Require basic auth with these users. Default: no authentication.
  std::vector<BasicAuthUser> basic_auth_users;

  // A port to try first; when it is busy (or 0, the default), a free port
  // chosen by the kernel is used instead.
  int preferred_port = 0;
  // How many ports to try before giving up. Default 4.
  int start_attempts = 4;
  // Bound on the wait for /-/ready to answer 200, per attempt. Default 20 s.
  std::chrono::milliseconds ready_timeout{20000};
  // Between SIGTERM and SIGKILL on Stop(). Default 5 s.
  std::chrono::milliseconds stop_grace{5000};

  // Appended to Prometheus's command line (e.g. "--enable-feature=...").
  std::vector<std::string> extra_flags;
  // Keep the temporary directory after Stop() (debugging). Default false.
  bool keep_temp_dir = false;

  std::string prometheus_binary = "/usr/bin/prometheus";
  std::string promtool_binary = "/usr/bin/promtool";
};

// One running Prometheus, owned: the destructor stops it and removes its
// directory. Thread-compatible: the const accessors and Query may be used
// from several threads; Stop must not race with anything.
class PrometheusServer {
 public:
  // Prepares the directory, loads the data, starts Prometheus and waits
  // until it is ready. Errors hold the tail of promtool's or Prometheus's
  // log: kInvalidConfig (bad OpenMetrics, missing binary, bad options),
  // kUnavailable (no free port after start_attempts tries), kDeadlineExceeded
  // (not ready within ready_timeout), kInternal (exited early for another
  // reason, e.g. a bad extra flag).
  static Result<std::unique_ptr<PrometheusServer>> Start(PrometheusOptions options);

  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  // "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT", no trailing slash.
  const std::string& base_url() const { return base_url_; }
  int port() const { return port_; }
  // PEM file of the CA that verifies the server; "" without TLS.
  const std::string& ca_file() const { return ca_file_; }
  // CA PEM text; "" without TLS.
  const std::string& ca_pem() const { return ca_pem_; }
  // The harness's client certificate and key (PEM files), accepted by the
  // server; "" unless tls->require_client_cert.
  const std::string& client_cert_file() const { return client_cert_file_; }
  const std::string& client_key_file() const { return client_key_file_; }
  // Prometheus's stdout and stderr (all attempts).
  const std::string& log_path() const { return log_path_; }
  const std::string& temp_dir() const { return temp_dir_; }
  // The Prometheus process; 0 after Stop().
  pid_t pid() const { return process_ ? process_->pid() : 0; }

  // The log's contents ("" once the directory is removed).
  std::string ReadLog() const;

  // GET /api/v1/query with `promql` and, when given, `time` (Unix seconds),
  // as the first basic-auth user, verifying TLS with the CA, presenting the
  // harness's client certificate when one is required. Returns the
  // parsed JSON body of a 200 answer; kUnavailable when the request fails,
  // kInternal for another status (the body in the message) or bad JSON.
  Result<nlohmann::json> Query(std::string_view promql, std::optional<double> time = {}) const;

  // Polls Query(promql) (at "now") until its answer is a vector with one
  // element of value `value`, or a scalar equal to it. kDeadlineExceeded
  // after `timeout`, naming the last answer.
  Status WaitForValue(std::string_view promql, double value, Duration timeout) const;

  // Replaces the basic-auth users while Prometheus runs (password
  // rotation): rewrites its web config, which Prometheus re-reads on every
  // request, so the next request is checked against `users`; Query uses the
  // new first user. REQUIRES: started with basic_auth_users, `users` not
  // empty; not concurrently with Query. kInvalidConfig otherwise, or the
  // write's error.
  Status SetBasicAuthUsers(std::vector<BasicAuthUser> users);

  // SIGTERM, SIGKILL after stop_grace, reaps the process, then removes the
  // temporary directory (unless keep_temp_dir). Idempotent.
  void Stop();

 private:
  explicit PrometheusServer(PrometheusOptions options) : options_(std::move(options)) {}

  Status Prepare();
  Status WriteConfigs();
  Status WriteTlsFiles();
  Status LoadData();
  Status StartOnSomePort();
  Status StartOnPort(int port);
  // `log_offset`: where this attempt's part of the log begins.
  Status WaitUntilReady(long log_offset);
  std::unique_ptr<httplib::Client> MakeClient() const;

  PrometheusOptions options_;
  std::string temp_dir_;
  std::string log_path_;
  std::string ca_file_;
  std::string ca_pem_;
  std::string client_cert_file_;
  std::string client_key_file_;
  std::string web_config_path_;  // "" without TLS and auth
  std::string base_url_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// A port on 127.0.0.1 that was free a moment ago (bound to port 0 and
// closed); kUnavailable if no socket can be bound.
Result<int> PickFreeLoopbackPort();

}  // namespace ebb::testing
