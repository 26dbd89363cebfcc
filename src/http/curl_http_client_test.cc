// Tests of CurlHttpClient against cpp-httplib servers on 127.0.0.1.
#include "http/curl_http_client.h"

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/secret.h"
#include "testing/pki/test_pki.h"

namespace ebb::http {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kWait = std::chrono::seconds(10);

// A temporary directory removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ebb-http-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& contents) const {
    std::string p = path_ + "/" + name;
    EXPECT_TRUE(ebb::testing::WriteFileAtomically(p, contents).ok());
    return p;
  }

 private:
  std::string path_;
};

// A cpp-httplib server (plain or TLS) listening on 127.0.0.1, a random port.
class TestServer {
 public:
  TestServer() : server_(std::make_unique<httplib::Server>()) { Start(); }
  // TLS with this certificate; when `client_ca_pem` is set, clients must
  // present a certificate it signed.
  TestServer(const ebb::testing::IssuedCert& cert, const std::string& client_ca_pem = "") {
    std::string cert_file = dir_.Write("server.crt", cert.cert_pem);
    std::string key_file = dir_.Write("server.key", cert.key_pem);
    std::string ca_file = client_ca_pem.empty() ? "" : dir_.Write("client-ca.crt", client_ca_pem);
    server_ = std::make_unique<httplib::SSLServer>(cert_file.c_str(), key_file.c_str(),
                                                   ca_file.empty() ? nullptr : ca_file.c_str());
    tls_ = true;
    Start();
  }
  ~TestServer() {
    server_->stop();
    thread_.join();
  }

  httplib::Server& operator*() { return *server_; }
  httplib::Server* operator->() { return server_.get(); }
  int port() const { return port_; }
  std::string Url(const std::string& path) const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  void Start() {
    server_->set_tcp_nodelay(true);
    server_->set_keep_alive_max_count(100000);
    server_->new_task_queue = [] { return new httplib::ThreadPool(32); };
    port_ = server_->bind_to_any_port("127.0.0.1");
    EXPECT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // cpp-httplib 0.11 has no wait_until_ready().
    while (!server_->is_running()) std::this_thread::sleep_for(milliseconds(1));
  }

  TempDir dir_;
  std::unique_ptr<httplib::Server> server_;
  bool tls_ = false;
  int port_ = 0;
  std::thread thread_;
};

// A loopback port nobody listens on.
int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// The OpenSSL subject hash of a PEM certificate ("%08lx"), the file name
// of a CA in a hashed directory.
std::string SubjectHash(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  char buf[16];
  snprintf(buf, sizeof buf, "%08lx", X509_subject_name_hash(cert));
  X509_free(cert);
  return buf;
}

CurlHttpClientOptions MaxInFlight(int n) {
  CurlHttpClientOptions o;
  o.max_in_flight = n;
  return o;
}

CurlHttpClientOptions MaxResponseBytes(int64_t n) {
  CurlHttpClientOptions o;
  o.max_response_bytes = n;
  return o;
}

HttpRequest Get(const std::string& url) {
  HttpRequest r;
  r.url = url;
  return r;
}

Result<HttpResponse> Wait(std::future<Result<HttpResponse>> f) {
  if (f.wait_for(kWait) != std::future_status::ready) return Internal("test: no answer in 10s");
  return f.get();
}

// Sets environment variables for one test and restores them afterwards.
// Proxy variables are cleared so that no test leaves loopback.
class EnvGuard {
 public:
  EnvGuard() {
    for (const char* name : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                             "ALL_PROXY", "no_proxy", "NO_PROXY"}) {
      Unset(name);
    }
  }
  ~EnvGuard() {
    for (auto& [name, value] : saved_) {
      if (value) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }
  void Set(const std::string& name, const std::string& value) {
    Save(name);
    setenv(name.c_str(), value.c_str(), 1);
  }
  void Unset(const std::string& name) {
    Save(name);
    unsetenv(name.c_str());
  }

 private:
  void Save(const std::string& name) {
    if (saved_.count(name)) return;
    const char* v = std::getenv(name.c_str());
    saved_[name] = v ? std::optional<std::string>(v) : std::nullopt;
  }
  std::map<std::string, std::optional<std::string>> saved_;
};

class CurlHttpClientTest : public ::testing::Test {
 protected:
  EnvGuard env_;
};

// ---- plain HTTP ----

TEST_F(CurlHttpClientTest, GetSendsHeadersAndReturnsStatusHeadersBody) {
  TestServer server;
  server->Get("/hello", [](const httplib::Request& req, httplib::Response& res) {
    res.status = 201;
    res.set_header("X-Reply", "yes");
    res.set_content("hi " + req.get_header_value("X-Test") + " " +
                        req.get_header_value("User-Agent") + " " + req.get_param_value("q"),
                    "text/plain");
  });
  CurlHttpClient client;
  HttpRequest req = Get(server.Url("/hello?q=a%20b"));
  req.headers.push_back({"X-Test", "42"});
  Result<HttpResponse> r = Wait(client.Fetch(std::move(req)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 201);
  EXPECT_THAT(r->body, ::testing::MatchesRegex("hi 42 ebb/[0-9a-z.]+ a b"));
  EXPECT_EQ(r->HeaderValue("x-reply"), "yes");
  EXPECT_EQ(r->HeaderValue("Content-Type"), "text/plain");
  EXPECT_EQ(r->http_version, 1);
  EXPECT_EQ(r->effective_url, server.Url("/hello?q=a%20b"));
}

TEST_F(CurlHttpClientTest, ErrorStatusesAreResponsesNotErrors) {
  TestServer server;
  server->Get("/missing", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_content("down", "text/plain");
  });
  CurlHttpClient client;
  Result<HttpResponse> r = Wait(client.Fetch(Get(server.Url("/missing"))));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "down");
}

TEST_F(CurlHttpClientTest, PostSendsBodyAsGivenWithoutAddedContentTypeOrExpect) {
  TestServer server;
  server->Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.method + "|" + req.get_header_value("Content-Type") + "|" +
                        req.get_header_value("Expect") + "|" + req.body,
                    "text/plain");
  });
  CurlHttpClient client;
  HttpRequest req = Get(server.Url("/echo"));
  req.method = "POST";
  req.headers.push_back({"Content-Type", "application/json"});
  req.body = std::string(2 << 20, 'x');  // large enough for libcurl to want 100-continue
  Result<HttpResponse> r = Wait(client.Fetch(req));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "POST|application/json||" + req.body);

  req.headers.clear();
  req.body = "a=b";
  r = Wait(client.Fetch(req));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "POST|||a=b");
}

TEST_F(CurlHttpClientTest, OtherMethods) {
  TestServer server;
  auto echo = [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.method + ":" + req.body, "text/plain");
  };
  server->Put("/x", echo);
  server->Patch("/x", echo);
  server->Delete("/x", echo);
  server->Get("/x", echo);  // also answers HEAD
  CurlHttpClient client;
  for (std::string method : {"PUT", "PATCH", "DELETE"}) {
    HttpRequest req = Get(server.Url("/x"));
    req.method = method;
    req.body = method == "DELETE" ? "" : "{}";
    Result<HttpResponse> r = Wait(client.Fetch(req));
    ASSERT_TRUE(r.ok()) << method << ": " << r.status().ToString();
    EXPECT_EQ(r->body, method + ":" + req.body);
  }
  HttpRequest head = Get(server.Url("/x"));
  head.method = "HEAD";
  Result<HttpResponse> r = Wait(client.Fetch(head));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
}

TEST_F(CurlHttpClientTest, CallbackRunsOnceAndMaySendAgain) {
  TestServer server;
  std::atomic<int> hits{0};
  server->Get("/n", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::to_string(++hits), "text/plain");
  });
  CurlHttpClient client;
  std::promise<std::vector<std::string>> all;
  auto bodies = std::make_shared<std::vector<std::string>>();
  std::function<void(Result<HttpResponse>)> next = [&](Result<HttpResponse> r) {
    bodies->push_back(r.ok() ? r->body : r.status().ToString());
    if (bodies->size() == 5) {
      all.set_value(*bodies);
      return;
    }
    client.Send(Get(server.Url("/n")), next);  // re-entrant Send from the I/O thread
  };
  client.Send(Get(server.Url("/n")), next);
  auto f = all.get_future();
  ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
  EXPECT_THAT(f.get(), ::testing::ElementsAre("1", "2", "3", "4", "5"));
}

TEST_F(CurlHttpClientTest, ThrowingCallbackDoesNotStopTheClient) {
  TestServer server;
  server->Get("/x", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  CurlHttpClient client;
  std::promise<void> thrown;
  client.Send(Get(server.Url("/x")), [&](Result<HttpResponse>) {
    thrown.set_value();
    throw std::runtime_error("callback bug");
  });
  ASSERT_EQ(thrown.get_future().wait_for(kWait), std::future_status::ready);
  Result<HttpResponse> r = Wait(client.Fetch(Get(server.Url("/x"))));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "ok");
}

TEST_F(CurlHttpClientTest, ConcurrencyBoundIsHonoured) {
  TestServer server;
  std::atomic<int> current{0};
  std::atomic<int> peak{0};
  server->Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
    int now = ++current;
    int p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
    std::this_thread::sleep_for(milliseconds(30));  // long enough for overlap to show
    --current;
    res.set_content("ok", "text/plain");
  });
  CurlHttpClient client(MaxInFlight(2));
  std::vector<std::future<Result<HttpResponse>>> futures;
  for (int i = 0; i < 10; ++i) futures.push_back(client.Fetch(Get(server.Url("/slow"))));
  EXPECT_LE(client.InFlight(), 2);
  int ok = 0;
  for (auto& f : futures) {
    Result<HttpResponse> r = Wait(std::move(f));
    ok += r.ok() && r->status == 200;
    EXPECT_LE(client.InFlight(), 2);
  }
  EXPECT_EQ(ok, 10);
  EXPECT_LE(peak.load(), 2);
  EXPECT_GE(peak.load(), 1);
  CurlHttpClientStats stats = client.Stats();
  EXPECT_EQ(stats.requests_sent, 10u);
  EXPECT_EQ(stats.responses, 10u);
  EXPECT_EQ(stats.failures, 0u);
  EXPECT_EQ(stats.queued, 0);
}

TEST_F(CurlHttpClientTest, SequentialRequestsReuseOneConnection) {
  TestServer server;
  std::mutex mu;
  std::set<int> client_ports;
  server->Get("/x", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard l(mu);
    client_ports.insert(req.remote_port);
    res.set_content("ok", "text/plain");
  });
  CurlHttpClient client;
  for (int i = 0; i < 20; ++i) {
    Result<HttpResponse> r = Wait(client.Fetch(Get(server.Url("/x"))));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  std::lock_guard l(mu);
  EXPECT_EQ(client_ports.size(), 1u);
  EXPECT_EQ(client.Stats().connections_opened, 1u);
}

TEST_F(CurlHttpClientTest, ThousandRequestsComplete) {
  TestServer server;
  server->Get("/x", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  // cpp-httplib listens with a backlog of 5: a burst of more new
  // connections loses a SYN and waits a second for its retransmission.
  CurlHttpClient client(MaxInFlight(4));
  constexpr int kCount = 1000;
  std::atomic<int> ok{0};
  std::atomic<int> done{0};
  std::promise<void> all;
  for (int i = 0; i < kCount; ++i) {
    client.Send(Get(server.Url("/x")), [&](Result<HttpResponse> r) {
      ok += r.ok() && r->status == 200;
      if (++done == kCount) all.set_value();
    });
  }
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(ok.load(), kCount);
  EXPECT_LE(client.Stats().connections_opened, 4u);
  EXPECT_EQ(client.InFlight(), 0);
}

// ---- transport errors ----

TEST_F(CurlHttpClientTest, TimeoutIsDeadlineExceededNamingPeerWithoutSecrets) {
  // Declared before the server: its handler may still run while the
  // test body ends.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  TestServer server;
  server->Get("/hang", [released](const httplib::Request&, httplib::Response& res) {
    released.wait_for(std::chrono::seconds(2));
    res.set_content("late", "text/plain");
  });
  CurlHttpClient client;
  HttpRequest req = Get(server.Url("/hang"));
  req.timeout = milliseconds(150);
  req.headers.push_back({"Authorization", "Bearer s3cr3t-token"});
  Result<HttpResponse> r = Wait(client.Fetch(req));
  release.set_value();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(),
            "no answer from 127.0.0.1:" + std::to_string(server.port()) + " within 150ms");
  EXPECT_FALSE(ContainsSecret(r.status().ToString(), "s3cr3t-token"));
}

TEST_F(CurlHttpClientTest, ConnectionRefusedIsUnavailableNamingHostPort) {
  int port = UnusedPort();
  CurlHttpClient client;
  Result<HttpResponse> r =
      Wait(client.Fetch(Get("http://127.0.0.1:" + std::to_string(port) + "/")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(),
            "connecting to 127.0.0.1:" + std::to_string(port) + ": connection refused");
}

TEST_F(CurlHttpClientTest, BadRequestsAreInvalidConfigWithoutHeaderValues) {
  CurlHttpClient client;
  Result<HttpResponse> r = Wait(client.Fetch(Get("127.0.0.1:9090/api")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);

  HttpRequest req = Get("http://127.0.0.1:1/");
  req.headers.push_back({"Authorization", "Bearer abc\r\nX-Evil: 1"});
  r = Wait(client.Fetch(req));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(r.status().message(), HasSubstr("Authorization contains a line break"));
  EXPECT_FALSE(ContainsSecret(r.status().message(), "Bearer abc"));

  req = Get("http://127.0.0.1:1/");
  req.method = "GET /x HTTP/1.1\r\n";
  r = Wait(client.Fetch(req));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(r.status().message(), Not(HasSubstr("\r\n")));
}

TEST_F(CurlHttpClientTest, OversizedAnswerIsRefused) {
  TestServer server;
  server->Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(100000, 'x'), "text/plain");
  });
  CurlHttpClient client(MaxResponseBytes(1000));
  Result<HttpResponse> r = Wait(client.Fetch(Get(server.Url("/big"))));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_THAT(r.status().message(), HasSubstr("larger than 1000 bytes"));
}

TEST_F(CurlHttpClientTest, PerRequestLimitAcceptsTheLimitAndRefusesOneBytePast) {
  TestServer server;
  server->Get("/exact", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(4096, 'x'), "text/plain");
  });
  server->Get("/past", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(4097, 'x'), "text/plain");
  });
  CurlHttpClient client;  // the client's own limit (256 MiB) does not apply
  HttpRequest exact = Get(server.Url("/exact"));
  exact.max_response_bytes = 4096;
  Result<HttpResponse> ok = Wait(client.Fetch(std::move(exact)));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->body.size(), 4096u);
  HttpRequest past = Get(server.Url("/past"));
  past.max_response_bytes = 4096;
  Result<HttpResponse> r = Wait(client.Fetch(std::move(past)));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("larger than 4096 bytes (the limit for this request)"));
}

// ---- shutdown ----

TEST_F(CurlHttpClientTest, ShutdownCancelsInFlightAndQueuedRequests) {
  // Declared before the server: its handlers may still run while the
  // test body ends.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> first_arrived;
  std::atomic<bool> arrived{false};
  TestServer server;
  server->Get("/hang", [&](const httplib::Request&, httplib::Response& res) {
    if (!arrived.exchange(true)) first_arrived.set_value();
    released.wait_for(std::chrono::seconds(2));
    res.set_content("late", "text/plain");
  });
  CurlHttpClient client(MaxInFlight(1));
  std::vector<std::future<Result<HttpResponse>>> futures;
  for (int i = 0; i < 5; ++i) futures.push_back(client.Fetch(Get(server.Url("/hang"))));
  ASSERT_EQ(first_arrived.get_future().wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(client.InFlight(), 1);
  EXPECT_EQ(client.Stats().queued, 4);
  client.Shutdown();
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(milliseconds(0)), std::future_status::ready);
    Result<HttpResponse> r = f.get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  }
  Result<HttpResponse> after = Wait(client.Fetch(Get(server.Url("/hang"))));
  EXPECT_EQ(after.status().code(), StatusCode::kCancelled);
  release.set_value();
}

TEST_F(CurlHttpClientTest, ShutdownFromACallbackStopsTheLoopAndCancelsLaterSends) {
  TestServer server;
  server->Get("/x", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  auto client = std::make_unique<CurlHttpClient>();
  std::promise<Result<HttpResponse>> resent;
  client->Send(Get(server.Url("/x")), [&](Result<HttpResponse> r) {
    EXPECT_TRUE(r.ok());
    client->Shutdown();  // on the I/O thread: only asks the loop to stop
    client->Send(Get(server.Url("/x")),
                 [&](Result<HttpResponse> again) { resent.set_value(std::move(again)); });
  });
  auto f = resent.get_future();
  ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(f.get().status().code(), StatusCode::kCancelled);
  client.reset();  // joins the I/O thread from here
}

TEST_F(CurlHttpClientTest, DestructorWithoutRequestsIsQuick) {
  CurlHttpClient client;
  client.Shutdown();
  client.Shutdown();  // idempotent
}

// ---- redirects ----

TEST_F(CurlHttpClientTest, SameHostRedirectIsFollowedWithAuthorization) {
  TestServer server;
  server->Get("/a", [](const httplib::Request&, httplib::Response& res) {
    res.status = 302;
    res.set_header("Location", "/b");
  });
  server->Get("/b", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content("auth=" + req.get_header_value("Authorization"), "text/plain");
  });
  CurlHttpClient client;
  HttpRequest req = Get(server.Url("/a"));
  req.headers.push_back({"Authorization", "Bearer t"});
  Result<HttpResponse> r = Wait(client.Fetch(req));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "auth=Bearer t");
  EXPECT_EQ(r->effective_url, server.Url("/b"));
  EXPECT_EQ(client.Stats().requests_sent, 2u);
}

TEST_F(CurlHttpClientTest, RedirectToAnotherPortOrHostIsNotFollowed) {
  TestServer other;
  std::atomic<int> other_hits{0};
  other->Get(".*", [&](const httplib::Request&, httplib::Response& res) { ++other_hits; });
  TestServer server;
  std::atomic<int> b_hits{0};
  server->Get("/to-port", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 307;
    res.set_header("Location", other.Url("/steal"));
  });
  // Same server, but under another name: another host for the policy.
  server->Get("/to-host", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 302;
    res.set_header("Location", "http://localhost:" + std::to_string(server.port()) + "/b");
  });
  server->Get("/b", [&](const httplib::Request&, httplib::Response& res) { ++b_hits; });
  CurlHttpClient client;
  for (const char* path : {"/to-port", "/to-host"}) {
    HttpRequest req = Get(server.Url(path));
    req.headers.push_back({"Authorization", "Bearer t"});
    req.headers.push_back({"X-Api-Key", "k", /*sensitive=*/true});
    Result<HttpResponse> r = Wait(client.Fetch(req));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->status == 307 || r->status == 302) << path << " " << r->status;
    EXPECT_EQ(r->effective_url, server.Url(path));
    EXPECT_NE(r->HeaderValue("Location"), "");
  }
  EXPECT_EQ(other_hits.load(), 0);
  EXPECT_EQ(b_hits.load(), 0);
}

TEST_F(CurlHttpClientTest, RedirectLimits) {
  TestServer server;
  std::atomic<int> hits{0};
  server->Get("/loop", [&](const httplib::Request&, httplib::Response& res) {
    ++hits;
    res.status = 302;
    res.set_header("Location", "/loop");
  });
  CurlHttpClient client;
  HttpRequest req = Get(server.Url("/loop"));
  req.max_redirects = 0;
  Result<HttpResponse> r = Wait(client.Fetch(req));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(hits.load(), 1);

  req.max_redirects = 3;
  r = Wait(client.Fetch(req));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(hits.load(), 1 + 4);
}

TEST_F(CurlHttpClientTest, TimeoutCoversRedirectsToo) {
  TestServer server;
  server->Get("/a", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(milliseconds(100));
    res.status = 302;
    res.set_header("Location", "/b");
  });
  server->Get("/b", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(milliseconds(100));
    res.set_content("late", "text/plain");
  });
  CurlHttpClient client;
  HttpRequest req = Get(server.Url("/a"));
  req.timeout = milliseconds(150);  // each hop fits, both do not
  Result<HttpResponse> r = Wait(client.Fetch(req));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(r.status().message(), HasSubstr("within 150ms"));
}

TEST_F(CurlHttpClientTest, SeeOtherTurnsPostIntoGetAndTemporaryKeepsIt) {
  TestServer server;
  server->Post("/303", [](const httplib::Request&, httplib::Response& res) {
    res.status = 303;
    res.set_header("Location", "/result");
  });
  server->Post("/307", [](const httplib::Request&, httplib::Response& res) {
    res.status = 307;
    res.set_header("Location", "/result");
  });
  auto echo = [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.method + ":" + req.get_header_value("Content-Type") + ":" + req.body,
                    "text/plain");
  };
  server->Get("/result", echo);
  server->Post("/result", echo);
  CurlHttpClient client;
  HttpRequest req = Get(server.Url("/303"));
  req.method = "POST";
  req.headers.push_back({"Content-Type", "application/json"});
  req.body = "{}";
  Result<HttpResponse> r = Wait(client.Fetch(req));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "GET::");

  req.url = server.Url("/307");
  r = Wait(client.Fetch(req));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "POST:application/json:{}");
}

// ---- TLS ----

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
