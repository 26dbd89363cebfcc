#include "kube/rest_client.h"

#include <algorithm>
#include <future>

#include "common/log.h"
#include "common/strings.h"

namespace ebb::kube {

using nlohmann::json;

namespace {

// items a list (or absent: an empty list), metadata a map (or absent).
bool IsListShaped(const nlohmann::json& list) {
  if (!list.is_object()) return false;
  auto items = list.find("items");
  auto metadata = list.find("metadata");
  return (items == list.end() || items->is_array() || items->is_null()) &&
         (metadata == list.end() || metadata->is_object() || metadata->is_null());
}

std::string ContinueToken(const nlohmann::json& list) {
  auto metadata = list.find("metadata");
  if (metadata == list.end() || !metadata->is_object()) return "";
  auto token = metadata->find("continue");
  return token != metadata->end() && token->is_string() ? token->get<std::string>() : "";
}


constexpr char kJson[] = "application/json";
constexpr int kMaxRetryAfterSeconds = 10;

std::string What(const ApiRequest& r) { return r.method + " " + r.path; }

// Seconds from a Retry-After header, or -1 when absent or not a number.
int RetryAfter(const http::HttpResponse& r) {
  std::optional<int64_t> s = ParseInt(r.HeaderValue("Retry-After"));
  if (!s || *s < 0) return -1;
  return static_cast<int>(std::min<int64_t>(*s, kMaxRetryAfterSeconds));
}

}  // namespace

struct RestClient::Attempt {
  ApiRequest request;
  ApiCallback done;
  http::HttpChunkCallback on_data;  // set for streams
  bool reauthenticated = false;
  bool on_timer_thread = false;  // set when moved off the caller's thread
  int retries = 0;
};

RestClient::RestClient(http::HttpClient& http, RestConfig config, const Clock& clock,
                       RestClientOptions options)
    : http_(http),
      config_(std::move(config)),
      options_(std::move(options)),
      credentials_(config_, clock, options_.exec_runner),
      bucket_(options_.qps, options_.burst, clock),
      lease_bucket_(options_.lease_qps, options_.lease_burst, clock) {
  timers_.StartThread();
}

RestClient::~RestClient() { timers_.Stop(); }

void RestClient::Call(ApiRequest request, ApiCallback done) {
  TokenBucket& bucket = request.priority == RequestPriority::kLease ? lease_bucket_ : bucket_;
  auto a = std::make_shared<Attempt>();
  a->request = std::move(request);
  a->done = std::move(done);
  Schedule(std::move(a), bucket.Reserve(), true);
}

void RestClient::Stream(ApiRequest request, http::HttpChunkCallback on_data, ApiCallback done) {
  auto a = std::make_shared<Attempt>();
  a->request = std::move(request);
  a->done = std::move(done);
  a->on_data = std::move(on_data);
  Schedule(std::move(a), bucket_.Reserve(), true);
}

ApiResult RestClient::CallSync(ApiRequest request) {
  auto promise = std::make_shared<std::promise<ApiResult>>();
  std::future<ApiResult> future = promise->get_future();
  Call(std::move(request), [promise](ApiResult r) { promise->set_value(std::move(r)); });
  return future.get();
}

// An attempt parked on the timer loop. Dropped unrun (the client is being
// destroyed), it still answers its caller: `done` runs exactly once.
struct RestClient::Waiting {
  Waiting() = default;
  Waiting(const Waiting&) = delete;  // a copy would answer twice
  Waiting& operator=(const Waiting&) = delete;
  std::shared_ptr<Attempt> attempt;
  ~Waiting() {
    if (attempt) {
      attempt->done({Cancelled(What(attempt->request) + ": the Kubernetes client is shutting down")});
    }
  }
};

void RestClient::Schedule(std::shared_ptr<Attempt> a, Duration delay, bool throttled) {
  if (delay <= Duration::zero()) return Dispatch(std::move(a));
  if (throttled) throttled_.fetch_add(1);
  auto waiting = std::make_shared<Waiting>();  // built in place: its destructor answers
  waiting->attempt = std::move(a);
  timers_.PostAfter(delay, [this, waiting] { Dispatch(std::exchange(waiting->attempt, nullptr)); });
}

Result<http::HttpRequest> RestClient::Build(const ApiRequest& r) {
  Result<Credentials> creds = credentials_.Get();
  if (!creds.ok()) return creds.status();
  http::HttpRequest h;
  h.method = r.method;
  h.url = config_.server + r.path;
  for (size_t i = 0; i < r.query.size(); ++i) {
    h.url += (i == 0 ? "?" : "&") + r.query[i].first + "=" + QueryEscape(r.query[i].second);
  }
  h.body = r.body;
  h.timeout = r.timeout.count() < 0 ? options_.timeout : r.timeout;
  h.headers.push_back({"Accept", kJson});
  if (!r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
    h.headers.push_back({"Content-Type", r.content_type.empty() ? kJson : r.content_type});
  }
  if (!creds->bearer.empty()) {
    h.headers.push_back({"Authorization", "Bearer " + creds->bearer.Reveal(), true});
  } else if (!creds->basic_user.empty()) {
    h.headers.push_back(
        {"Authorization",
         "Basic " + Base64Encode(creds->basic_user + ":" + creds->basic_password.Reveal()), true});
  }
  h.tls.ca_file = config_.ca_file;
  h.tls.ca_pem = config_.ca_pem;
  h.tls.insecure_skip_verify = config_.insecure_skip_tls_verify;
  h.tls.client_cert_file = creds->client_cert_file;
  h.tls.client_key_file = creds->client_key_file;
  h.tls.client_cert_pem = creds->client_cert_pem;
  h.tls.client_key_pem = creds->client_key_pem;
  return h;
}

void RestClient::Dispatch(std::shared_ptr<Attempt> a) {
  if (!a->on_timer_thread && credentials_.WouldBlock()) {
    // A plugin run takes up to seconds: never on the HTTP I/O thread, where
    // re-watches and retries are started.
    a->on_timer_thread = true;
    return Schedule(std::move(a), std::chrono::nanoseconds(1), false);
  }
  Result<http::HttpRequest> h = Build(a->request);
  if (!h.ok()) {
    a->done({h.status().WithContext(What(a->request) + ": credentials")});
    return;
  }
  auto answer = [this, a](Result<http::HttpResponse> r) { OnAnswer(a, std::move(r)); };
  if (a->on_data) {
    http_.SendStreaming(std::move(h).value(), a->on_data, std::move(answer));
  } else {
    http_.Send(std::move(h).value(), std::move(answer));
  }
}

void RestClient::OnAnswer(std::shared_ptr<Attempt> a, Result<http::HttpResponse> r) {
  if (r.ok() && r->status == 401 && !a->reauthenticated) {
    // A rotated token or an expired plugin credential: read it again and
    // retry once, off the I/O thread (a plugin may take seconds).
    a->reauthenticated = true;
    credentials_.Invalidate();
    Logger::Default().Info("Kubernetes API answered 401; re-reading credentials",
                           {{"request", What(a->request)}});
    return Schedule(std::move(a), std::chrono::nanoseconds(1), false);
  }
  if (r.ok() && (r->status == 429 || r->status == 503) && a->retries < options_.max_retries) {
    int after = RetryAfter(*r);
    if (after >= 0) {
      a->retries++;
      return Schedule(std::move(a), std::chrono::seconds(after) + std::chrono::nanoseconds(1),
                      false);
    }
  }
  a->done(ToApiResult(r, What(a->request)));
}

namespace {

void AddListQuery(const ListOptions& o, ApiRequest* r) {
  if (!o.label_selector.empty()) r->query.emplace_back("labelSelector", o.label_selector);
  if (!o.field_selector.empty()) r->query.emplace_back("fieldSelector", o.field_selector);
  if (o.limit > 0) r->query.emplace_back("limit", std::to_string(o.limit));
  if (!o.continue_token.empty()) r->query.emplace_back("continue", o.continue_token);
  if (!o.resource_version.empty()) r->query.emplace_back("resourceVersion", o.resource_version);
}

ApiRequest Req(std::string method, std::string path, const json& body = nullptr,
               std::string content_type = "") {
  ApiRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  if (!body.is_null()) r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.content_type = std::move(content_type);
  return r;
}

}  // namespace

void RestClient::Get(const GroupVersionResource& gvr, const std::string& ns,
                     const std::string& name, ApiCallback done) {
  Call(Req("GET", ObjectPath(gvr, ns, name)), std::move(done));
}

void RestClient::List(const GroupVersionResource& gvr, const std::string& ns,
                      const ListOptions& options, ApiCallback done) {
  ApiRequest r = Req("GET", CollectionPath(gvr, ns));
  AddListQuery(options, &r);
  Call(std::move(r), std::move(done));
}

void RestClient::ListAll(const GroupVersionResource& gvr, const std::string& ns,
                         const ListOptions& options, ApiCallback done) {
  ListPage(gvr, ns, options, std::make_shared<json>(json::array()), false, std::move(done));
}

void RestClient::ListPage(const GroupVersionResource& gvr, const std::string& ns,
                          ListOptions options, std::shared_ptr<json> acc, bool restarted,
                          ApiCallback done) {
  ListOptions page = options;
  List(gvr, ns, page, [this, gvr, ns, options, acc, restarted, done](ApiResult r) mutable {
    if (r.IsExpired() && !options.continue_token.empty() && !restarted) {
      // The snapshot behind the continue token is gone: start over, unpaged,
      // as client-go's pager does.
      ListOptions full = options;
      full.continue_token.clear();
      full.limit = 0;
      return ListPage(gvr, ns, full, std::make_shared<json>(json::array()), true, done);
    }
    if (!r.ok()) return done(std::move(r));
    // An answer of another shape is an error, not a throw in this callback
    // (json::value throws on a missing or non-object metadata).
    if (!IsListShaped(r.object)) {
      r.status = Internal("list of " + gvr.resource + " from the API server is not a list "
                          "(items must be a list, metadata a map)");
      r.object = nullptr;
      return done(std::move(r));
    }
    for (json& item : r.object["items"]) acc->push_back(std::move(item));
    std::string next = ContinueToken(r.object);
    if (next.empty()) {
      r.object["items"] = std::move(*acc);
      // Callers read metadata.resourceVersion: always give them a map.
      if (!r.object["metadata"].is_object()) r.object["metadata"] = json::object();
      r.object["metadata"].erase("continue");
      return done(std::move(r));
    }
    options.continue_token = next;
    ListPage(gvr, ns, options, acc, restarted, done);
  });
}

void RestClient::Create(const GroupVersionResource& gvr, const std::string& ns, json object,
                        ApiCallback done) {
  Call(Req("POST", CollectionPath(gvr, ns), object), std::move(done));
}

void RestClient::Update(const GroupVersionResource& gvr, const std::string& ns,
                        const std::string& name, json object, ApiCallback done) {
  Call(Req("PUT", ObjectPath(gvr, ns, name), object), std::move(done));
}

void RestClient::UpdateStatus(const GroupVersionResource& gvr, const std::string& ns,
                              const std::string& name, json object, ApiCallback done) {
  Call(Req("PUT", ObjectPath(gvr, ns, name, "status"), object), std::move(done));
}

void RestClient::MergePatch(const GroupVersionResource& gvr, const std::string& ns,
                            const std::string& name, const json& patch,
                            const std::string& subresource, ApiCallback done) {
  Call(Req("PATCH", ObjectPath(gvr, ns, name, subresource), patch, "application/merge-patch+json"),
       std::move(done));
}

void RestClient::Delete(const GroupVersionResource& gvr, const std::string& ns,
                        const std::string& name, ApiCallback done) {
  Call(Req("DELETE", ObjectPath(gvr, ns, name)), std::move(done));
}

void RestClient::GetScale(const GroupVersionResource& gvr, const std::string& ns,
                          const std::string& name, ApiCallback done) {
  Call(Req("GET", ObjectPath(gvr, ns, name, "scale")), std::move(done));
}

void RestClient::UpdateScale(const GroupVersionResource& gvr, const std::string& ns,
                             const std::string& name, json scale, ApiCallback done) {
  Call(Req("PUT", ObjectPath(gvr, ns, name, "scale"), scale), std::move(done));
}

}  // namespace ebb::kube
