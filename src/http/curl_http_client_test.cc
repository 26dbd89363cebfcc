// Tests of CurlHttpClient over plain HTTP against cpp-httplib servers on 127.0.0.1.
#include "http/curl_http_client_test_util.h"

namespace ebb::http {
namespace {

using namespace testing_util;  // NOLINT: the shared helpers of these tests
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;


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


}  // namespace
}  // namespace ebb::http
