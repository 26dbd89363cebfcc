#include "testing/azure/loopback_server.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>

#include "common/strings.h"

namespace ebb::testing::azure {

namespace {

constexpr char kLoopback[] = "127.0.0.1";

std::unique_ptr<httplib::Server> NewServer(const std::optional<IssuedCert>& tls) {
  if (!tls) return std::make_unique<httplib::Server>();
  BIO* cert_bio = BIO_new_mem_buf(tls->cert_pem.data(), static_cast<int>(tls->cert_pem.size()));
  BIO* key_bio = BIO_new_mem_buf(tls->key_pem.data(), static_cast<int>(tls->key_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  BIO_free(key_bio);
  std::unique_ptr<httplib::Server> server;
  // SSLServer takes its own references (SSL_CTX_use_*), so ours are freed here.
  if (cert && key) server = std::make_unique<httplib::SSLServer>(cert, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return server;
}

}  // namespace

Result<std::unique_ptr<LoopbackServer>> LoopbackServer::Start(const std::optional<IssuedCert>& tls,
                                                              const RouteSetup& routes) {
  std::unique_ptr<httplib::Server> server = NewServer(tls);
  if (!server || !server->is_valid()) return InvalidConfig("cannot load the TLS certificate");
  server->set_tcp_nodelay(true);
  // Let clients reuse connections as they would with a real endpoint.
  server->set_keep_alive_max_count(1000);
  routes(*server);
  int port = server->bind_to_any_port(kLoopback);
  if (port <= 0) return Unavailable("cannot bind a port on 127.0.0.1");
  std::unique_ptr<LoopbackServer> self(new LoopbackServer());
  self->port_ = port;
  self->tls_ = tls.has_value();
  self->server_ = std::move(server);
  httplib::Server* raw = self->server_.get();
  self->thread_ = std::thread([raw] { raw->listen_after_bind(); });
  // cpp-httplib 0.11 has no wait_until_ready(): poll.
  for (int i = 0; i < 500 && !raw->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!raw->is_running()) return Unavailable("server did not start");
  return self;
}

LoopbackServer::~LoopbackServer() { Stop(); }

std::string LoopbackServer::base_url() const {
  return std::string(tls_ ? "https://" : "http://") + kLoopback + ":" + std::to_string(port_);
}

void LoopbackServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::optional<UrlParts> SplitUrl(const std::string& url) {
  UrlParts parts;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return std::nullopt;
  parts.scheme = ToLower(url.substr(0, scheme_end));
  if (parts.scheme != "http" && parts.scheme != "https") return std::nullopt;
  size_t host_start = scheme_end + 3;
  size_t path_start = url.find_first_of("/?", host_start);
  std::string authority = url.substr(host_start, path_start - host_start);
  parts.path = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (!parts.path.empty() && parts.path[0] == '?') parts.path = "/" + parts.path;
  parts.port = parts.scheme == "https" ? 443 : 80;
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    std::optional<int64_t> port = ParseInt(authority.substr(colon + 1));
    if (!port || *port <= 0 || *port > 65535) return std::nullopt;
    parts.port = static_cast<int>(*port);
    authority.resize(colon);
  }
  if (authority.empty()) return std::nullopt;
  parts.host = authority;
  return parts;
}

X509_STORE* NewCaStore(const std::string& ca_pem) {
  X509_STORE* store = X509_STORE_new();
  BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, cert);
    X509_free(cert);
  }
  BIO_free(bio);
  return store;
}

Result<FetchResult> HttpFetch(const std::string& url, const FetchOptions& options) {
  std::optional<UrlParts> parts = SplitUrl(url);
  if (!parts) return InvalidConfig("malformed URL: " + url);
  std::unique_ptr<httplib::ClientImpl> client;
  if (parts->scheme == "https") {
    auto tls = std::make_unique<httplib::SSLClient>(parts->host, parts->port);
    tls->set_ca_cert_store(NewCaStore(options.ca_pem));
    tls->enable_server_certificate_verification(true);
    client = std::move(tls);
  } else {
    client = std::make_unique<httplib::ClientImpl>(parts->host, parts->port);
  }
  client->set_connection_timeout(options.timeout_seconds, 0);
  client->set_read_timeout(options.timeout_seconds, 0);
  httplib::Result res = options.method == "POST"
                            ? client->Post(parts->path.c_str(), options.headers, options.body,
                                           options.content_type.c_str())
                        : options.method == "PUT"
                            ? client->Put(parts->path.c_str(), options.headers, options.body,
                                          options.content_type.c_str())
                            : client->Get(parts->path.c_str(), options.headers);
  if (!res) return Unavailable("request to " + url + " failed: " + httplib::to_string(res.error()));
  FetchResult out{res->status, res->body, {}};
  for (const auto& [k, v] : res->headers) out.headers.emplace(ToLower(k), v);
  return out;
}

std::string FirstParam(const httplib::Request& req, const std::string& name) {
  return req.has_param(name) ? req.get_param_value(name) : "";
}

}  // namespace ebb::testing::azure
