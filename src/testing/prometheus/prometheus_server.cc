#include "testing/prometheus/prometheus_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/strings.h"
#include "testing/pki/test_pki.h"

namespace ebb::testing {
namespace {

namespace fs = std::filesystem;

constexpr auto kPromtoolTimeout = std::chrono::seconds(60);
constexpr auto kFirstPollPause = std::chrono::milliseconds(20);
constexpr auto kMaxPollPause = std::chrono::milliseconds(100);
constexpr auto kValuePollPause = std::chrono::milliseconds(200);
constexpr size_t kLogTailBytes = 4000;
// Old sample timestamps must survive: retention counts back from the newest
// block, and Prometheus caps the value at 100y anyway.
constexpr const char* kRetention = "100y";
constexpr const char* kBindFailure = "address already in use";

// A double-quoted YAML scalar; JSON string escaping is valid YAML.
std::string Quoted(std::string_view s) { return "\"" + JsonEscape(s) + "\""; }

std::string DurationText(std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; }

std::string PrometheusConfig(const PrometheusOptions& options) {
  std::string interval = DurationText(options.scrape_interval);
  std::string out = "global:\n  scrape_interval: " + interval + "\n  scrape_timeout: " + interval +
                    "\n  evaluation_interval: 1m\n";
  if (options.scrape_targets.empty()) return out;
  out += "scrape_configs:\n  - job_name: ebb\n    static_configs:\n      - targets:\n";
  for (const std::string& target : options.scrape_targets)
    out += "          - " + Quoted(target) + "\n";
  return out;
}

std::string WebConfig(const std::string& dir, const PrometheusOptions& options) {
  std::string out;
  if (options.tls) {
    out += "tls_server_config:\n  cert_file: " + Quoted(dir + "/tls.crt") +
           "\n  key_file: " + Quoted(dir + "/tls.key") + "\n";
    if (options.tls->require_client_cert) {
      out += "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: " +
             Quoted(dir + "/client-ca.crt") + "\n";
    }
  }
  if (!options.basic_auth_users.empty()) {
    out += "basic_auth_users:\n";
    for (const BasicAuthUser& user : options.basic_auth_users) {
      out += "  " + Quoted(user.username) + ": " + Quoted(user.bcrypt_hash) + "\n";
    }
  }
  return out;
}

Result<std::string> MakeTempDir() {
  std::error_code ec;
  fs::path root = fs::temp_directory_path(ec);
  if (ec) root = "/tmp";
  std::string path = (root / "ebb-prometheus-XXXXXX").string();
  if (mkdtemp(path.data()) == nullptr) {
    return Internal("mkdtemp in " + root.string() + ": " + strerror(errno));
  }
  return path;
}

Status CheckGivenTls(const PrometheusTls& tls) {
  if (tls.key_pem.empty() || tls.ca_pem.empty()) {
    return InvalidConfig("PrometheusTls: cert_pem needs key_pem and ca_pem");
  }
  if (tls.require_client_cert && (tls.client_cert_pem.empty() || tls.client_key_pem.empty())) {
    return InvalidConfig(
        "PrometheusTls: require_client_cert with a given cert_pem needs "
        "client_cert_pem and client_key_pem");
  }
  return Status::Ok();
}

// Fills in what the caller left empty: a fresh CA with server and client
// certificates, and the client CA.
Result<PrometheusTls> CompleteTls(PrometheusTls tls) {
  if (tls.cert_pem.empty()) {
    Result<TestCa> ca = TestCa::Create("ebb prometheus test CA");
    if (!ca.ok()) return ca.status();
    Result<IssuedCert> cert = ca->IssueServer({"localhost"});
    if (!cert.ok()) return cert.status();
    tls.cert_pem = cert->cert_pem;
    tls.key_pem = cert->key_pem;
    tls.ca_pem = ca->cert_pem();
    if (tls.require_client_cert && tls.client_cert_pem.empty()) {
      Result<IssuedCert> client = ca->IssueClient("ebb-harness");
      if (!client.ok()) return client.status();
      tls.client_cert_pem = client->cert_pem;
      tls.client_key_pem = client->key_pem;
    }
  }
  EBB_RETURN_IF_ERROR(CheckGivenTls(tls));
  if (tls.client_ca_pem.empty()) tls.client_ca_pem = tls.ca_pem;
  return tls;
}

long FileSize(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<long>(size);
}

std::string ReadFrom(const std::string& path, long offset) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(offset);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Tail(const std::string& text) {
  return text.size() <= kLogTailBytes ? text : text.substr(text.size() - kLogTailBytes);
}

Status AppendLine(const std::string& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  out << line << "\n";
  return out ? Status::Ok() : Internal("cannot write " + path);
}

// Parses a sample value as Prometheus prints it ("42", "NaN", "+Inf").
double SampleValue(const nlohmann::json& value) {
  if (!value.is_string()) return std::nan("");
  return std::strtod(value.get<std::string>().c_str(), nullptr);
}

bool SameValue(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// True if `answer` is a one-element vector or a scalar whose value is `want`.
bool HasValue(const nlohmann::json& answer, double want) {
  const nlohmann::json& data = answer.value("data", nlohmann::json::object());
  std::string type = data.value("resultType", "");
  const nlohmann::json& result = data.value("result", nlohmann::json::array());
  if (type == "scalar" && result.size() == 2) return SameValue(SampleValue(result[1]), want);
  if (type != "vector" || result.size() != 1) return false;
  const nlohmann::json& sample = result[0].value("value", nlohmann::json::array());
  return sample.size() == 2 && SameValue(SampleValue(sample[1]), want);
}

// The inode of the socket listening on 127.0.0.1:port, from /proc/net/tcp
// (lines "sl local rem st ... inode": local "0100007F:1F90", st 0A = LISTEN).
std::optional<std::string> ListeningSocketInode(int port) {
  char want[32];
  std::snprintf(want, sizeof want, "0100007F:%04X", port);
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // header
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
        timeout >> inode;
    if (local == want && state == "0A") return inode;
  }
  return std::nullopt;
}

// True if process `pid` itself listens on 127.0.0.1:port. Guards the
// readiness probe against a foreign server that took the port between
// PickFreeLoopbackPort and Prometheus's bind: its 200 must not count.
bool Listens(pid_t pid, int port) {
  std::optional<std::string> inode = ListeningSocketInode(port);
  if (!inode) return false;
  std::string target = "socket:[" + *inode + "]";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    if (fs::read_symlink(entry.path(), link_ec).string() == target) return true;
  }
  return false;
}

}  // namespace

BasicAuthUser TestBasicAuthUser() {
  return {std::string(kTestBasicAuthUsername), std::string(kTestBasicAuthPassword),
          std::string(kTestBasicAuthBcrypt)};
}

BasicAuthUser RotatedBasicAuthUser() {
  return {std::string(kTestBasicAuthUsername), std::string(kRotatedBasicAuthPassword),
          std::string(kRotatedBasicAuthBcrypt)};
}

Status PrometheusServer::SetBasicAuthUsers(std::vector<BasicAuthUser> users) {
  if (options_.basic_auth_users.empty() || users.empty() || web_config_path_.empty()) {
    return InvalidConfig("SetBasicAuthUsers: Prometheus was started without basic auth");
  }
  options_.basic_auth_users = std::move(users);
  return WriteFileAtomically(web_config_path_, WebConfig(temp_dir_, options_));
}

Result<int> PickFreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unavailable(std::string("socket: ") + strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  int saved_errno = errno;
  close(fd);
  if (!ok) return Unavailable(std::string("bind 127.0.0.1:0: ") + strerror(saved_errno));
  return static_cast<int>(ntohs(addr.sin_port));
}

Result<std::unique_ptr<PrometheusServer>> PrometheusServer::Start(PrometheusOptions options) {
  std::unique_ptr<PrometheusServer> server(new PrometheusServer(std::move(options)));
  // On any failure `server` is destroyed, which stops the process and
  // removes the directory: errors carry the log's tail for that reason.
  EBB_RETURN_IF_ERROR(server->Prepare());
  EBB_RETURN_IF_ERROR(server->WriteConfigs());
  EBB_RETURN_IF_ERROR(server->LoadData());
  EBB_RETURN_IF_ERROR(server->StartOnSomePort());
  return server;
}

PrometheusServer::~PrometheusServer() { Stop(); }

Status PrometheusServer::Prepare() {
  if (options_.start_attempts < 1) return InvalidConfig("start_attempts must be at least 1");
  if (access(options_.prometheus_binary.c_str(), X_OK) != 0) {
    return InvalidConfig(options_.prometheus_binary + " not found: apt-get install prometheus");
  }
  Result<std::string> dir = MakeTempDir();
  if (!dir.ok()) return dir.status();
  temp_dir_ = *dir;
  log_path_ = temp_dir_ + "/prometheus.log";
  return Status::Ok();
}

Status PrometheusServer::WriteConfigs() {
  EBB_RETURN_IF_ERROR(
      WriteFileAtomically(temp_dir_ + "/prometheus.yml", PrometheusConfig(options_)));
  if (options_.tls) EBB_RETURN_IF_ERROR(WriteTlsFiles());
  std::string web = WebConfig(temp_dir_, options_);
  if (web.empty()) return Status::Ok();
  web_config_path_ = temp_dir_ + "/web.yml";
  return WriteFileAtomically(web_config_path_, web);
}

Status PrometheusServer::WriteTlsFiles() {
  Result<PrometheusTls> tls = CompleteTls(*options_.tls);
  if (!tls.ok()) return tls.status();
  EBB_RETURN_IF_ERROR(WriteFileAtomically(temp_dir_ + "/tls.crt", tls->cert_pem));
  EBB_RETURN_IF_ERROR(WriteFileAtomically(temp_dir_ + "/tls.key", tls->key_pem));
  ca_file_ = temp_dir_ + "/ca.crt";
  ca_pem_ = tls->ca_pem;
  EBB_RETURN_IF_ERROR(WriteFileAtomically(ca_file_, ca_pem_));
  if (!tls->require_client_cert) return Status::Ok();
  EBB_RETURN_IF_ERROR(WriteFileAtomically(temp_dir_ + "/client-ca.crt", tls->client_ca_pem));
  client_cert_file_ = temp_dir_ + "/client.crt";
  client_key_file_ = temp_dir_ + "/client.key";
  EBB_RETURN_IF_ERROR(WriteFileAtomically(client_cert_file_, tls->client_cert_pem));
  return WriteFileAtomically(client_key_file_, tls->client_key_pem);
}

Status PrometheusServer::LoadData() {
  if (options_.openmetrics.empty()) return Status::Ok();
  std::string input = temp_dir_ + "/data.om";
  std::string output = temp_dir_ + "/promtool.log";
  EBB_RETURN_IF_ERROR(WriteFileAtomically(input, options_.openmetrics));
  Result<int> code = RunToCompletion(
      {.program = options_.promtool_binary,
       .args = {"tsdb", "create-blocks-from", "openmetrics", "--quiet", input, temp_dir_ + "/data"},
       .output_path = output},
      kPromtoolTimeout);
  if (!code.ok()) return code.status().WithContext("promtool");
  if (*code != 0) {
    return InvalidConfig("promtool could not load the OpenMetrics data (exit code " +
                         std::to_string(*code) + "): " + ReadFileTail(output, kLogTailBytes));
  }
  return Status::Ok();
}

Status PrometheusServer::StartOnSomePort() {
  Status last;
  for (int attempt = 0; attempt < options_.start_attempts; ++attempt) {
    int port = attempt == 0 ? options_.preferred_port : 0;
    if (port == 0) {
      Result<int> free_port = PickFreeLoopbackPort();
      if (!free_port.ok()) return free_port.status();
      port = *free_port;
    }
    last = StartOnPort(port);
    // kUnavailable means "the port was taken": anything else won't get
    // better on another port.
    if (last.ok() || last.code() != StatusCode::kUnavailable) return last;
  }
  return last.WithContext("prometheus could not bind after " +
                          std::to_string(options_.start_attempts) + " attempts");
}

Status PrometheusServer::StartOnPort(int port) {
  port_ = port;
  base_url_ = std::string(options_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port);
  long log_offset = FileSize(log_path_);
  EBB_RETURN_IF_ERROR(AppendLine(log_path_, "--- ebb: starting prometheus on " + base_url_));
  std::vector<std::string> args = {
      "--config.file=" + temp_dir_ + "/prometheus.yml",
      "--storage.tsdb.path=" + temp_dir_ + "/data",
      std::string("--storage.tsdb.retention.time=") + kRetention,
      "--web.listen-address=127.0.0.1:" + std::to_string(port),
  };
  if (!web_config_path_.empty()) args.push_back("--web.config.file=" + web_config_path_);
  args.insert(args.end(), options_.extra_flags.begin(), options_.extra_flags.end());
  Result<std::unique_ptr<ChildProcess>> child = ChildProcess::Spawn(
      {.program = options_.prometheus_binary, .args = std::move(args), .output_path = log_path_});
  if (!child.ok()) return child.status();
  process_ = std::move(*child);
  Status ready = WaitUntilReady(log_offset);
  if (ready.ok()) return ready;
  process_->Terminate(options_.stop_grace);
  process_.reset();
  std::string log = ReadFrom(log_path_, log_offset);
  if (log.find(kBindFailure) != std::string::npos) {
    return Unavailable("port " + std::to_string(port) + " busy; last log:\n" + Tail(log));
  }
  // Only a taken port is worth another attempt (see StartOnSomePort).
  StatusCode code = ready.code() == StatusCode::kUnavailable ? StatusCode::kInternal : ready.code();
  return Status(code, "prometheus " + ready.message() + "; its log:\n" + Tail(log));
}

Status PrometheusServer::WaitUntilReady(long log_offset) {
  auto deadline = std::chrono::steady_clock::now() + options_.ready_timeout;
  auto pause = kFirstPollPause;
  std::string last = "no answer yet";
  std::unique_ptr<httplib::Client> client = MakeClient();
  client->set_connection_timeout(std::chrono::seconds(1));
  client->set_read_timeout(std::chrono::seconds(2));
  bool listening = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (process_->HasExited()) {
      return Unavailable("exited before ready: " + DescribeWaitStatus(*process_->wait_status()));
    }
    if (ReadFrom(log_path_, log_offset).find(kBindFailure) != std::string::npos) {
      return Unavailable("could not bind");  // fail fast: it exits anyway
    }
    listening = listening || Listens(process_->pid(), port_);
    if (listening) {
      httplib::Result answer = client->Get("/-/ready");
      if (answer && answer->status == 200) return Status::Ok();
      last = answer ? "HTTP " + std::to_string(answer->status) : httplib::to_string(answer.error());
    } else {
      last = "not listening on port " + std::to_string(port_) + " yet";
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, kMaxPollPause);
  }
  return DeadlineExceeded("not ready after " + std::to_string(options_.ready_timeout.count()) +
                          " ms (last: " + last + ")");
}

// The harness's own requests trust the CA, present the client certificate
// and log in as the first basic-auth user.
std::unique_ptr<httplib::Client> PrometheusServer::MakeClient() const {
  auto client = client_cert_file_.empty() ? std::make_unique<httplib::Client>(base_url_)
                                          : std::make_unique<httplib::Client>(
                                                base_url_, client_cert_file_, client_key_file_);
  if (!ca_file_.empty()) {
    client->set_ca_cert_path(ca_file_.c_str());
    client->enable_server_certificate_verification(true);
  }
  if (!options_.basic_auth_users.empty()) {
    const BasicAuthUser& user = options_.basic_auth_users[0];
    client->set_basic_auth(user.username.c_str(), user.password.c_str());
  }
  return client;
}

std::string PrometheusServer::ReadLog() const { return ReadFrom(log_path_, 0); }

Result<nlohmann::json> PrometheusServer::Query(std::string_view promql,
                                               std::optional<double> time) const {
  std::unique_ptr<httplib::Client> client = MakeClient();
  httplib::Params params{{"query", std::string(promql)}};
  if (time) params.emplace("time", FormatDouble(*time));
  httplib::Result answer = client->Get("/api/v1/query", params, httplib::Headers{});
  if (!answer) return Unavailable("query failed: " + httplib::to_string(answer.error()));
  if (answer->status != 200) {
    return Internal("query answered HTTP " + std::to_string(answer->status) + ": " + answer->body);
  }
  nlohmann::json body = nlohmann::json::parse(answer->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return Internal("query answer is not JSON: " + answer->body);
  return body;
}

Status PrometheusServer::WaitForValue(std::string_view promql, double value,
                                      Duration timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer yet";
  while (true) {
    Result<nlohmann::json> answer = Query(promql);
    if (answer.ok() && HasValue(*answer, value)) return Status::Ok();
    last = answer.ok() ? answer->dump() : answer.status().ToString();
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(kValuePollPause);
  }
  return DeadlineExceeded(std::string(promql) + " never gave " + FormatDouble(value) +
                          "; last answer: " + last);
}

void PrometheusServer::Stop() {
  if (process_) {
    process_->Terminate(options_.stop_grace);
    process_.reset();
  }
  if (!options_.keep_temp_dir && !temp_dir_.empty()) {
    std::error_code ignored;
    fs::remove_all(temp_dir_, ignored);
  }
}

}  // namespace ebb::testing
