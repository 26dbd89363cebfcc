#include "http/http_server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <map>

#include "common/strings.h"

namespace ebb::http {
namespace {

constexpr int kListenBacklog = 64;

ServerResponse PlainText(int status, std::string body) {
  return ServerResponse{status, "text/plain; charset=utf-8", std::move(body)};
}

// A bound, listening socket for host:port (port 0: any free port).
// SO_REUSEADDR only: SO_REUSEPORT would let a second process bind the same
// port and silently share its traffic; "port in use" must fail.
Result<int> Listen(std::string_view address, const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) {
    return Unavailable("cannot listen on " + std::string(address) + ": " + gai_strerror(rc));
  }
  int err = 0;
  for (addrinfo* ai = found; ai; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, kListenBacklog) == 0) {
      freeaddrinfo(found);
      return fd;
    }
    err = errno;
    close(fd);
  }
  freeaddrinfo(found);
  return Unavailable("cannot listen on " + std::string(address) + ": " +
                     (err != 0 ? std::strerror(err) : "cannot bind"));
}

int BoundPort(int fd, int* family) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  *family = ss.ss_family;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

MHD_Result AddQueryParameter(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* query = static_cast<std::vector<std::pair<std::string, std::string>>*>(cls);
  query->emplace_back(key ? key : "", value ? value : "");
  return MHD_YES;
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
    assert(!daemon_ && "Handle after Start: the serving threads read handlers_ unlocked");
    handlers_[std::move(path)] = std::move(handler);
  }

  Status Start(std::string_view address) {
    if (daemon_) return Internal("HTTP server already started");
    std::string host;
    int port = 0;
    EBB_RETURN_IF_ERROR(ParseListenAddress(address, &host, &port));
    Result<int> fd = Listen(address, host, port);
    if (!fd.ok()) return fd.status();
    int family = AF_INET;
    int bound = BoundPort(*fd, &family);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    if (family == AF_INET6) flags |= MHD_USE_IPv6;
    daemon_ = MHD_start_daemon(
        flags, 0, nullptr, nullptr, &Impl::Access, this,
        MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(*fd),
        MHD_OPTION_THREAD_POOL_SIZE, static_cast<unsigned>(options_.threads),
        MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(options_.idle_timeout_seconds),
        MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned>(options_.max_connections),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        static_cast<unsigned>(options_.max_connections_per_address),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, options_.max_request_head_bytes,
        MHD_OPTION_END);
    if (!daemon_) {
      close(*fd);
      return Unavailable("HTTP server on " + std::string(address) + " did not start");
    }
    port_ = bound;
    return Status::Ok();
  }

  int port() const { return port_; }

  void Stop() {
    if (!daemon_) return;
    MHD_stop_daemon(daemon_);  // joins its threads and closes the listening socket
    daemon_ = nullptr;
    port_ = 0;
  }

 private:
  // Called by libmicrohttpd for each request, first once the headers are
  // in. Answering at once refuses any body (the connection is closed after
  // the answer instead of reading it).
  static MHD_Result Access(void* cls, MHD_Connection* connection, const char* url,
                           const char* method, const char* /*version*/,
                           const char* /*upload_data*/, size_t* /*upload_data_size*/,
                           void** /*req_cls*/) {
    const Impl* self = static_cast<const Impl*>(cls);
    ServerRequest request{method ? method : "", url ? url : "", {}};
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &AddQueryParameter,
                              &request.query);
    ServerResponse out = self->Serve(request);
    MHD_Response* response = MHD_create_response_from_buffer(
        out.body.size(), out.body.data(), MHD_RESPMEM_MUST_COPY);
    if (!response) return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, out.content_type.c_str());
    MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(out.status), response);
    MHD_destroy_response(response);
    return queued;
  }

  ServerResponse Serve(const ServerRequest& request) const {
    auto it = handlers_.find(request.path);
    if (it == handlers_.end()) return PlainText(404, "not found\n");
    if (request.method != "GET" && request.method != "HEAD") {
      return PlainText(405, "method not allowed\n");
    }
    try {
      return it->second(request);
    } catch (...) {  // a handler's throw must not reach libmicrohttpd's C frames
      return PlainText(500, "internal error\n");
    }
  }

  const HttpServerOptions options_;
  std::map<std::string, ServerHandler, std::less<>> handlers_;  // fixed after Start
  MHD_Daemon* daemon_ = nullptr;
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
