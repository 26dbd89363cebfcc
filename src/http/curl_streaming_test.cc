// Streaming bodies (HttpClient::SendStreaming) through CurlHttpClient and
// the buffering default implementation, against cpp-httplib on 127.0.0.1.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "http/curl_http_client.h"
#include "http/testing/fake_http_client.h"

namespace ebb::http {
namespace {

constexpr auto kWait = std::chrono::seconds(10);

// Serves /stream: three lines, the last only after the test allows it, so
// the test can see the first two arrive before the response ends. The media
// type is not "application/json", which cpp-httplib would gzip (holding the
// data back until the end).
class StreamServer {
 public:
  StreamServer() {
    server_.Get("/stream", [this](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("application/json;stream=watch",
                                       [this](size_t, httplib::DataSink& sink) {
                                         sink.write("one\n", 4);
                                         sink.write("two\n", 4);
                                         std::unique_lock lock(mu_);
                                         cv_.wait_for(lock, kWait, [this] { return released_; });
                                         sink.write("three\n", 6);
                                         sink.done();
                                         return true;
                                       });
    });
    server_.Get("/endless", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("application/json;stream=watch",
                                       [](size_t, httplib::DataSink& sink) {
                                         std::this_thread::sleep_for(std::chrono::milliseconds(5));
                                         return sink.write("tick\n", 5);
                                       });
    });
    server_.Get("/missing", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content(R"({"kind":"Status","code":404})", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~StreamServer() {
    Release();
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
};

struct Collected {
  std::mutex mu;
  std::string data;
  std::string Get() {
    std::lock_guard lock(mu);
    return data;
  }
};

HttpRequest Get(const std::string& url) {
  HttpRequest r;
  r.url = url;
  r.timeout = std::chrono::milliseconds(0);
  return r;
}

TEST(CurlStreamingTest, ChunksArriveBeforeTheEnd) {
  StreamServer server;
  CurlHttpClient client;
  auto got = std::make_shared<Collected>();
  std::promise<Result<HttpResponse>> done;
  client.SendStreaming(
      Get(server.Url("/stream")),
      [got](std::string_view chunk) {
        std::lock_guard lock(got->mu);
        got->data.append(chunk);
        return true;
      },
      [&](Result<HttpResponse> r) { done.set_value(std::move(r)); });
  auto deadline = std::chrono::steady_clock::now() + kWait;
  while (got->Get() != "one\ntwo\n" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(got->Get(), "one\ntwo\n");
  server.Release();
  Result<HttpResponse> r = done.get_future().get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(got->Get(), "one\ntwo\nthree\n");
}

TEST(CurlStreamingTest, ErrorBodiesAreBuffered) {
  StreamServer server;
  CurlHttpClient client;
  std::atomic<int> chunks{0};
  std::promise<Result<HttpResponse>> done;
  client.SendStreaming(
      Get(server.Url("/missing")), [&](std::string_view) { return ++chunks > 0; },
      [&](Result<HttpResponse> r) { done.set_value(std::move(r)); });
  Result<HttpResponse> r = done.get_future().get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, R"({"kind":"Status","code":404})");
  EXPECT_EQ(chunks, 0);
}

TEST(CurlStreamingTest, ReceiverStopsTheStream) {
  StreamServer server;
  CurlHttpClient client;
  std::atomic<int> chunks{0};
  std::promise<Result<HttpResponse>> done;
  client.SendStreaming(
      Get(server.Url("/endless")), [&](std::string_view) { return ++chunks < 3; },
      [&](Result<HttpResponse> r) { done.set_value(std::move(r)); });
  Result<HttpResponse> r = done.get_future().get();
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(chunks, 3);
}

TEST(CurlStreamingTest, DefaultImplementationBuffers) {
  FakeHttpClient fake([](const HttpRequest&) -> Result<HttpResponse> {
    HttpResponse r;
    r.status = 200;
    r.body = "a\nb\n";
    return r;
  });
  std::string got;
  Result<HttpResponse> result = Internal("not called");
  fake.SendStreaming(
      Get("http://x/"),
      [&](std::string_view c) {
        got.append(c);
        return true;
      },
      [&](Result<HttpResponse> r) { result = std::move(r); });
  EXPECT_EQ(got, "a\nb\n");
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->body.empty());
}

}  // namespace
}  // namespace ebb::http
