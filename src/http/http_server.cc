#include "http/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "common/strings.h"

namespace ebb::http {
namespace {

constexpr size_t kMaxRequestBody = 64 * 1024;  // our endpoints take no body
constexpr auto kStartTimeout = std::chrono::seconds(5);

// httplib's default also sets SO_REUSEPORT, which lets a second process bind
// the same port and silently share its traffic; "port in use" must fail.
void ListenSocketOptions(socket_t sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

ServerResponse PlainText(int status, std::string body) {
  return ServerResponse{status, "text/plain; charset=utf-8", std::move(body)};
}

}  // namespace

Status ParseListenAddress(std::string_view address, std::string* host, int* port) {
  auto bad = [&](std::string_view why) {
    return InvalidConfig("listen address \"" + std::string(address) + "\": " + std::string(why) +
                         " (want host:port, [ipv6]:port or :port)");
  };
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  std::string_view h = address.substr(0, colon);
  if (h.starts_with('[')) {
    if (!h.ends_with(']') || h.size() < 3) return bad("unbalanced brackets");
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string_view::npos) {
    return bad("an IPv6 host needs brackets");
  }
  std::optional<int64_t> p = ParseInt(address.substr(colon + 1));
  if (!p || *p < 0 || *p > 65535) return bad("port is not a number in 0..65535");
  *host = h.empty() ? "0.0.0.0" : std::string(h);
  *port = static_cast<int>(*p);
  return Status::Ok();
}

class HttpServer::Impl {
 public:
  explicit Impl(HttpServerOptions options) : options_(options) {}

  void Handle(std::string path, ServerHandler handler) {
    assert(!server_ && "Handle after Start: the serving threads read handlers_ unlocked");
    handlers_[std::move(path)] = std::move(handler);
  }

  Status Start(std::string_view address) {
    if (server_) return Internal("HTTP server already started");
    std::string host;
    int port = 0;
    EBB_RETURN_IF_ERROR(ParseListenAddress(address, &host, &port));
    server_ = std::make_unique<httplib::Server>();
    Configure(*server_);
    EBB_RETURN_IF_ERROR(Bind(address, host, port));
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    return WaitUntilRunning(address);
  }

  int port() const { return port_; }

  void Stop() {
    if (!server_) return;
    server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    port_ = 0;
  }

 private:
  void Configure(httplib::Server& s) {
    s.set_tcp_nodelay(true);  // without it, 184 req/s instead of 28k (facts/toolchain.md)
    s.set_socket_options(ListenSocketOptions);
    s.set_read_timeout(options_.read_timeout_seconds, 0);
    s.set_write_timeout(options_.write_timeout_seconds, 0);
    s.set_payload_max_length(kMaxRequestBody);
    int threads = options_.threads;
    s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    // One routing step of our own for every request: exact paths (httplib
    // 0.11 patterns are regular expressions) and 405 for other methods.
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      Dispatch(req, res);
      return httplib::Server::HandlerResponse::Handled;
    });
  }

  Status Bind(std::string_view address, const std::string& host, int port) {
    errno = 0;
    if (port == 0) {
      port_ = server_->bind_to_any_port(host);
    } else {
      port_ = server_->bind_to_port(host, port) ? port : -1;
    }
    if (port_ > 0) return Status::Ok();
    int err = errno;
    server_.reset();
    port_ = 0;
    std::string why = err != 0 ? std::strerror(err) : "cannot bind";
    return Unavailable("cannot listen on " + std::string(address) + ": " + why);
  }

  Status WaitUntilRunning(std::string_view address) {
    // httplib 0.11 has no wait_until_ready(): poll is_running().
    auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    while (!server_->is_running()) {
      if (std::chrono::steady_clock::now() > deadline) {
        Stop();
        return Unavailable("HTTP server on " + std::string(address) + " did not start");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return Status::Ok();
  }

  void Dispatch(const httplib::Request& req, httplib::Response& res) const {
    ServerResponse out = Serve(req);
    res.status = out.status;
    // What set_content does, without copying a large /metrics body.
    res.body = std::move(out.body);
    res.set_header("Content-Type", out.content_type);
  }

  ServerResponse Serve(const httplib::Request& req) const {
    auto it = handlers_.find(req.path);
    if (it == handlers_.end()) return PlainText(404, "not found\n");
    if (req.method != "GET" && req.method != "HEAD") {
      return PlainText(405, "method not allowed\n");
    }
    ServerRequest request{req.method, req.path, {}};
    for (const auto& [k, v] : req.params) request.query.emplace_back(k, v);
    try {
      return it->second(request);
    } catch (...) {  // a handler's throw must not reach httplib's thread
      return PlainText(500, "internal error\n");
    }
  }

  const HttpServerOptions options_;
  std::map<std::string, ServerHandler, std::less<>> handlers_;  // fixed after Start
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

HttpServer::HttpServer(HttpServerOptions options) : impl_(std::make_unique<Impl>(options)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(std::string path, ServerHandler handler) {
  impl_->Handle(std::move(path), std::move(handler));
}

Status HttpServer::Start(std::string_view address) { return impl_->Start(address); }

int HttpServer::port() const { return impl_->port(); }

void HttpServer::Stop() { impl_->Stop(); }

}  // namespace ebb::http
