// HttpServer: a small HTTP/1.1 server for ebb's own endpoints (/metrics,
// /healthz, /readyz), built on libmicrohttpd and kept generic: handlers map
// a path to a status, a content type and a body.
//
//   HttpServer server;
//   server.Handle("/healthz", [](const ServerRequest&) {
//     return ServerResponse{200, "text/plain; charset=utf-8", "ok"};
//   });
//   Status s = server.Start("127.0.0.1:9022");   // ":9022", "[::1]:0", ...
//   if (!s.ok()) return s;                       // names the address
//   ... server.port() ...
//   server.Stop();                               // or let the destructor do it
//
// Plain HTTP only: these endpoints are meant for loopback or the pod
// network, like KEDA's own /metrics. GET and HEAD are routed to the
// handler of the exact path; other paths answer 404, other methods 405.
//
// Whoever reaches the port may be hostile (docs/reliability.md): a few
// polling threads serve every connection (a slow client holds a connection
// slot, never a thread, so /healthz keeps answering), the request line and
// headers of a connection must fit in `max_request_head_bytes` (431
// otherwise), request bodies are refused, and connections are bounded in
// number, per client address and in idle time. cpp-httplib 0.11, used
// before, caps none of these and gives a thread to each connection.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace ebb::http {

struct ServerRequest {
  std::string method;                                      // "GET" or "HEAD"
  std::string path;                                        // without the query string
  std::vector<std::pair<std::string, std::string>> query;  // decoded parameters
};

struct ServerResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Runs on a server thread; must be thread-safe (several requests may be
// served at once) and must not block for long.
using ServerHandler = std::function<ServerResponse(const ServerRequest&)>;

struct HttpServerOptions {
  // Threads polling the connections (each serves many). Default: 2.
  // REQUIRES: >= 1.
  int threads = 2;
  // A connection with no progress (nothing read or written) for longer is
  // closed. Default: 5 s.
  int idle_timeout_seconds = 5;
  // Open connections at most, in all and from one client address; more are
  // refused at accept. Defaults: 64 and 16 (a kubelet and a Prometheus
  // need a few).
  int max_connections = 64;
  int max_connections_per_address = 16;
  // Request line plus headers of one request at most (the connection's
  // buffer). Default: 32 KiB.
  size_t max_request_head_bytes = 32 * 1024;
};

// Owns its listening socket and its threads. Handle must be called before
// Start; Start, port and Stop may be called from any thread, but not
// concurrently with each other. Stop (and the destructor) wait for requests
// being served to finish.
class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options = {});
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serves GET and HEAD of exactly `path` ("/metrics") with `handler`.
  // A handler that throws answers 500. REQUIRES: not started.
  void Handle(std::string path, ServerHandler handler);

  // Binds `address` and starts serving; returns once connections are
  // accepted. Address forms: "host:port", "[ipv6]:port", ":port" (all IPv4
  // interfaces, 0.0.0.0); port 0 picks a free port (see port()).
  // Errors: kInvalidConfig for an address that does not parse;
  // kUnavailable when it cannot be bound (in use, not local, no
  // permission), naming the address and the system's reason; kInternal
  // when already started.
  Status Start(std::string_view address);

  // The bound port; 0 before Start.
  int port() const;

  // Stops accepting, finishes requests in progress, joins the threads.
  // Idempotent.
  void Stop();

 private:
  class Impl;  // holds the libmicrohttpd daemon, which callers never see
  std::unique_ptr<Impl> impl_;
};

// Splits "host:port", "[v6]:port" or ":port" into host and port. Host ""
// (":port") becomes "0.0.0.0". Errors: kInvalidConfig naming the address.
Status ParseListenAddress(std::string_view address, std::string* host, int* port);

}  // namespace ebb::http
