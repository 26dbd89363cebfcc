// CurlHttpClient: the HttpClient ebb runs on, built on libcurl's multi
// interface with one I/O thread.
//
//   CurlHttpClient client;                       // starts the I/O thread
//   HttpRequest req;
//   req.url = "https://prom.example:9090/api/v1/query?query=up";
//   client.Send(std::move(req), [](Result<HttpResponse> r) { ... });
//   Result<HttpResponse> r = client.Fetch(std::move(other)).get();
//   client.Shutdown();                           // or let the destructor do it
//
// What it does for every request:
//  - At most `max_in_flight` requests are on the wire; the rest wait in a
//    FIFO queue in front of libcurl (libcurl slows to a crawl when
//    thousands of handles are added at once).
//  - Connections are kept alive and reused; TLS sessions are resumed; HTTP/2
//    is negotiated through ALPN when the server offers it (many requests then
//    share one connection), HTTP/1.1 keep-alive otherwise.
//  - The request timeout covers the whole exchange, redirects included;
//    a timeout <= 0 means none.
//  - Redirects follow the policy of http_client.h: only to the same host and
//    port, never https -> http; 301/302/303 turn a POST into a bodyless GET,
//    307/308 re-send the same request. Anything else returns the 3xx itself.
//    libcurl's own redirect following is never enabled.
//  - Trust: the request's TlsOptions CA (ca_pem, ca_file, ca_dir) replaces the
//    default trust store; without one, the client's default_ca_file /
//    default_ca_dir are used, which default to $SSL_CERT_FILE / $SSL_CERT_DIR
//    read once at construction (libcurl itself ignores those variables), and
//    then to libcurl's built-in bundle (Debian: /etc/ssl/certs).
//  - Proxies: libcurl reads http_proxy, https_proxy / HTTPS_PROXY, all_proxy
//    / ALL_PROXY and no_proxy / NO_PROXY (host names, domain suffixes, CIDR)
//    at each new connection. libcurl ignores upper-case HTTP_PROXY (a CGI
//    safety rule); this client uses it for http:// URLs when http_proxy is
//    not set, read once at construction, so HTTP_PROXY works as in Go.
//  - The caller's headers are sent as given. libcurl adds User-Agent (the
//    options' value unless the request sets one), Host, Accept-Encoding:
//    gzip (answers are decompressed before delivery) and
//    Content-Length; it adds no Content-Type and no "Expect: 100-continue".
//
// Errors (a failed Result; messages name host:port and what failed, never a
// header value or a body):
//   kInvalidConfig     bad URL, header with a line break, unreadable CA or
//                      client certificate/key, untrusted server certificate
//                      (give the right CA or set insecure_skip_verify)
//   kUnauthenticated   the server demanded a client certificate and got none
//                      it accepts
//   kUnavailable       DNS failure, connection refused or reset, TLS
//                      handshake failure, connection closed without answer
//   kDeadlineExceeded  no complete answer within the request's timeout
//   kCancelled         the client was shut down before the answer arrived
//   kInternal          the answer exceeded max_response_bytes
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/http_client.h"

namespace ebb::http {

struct CurlHttpClientOptions {
  // Requests on the wire at once; more wait in the client's queue.
  // Default: 256. REQUIRES: >= 1.
  int max_in_flight = 256;
  // Connections to one host:port at once; requests over the limit wait
  // inside libcurl. Default: 0, no limit beyond max_in_flight: a limit
  // below max_in_flight makes libcurl park the excess in its pending list,
  // which it rescans on every finished transfer.
  int max_connections_per_host = 0;
  // Idle connections kept open for reuse (libcurl's connection cache).
  // Default: 256.
  int max_idle_connections = 256;
  // Sent as User-Agent unless the request sets its own. Default: empty,
  // meaning "ebb/<version of this build>" (the CMake project version).
  std::string user_agent;
  // Trust store for requests whose TlsOptions name no CA. Default: empty,
  // meaning $SSL_CERT_FILE / $SSL_CERT_DIR at construction, else libcurl's
  // built-in bundle.
  std::string default_ca_file;
  std::string default_ca_dir;
  // Larger answers fail with kInternal instead of exhausting memory.
  // Default: 256 MiB (a Kubernetes list of a big cluster fits).
  int64_t max_response_bytes = int64_t{256} << 20;
  // Easy handles kept for reuse between requests (saves their allocation;
  // connections and TLS sessions are reused regardless). Default: 64.
  int easy_handle_pool_size = 64;
  // Host pins applied to every request, in curl's --resolve format
  // "HOST:PORT:ADDR[,ADDR]" (CURLOPT_RESOLVE): a connection to HOST:PORT
  // goes to ADDR, while the URL, the Host header, SNI and certificate
  // verification keep HOST (`ebb doctor --resolve`; tests send an Azure
  // host name to a loopback emulator). Default: none.
  std::vector<std::string> resolve;
};

// Counters for /metrics. Monotonic except in_flight and queued.
struct CurlHttpClientStats {
  uint64_t requests_sent = 0;       // HTTP requests put on the wire, redirect hops included
  uint64_t connections_opened = 0;  // new TCP connections (CURLINFO_NUM_CONNECTS)
  uint64_t responses = 0;           // callbacks with an HTTP answer
  uint64_t failures = 0;            // callbacks with an error (cancellations included)
  int in_flight = 0;
  int queued = 0;
};

// Owns its I/O thread, the libcurl multi handle, its connection cache and
// every request until its callback has run. Thread-safe: Send, Fetch,
// InFlight, Stats and Shutdown may be called from any thread, and Send also
// from inside a callback (the request is picked up on the next loop turn).
// Callbacks run on the I/O thread, one at a time; they must not block (no
// waiting on a Fetch future there). Destroying the client from a callback
// is a programmer error.
class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(CurlHttpClientOptions options = {});
  ~CurlHttpClient() override;  // Shutdown()

  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  // Queues the request. `done` runs exactly once on the I/O thread; after
  // Shutdown it runs at once, on the caller's thread, with kCancelled.
  void Send(HttpRequest request, HttpCallback done) override;
  // Streams 2xx bodies to `on_data` on the I/O thread (see http_client.h);
  // max_response_bytes does not apply to them. When `on_data` returns
  // false the transfer stops and `done` gets kCancelled.
  void SendStreaming(HttpRequest request, HttpChunkCallback on_data, HttpCallback done) override;

  // Requests on the wire (not queued).
  int InFlight() const override;

  CurlHttpClientStats Stats() const;

  // Stops the I/O thread: queued and in-flight requests complete with
  // kCancelled (their callbacks run before this returns, unless called from
  // a callback, where it only asks the loop to stop). Idempotent.
  void Shutdown();

 private:
  class Loop;  // the I/O thread's state; lives in the .cc

  struct Queued {
    HttpRequest request;
    HttpCallback done;
    HttpChunkCallback on_data;  // empty: buffer the body
  };

  void Enqueue(Queued q);

  void Run();
  // Moves up to `max` queued requests out; sets *stop when shutting down.
  std::deque<Queued> TakeQueued(int max, bool* stop);

  const CurlHttpClientOptions options_;
  std::unique_ptr<Loop> loop_;  // touched only by the I/O thread after start

  mutable std::mutex mu_;
  std::deque<Queued> queue_;  // guarded by mu_
  bool stopping_ = false;     // guarded by mu_
  bool stopped_ = false;      // guarded by mu_: the I/O thread has drained

  std::atomic<int> in_flight_{0};
  std::atomic<uint64_t> requests_sent_{0};
  std::atomic<uint64_t> connections_opened_{0};
  std::atomic<uint64_t> responses_{0};
  std::atomic<uint64_t> failures_{0};

  std::thread thread_;
  std::once_flag join_once_;
};

}  // namespace ebb::http
