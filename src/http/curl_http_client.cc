#include "http/curl_http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "common/log.h"
#include "common/strings.h"
#include "http/url.h"

namespace ebb::http {
namespace {

using SteadyClock = std::chrono::steady_clock;

// How long the loop sleeps in curl_multi_poll when nothing happens; any
// Send wakes it earlier, so this only bounds the latency of a lost wakeup.
constexpr int kIdlePollMs = 1000;

void InitCurlOnce() {
  static const bool initialized = [] {
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  }();
  (void)initialized;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// "host:port", IPv6 bracketed: how every error message names the peer.
std::string HostPort(const Url& u) {
  std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  return host + ":" + std::to_string(u.port);
}

// "3s", "1.5s", "250ms".
std::string FormatTimeout(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms < 1000 || ms % 100 != 0) return std::to_string(ms) + "ms";
  std::string s = std::to_string(ms / 1000);
  if (ms % 1000 != 0) s += "." + std::to_string(ms % 1000 / 100);
  return s + "s";
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// Header names and values go to libcurl verbatim: a line break would let a
// value smuggle in another header or request. The value itself never
// appears in the message (it may be a credential).
Status ValidateRequest(const HttpRequest& r) {
  if (!IsToken(r.method)) {
    return InvalidConfig("HTTP method \"" + JsonEscape(r.method) + "\" is not valid");
  }
  for (const Header& h : r.headers) {
    if (!IsToken(h.name)) {
      return InvalidConfig("HTTP header name \"" + JsonEscape(h.name) + "\" is not valid");
    }
    if (h.value.find_first_of("\r\n", 0) != std::string::npos ||
        h.value.find('\0') != std::string::npos) {
      return InvalidConfig("value of HTTP header " + h.name + " contains a line break or NUL");
    }
  }
  return Status::Ok();
}

bool HasHeader(const HttpRequest& r, std::string_view name) {
  for (const Header& h : r.headers) {
    if (HeaderNameEquals(h.name, name)) return true;
  }
  return false;
}

bool IsFollowableRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Go's rules: 303 always becomes GET (HEAD stays HEAD); 301/302 turn a POST
// into a GET; 307/308 keep method and body.
void RewriteForRedirect(int status, HttpRequest& r) {
  bool to_get = (status == 303 && r.method != "HEAD") ||
                ((status == 301 || status == 302) && r.method == "POST");
  if (!to_get) return;
  r.method = "GET";
  r.body.clear();
  std::erase_if(r.headers, [](const Header& h) {
    return HeaderNameEquals(h.name, "Content-Type") || HeaderNameEquals(h.name, "Content-Length");
  });
}

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// TLS alerts a server sends when it wanted a client certificate it did not
// get or does not accept (TLS 1.3 reports them on the first read).
bool ClientCertificateRejected(std::string_view detail) {
  return Contains(detail, "certificate required") || Contains(detail, "alert bad certificate") ||
         Contains(detail, "alert unknown ca") || Contains(detail, "alert certificate unknown");
}

// True when the request opened a new TLS connection and got not a single
// HTTP byte back.
bool BrokeAfterNewTlsHandshake(const Url& url, CURL* e) {
  long connects = 0;
  long header_bytes = 0;
  curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_getinfo(e, CURLINFO_HEADER_SIZE, &header_bytes);
  return url.scheme == "https" && connects > 0 && header_bytes == 0;
}

}  // namespace

// State of the I/O thread: the multi handle, the easy-handle pool and the
// transfers on the wire. Only the I/O thread touches it, except Wakeup().
class CurlHttpClient::Loop {
 public:
  explicit Loop(CurlHttpClient& owner);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Thread-safe: interrupts curl_multi_poll.
  void Wakeup() { curl_multi_wakeup(multi_); }

  int FreeSlots() const { return owner_.options_.max_in_flight - static_cast<int>(active_.size()); }
  void Start(Queued q);
  // Drives the sockets and completes finished transfers (callbacks run here).
  void Perform();
  void Poll(int timeout_ms) { curl_multi_poll(multi_, nullptr, 0, timeout_ms, nullptr); }
  // Completes every transfer on the wire with kCancelled.
  void CancelAll();
  // Completes a request that never reached the wire.
  void Fail(Queued q, Status status);

 private:
  struct Transfer {
    HttpRequest request;  // url and method are the current hop's
    HttpCallback done;
    HttpChunkCallback on_data;  // streams 2xx bodies when set
    bool stopped_by_receiver = false;
    Url url;
    CURL* easy = nullptr;  // while on the wire
    SteadyClock::time_point deadline = SteadyClock::time_point::max();
    int redirects_left = 0;
    curl_slist* headers = nullptr;
    HttpResponse response;
    int64_t max_body = 0;
    bool too_large = false;
    char errbuf[CURL_ERROR_SIZE] = {};
    ~Transfer() { curl_slist_free_all(headers); }
  };
  using TransferPtr = std::unique_ptr<Transfer>;

  static size_t OnBody(char* data, size_t size, size_t n, void* user);
  static size_t OnHeader(char* data, size_t size, size_t n, void* user);

  void Launch(TransferPtr t);
  void OnDone(CURL* easy, CURLcode code);
  bool FollowRedirect(Transfer& t);
  void Finish(Transfer& t, Result<HttpResponse> result);

  CURL* AcquireEasy();
  void ReleaseEasy(CURL* easy);
  void Configure(CURL* e, Transfer& t, long timeout_ms);
  void ConfigureMethod(CURL* e, const HttpRequest& r);
  void ConfigureTls(CURL* e, const TlsOptions& tls);
  Status TransportError(CURLcode code, const Transfer& t, CURL* e) const;
  std::string TimeoutMessage(const Transfer& t, CURL* e) const;

  CurlHttpClient& owner_;
  CURLM* multi_ = nullptr;
  CURLSH* share_ = nullptr;
  std::vector<CURL*> idle_easies_;
  std::unordered_map<CURL*, TransferPtr> active_;
  std::string default_ca_file_;
  std::string default_ca_dir_;
  std::string http_proxy_fallback_;  // $HTTP_PROXY when $http_proxy is unset
  curl_slist* resolve_ = nullptr;    // options_.resolve, owned
};

CurlHttpClient::Loop::Loop(CurlHttpClient& owner) : owner_(owner) {
  const CurlHttpClientOptions& o = owner.options_;
  default_ca_file_ = o.default_ca_file.empty() ? Env("SSL_CERT_FILE") : o.default_ca_file;
  default_ca_dir_ = o.default_ca_dir.empty() ? Env("SSL_CERT_DIR") : o.default_ca_dir;
  if (Env("http_proxy").empty()) http_proxy_fallback_ = Env("HTTP_PROXY");

  multi_ = curl_multi_init();
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(o.max_idle_connections));
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                    static_cast<long>(o.max_connections_per_host));
  // Connections and DNS are already shared inside the multi handle; TLS
  // sessions are per easy handle unless shared, and resuming them saves a
  // full handshake on every new connection. One thread uses the share, so
  // it needs no lock callbacks.
  share_ = curl_share_init();
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  for (const std::string& pin : o.resolve) resolve_ = curl_slist_append(resolve_, pin.c_str());
}

CurlHttpClient::Loop::~Loop() {
  for (auto& [easy, t] : active_) {
    curl_multi_remove_handle(multi_, easy);
    curl_easy_cleanup(easy);
  }
  for (CURL* e : idle_easies_) curl_easy_cleanup(e);
  curl_multi_cleanup(multi_);
  curl_share_cleanup(share_);
  curl_slist_free_all(resolve_);
}

void CurlHttpClient::Loop::Start(Queued q) {
  Status valid = ValidateRequest(q.request);
  Result<Url> url = ParseUrl(q.request.url);
  if (!url.ok()) valid = url.status();
  if (!valid.ok()) return Fail(std::move(q), valid);

  auto t = std::make_unique<Transfer>();
  t->request = std::move(q.request);
  t->done = std::move(q.done);
  t->on_data = std::move(q.on_data);
  t->url = std::move(url).value();
  t->redirects_left = t->request.max_redirects;
  t->max_body = t->request.max_response_bytes > 0 ? t->request.max_response_bytes
                                                  : owner_.options_.max_response_bytes;
  if (t->request.timeout.count() > 0) t->deadline = SteadyClock::now() + t->request.timeout;
  Launch(std::move(t));
}

void CurlHttpClient::Loop::Launch(TransferPtr t) {
  long timeout_ms = 0;  // libcurl: no timeout
  if (t->deadline != SteadyClock::time_point::max()) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(t->deadline - SteadyClock::now());
    if (left.count() <= 0) return Finish(*t, DeadlineExceeded(TimeoutMessage(*t, nullptr)));
    timeout_ms = static_cast<long>(left.count());
  }
  CURL* easy = AcquireEasy();
  if (easy == nullptr) return Finish(*t, Internal("libcurl could not allocate a handle"));
  t->easy = easy;
  Configure(easy, *t, timeout_ms);
  if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
    ReleaseEasy(easy);
    return Finish(*t, Internal("libcurl refused a request to " + HostPort(t->url)));
  }
  active_.emplace(easy, std::move(t));
  owner_.requests_sent_.fetch_add(1, std::memory_order_relaxed);
  owner_.in_flight_.store(static_cast<int>(active_.size()), std::memory_order_relaxed);
}

void CurlHttpClient::Loop::Perform() {
  int running = 0;
  curl_multi_perform(multi_, &running);
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
    if (m->msg == CURLMSG_DONE) OnDone(m->easy_handle, m->data.result);
  }
}

void CurlHttpClient::Loop::OnDone(CURL* easy, CURLcode code) {
  auto it = active_.find(easy);
  if (it == active_.end()) return;
  TransferPtr t = std::move(it->second);
  active_.erase(it);
  owner_.in_flight_.store(static_cast<int>(active_.size()), std::memory_order_relaxed);
  curl_multi_remove_handle(multi_, easy);

  long connects = 0;
  curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
  owner_.connections_opened_.fetch_add(static_cast<uint64_t>(connects), std::memory_order_relaxed);
  if (code != CURLE_OK) {
    Status error = TransportError(code, *t, easy);
    ReleaseEasy(easy);
    return Finish(*t, std::move(error));
  }
  long status = 0;
  long version = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version);
  ReleaseEasy(easy);

  t->response.status = static_cast<int>(status);
  t->response.http_version = version >= CURL_HTTP_VERSION_3     ? 3
                             : version == CURL_HTTP_VERSION_2_0 ? 2
                                                                : 1;
  t->response.effective_url = t->request.url;
  if (FollowRedirect(*t)) return Launch(std::move(t));
  Finish(*t, std::move(t->response));
}

// Decides on a 3xx: when the policy of http_client.h allows it, rewrites the
// transfer for the next hop and returns true.
bool CurlHttpClient::Loop::FollowRedirect(Transfer& t) {
  int status = t.response.status;
  if (!IsFollowableRedirect(status) || t.redirects_left <= 0) return false;
  std::string location = t.response.HeaderValue("Location");
  if (location.empty()) return false;
  std::string next = ResolveReference(t.url, Trim(location));
  Result<Url> to = ParseUrl(next);
  if (!to.ok() || !IsSafeRedirect(t.url, *to)) return false;

  t.redirects_left--;
  t.url = std::move(to).value();
  t.request.url = std::move(next);
  RewriteForRedirect(status, t.request);
  curl_slist_free_all(t.headers);
  t.headers = nullptr;
  t.response = HttpResponse{};
  t.too_large = false;
  t.errbuf[0] = '\0';
  return true;
}

void CurlHttpClient::Loop::Finish(Transfer& t, Result<HttpResponse> result) {
  (result.ok() ? owner_.responses_ : owner_.failures_).fetch_add(1, std::memory_order_relaxed);
  HttpCallback done = std::move(t.done);
  // A throwing callback would end the I/O thread and every request on it.
  try {
    done(std::move(result));
  } catch (...) {
    Logger::Default().Error("HTTP client callback threw an exception; ignored",
                            {{"peer", HostPort(t.url)}});
  }
}

void CurlHttpClient::Loop::Fail(Queued q, Status status) {
  owner_.failures_.fetch_add(1, std::memory_order_relaxed);
  try {
    q.done(std::move(status));
  } catch (...) {
    Logger::Default().Error("HTTP client callback threw an exception; ignored");
  }
}

void CurlHttpClient::Loop::CancelAll() {
  auto active = std::move(active_);
  active_.clear();
  owner_.in_flight_.store(0, std::memory_order_relaxed);
  for (auto& [easy, t] : active) {
    curl_multi_remove_handle(multi_, easy);
    curl_easy_cleanup(easy);
    Finish(*t, Cancelled("request to " + HostPort(t->url) +
                         " cancelled: the HTTP client is shutting down"));
  }
}

CURL* CurlHttpClient::Loop::AcquireEasy() {
  if (idle_easies_.empty()) return curl_easy_init();
  CURL* e = idle_easies_.back();
  idle_easies_.pop_back();
  return e;
}

void CurlHttpClient::Loop::ReleaseEasy(CURL* easy) {
  if (static_cast<int>(idle_easies_.size()) >= owner_.options_.easy_handle_pool_size) {
    curl_easy_cleanup(easy);
    return;
  }
  // reset keeps the connection cache, TLS sessions and DNS cache.
  curl_easy_reset(easy);
  idle_easies_.push_back(easy);
}

size_t CurlHttpClient::Loop::OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t bytes = size * n;
  if (t->on_data) {
    // Only a 2xx body streams: an error's body (a metav1.Status) is wanted
    // whole by `done`.
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
      bool more = false;
      try {
        more = t->on_data(std::string_view(data, bytes));
      } catch (...) {
        Logger::Default().Error("HTTP stream callback threw an exception; stream stopped");
      }
      if (more) return bytes;
      t->stopped_by_receiver = true;
      return 0;  // CURLE_WRITE_ERROR
    }
  }
  std::string& body = t->response.body;
  if (static_cast<int64_t>(body.size() + bytes) > t->max_body) {
    t->too_large = true;
    return 0;  // CURLE_WRITE_ERROR
  }
  if (body.empty()) {
    // One allocation for the whole body when its length is announced.
    curl_off_t length = -1;
    curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    if (length > 0) body.reserve(static_cast<size_t>(std::min<int64_t>(length, t->max_body)));
  }
  body.append(data, bytes);
  return bytes;
}

size_t CurlHttpClient::Loop::OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t bytes = size * n;
  std::string_view line(data, bytes);
  // A new status line starts a new header block (100 Continue, a proxy's
  // CONNECT answer): keep only the final one.
  if (StartsWith(line, "HTTP/")) {
    t->response.headers.clear();
    return bytes;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  t->response.headers.push_back(
      {std::string(Trim(line.substr(0, colon))), std::string(Trim(line.substr(colon + 1)))});
  return bytes;
}

void CurlHttpClient::Loop::Configure(CURL* e, Transfer& t, long timeout_ms) {
  const HttpRequest& r = t.request;
  curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(e, CURLOPT_SHARE, share_);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Loop::OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Loop::OnHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  // Wait for a connection in progress to tell whether it multiplexes (h2)
  // rather than opening one connection per request of a burst.
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  // gzip only, as Go clients (KEDA, client-go) ask: Prometheus and the
  // API server answer gzip, and offering brotli makes servers that support
  // it (cpp-httplib, some proxies) spend far more CPU on small answers.
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt(e, CURLOPT_USERAGENT, owner_.options_.user_agent.c_str());
  if (!http_proxy_fallback_.empty() && t.url.scheme == "http") {
    curl_easy_setopt(e, CURLOPT_PROXY, http_proxy_fallback_.c_str());
  }
  if (resolve_ != nullptr) curl_easy_setopt(e, CURLOPT_RESOLVE, resolve_);

  if (t.headers == nullptr) {
    for (const Header& h : r.headers) {
      std::string line = h.value.empty() ? h.name + ";" : h.name + ": " + h.value;
      t.headers = curl_slist_append(t.headers, line.c_str());
    }
    t.headers = curl_slist_append(t.headers, "Expect:");
    if (!HasHeader(r, "Content-Type")) t.headers = curl_slist_append(t.headers, "Content-Type:");
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  ConfigureMethod(e, r);
  ConfigureTls(e, r.tls);
}

void CurlHttpClient::Loop::ConfigureMethod(CURL* e, const HttpRequest& r) {
  if (r.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    return;
  }
  bool has_body = !r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
  if (has_body) {
    // POSTFIELDS points into the request, which the Transfer owns until the
    // handle is released: no copy of the body.
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
  }
  if (r.method != "POST" && (has_body || r.method != "GET")) {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
}

void CurlHttpClient::Loop::ConfigureTls(CURL* e, const TlsOptions& tls) {
  if (tls.insecure_skip_verify) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  bool names_ca = !tls.ca_pem.empty() || !tls.ca_file.empty() || !tls.ca_dir.empty();
  const std::string& ca_file = names_ca ? tls.ca_file : default_ca_file_;
  const std::string& ca_dir = names_ca ? tls.ca_dir : default_ca_dir_;
  // A CA named by the request replaces libcurl's built-in bundle and path,
  // hence the explicit nullptr.
  if (names_ca || !ca_file.empty()) {
    curl_easy_setopt(e, CURLOPT_CAINFO, ca_file.empty() ? nullptr : ca_file.c_str());
  }
  if (names_ca || !ca_dir.empty()) {
    curl_easy_setopt(e, CURLOPT_CAPATH, ca_dir.empty() ? nullptr : ca_dir.c_str());
  }
  if (!tls.ca_pem.empty()) {
    curl_blob blob{const_cast<char*>(tls.ca_pem.data()), tls.ca_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (!tls.client_cert_pem.empty()) {
    curl_blob blob{const_cast<char*>(tls.client_cert_pem.data()), tls.client_cert_pem.size(),
                   CURL_BLOB_COPY};
    curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &blob);
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!tls.client_cert_file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLCERT, tls.client_cert_file.c_str());
  }
  const std::string& key = tls.client_key_pem.Reveal();
  if (!key.empty()) {
    curl_blob blob{const_cast<char*>(key.data()), key.size(), CURL_BLOB_COPY};
    curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &blob);
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!tls.client_key_file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLKEY, tls.client_key_file.c_str());
  }
}

std::string CurlHttpClient::Loop::TimeoutMessage(const Transfer& t, CURL* e) const {
  std::string within = " within " + FormatTimeout(t.request.timeout);
  curl_off_t connected_us = 0;
  if (e != nullptr) curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connected_us);
  if (e != nullptr && connected_us == 0) {
    return "connecting to " + HostPort(t.url) + ": no connection" + within;
  }
  return "no answer from " + HostPort(t.url) + within;
}

// Maps a libcurl failure to a code and a message naming the peer. libcurl's
// error buffer names hosts, ports, files and TLS reasons, never header
// values or bodies, so it may be quoted.
Status CurlHttpClient::Loop::TransportError(CURLcode code, const Transfer& t, CURL* e) const {
  const std::string where = HostPort(t.url);
  const std::string detail = t.errbuf[0] != '\0' ? t.errbuf : curl_easy_strerror(code);
  switch (code) {
    case CURLE_WRITE_ERROR:
      if (t.stopped_by_receiver) {
        return Cancelled("stream from " + where + " stopped by its receiver");
      }
      if (!t.too_large) break;
      return Internal("answer from " + where + " is larger than " + std::to_string(t.max_body) +
                      " bytes (the limit for this request)");
    case CURLE_COULDNT_RESOLVE_HOST:
      return Unavailable("connecting to " + where + ": host name not found (" + detail + ")");
    case CURLE_COULDNT_CONNECT: {
      long os_errno = 0;
      curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
      std::string why = os_errno != 0 ? ToLower(std::strerror(static_cast<int>(os_errno))) : detail;
      return Unavailable("connecting to " + where + ": " + why);
    }
    case CURLE_OPERATION_TIMEDOUT:
      return DeadlineExceeded(TimeoutMessage(t, e));
    case CURLE_PEER_FAILED_VERIFICATION:
      return InvalidConfig("TLS certificate of " + where + " not trusted: " + detail +
                           (Contains(detail, "subject name")
                                ? " (use a host name the certificate names, or skip verification)"
                                : " (give the CA that signed it, or skip verification)"));
    case CURLE_SSL_CACERT_BADFILE:
      return InvalidConfig("CA certificates for " + where + " cannot be loaded: " + detail);
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
      return InvalidConfig("TLS client certificate or key for " + where +
                           " cannot be used: " + detail);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return InvalidConfig("URL for " + where + " rejected: " + detail);
    case CURLE_GOT_NOTHING:
      return Unavailable(where + " closed the connection without answering");
    default:
      break;
  }
  if (ClientCertificateRejected(detail)) {
    return Unauthenticated(where + " refused the TLS client certificate (or got none): " + detail);
  }
  if (code == CURLE_SSL_CONNECT_ERROR) {
    return Unavailable("TLS handshake with " + where + " failed: " + detail);
  }
  if ((code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR) &&
      BrokeAfterNewTlsHandshake(t.url, e)) {
    // A server that rejects the client certificate often resets the
    // connection before its TLS alert can be read: say what may be wrong.
    return Unavailable("connection to " + where + " broken right after the TLS handshake: " +
                       detail + " (a server that requires a TLS client certificate does this " +
                       "when it gets none or does not accept it)");
  }
  return Unavailable("request to " + where + " failed: " + detail);
}

// ---- CurlHttpClient ----

namespace {

#ifndef EBB_VERSION
#define EBB_VERSION "dev"
#endif

// Fills defaults that are not constants and repairs impossible values (a
// client with no slot would queue forever).
CurlHttpClientOptions Normalized(CurlHttpClientOptions o) {
  if (o.user_agent.empty()) o.user_agent = "ebb/" EBB_VERSION;
  o.max_in_flight = std::max(o.max_in_flight, 1);
  o.easy_handle_pool_size = std::max(o.easy_handle_pool_size, 0);
  return o;
}

}  // namespace

CurlHttpClient::CurlHttpClient(CurlHttpClientOptions options)
    : options_(Normalized(std::move(options))) {
  InitCurlOnce();
  loop_ = std::make_unique<Loop>(*this);
  thread_ = std::thread([this] { Run(); });
}

CurlHttpClient::~CurlHttpClient() {
  assert(std::this_thread::get_id() != thread_.get_id() &&
         "CurlHttpClient destroyed from a callback");
  Shutdown();
  loop_.reset();
}

void CurlHttpClient::Send(HttpRequest request, HttpCallback done) {
  Enqueue({std::move(request), std::move(done), nullptr});
}

void CurlHttpClient::SendStreaming(HttpRequest request, HttpChunkCallback on_data,
                                   HttpCallback done) {
  Enqueue({std::move(request), std::move(done), std::move(on_data)});
}

void CurlHttpClient::Enqueue(Queued q) {
  {
    std::lock_guard lock(mu_);
    if (!stopped_) {
      // The loop drains the queue whenever it has free slots and polls
      // only when it is empty, so only the first request needs a wakeup.
      bool was_empty = queue_.empty();
      queue_.push_back(std::move(q));
      if (was_empty) loop_->Wakeup();
      return;
    }
  }
  q.done(Cancelled("HTTP client is shut down"));
}

int CurlHttpClient::InFlight() const { return in_flight_.load(std::memory_order_relaxed); }

CurlHttpClientStats CurlHttpClient::Stats() const {
  CurlHttpClientStats s;
  s.requests_sent = requests_sent_.load(std::memory_order_relaxed);
  s.connections_opened = connections_opened_.load(std::memory_order_relaxed);
  s.responses = responses_.load(std::memory_order_relaxed);
  s.failures = failures_.load(std::memory_order_relaxed);
  s.in_flight = InFlight();
  std::lock_guard lock(mu_);
  s.queued = static_cast<int>(queue_.size());
  return s;
}

void CurlHttpClient::Shutdown() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  loop_->Wakeup();
  if (std::this_thread::get_id() == thread_.get_id()) return;  // from a callback
  std::call_once(join_once_, [this] { thread_.join(); });
}

std::deque<CurlHttpClient::Queued> CurlHttpClient::TakeQueued(int max, bool* stop) {
  std::deque<Queued> batch;
  std::lock_guard lock(mu_);
  *stop = stopping_;
  if (stopping_) return batch;
  if (static_cast<int>(queue_.size()) <= max) {
    batch.swap(queue_);
    return batch;
  }
  for (int i = 0; i < max; ++i) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return batch;
}

void CurlHttpClient::Run() {
  while (true) {
    bool stop = false;
    std::deque<Queued> batch = TakeQueued(loop_->FreeSlots(), &stop);
    if (stop) break;
    for (Queued& q : batch) loop_->Start(std::move(q));
    loop_->Perform();
    bool more_to_start = false;
    if (loop_->FreeSlots() > 0) {
      std::lock_guard lock(mu_);
      more_to_start = !queue_.empty() || stopping_;
    }
    if (!more_to_start) loop_->Poll(kIdlePollMs);
  }
  loop_->CancelAll();
  // Callbacks of cancelled requests may Send again: drain until the queue
  // stays empty, then refuse new requests (Send answers them itself).
  while (true) {
    std::deque<Queued> rest;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) {
        stopped_ = true;
        return;
      }
      rest.swap(queue_);
    }
    for (Queued& q : rest) loop_->Fail(std::move(q), Cancelled("HTTP client is shutting down"));
  }
}

}  // namespace ebb::http
