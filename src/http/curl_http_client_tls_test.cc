// Tests of CurlHttpClient over TLS and through proxies, against loopback servers.
#include "http/curl_http_client_test_util.h"

namespace ebb::http {
namespace {

using namespace testing_util;  // NOLINT: the shared helpers of these tests
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;

class CurlHttpClientTlsTest : public CurlHttpClientTest {
 protected:
  void SetUp() override {
    auto ca = ebb::testing::TestCa::Create();
    ASSERT_TRUE(ca.ok());
    ca_ = std::make_unique<ebb::testing::TestCa>(*ca);
    auto cert = ca_->IssueServer({"localhost"});
    ASSERT_TRUE(cert.ok());
    server_cert_ = *cert;
  }
  static void Hello(TestServer& s) {
    s->Get("/hello", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("hello tls", "text/plain");
    });
  }

  TempDir dir_;
  std::unique_ptr<ebb::testing::TestCa> ca_;
  ebb::testing::IssuedCert server_cert_;
};

TEST_F(CurlHttpClientTlsTest, CaPemAndCaFileAreTrusted) {
  TestServer server(server_cert_);
  Hello(server);
  CurlHttpClient client;
  HttpRequest req = Get(server.Url("/hello"));
  req.tls.ca_pem = ca_->cert_pem();
  Result<HttpResponse> r = Wait(client.Fetch(req));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "hello tls");

  req.tls.ca_pem.clear();
  req.tls.ca_file = dir_.Write("ca.crt", ca_->cert_pem());
  r = Wait(client.Fetch(req));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "hello tls");
}

TEST_F(CurlHttpClientTlsTest, UntrustedCertificateFailsClearly) {
  TestServer server(server_cert_);
  Hello(server);
  CurlHttpClient client;
  Result<HttpResponse> r = Wait(client.Fetch(Get(server.Url("/hello"))));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(r.status().message(), HasSubstr("TLS certificate of 127.0.0.1:" +
                                              std::to_string(server.port()) + " not trusted: "));
  EXPECT_THAT(r.status().message(), HasSubstr("give the CA that signed it"));

  // Trusting another CA does not help either.
  auto other = ebb::testing::TestCa::Create("other");
  HttpRequest req = Get(server.Url("/hello"));
  req.tls.ca_pem = other->cert_pem();
  r = Wait(client.Fetch(req));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);
}

TEST_F(CurlHttpClientTlsTest, HostNameMismatchIsNotTrusted) {
  auto cert = ca_->IssueServer({"prom.example"}, {});
  ASSERT_TRUE(cert.ok());
  TestServer server(*cert);
  Hello(server);
  CurlHttpClient client;
  HttpRequest req = Get(server.Url("/hello"));
  req.tls.ca_pem = ca_->cert_pem();
  Result<HttpResponse> r = Wait(client.Fetch(req));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(r.status().message(), HasSubstr("not trusted"));
  EXPECT_THAT(r.status().message(), HasSubstr("use a host name the certificate names"));
}

TEST_F(CurlHttpClientTlsTest, InsecureSkipVerifyAcceptsAnyCertificate) {
  TestServer server(server_cert_);
  Hello(server);
  CurlHttpClient client;
  HttpRequest req = Get(server.Url("/hello"));
  req.tls.insecure_skip_verify = true;
  Result<HttpResponse> r = Wait(client.Fetch(req));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "hello tls");
}

TEST_F(CurlHttpClientTlsTest, SslCertFileIsHonouredWhenTheRequestNamesNoCa) {
  TestServer server(server_cert_);
  Hello(server);
  env_.Set("SSL_CERT_FILE", dir_.Write("env-ca.crt", ca_->cert_pem()));
  CurlHttpClient client;
  Result<HttpResponse> r = Wait(client.Fetch(Get(server.Url("/hello"))));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "hello tls");
}

TEST_F(CurlHttpClientTlsTest, SslCertDirIsHonoured) {
  TestServer server(server_cert_);
  Hello(server);
  // An OpenSSL hashed directory: <subject hash>.0 holds the CA.
  TempDir hashed;
  std::string dir =
      std::filesystem::path(hashed.Write(SubjectHash(ca_->cert_pem()) + ".0", ca_->cert_pem()))
          .parent_path();
  env_.Unset("SSL_CERT_FILE");
  env_.Set("SSL_CERT_DIR", dir);
  CurlHttpClient client;
  Result<HttpResponse> r = Wait(client.Fetch(Get(server.Url("/hello"))));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "hello tls");
}

TEST_F(CurlHttpClientTlsTest, ClientCertificateFromPemAndFiles) {
  auto client_cert = ca_->IssueClient("ebb");
  ASSERT_TRUE(client_cert.ok());
  TestServer server(server_cert_, ca_->cert_pem());
  server->Get("/hello", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content("hello client", "text/plain");
  });
  CurlHttpClient client;
  HttpRequest req = Get(server.Url("/hello"));
  req.tls.ca_pem = ca_->cert_pem();
  req.tls.client_cert_pem = client_cert->cert_pem;
  req.tls.client_key_pem = SecretString(client_cert->key_pem);
  Result<HttpResponse> r = Wait(client.Fetch(req));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "hello client");

  HttpRequest from_files = Get(server.Url("/hello"));
  from_files.tls.ca_pem = ca_->cert_pem();
  from_files.tls.client_cert_file = dir_.Write("client.crt", client_cert->cert_pem);
  from_files.tls.client_key_file = dir_.Write("client.key", client_cert->key_pem);
  r = Wait(client.Fetch(from_files));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "hello client");
}

TEST_F(CurlHttpClientTlsTest, MissingClientCertificateIsReported) {
  TestServer server(server_cert_, ca_->cert_pem());
  Hello(server);
  CurlHttpClient client;
  HttpRequest req = Get(server.Url("/hello"));
  req.tls.ca_pem = ca_->cert_pem();
  Result<HttpResponse> r = Wait(client.Fetch(req));
  ASSERT_FALSE(r.ok());
  // kUnauthenticated when libcurl reads the server's TLS alert; the server
  // often resets the connection first, and then only a hint is possible.
  EXPECT_THAT(r.status().code(),
              ::testing::AnyOf(StatusCode::kUnauthenticated, StatusCode::kUnavailable));
  EXPECT_THAT(r.status().message(), HasSubstr("127.0.0.1:" + std::to_string(server.port())));
  EXPECT_THAT(r.status().message(), HasSubstr("client certificate"));
}

TEST_F(CurlHttpClientTlsTest, BadCaOrClientKeyIsInvalidConfigWithoutKeyMaterial) {
  TestServer server(server_cert_);
  Hello(server);
  CurlHttpClient client;
  HttpRequest req = Get(server.Url("/hello"));
  req.tls.ca_pem = "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n";
  Result<HttpResponse> r = Wait(client.Fetch(req));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig) << r.status().ToString();

  auto client_cert = ca_->IssueClient("ebb");
  auto other = ca_->IssueClient("other");
  req.tls.ca_pem = ca_->cert_pem();
  req.tls.client_cert_pem = client_cert->cert_pem;
  req.tls.client_key_pem = SecretString(other->key_pem);  // does not match the cert
  r = Wait(client.Fetch(req));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig) << r.status().ToString();
  EXPECT_FALSE(ContainsSecret(r.status().message(), "PRIVATE KEY"));
}

TEST_F(CurlHttpClientTlsTest, DowngradeRedirectToHttpIsNotFollowed) {
  TestServer server(server_cert_);
  std::atomic<int> hits{0};
  server->Get("/a", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 302;
    // Same host and port, plain HTTP: only the scheme changes.
    res.set_header("Location", "http://127.0.0.1:" + std::to_string(server.port()) + "/b");
  });
  server->Get("/b", [&](const httplib::Request&, httplib::Response&) { ++hits; });
  CurlHttpClient client;
  HttpRequest req = Get(server.Url("/a"));
  req.tls.ca_pem = ca_->cert_pem();
  req.headers.push_back({"Authorization", "Bearer t"});
  Result<HttpResponse> r = Wait(client.Fetch(req));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(hits.load(), 0);
}

TEST_F(CurlHttpClientTlsTest, SequentialTlsRequestsReuseOneConnection) {
  TestServer server(server_cert_);
  Hello(server);
  CurlHttpClient client;
  HttpRequest req = Get(server.Url("/hello"));
  req.tls.ca_pem = ca_->cert_pem();
  for (int i = 0; i < 10; ++i) {
    Result<HttpResponse> r = Wait(client.Fetch(req));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  EXPECT_EQ(client.Stats().connections_opened, 1u);
}

// ---- proxies (libcurl reads the environment at each connection) ----

// A forward proxy stand-in: records the absolute-form request targets.
class FakeProxy {
 public:
  FakeProxy() {
    server_->Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard l(mu_);
      targets_.push_back(req.target);
      res.set_content("via proxy", "text/plain");
    });
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
  std::vector<std::string> targets() {
    std::lock_guard l(mu_);
    return targets_;
  }

 private:
  TestServer server_;
  std::mutex mu_;
  std::vector<std::string> targets_;
};

// A forward proxy for https:// URLs: answers CONNECT host:port, then
// relays bytes both ways. Records the CONNECT targets.
class FakeConnectProxy {
 public:
  FakeConnectProxy() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = Loopback(0);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(listen_fd_, 16);
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~FakeConnectProxy() {
    shutdown(listen_fd_, SHUT_RDWR);  // unblocks accept()
    acceptor_.join();
    close(listen_fd_);
    for (std::thread& t : tunnels_) t.join();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> targets() {
    std::lock_guard l(mu_);
    return targets_;
  }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    return addr;
  }
  void Accept() {
    while (true) {
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      tunnels_.emplace_back([this, fd] { Tunnel(fd); });
    }
  }
  void Tunnel(int client) {
    std::string head;
    char buf[16384];
    while (head.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = read(client, buf, sizeof buf);
      if (n <= 0) return (void)close(client);
      head.append(buf, static_cast<size_t>(n));
    }
    std::string target = head.substr(0, head.find(' ', 8)).substr(8);  // "CONNECT h:p"
    {
      std::lock_guard l(mu_);
      targets_.push_back(target);
    }
    int upstream = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = Loopback(std::stoi(target.substr(target.rfind(':') + 1)));
    if (target.rfind("127.0.0.1:", 0) != 0 ||  // never leave loopback
        connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(upstream);
      return (void)close(client);
    }
    const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
    (void)!write(client, ok, sizeof ok - 1);
    Relay(client, upstream);
    close(upstream);
    close(client);
  }
  static void Relay(int a, int b) {
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    char buf[16384];
    while (poll(fds, 2, 5000) > 0) {
      for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n <= 0 || write(fds[1 - i].fd, buf, static_cast<size_t>(n)) != n) return;
      }
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> tunnels_;  // touched by the acceptor, then the destructor
  std::mutex mu_;
  std::vector<std::string> targets_;  // guarded by mu_
};

TEST_F(CurlHttpClientTlsTest, HttpsProxyTunnelsTlsRequests) {
  TestServer server(server_cert_);
  Hello(server);
  FakeConnectProxy proxy;
  env_.Set("HTTPS_PROXY", proxy.Url());
  CurlHttpClient client;
  HttpRequest req = Get(server.Url("/hello"));
  req.tls.ca_pem = ca_->cert_pem();
  Result<HttpResponse> r = Wait(client.Fetch(req));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "hello tls");
  EXPECT_THAT(proxy.targets(),
              ::testing::ElementsAre("127.0.0.1:" + std::to_string(server.port())));
}

TEST_F(CurlHttpClientTest, HttpProxyAndNoProxyFromEnvironment) {
  FakeProxy proxy;
  TestServer target;
  target->Get("/x", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("direct", "text/plain");
  });
  env_.Set("http_proxy", proxy.Url());
  CurlHttpClient client;
  Result<HttpResponse> r = Wait(client.Fetch(Get(target.Url("/x"))));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "via proxy");
  EXPECT_THAT(proxy.targets(), ::testing::ElementsAre(target.Url("/x")));

  env_.Set("NO_PROXY", "localhost,127.0.0.1");
  r = Wait(client.Fetch(Get(target.Url("/x"))));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "direct");
}

TEST_F(CurlHttpClientTest, UpperCaseHttpProxyIsHonouredToo) {
  FakeProxy proxy;
  TestServer target;
  env_.Set("HTTP_PROXY", proxy.Url());
  CurlHttpClient client;
  Result<HttpResponse> r = Wait(client.Fetch(Get(target.Url("/y"))));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "via proxy");

  env_.Set("no_proxy", "127.0.0.1");
  r = Wait(client.Fetch(Get(target.Url("/y"))));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 404);  // the target itself, which has no /y
  EXPECT_EQ(proxy.targets().size(), 1u);
}


}  // namespace
}  // namespace ebb::http
