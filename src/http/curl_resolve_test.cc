// CurlHttpClientOptions::resolve: a host name pinned to a loopback address
// keeps its name for the Host header, SNI and certificate verification.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "http/curl_http_client.h"
#include "testing/pki/test_pki.h"

namespace ebb::http {
namespace {

constexpr char kPinnedHost[] = "ws-abcd.eastus.prometheus.monitor.azure.com";

// An HTTPS server on 127.0.0.1 whose certificate names kPinnedHost only.
class PinnedServer {
 public:
  PinnedServer() {
    ca_ = std::make_unique<ebb::testing::TestCa>(ebb::testing::TestCa::Create().value());
    ebb::testing::IssuedCert cert = ca_->IssueServer({kPinnedHost}, {}).value();
    dir_ = std::filesystem::temp_directory_path() /
           ("ebb-resolve-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    std::string crt = (dir_ / "s.crt").string(), key = (dir_ / "s.key").string();
    EXPECT_TRUE(ebb::testing::WriteFileAtomically(crt, cert.cert_pem).ok());
    EXPECT_TRUE(ebb::testing::WriteFileAtomically(key, cert.key_pem).ok());
    server_ = std::make_unique<httplib::SSLServer>(crt.c_str(), key.c_str());
    server_->Get("/host", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.get_header_value("Host"), "text/plain");
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~PinnedServer() {
    server_->stop();
    thread_.join();
    std::filesystem::remove_all(dir_);
  }
  int port() const { return port_; }
  const std::string& ca_pem() const { return ca_->cert_pem(); }

 private:
  static inline int counter_ = 0;
  std::unique_ptr<ebb::testing::TestCa> ca_;
  std::filesystem::path dir_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
};

TEST(CurlResolveTest, PinnedHostReachesLoopbackAndVerifiesByName) {
  PinnedServer server;
  std::string authority = std::string(kPinnedHost) + ":" + std::to_string(server.port());
  CurlHttpClientOptions options;
  options.resolve = {authority + ":127.0.0.1"};
  CurlHttpClient client(options);
  HttpRequest req;
  req.url = "https://" + authority + "/host";
  req.tls.ca_pem = server.ca_pem();
  Result<HttpResponse> r = client.Fetch(std::move(req)).get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, authority);
}

}  // namespace
}  // namespace ebb::http
