// RestClient: typed REST calls to the Kubernetes API over the one
// HttpClient: authentication from a RestConfig (bearer token, token file,
// basic, client certificate, exec plugin), client-side rate limiting, and
// errors decoded from metav1.Status (api_error.h).
//
//   CurlHttpClient http;
//   RestClient kube(http, LoadRestConfig({}).value());
//   kube.GetScale(kDeployments, "shop", "web", [](ApiResult r) { ... });
//   ApiResult r = kube.CallSync({.method = "GET", .path = "/version"});
//
// Every request: waits for a rate-limit token (qps/burst, rate_limiter.h;
// Lease requests draw from a budget of their own, so they never queue
// behind other writes);
// on 401 invalidates the credentials and retries once (a rotated token);
// on 429 or 503 with Retry-After, retries after that many seconds (at most
// 10) up to `max_retries` times, as client-go does. Callbacks run on the
// HttpClient's I/O thread or on the client's timer loop; they must not
// block.
//
// Thread-safe. Lifetime: the HttpClient must outlive this client; destroy
// this client only after the requests it started have completed (stop
// informers first; shutting the HttpClient down completes the rest).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/event_loop.h"
#include "http/http_client.h"
#include "kube/api_error.h"
#include "kube/config.h"
#include "kube/credentials.h"
#include "kube/rate_limiter.h"
#include "kube/resource.h"

namespace ebb::kube {

struct RestClientOptions {
  // Client-side rate limit. Defaults 200 qps, burst 400: see rate_limiter.h
  // for why. qps <= 0 disables it.
  double qps = 200;
  int burst = 400;
  // Timeout of a non-streaming request. Default 30 s.
  std::chrono::milliseconds timeout{30000};
  // Retries of 429/503 answers that carry Retry-After. Default 3.
  int max_retries = 3;
  // The separate budget of RequestPriority::kLease requests (a renew every
  // 2 s is a GET and a PUT). Defaults 5 qps, burst 10: enough for any
  // election, small enough to stop a runaway loop.
  double lease_qps = 5;
  int lease_burst = 10;
  // Runs exec plugins; tests substitute a fake. Default: RunExecPlugin.
  ExecRunner exec_runner;
};

// Which client-side rate-limit budget a request draws from.
enum class RequestPriority { kNormal, kLease };

struct ApiRequest {
  std::string method = "GET";
  std::string path{};  // "/apis/apps/v1/namespaces/ns/deployments/web"
  std::vector<std::pair<std::string, std::string>> query{};  // values are escaped here
  std::string body{};
  std::string content_type{};  // default application/json when there is a body
  // -1: RestClientOptions::timeout; 0: none (watches).
  std::chrono::milliseconds timeout{-1};
  // kLease: leader election's own rate-limit budget, so that a renew never
  // waits behind a burst of status writes and events (a late renew costs
  // leadership). Default kNormal.
  RequestPriority priority = RequestPriority::kNormal;
};

struct ListOptions {
  std::string label_selector{};
  std::string field_selector{};
  int64_t limit = 0;  // page size; 0: the server's choice (everything)
  std::string continue_token{};
  std::string resource_version{};
};

using ApiCallback = std::function<void(ApiResult)>;

// Issues one API request asynchronously; `done` runs exactly once, on any
// thread, and must not block. RestClient is the production implementation;
// tests substitute fakes (kube/testing/fake_lease_api.h).
class ApiCaller {
 public:
  virtual ~ApiCaller() = default;
  virtual void Call(ApiRequest request, ApiCallback done) = 0;
};

class RestClient final : public ApiCaller {
 public:
  // `http` and `clock` must outlive the client.
  RestClient(http::HttpClient& http, RestConfig config, const Clock& clock = RealClock::Instance(),
             RestClientOptions options = {});
  ~RestClient();
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  const RestConfig& config() const { return config_; }

  // The generic call; `done` runs exactly once.
  void Call(ApiRequest request, ApiCallback done) override;
  // Blocks for the answer. Never from a callback.
  ApiResult CallSync(ApiRequest request);
  // A streaming call (watch): 2xx body pieces go to `on_data` (return false
  // to stop); `done` gets the end of the stream or the decoded error.
  void Stream(ApiRequest request, http::HttpChunkCallback on_data, ApiCallback done);

  void Get(const GroupVersionResource& gvr, const std::string& ns, const std::string& name,
           ApiCallback done);
  // One page: the List object (metadata.continue names the next page).
  void List(const GroupVersionResource& gvr, const std::string& ns, const ListOptions& options,
            ApiCallback done);
  // Every page, joined: {"metadata":{"resourceVersion":..},"items":[..]}.
  // When a continue token expires (410) the list restarts once unpaged.
  void ListAll(const GroupVersionResource& gvr, const std::string& ns, const ListOptions& options,
               ApiCallback done);
  void Create(const GroupVersionResource& gvr, const std::string& ns, nlohmann::json object,
              ApiCallback done);
  // PUT: conditional on the object's metadata.resourceVersion when set.
  void Update(const GroupVersionResource& gvr, const std::string& ns, const std::string& name,
              nlohmann::json object, ApiCallback done);
  void UpdateStatus(const GroupVersionResource& gvr, const std::string& ns, const std::string& name,
                    nlohmann::json object, ApiCallback done);
  // application/merge-patch+json on the object or a subresource ("status").
  void MergePatch(const GroupVersionResource& gvr, const std::string& ns, const std::string& name,
                  const nlohmann::json& patch, const std::string& subresource, ApiCallback done);
  void Delete(const GroupVersionResource& gvr, const std::string& ns, const std::string& name,
              ApiCallback done);
  void GetScale(const GroupVersionResource& gvr, const std::string& ns, const std::string& name,
                ApiCallback done);
  void UpdateScale(const GroupVersionResource& gvr, const std::string& ns, const std::string& name,
                   nlohmann::json scale, ApiCallback done);

  // Requests that had to wait for a rate-limit token.
  uint64_t throttled() const { return throttled_.load(); }
  // The client's timer loop (an EventLoop with its own thread, on a steady
  // clock: delays here are waits, not wall-clock deadlines), shared with
  // informers and the status writer for their backoff. What is pending
  // there when the client is destroyed is dropped, never run; a request
  // waiting there for its rate-limit slot or retry gets kCancelled.
  EventLoop& timers() { return timers_; }

 private:
  struct Attempt;
  struct Waiting;

  // `throttled`: the delay is a rate-limit wait (counted in throttled()).
  void Schedule(std::shared_ptr<Attempt> a, Duration delay, bool throttled);
  void Dispatch(std::shared_ptr<Attempt> a);
  void OnAnswer(std::shared_ptr<Attempt> a, Result<http::HttpResponse> r);
  Result<http::HttpRequest> Build(const ApiRequest& r);
  void ListPage(const GroupVersionResource& gvr, const std::string& ns, ListOptions options,
                std::shared_ptr<nlohmann::json> acc, bool restarted, ApiCallback done);

  http::HttpClient& http_;
  const RestConfig config_;
  const RestClientOptions options_;
  CredentialSource credentials_;
  TokenBucket bucket_;
  TokenBucket lease_bucket_;  // RequestPriority::kLease
  const SteadyClock timer_clock_;
  EventLoop timers_{timer_clock_};
  std::atomic<uint64_t> throttled_{0};
};

}  // namespace ebb::kube
