// LoopbackServer: an HTTP or HTTPS server (cpp-httplib) on 127.0.0.1 and a
// free port, served by its own thread; the common base of the Azure
// emulators. Also a small client to fetch a URL from such a server (the
// identity provider fetching an issuer's JWKS, tests).
//
//   auto server = LoopbackServer::Start(cert, [&](httplib::Server& s) {
//     s.Get("/hello", [](const httplib::Request&, httplib::Response& res) { ... });
//   }).value();
//   server->base_url();  // "https://127.0.0.1:41234"
#pragma once

#include <httplib.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/status.h"
#include "testing/pki/test_pki.h"

namespace ebb::testing::azure {

// Owns the httplib server and its thread. Stop() (or the destructor) stops
// listening and joins. Handlers run on httplib's worker threads, so they
// must be thread-safe. Start/Stop are not to be called concurrently.
class LoopbackServer {
 public:
  using RouteSetup = std::function<void(httplib::Server&)>;

  // Serves HTTPS with `tls` when given, plain HTTP otherwise. `routes`
  // registers the handlers before listening starts. kUnavailable when the
  // port cannot be bound or the server does not come up within 5 s.
  static Result<std::unique_ptr<LoopbackServer>> Start(const std::optional<IssuedCert>& tls,
                                                       const RouteSetup& routes);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  int port() const { return port_; }
  bool tls() const { return tls_; }
  // "https://127.0.0.1:PORT" (or http://), no trailing slash.
  std::string base_url() const;
  void Stop();

 private:
  LoopbackServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  bool tls_ = false;
};

// scheme://host[:port][/path...] split into parts; nullopt when malformed.
struct UrlParts {
  std::string scheme;  // "http" or "https"
  std::string host;
  int port = 0;      // default port of the scheme when absent
  std::string path;  // "/..." ("/" when absent), query included
};
std::optional<UrlParts> SplitUrl(const std::string& url);

struct FetchResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
};

// Options of one request made by HttpFetch.
struct FetchOptions {
  std::string method = "GET";  // GET, POST or PUT
  std::string body;            // POST / PUT body
  std::string content_type = "application/x-www-form-urlencoded";
  httplib::Headers headers;
  std::string ca_pem;  // trusted CA for https; empty: verify against nothing (fails)
  int timeout_seconds = 5;
};

// One request to `url`. Returns the response (any status), or kUnavailable
// when the server cannot be reached or TLS fails.
Result<FetchResult> HttpFetch(const std::string& url, const FetchOptions& options = {});

// An X509_STORE holding the certificates of `ca_pem` (caller owns the
// result; cpp-httplib's set_ca_cert_store takes it over).
X509_STORE* NewCaStore(const std::string& ca_pem);

// httplib::Request::params keeps multi-values; returns the first or "".
std::string FirstParam(const httplib::Request& req, const std::string& name);

}  // namespace ebb::testing::azure
