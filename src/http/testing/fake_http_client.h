// FakeHttpClient: an HttpClient for unit tests that never touches the
// network. A handler decides each answer; every request is recorded.
//
//   FakeHttpClient fake([](const HttpRequest& r) -> Result<HttpResponse> {
//     return HttpResponse{.status = 200, .body = R"({"status":"success",...})"};
//   });
//   trigger.Evaluate(fake, ...);
//   EXPECT_EQ(fake.requests().size(), 1u);
//
// Callbacks run synchronously inside Send (deferred mode: when Flush() is
// called), which keeps tests deterministic. Thread-safe.
#pragma once

#include <deque>
#include <mutex>
#include <vector>

#include "http/http_client.h"

namespace ebb::http {

class FakeHttpClient : public HttpClient {
 public:
  using Handler = std::function<Result<HttpResponse>(const HttpRequest&)>;

  explicit FakeHttpClient(Handler handler = nullptr) : handler_(std::move(handler)) {}

  void SetHandler(Handler handler) {
    std::lock_guard l(mu_);
    handler_ = std::move(handler);
  }
  // When deferred, answers are held until Flush(): tests can observe
  // requests in flight (single-flight, coalescing).
  void SetDeferred(bool deferred) {
    std::lock_guard l(mu_);
    deferred_ = deferred;
  }

  void Send(HttpRequest request, HttpCallback done) override {
    Handler handler;
    {
      std::lock_guard l(mu_);
      requests_.push_back(request);
      if (deferred_) {
        pending_.push_back({std::move(request), std::move(done)});
        return;
      }
      handler = handler_;
    }
    done(Answer(handler, request));
  }

  // Answers every held request (and those their callbacks send, if not
  // deferred). Returns how many were answered.
  int Flush() {
    std::deque<std::pair<HttpRequest, HttpCallback>> pending;
    Handler handler;
    {
      std::lock_guard l(mu_);
      pending.swap(pending_);
      handler = handler_;
    }
    for (auto& [req, done] : pending) done(Answer(handler, req));
    return static_cast<int>(pending.size());
  }

  std::vector<HttpRequest> requests() const {
    std::lock_guard l(mu_);
    return requests_;
  }
  size_t pending() const {
    std::lock_guard l(mu_);
    return pending_.size();
  }
  void ClearRequests() {
    std::lock_guard l(mu_);
    requests_.clear();
  }

 private:
  static Result<HttpResponse> Answer(const Handler& h, const HttpRequest& r) {
    if (!h) return Unavailable("FakeHttpClient: no handler for " + r.url);
    return h(r);
  }

  mutable std::mutex mu_;
  Handler handler_;                                            // guarded by mu_
  bool deferred_ = false;                                      // guarded by mu_
  std::vector<HttpRequest> requests_;                          // guarded by mu_
  std::deque<std::pair<HttpRequest, HttpCallback>> pending_;   // guarded by mu_
};

}  // namespace ebb::http
