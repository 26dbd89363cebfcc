// Shared by the CurlHttpClient tests: loopback cpp-httplib servers, a
// temporary directory, an environment guard and the test fixture.
#pragma once

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
namespace testing_util {

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
inline int UnusedPort() {
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
inline std::string SubjectHash(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  char buf[16];
  snprintf(buf, sizeof buf, "%08lx", X509_subject_name_hash(cert));
  X509_free(cert);
  return buf;
}

inline CurlHttpClientOptions MaxInFlight(int n) {
  CurlHttpClientOptions o;
  o.max_in_flight = n;
  return o;
}

inline CurlHttpClientOptions MaxResponseBytes(int64_t n) {
  CurlHttpClientOptions o;
  o.max_response_bytes = n;
  return o;
}

inline HttpRequest Get(const std::string& url) {
  HttpRequest r;
  r.url = url;
  return r;
}

inline Result<HttpResponse> Wait(std::future<Result<HttpResponse>> f) {
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


}  // namespace testing_util
}  // namespace ebb::http
