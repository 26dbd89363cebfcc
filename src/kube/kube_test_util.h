// Test support for the kube module: a fake API server, a real
// CurlHttpClient and a RestClient pointed at it. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include "http/curl_http_client.h"
#include "kube/rest_client.h"
#include "testing/kube/fake_apiserver.h"

namespace ebb::kube {

inline constexpr char kTestToken[] = "t0k3n";
inline constexpr char kTestUser[] = "system:serviceaccount:keda:ebb";

// Polls `pred` until true or 10 s pass (asynchronous results over loopback).
inline bool WaitFor(const std::function<bool()>& pred,
                    std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A fresh directory removed with the object.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ebb-kube-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& text) const {
    std::string p = path_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    FILE* f = std::fopen(p.c_str(), "w");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    return p;
  }

 private:
  std::string path_;
};

class KubeTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }
  void TearDown() override { Shutdown(); }

  void Start(testing::kube::FakeApiServerOptions o, RestClientOptions ro = {}) {
    if (o.tokens.empty()) o.tokens = {{kTestToken, kTestUser}};
    o.bookmark_interval = std::chrono::milliseconds(200);
    server_ = testing::kube::FakeApiServer::Start(std::move(o)).value();
    http_ = std::make_unique<http::CurlHttpClient>();
    RestConfig c;
    c.server = server_->base_url();
    c.token = SecretString(kTestToken);
    rest_ = std::make_unique<RestClient>(*http_, c, RealClock::Instance(), std::move(ro));
  }
  // Order matters: cancel what is in flight while the RestClient lives.
  void Shutdown() {
    if (http_) http_->Shutdown();
    rest_.reset();
    http_.reset();
    server_.reset();
  }
  const testing::kube::ResourceType& Type(const std::string& g, const std::string& v,
                                          const std::string& r) {
    return *server_->Type(g, v, r);
  }
  nlohmann::json Deployment(const std::string& name, int replicas) {
    return {{"metadata", {{"name", name}, {"namespace", "ns"}}},
            {"spec", {{"replicas", replicas}, {"selector", {{"matchLabels", {{"app", name}}}}}}}};
  }

  std::unique_ptr<testing::kube::FakeApiServer> server_;
  std::unique_ptr<http::CurlHttpClient> http_;
  std::unique_ptr<RestClient> rest_;
};

}  // namespace ebb::kube
