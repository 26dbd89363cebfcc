#include "testing/kube/fake_apiserver.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>

#include "common/strings.h"
#include "testing/kube/route.h"

namespace ebb::testing::kube {

using nlohmann::json;

namespace {

constexpr char kLoopback[] = "127.0.0.1";
constexpr char kJson[] = "application/json";

bool Matches(const std::vector<std::string>& list, const std::string& value) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& v) { return v == "*" || v == value; });
}

std::string Param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : "";
}

bool IsWatch(const httplib::Request& req) {
  std::string w = Param(req, "watch");
  return w == "1" || w == "true";
}

std::string VerbOf(const httplib::Request& req, const FakeApiServer::Route& r) {
  if (req.method == "GET") return !r.name.empty() ? "get" : IsWatch(req) ? "watch" : "list";
  if (req.method == "POST") return "create";
  if (req.method == "PUT") return "update";
  if (req.method == "PATCH") return "patch";
  if (req.method == "DELETE") return "delete";
  return ToLower(req.method);
}

std::string CommonName(const SSL* ssl) {
  if (!ssl || SSL_get_verify_result(ssl) != X509_V_OK) return "";
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return "";
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  return cn;
}

X509_STORE* CaStore(const std::string& pem) {
  X509_STORE* store = X509_STORE_new();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, cert);
    X509_free(cert);
  }
  BIO_free(bio);
  return store;
}

// The server certificate, and optional (not required) client certificates,
// so bearer-token clients and certificate clients share one port.
bool SetupTls(SSL_CTX& ctx, const IssuedCert& cert, const std::string& client_ca) {
  BIO* cb = BIO_new_mem_buf(cert.cert_pem.data(), static_cast<int>(cert.cert_pem.size()));
  BIO* kb = BIO_new_mem_buf(cert.key_pem.data(), static_cast<int>(cert.key_pem.size()));
  X509* x = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  EVP_PKEY* k = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  BIO_free(cb);
  BIO_free(kb);
  bool ok = x && k && SSL_CTX_use_certificate(&ctx, x) == 1 && SSL_CTX_use_PrivateKey(&ctx, k) == 1;
  X509_free(x);
  EVP_PKEY_free(k);
  if (ok && !client_ca.empty()) {
    SSL_CTX_set_cert_store(&ctx, CaStore(client_ca));
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
  }
  return ok;
}

Reply FaultReply(int status) {
  switch (status) {
    case 429:
      return ErrorReply(429, "TooManyRequests",
                        "the server has received too many requests and has asked us to try again "
                        "later");
    case 503:
      return ErrorReply(503, "ServiceUnavailable",
                        "the server is currently unable to handle the "
                        "request");
    case 504:
      return ErrorReply(504, "Timeout",
                        "the server was unable to return a response in the time "
                        "allotted, but may still be processing the request");
    case 409:
      return ErrorReply(409, "Conflict", "Operation cannot be fulfilled: injected conflict");
    default:
      return ErrorReply(status, "InternalError", "Internal error occurred: injected fault");
  }
}

}  // namespace

std::optional<FakeApiServer::Route> ParseRoute(const std::string& path) {
  std::vector<std::string> seg;
  for (const std::string& s : Split(path, '/')) {
    if (!s.empty()) seg.push_back(s);
  }
  FakeApiServer::Route r;
  size_t rest = 0;
  if (seg.size() >= 3 && seg[0] == "api") {
    r.version = seg[1];
    rest = 2;
  } else if (seg.size() >= 4 && seg[0] == "apis") {
    r.group = seg[1];
    r.version = seg[2];
    rest = 3;
  } else {
    return std::nullopt;
  }
  std::vector<std::string> p(seg.begin() + static_cast<long>(rest), seg.end());
  if (p.size() >= 3 && p[0] == "namespaces") {
    r.ns = p[1];
    p.erase(p.begin(), p.begin() + 2);
  }
  if (p.empty() || p.size() > 3) return std::nullopt;
  r.resource = p[0];
  if (p.size() >= 2) r.name = p[1];
  if (p.size() == 3) r.subresource = p[2];
  return r;
}

FakeApiServer::FakeApiServer(FakeApiServerOptions options)
    : options_(std::move(options)), tokens_(options_.tokens), rbac_(options_.rbac) {
  store_ =
      std::make_unique<ObjectStore>(options_.types, RealClock::Instance(), options_.history_limit);
  workloads_ = std::make_unique<WorkloadSimulator>(*store_, options_.workload_delay);
}

Result<std::unique_ptr<FakeApiServer>> FakeApiServer::Start(FakeApiServerOptions options) {
  std::unique_ptr<FakeApiServer> self(new FakeApiServer(std::move(options)));
  const FakeApiServerOptions& o = self->options_;
  if (o.tls) {
    self->server_ = std::make_unique<httplib::SSLServer>(
        [&o](SSL_CTX& ctx) { return SetupTls(ctx, *o.tls, o.client_ca_pem); });
  } else {
    self->server_ = std::make_unique<httplib::Server>();
  }
  if (!self->server_->is_valid()) return InvalidConfig("fake API server: bad TLS certificate");
  httplib::Server& s = *self->server_;
  s.set_tcp_nodelay(true);
  s.set_keep_alive_max_count(100000);
  // Every open watch holds a worker thread.
  s.new_task_queue = [] { return new httplib::ThreadPool(64); };
  FakeApiServer* raw = self.get();
  auto handler = [raw](const httplib::Request& req, httplib::Response& res) {
    raw->Handle(req, res);
  };
  s.Get(".*", handler);
  s.Post(".*", handler);
  s.Put(".*", handler);
  s.Patch(".*", handler);
  s.Delete(".*", handler);
  self->port_ = o.port > 0 ? (s.bind_to_port(kLoopback, o.port) ? o.port : -1)
                           : s.bind_to_any_port(kLoopback);
  if (self->port_ <= 0) return Unavailable("fake API server: cannot bind a port on 127.0.0.1");
  self->thread_ = std::thread([raw] { raw->server_->listen_after_bind(); });
  for (int i = 0; i < 500 && !s.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!s.is_running()) return Unavailable("fake API server did not start");
  return self;
}

FakeApiServer::~FakeApiServer() { Stop(); }

void FakeApiServer::Stop() {
  stopping_ = true;
  store_->Wake();
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string FakeApiServer::base_url() const {
  return std::string(options_.tls ? "https://" : "http://") + kLoopback + ":" +
         std::to_string(port_);
}

void FakeApiServer::SetToken(const std::string& token, const std::string& user) {
  std::lock_guard lock(mu_);
  tokens_[token] = user;
}

void FakeApiServer::RevokeToken(const std::string& token) {
  std::lock_guard lock(mu_);
  tokens_.erase(token);
}

void FakeApiServer::SetRbac(std::optional<std::vector<RbacRule>> rules) {
  std::lock_guard lock(mu_);
  rbac_ = std::move(rules);
}

void FakeApiServer::SetLatency(std::chrono::milliseconds latency) {
  std::lock_guard lock(mu_);
  latency_ = latency;
}

void FakeApiServer::InjectFault(Fault fault) {
  std::lock_guard lock(mu_);
  faults_.push_back(std::move(fault));
}

void FakeApiServer::ClearFaults() {
  std::lock_guard lock(mu_);
  faults_.clear();
}

void FakeApiServer::DropWatches() {
  ++drop_epoch_;
  store_->Wake();
}

void FakeApiServer::ExpireWatches() {
  store_->Compact();
  ++expire_epoch_;
  store_->Wake();
}

void FakeApiServer::CloseWatches() {
  ++close_epoch_;
  store_->Wake();
}

void FakeApiServer::SendBookmarks() {
  ++bookmark_epoch_;
  store_->Wake();
}

std::vector<RequestRecord> FakeApiServer::Requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void FakeApiServer::ClearRequests() {
  std::lock_guard lock(mu_);
  requests_.clear();
}

void FakeApiServer::Record(RequestRecord r) {
  std::lock_guard lock(mu_);
  requests_.push_back(std::move(r));
}

std::optional<Reply> FakeApiServer::TakeFault(const std::string& method, const std::string& path) {
  std::lock_guard lock(mu_);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (!it->method.empty() && it->method != method) continue;
    if (!it->path_contains.empty() && path.find(it->path_contains) == std::string::npos) continue;
    Reply r = FaultReply(it->status);
    if (--it->times <= 0) faults_.erase(it);
    return r;
  }
  return std::nullopt;
}

std::string FakeApiServer::Authenticate(const httplib::Request& req) const {
  std::string auth = req.get_header_value("Authorization");
  std::lock_guard lock(mu_);
  if (StartsWith(auth, "Bearer ")) {
    auto it = tokens_.find(std::string(Trim(auth.substr(7))));
    return it == tokens_.end() ? "" : it->second;
  }
  if (StartsWith(auth, "Basic ")) {
    std::optional<std::string> pair = Base64Decode(auth.substr(6));
    size_t colon = pair ? pair->find(':') : std::string::npos;
    if (colon == std::string::npos) return "";
    auto it = options_.basic_users.find(pair->substr(0, colon));
    return it != options_.basic_users.end() && it->second == pair->substr(colon + 1) ? it->first
                                                                                     : "";
  }
  std::string cn = CommonName(req.ssl);
  if (!cn.empty()) return cn;
  bool anonymous = options_.tokens.empty() && tokens_.empty() && options_.basic_users.empty() &&
                   options_.client_ca_pem.empty();
  return anonymous ? "system:anonymous" : "";
}

bool FakeApiServer::Allowed(const std::string& user, const std::string& verb,
                            const Route& r) const {
  std::lock_guard lock(mu_);
  if (!rbac_) return true;
  std::string resource = r.subresource.empty() ? r.resource : r.resource + "/" + r.subresource;
  for (const RbacRule& rule : *rbac_) {
    if (rule.user != "*" && rule.user != user) continue;
    if (!Matches(rule.verbs, verb) || !Matches(rule.groups, r.group)) continue;
    if (!Matches(rule.resources, resource)) continue;
    if (!rule.namespaces.empty() && !Matches(rule.namespaces, r.ns)) continue;
    return true;
  }
  return false;
}

void FakeApiServer::Handle(const httplib::Request& req, httplib::Response& res) {
  std::chrono::milliseconds latency;
  {
    std::lock_guard lock(mu_);
    latency = latency_;
  }
  if (latency.count() > 0) std::this_thread::sleep_for(latency);
  std::string user = Authenticate(req);
  std::string query;
  for (const auto& [k, v] : req.params) query += (query.empty() ? "" : "&") + k + "=" + v;
  Reply reply = Dispatch(req, res, user);
  Record({req.method, req.path, query, user, reply.code});
  if (reply.code == 0) return;  // a watch stream: the provider answers
  res.status = reply.code;
  if (reply.code == 429) res.set_header("Retry-After", "1");
  if (reply.body.is_string()) {
    res.set_content(reply.body.get<std::string>(), "text/plain");
  } else {
    res.set_content(reply.body.dump(), kJson);
  }
}

Reply FakeApiServer::Dispatch(const httplib::Request& req, httplib::Response& res,
                              const std::string& user) {
  if (req.path == "/healthz" || req.path == "/readyz" || req.path == "/livez") {
    return {200, "ok"};
  }
  if (std::optional<Reply> fault = TakeFault(req.method, req.path)) return *fault;
  if (user.empty()) return UnauthorizedReply();
  if (req.path == "/version") {
    return {200, {{"major", "1"}, {"minor", "29"}, {"gitVersion", "v1.29.0-ebb-fake"}}};
  }
  if (req.path == "/api") return {200, CoreApiVersions()};
  if (req.path == "/apis") return {200, ApiGroupList(store_->types())};
  std::vector<std::string> seg = Split(req.path, '/');
  std::erase(seg, "");
  if ((seg.size() == 2 && seg[0] == "api") || (seg.size() == 3 && seg[0] == "apis")) {
    json list = seg[0] == "api" ? ApiResourceList(store_->types(), "", seg[1])
                                : ApiResourceList(store_->types(), seg[1], seg[2]);
    if (!list.is_null()) return {200, list};
  }
  std::optional<Route> route = ParseRoute(req.path);
  if (route) route->rt = store_->Find(route->group, route->version, route->resource);
  bool scope_ok = route && route->rt && (route->rt->namespaced || route->ns.empty()) &&
                  (!route->rt->namespaced || !route->ns.empty() ||
                   (req.method == "GET" && route->name.empty()));
  if (!scope_ok) {
    return ErrorReply(404, "NotFound", "the server could not find the requested resource");
  }
  std::string verb = VerbOf(req, *route);
  if (!Allowed(user, verb, *route)) {
    return ForbiddenReply(*route->rt, route->name, user, verb, route->subresource, route->ns);
  }
  return Serve(*route, req, res);
}

Reply FakeApiServer::Serve(const Route& r, const httplib::Request& req, httplib::Response& res) {
  const ResourceType& rt = *r.rt;
  const std::string& m = req.method;
  std::string type = req.get_header_value("Content-Type");
  auto body = [&]() { return json::parse(req.body, nullptr, false); };
  if (!r.subresource.empty() && r.subresource != "status" && r.subresource != "scale") {
    return ErrorReply(404, "NotFound", "the server could not find the requested resource");
  }
  if (r.subresource == "status" && !rt.status_subresource) {
    return ErrorReply(404, "NotFound", "the server could not find the requested resource");
  }
  if (m == "GET" && r.name.empty()) {
    if (IsWatch(req)) {
      StartWatch(r, req, res);
      return {0, nullptr};
    }
    ListOptions o{Param(req, "labelSelector"), Param(req, "fieldSelector"), 0,
                  Param(req, "continue")};
    o.limit = ParseInt(Param(req, "limit")).value_or(0);
    return store_->List(rt, r.ns, o);
  }
  if (m == "POST" && r.name.empty()) {
    json b = body();
    if (b.is_discarded()) return ErrorReply(400, "BadRequest", "the body is not valid JSON");
    return store_->Create(rt, r.ns, std::move(b));
  }
  if (r.name.empty())
    return ErrorReply(405, "MethodNotAllowed",
                      "the server does not allow this "
                      "method on the requested resource");
  bool scale = r.subresource == "scale";
  bool status = r.subresource == "status";
  if (m == "GET") return scale ? store_->GetScale(rt, r.ns, r.name) : store_->Get(rt, r.ns, r.name);
  if (m == "DELETE" && r.subresource.empty()) return store_->Delete(rt, r.ns, r.name);
  if (m == "PATCH") {
    return scale ? store_->PatchScale(rt, r.ns, r.name, type, req.body)
                 : store_->Patch(rt, r.ns, r.name, type, req.body, status);
  }
  if (m == "PUT") {
    json b = body();
    if (b.is_discarded()) return ErrorReply(400, "BadRequest", "the body is not valid JSON");
    if (scale) return store_->UpdateScale(rt, r.ns, r.name, std::move(b));
    return status ? store_->UpdateStatus(rt, r.ns, r.name, std::move(b))
                  : store_->Update(rt, r.ns, r.name, std::move(b));
  }
  return ErrorReply(405, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource");
}

}  // namespace ebb::testing::kube
