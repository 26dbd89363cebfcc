// HttpClient: the one asynchronous HTTP client every part of ebb uses
// (Prometheus queries, token endpoints, the Kubernetes API).
//
//   HttpRequest req;
//   req.url = "https://prom.example:9090/api/v1/query?query=up";
//   req.headers.push_back({"Authorization", "Bearer " + token.Reveal(), /*sensitive=*/true});
//   client.Send(std::move(req), [](Result<HttpResponse> r) { ... });   // callback on the I/O thread
//   Result<HttpResponse> r = client.Fetch(std::move(req)).get();       // or block on a future
//
// Transport failures (DNS, connect, TLS, timeout) are a failed Result with
// a code (kUnavailable, kDeadlineExceeded, kInvalidConfig for a bad CA
// file...) and a message that names the host and what failed. Any HTTP
// answer, 4xx and 5xx included, is an ok Result holding the response: the
// caller interprets statuses.
//
// Redirect policy: a 3xx is followed (up to max_redirects) only when the
// target has the same scheme-relative host and port and does not downgrade
// https to http; otherwise the 3xx response itself is returned, so no
// sensitive header ever goes to another host or over plain HTTP.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/secret.h"
#include "common/status.h"

namespace ebb::http {

struct Header {
  std::string name;
  std::string value;
  // Credential headers (Authorization, custom auth headers, cookies) are
  // never logged, never sent across hosts on redirect. "Authorization" is
  // treated as sensitive even when this is false.
  bool sensitive = false;
};

// TLS settings for one request. Default: verify against the system trust
// store, which honours SSL_CERT_FILE / SSL_CERT_DIR.
struct TlsOptions {
  std::string ca_file;        // PEM bundle path; empty: system default
  std::string ca_dir;         // hashed CA directory; empty: system default
  std::string ca_pem;         // PEM contents (KEDA passes `ca` as contents)
  std::string client_cert_file;
  std::string client_key_file;
  std::string client_cert_pem;  // PEM contents
  SecretString client_key_pem;  // PEM contents
  bool insecure_skip_verify = false;  // KEDA's unsafeSsl
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<Header> headers;
  std::string body;
  // Whole-request timeout. Default: 3 s, KEDA's Prometheus default.
  std::chrono::milliseconds timeout{3000};
  TlsOptions tls;
  // Maximum same-host redirects followed. Default 5; 0 returns the 3xx.
  int max_redirects = 5;
  // Keep the body out of debug logs (token requests carry an assertion).
  bool sensitive_body = false;
  // Largest answer body accepted (after decompression); a larger one fails
  // with kInternal naming the limit, and memory is never spent past it.
  // Each caller sets what its answers need (docs/reliability.md: Prometheus
  // answers 8 MiB, token answers 64 KiB). Default 0: the client's own
  // limit (CurlHttpClientOptions::max_response_bytes).
  int64_t max_response_bytes = 0;
};

struct HttpResponse {
  int status = 0;
  std::vector<Header> headers;  // names as sent by the server
  std::string body;
  std::string effective_url;    // after redirects
  int http_version = 1;         // 1 or 2
  // Value of the first header with this name (case-insensitive), or "".
  std::string HeaderValue(std::string_view name) const;
};

using HttpCallback = std::function<void(Result<HttpResponse>)>;
// Receives one piece of a streamed body; returns false to stop the
// transfer (its `done` then gets kCancelled).
using HttpChunkCallback = std::function<bool(std::string_view chunk)>;

// Thread-safe: Send may be called from any thread, including from inside a
// callback. Callbacks run on the client's I/O thread and must not block.
class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Queues the request; `done` is called exactly once, also on shutdown
  // (with kCancelled).
  virtual void Send(HttpRequest request, HttpCallback done) = 0;

  // Like Send, for long or endless bodies (Kubernetes watches): the body of
  // a 2xx answer goes to `on_data` piece by piece as it arrives, on the I/O
  // thread, and the response given to `done` has an empty body. Other
  // answers (errors, redirects) are buffered as Send buffers them, so their
  // body (a metav1.Status, say) reaches `done` whole. The request's timeout
  // still covers the whole exchange: use 0 (none) or one longer than the
  // stream is meant to last. `done` is called exactly once, after the last
  // chunk. The default implementation buffers the whole body through Send
  // and then hands it over in one chunk (enough for fakes).
  virtual void SendStreaming(HttpRequest request, HttpChunkCallback on_data, HttpCallback done);

  // Convenience: Send with a future. Do not wait on it from a callback.
  std::future<Result<HttpResponse>> Fetch(HttpRequest request);

  // Number of requests currently on the wire (not queued), for /metrics.
  virtual int InFlight() const { return 0; }
};

using HttpClientPtr = std::unique_ptr<HttpClient>;

// Case-insensitive header name comparison.
bool HeaderNameEquals(std::string_view a, std::string_view b);
// True when the header must be treated as a credential.
bool IsSensitiveHeader(const Header& h);

}  // namespace ebb::http
