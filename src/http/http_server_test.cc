// Tests of HttpServer on loopback, fetched with a cpp-httplib client.
#include "http/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ebb::http {
namespace {

using ::testing::HasSubstr;

httplib::Client ClientFor(const HttpServer& server) {
  httplib::Client c("127.0.0.1", server.port());
  c.set_tcp_nodelay(true);
  return c;
}

TEST(ParseListenAddressTest, Forms) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(ParseListenAddress("127.0.0.1:9022", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9022);
  ASSERT_TRUE(ParseListenAddress(":9022", &host, &port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  ASSERT_TRUE(ParseListenAddress("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(ParseListenAddress("localhost:80", &host, &port).ok());
  EXPECT_EQ(host, "localhost");
}

TEST(ParseListenAddressTest, Errors) {
  std::string host;
  int port;
  for (const char* bad : {"9022", "127.0.0.1", "127.0.0.1:", "127.0.0.1:http", ":70000", ":-1",
                          "::1:9022", "[::1:9022", "[]:9022"}) {
    Status s = ParseListenAddress(bad, &host, &port);
    EXPECT_EQ(s.code(), StatusCode::kInvalidConfig) << bad;
    EXPECT_THAT(s.message(), HasSubstr(std::string("\"") + bad + "\"")) << bad;
  }
}

TEST(HttpServerTest, ServesHandlersOnAnyPort) {
  HttpServer server;
  EXPECT_EQ(server.port(), 0);
  server.Handle("/hello", [](const ServerRequest& req) {
    std::string who = req.query.empty() ? "world" : req.query[0].second;
    return ServerResponse{200, "text/plain; charset=utf-8", "hello " + who};
  });
  Status s = server.Start("127.0.0.1:0");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_GT(server.port(), 0);
  auto client = ClientFor(server);
  auto res = client.Get("/hello?name=ebb");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "hello ebb");
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; charset=utf-8");

  auto head = client.Head("/hello");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
}

TEST(HttpServerTest, UnknownPath404OtherMethod405HandlerThrow500) {
  HttpServer server;
  server.Handle("/metrics", [](const ServerRequest&) { return ServerResponse{}; });
  server.Handle("/boom",
                [](const ServerRequest&) -> ServerResponse { throw std::runtime_error("bug"); });
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  auto client = ClientFor(server);
  auto res = client.Get("/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  // Exact paths, not regular expressions.
  res = client.Get("/metricsX");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  res = client.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  res = client.Get("/boom");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
}

TEST(HttpServerTest, AddressInUseIsAClearError) {
  HttpServer first;
  ASSERT_TRUE(first.Start("127.0.0.1:0").ok());
  std::string address = "127.0.0.1:" + std::to_string(first.port());
  HttpServer second;
  Status s = second.Start(address);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("cannot listen on " + address));
  EXPECT_THAT(s.message(), HasSubstr("in use"));
  EXPECT_EQ(second.port(), 0);
}

TEST(HttpServerTest, BadAddressAndDoubleStart) {
  HttpServer server;
  EXPECT_EQ(server.Start("nonsense").code(), StatusCode::kInvalidConfig);
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  EXPECT_EQ(server.Start("127.0.0.1:0").code(), StatusCode::kInternal);
}

TEST(HttpServerTest, StopIsIdempotentAndFreesThePort) {
  HttpServer server;
  server.Handle("/x", [](const ServerRequest&) { return ServerResponse{}; });
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  int port = server.port();
  server.Stop();
  server.Stop();
  EXPECT_EQ(server.port(), 0);
  HttpServer again;
  Status s = again.Start("127.0.0.1:" + std::to_string(port));
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(HttpServerTest, ConcurrentClients) {
  HttpServer server({.threads = 2});
  std::atomic<int> served{0};
  server.Handle("/n", [&](const ServerRequest&) {
    served++;
    return ServerResponse{200, "text/plain", "n"};
  });
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      auto client = ClientFor(server);
      for (int i = 0; i < 25; ++i) {
        auto res = client.Get("/n");
        if (res && res->status == 200) ok++;
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(served.load(), 100);
}

}  // namespace
}  // namespace ebb::http
