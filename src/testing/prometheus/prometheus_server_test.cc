#include "testing/prometheus/prometheus_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "testing/pki/test_pki.h"
#include "testing/prometheus/exporter.h"

namespace ebb::testing {
namespace {

using std::chrono::seconds;

// Starts servers for one test and prints their logs when the test fails.
class PrometheusServerTest : public ::testing::Test {
 protected:
  PrometheusServer* StartServer(PrometheusOptions options) {
    Result<std::unique_ptr<PrometheusServer>> server = PrometheusServer::Start(std::move(options));
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    if (!server.ok()) return nullptr;
    servers_.push_back(std::move(server).value());
    return servers_.back().get();
  }

  void TearDown() override {
    if (!HasFailure()) return;
    for (const auto& server : servers_) {
      std::cerr << "--- log of prometheus " << server->base_url() << ":\n" << server->ReadLog();
    }
  }

  std::vector<std::unique_ptr<PrometheusServer>> servers_;
};

// A TLS client for `server` that trusts the CA in the PEM file `ca_file`.
httplib::Client TlsClient(const PrometheusServer& server, const std::string& ca_file) {
  httplib::Client client(server.base_url());
  client.set_ca_cert_path(ca_file.c_str());
  client.enable_server_certificate_verification(true);
  client.set_connection_timeout(seconds(2));
  return client;
}

PrometheusTls GivenTls(const TestCa& ca, const IssuedCert& cert) {
  PrometheusTls tls;
  tls.cert_pem = cert.cert_pem;
  tls.key_pem = cert.key_pem;
  tls.ca_pem = ca.cert_pem();
  return tls;
}

bool IsDead(pid_t pid) {
  if (kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  stat >> pid_field >> comm >> state;
  return !stat || state == "Z";
}

// A socket listening on a free loopback port, closed by the destructor.
class PortHolder {
 public:
  PortHolder() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 1);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~PortHolder() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_;
};

TEST_F(PrometheusServerTest, StartsReadyAndStopLeavesNothing) {
  PrometheusServer* server = StartServer({});
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->base_url(), "http://127.0.0.1:" + std::to_string(server->port()));
  EXPECT_EQ(server->ca_file(), "");
  httplib::Client client(server->base_url());
  EXPECT_EQ(client.Get("/-/ready")->status, 200);

  pid_t pid = server->pid();
  std::string dir = server->temp_dir();
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(std::filesystem::exists(server->log_path()));
  server->Stop();
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_EQ(server->pid(), 0);
  server->Stop();  // idempotent
}

TEST_F(PrometheusServerTest, DestructorStopsTheProcess) {
  pid_t pid = 0;
  {
    auto server = PrometheusServer::Start({});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    pid = (*server)->pid();
  }
  EXPECT_EQ(kill(pid, 0), -1);
}

TEST_F(PrometheusServerTest, TlsAndBasicAuth) {
  PrometheusOptions options;
  options.tls = PrometheusTls{};
  options.basic_auth_users = {TestBasicAuthUser()};
  PrometheusServer* server = StartServer(options);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->base_url().rfind("https://127.0.0.1:", 0), 0u) << server->base_url();
  ASSERT_NE(server->ca_file(), "");

  httplib::Client client = TlsClient(*server, server->ca_file());
  EXPECT_EQ(client.Get("/-/ready")->status, 401) << "no credentials";
  client.set_basic_auth(std::string(kTestBasicAuthUsername), "wrong");
  EXPECT_EQ(client.Get("/-/ready")->status, 401) << "wrong password";
  client.set_basic_auth("nobody", std::string(kTestBasicAuthPassword));
  EXPECT_EQ(client.Get("/-/ready")->status, 401) << "unknown user";
  client.set_basic_auth(std::string(kTestBasicAuthUsername), std::string(kTestBasicAuthPassword));
  httplib::Result ready = client.Get("/-/ready");
  ASSERT_TRUE(ready) << httplib::to_string(ready.error());
  EXPECT_EQ(ready->status, 200);
  Result<nlohmann::json> query = server->Query("vector(1)");
  EXPECT_TRUE(query.ok()) << query.status().ToString();
}

TEST_F(PrometheusServerTest, BasicAuthPasswordRotatesWhileRunning) {
  PrometheusOptions options;
  options.basic_auth_users = {TestBasicAuthUser()};
  PrometheusServer* server = StartServer(options);
  ASSERT_NE(server, nullptr);
  httplib::Client old_password("127.0.0.1", server->port());
  old_password.set_basic_auth(std::string(kTestBasicAuthUsername),
                              std::string(kTestBasicAuthPassword));
  httplib::Client new_password("127.0.0.1", server->port());
  new_password.set_basic_auth(std::string(kTestBasicAuthUsername),
                              std::string(kRotatedBasicAuthPassword));
  EXPECT_EQ(old_password.Get("/-/ready")->status, 200);
  EXPECT_EQ(new_password.Get("/-/ready")->status, 401);

  ASSERT_TRUE(server->SetBasicAuthUsers({RotatedBasicAuthUser()}).ok());
  EXPECT_EQ(old_password.Get("/-/ready")->status, 401) << "no restart needed";
  EXPECT_EQ(new_password.Get("/-/ready")->status, 200);
  Result<nlohmann::json> query = server->Query("vector(1)");
  EXPECT_TRUE(query.ok()) << "the harness logs in with the new password: "
                          << query.status().ToString();
  EXPECT_EQ(server->pid() > 0 && kill(server->pid(), 0) == 0, true);
}

TEST_F(PrometheusServerTest, SetBasicAuthUsersNeedsBasicAuth) {
  PrometheusServer* server = StartServer({});
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->SetBasicAuthUsers({RotatedBasicAuthUser()}).code(), StatusCode::kInvalidConfig);
}

TEST_F(PrometheusServerTest, TlsVerificationFailsWithAnotherCa) {
  PrometheusOptions options;
  options.tls = PrometheusTls{};
  PrometheusServer* server = StartServer(options);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(TlsClient(*server, server->ca_file()).Get("/-/ready")->status, 200);

  Result<TestCa> other = TestCa::Create("not the server's CA");
  ASSERT_TRUE(other.ok());
  std::string other_file = server->temp_dir() + "/other-ca.crt";
  ASSERT_TRUE(WriteFileAtomically(other_file, other->cert_pem()).ok());
  httplib::Result answer = TlsClient(*server, other_file).Get("/-/ready");
  EXPECT_FALSE(answer);
  EXPECT_EQ(answer.error(), httplib::Error::SSLServerVerification);

  httplib::Client plain("http://127.0.0.1:" + std::to_string(server->port()));
  httplib::Result plain_answer = plain.Get("/-/ready");
  EXPECT_TRUE(!plain_answer || plain_answer->status == 400) << "plain HTTP on the TLS port";
}

TEST_F(PrometheusServerTest, RequiredClientCertificate) {
  PrometheusOptions options;
  options.tls.emplace().require_client_cert = true;
  PrometheusServer* server = StartServer(options);  // readiness already needs the cert
  ASSERT_NE(server, nullptr);
  ASSERT_NE(server->client_cert_file(), "");

  httplib::Client with_cert(server->base_url(), server->client_cert_file(),
                            server->client_key_file());
  with_cert.set_ca_cert_path(server->ca_file().c_str());
  with_cert.enable_server_certificate_verification(true);
  httplib::Result answer = with_cert.Get("/-/ready");
  ASSERT_TRUE(answer) << httplib::to_string(answer.error());
  EXPECT_EQ(answer->status, 200);

  EXPECT_FALSE(TlsClient(*server, server->ca_file()).Get("/-/ready")) << "no client cert";

  Result<TestCa> other = TestCa::Create("other CA");
  ASSERT_TRUE(other.ok());
  Result<IssuedCert> foreign = other->IssueClient("intruder");
  ASSERT_TRUE(foreign.ok());
  std::string cert_file = server->temp_dir() + "/foreign.crt";
  std::string key_file = server->temp_dir() + "/foreign.key";
  ASSERT_TRUE(WriteFileAtomically(cert_file, foreign->cert_pem).ok());
  ASSERT_TRUE(WriteFileAtomically(key_file, foreign->key_pem).ok());
  httplib::Client foreign_client(server->base_url(), cert_file, key_file);
  foreign_client.set_ca_cert_path(server->ca_file().c_str());
  EXPECT_FALSE(foreign_client.Get("/-/ready")) << "client cert from another CA";
}

TEST_F(PrometheusServerTest, RequiredClientCertificateWithGivenServerCertNeedsOne) {
  Result<TestCa> ca = TestCa::Create("given CA");
  ASSERT_TRUE(ca.ok());
  Result<IssuedCert> cert = ca->IssueServer({"localhost"});
  ASSERT_TRUE(cert.ok());
  PrometheusOptions options;
  options.tls = GivenTls(*ca, *cert);
  options.tls->require_client_cert = true;
  EXPECT_EQ(PrometheusServer::Start(options).status().code(), StatusCode::kInvalidConfig);
}

TEST_F(PrometheusServerTest, TlsWithGivenCertificate) {
  Result<TestCa> ca = TestCa::Create("given CA");
  ASSERT_TRUE(ca.ok());
  Result<IssuedCert> cert = ca->IssueServer({"localhost"});
  ASSERT_TRUE(cert.ok());
  PrometheusOptions options;
  options.tls = GivenTls(*ca, *cert);
  PrometheusServer* server = StartServer(options);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->ca_pem(), ca->cert_pem());
  EXPECT_EQ(TlsClient(*server, server->ca_file()).Get("/-/ready")->status, 200);
}

TEST_F(PrometheusServerTest, BasicAuthWithoutTls) {
  PrometheusOptions options;
  options.basic_auth_users = {TestBasicAuthUser()};
  PrometheusServer* server = StartServer(options);
  ASSERT_NE(server, nullptr);
  httplib::Client client(server->base_url());
  EXPECT_EQ(client.Get("/api/v1/query?query=vector(1)")->status, 401);
  client.set_basic_auth(std::string(kTestBasicAuthUsername), std::string(kTestBasicAuthPassword));
  EXPECT_EQ(client.Get("/api/v1/query?query=vector(1)")->status, 200);
}

TEST_F(PrometheusServerTest, BusyPreferredPortFallsBackToAnother) {
  PortHolder busy;
  PrometheusOptions options;
  options.preferred_port = busy.port();
  PrometheusServer* server = StartServer(options);
  ASSERT_NE(server, nullptr);
  EXPECT_NE(server->port(), busy.port());
  EXPECT_NE(server->ReadLog().find("address already in use"), std::string::npos);
  EXPECT_EQ(httplib::Client(server->base_url()).Get("/-/ready")->status, 200);
}

TEST_F(PrometheusServerTest, BusyPortOnEveryAttemptIsUnavailable) {
  PortHolder busy;
  PrometheusOptions options;
  options.preferred_port = busy.port();
  options.start_attempts = 1;
  Result<std::unique_ptr<PrometheusServer>> server = PrometheusServer::Start(options);
  EXPECT_EQ(server.status().code(), StatusCode::kUnavailable) << server.status().ToString();
}

TEST_F(PrometheusServerTest, BadOpenMetricsIsInvalidConfigWithPromtoolsWords) {
  PrometheusOptions options;
  options.openmetrics = "this is not openmetrics\n";
  Result<std::unique_ptr<PrometheusServer>> server = PrometheusServer::Start(options);
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(server.status().message().find("promtool"), std::string::npos);
}

TEST_F(PrometheusServerTest, BadFlagFailsFastWithTheLog) {
  PrometheusOptions options;
  options.extra_flags = {"--no-such-flag"};
  auto start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<PrometheusServer>> server = PrometheusServer::Start(options);
  EXPECT_EQ(server.status().code(), StatusCode::kInternal);
  EXPECT_NE(server.status().message().find("no-such-flag"), std::string::npos)
      << server.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(10));
}

TEST_F(PrometheusServerTest, ScrapesLiveValuesFromTheExporter) {
  Result<std::unique_ptr<MetricsExporter>> exporter = MetricsExporter::Start();
  ASSERT_TRUE(exporter.ok()) << exporter.status().ToString();
  (*exporter)->Set("ebb_live_depth", {{"queue", "orders"}}, 12);
  PrometheusOptions options;
  options.scrape_targets = {(*exporter)->address()};
  options.scrape_interval = std::chrono::seconds(1);
  PrometheusServer* server = StartServer(options);
  ASSERT_NE(server, nullptr);

  const std::string query = R"(ebb_live_depth{queue="orders"})";
  Status first = server->WaitForValue(query, 12, seconds(30));
  ASSERT_TRUE(first.ok()) << first.ToString();
  (*exporter)->Set("ebb_live_depth", {{"queue", "orders"}}, 30);
  Status second = server->WaitForValue(query, 30, seconds(30));
  EXPECT_TRUE(second.ok()) << second.ToString();
  EXPECT_GE((*exporter)->scrape_count(), 2);

  // And through a plain client, as the trigger will ask.
  httplib::Client client(server->base_url());
  httplib::Result answer = client.Get("/api/v1/query", {{"query", query}}, httplib::Headers{});
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->body.find("\"30\""), std::string::npos) << answer->body;
}

TEST_F(PrometheusServerTest, WaitForValueIsBounded) {
  PrometheusServer* server = StartServer({});
  ASSERT_NE(server, nullptr);
  auto start = std::chrono::steady_clock::now();
  Status status = server->WaitForValue("vector(1)", 2, std::chrono::milliseconds(300));
  EXPECT_EQ(status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(status.message().find("\"1\""), std::string::npos) << status.message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  EXPECT_TRUE(server->WaitForValue("vector(1)", 1, seconds(5)).ok());
  EXPECT_TRUE(server->WaitForValue("scalar(vector(3))", 3, seconds(5)).ok());
}

TEST_F(PrometheusServerTest, PrometheusDiesWithTheTestProcess) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t test_process = fork();
  ASSERT_GE(test_process, 0);
  if (test_process == 0) {
    // Plays a test process that ctest SIGKILLs: no destructor runs.
    auto server = PrometheusServer::Start({});
    pid_t pid = server.ok() ? (*server)->pid() : 0;
    char dir[256] = {};
    if (server.ok()) std::strncpy(dir, (*server)->temp_dir().c_str(), sizeof dir - 1);
    bool sent = write(fds[1], &pid, sizeof pid) == sizeof pid &&
                write(fds[1], dir, sizeof dir) == sizeof dir;
    _exit(sent ? 0 : 1);
  }
  close(fds[1]);
  pid_t pid = 0;
  char dir[256] = {};
  ASSERT_EQ(read(fds[0], &pid, sizeof pid), static_cast<ssize_t>(sizeof pid));
  ASSERT_EQ(read(fds[0], dir, sizeof dir), static_cast<ssize_t>(sizeof dir));
  close(fds[0]);
  waitpid(test_process, nullptr, 0);
  ASSERT_GT(pid, 0);
  auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (!IsDead(pid) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  bool died = IsDead(pid);
  if (!died) kill(pid, SIGKILL);
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(died) << "prometheus pid " << pid << " outlived its parent";
}

TEST(PickFreeLoopbackPort, GivesABindablePort) {
  Result<int> port = PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  EXPECT_GT(*port, 0);
  EXPECT_LT(*port, 65536);
}

}  // namespace
}  // namespace ebb::testing
