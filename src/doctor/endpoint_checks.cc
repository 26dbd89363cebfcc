// endpoint.*: can the operator reach serverAddress at all? A libcurl probe
// with CURLOPT_CONNECT_ONLY (DNS, TCP connect, TLS handshake, no request),
// with the same --resolve pins, proxy and trust the HttpClient uses, so that
// what it reports is what the query will meet.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <sys/socket.h>

#include "common/strings.h"
#include "doctor/checks.h"
#include "http/url.h"
#include "prometheus/request.h"

namespace ebb::doctor {

namespace {

// What one connect-only attempt saw.
struct Probe {
  CURLcode code = CURLE_OK;
  std::string error;    // libcurl's error buffer
  std::string address;  // "ip:port" connected to
  bool tcp_connected = false;
  std::string subject, issuer, expires;  // of the server certificate
};

std::string CertField(curl_slist* fields, const char* name) {
  std::string prefix = std::string(name) + ":";
  for (curl_slist* f = fields; f != nullptr; f = f->next) {
    std::string_view line(f->data);
    if (StartsWith(line, prefix)) return std::string(Trim(line.substr(prefix.size())));
  }
  return "";
}

void ReadCertificate(CURL* e, Probe& p) {
  curl_certinfo* info = nullptr;
  if (curl_easy_getinfo(e, CURLINFO_CERTINFO, &info) != CURLE_OK || info == nullptr) return;
  if (info->num_of_certs < 1) return;
  p.subject = CertField(info->certinfo[0], "Subject");
  p.issuer = CertField(info->certinfo[0], "Issuer");
  p.expires = CertField(info->certinfo[0], "Expire date");
}

// Failures that happen only once TCP is connected: libcurl reports no
// connect time for a transfer that failed during the handshake.
bool IsTlsFailure(CURLcode code, const std::string& error) {
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return true;
    case CURLE_OPERATION_TIMEDOUT:
      return error.find("SSL") != std::string::npos;
    default:
      return false;
  }
}

void ReadConnection(CURL* e, Probe& p) {
  curl_off_t connect_us = 0;
  curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect_us);
  p.tcp_connected = connect_us > 0 || IsTlsFailure(p.code, p.error);
  char* ip = nullptr;
  long port = 0;
  curl_easy_getinfo(e, CURLINFO_PRIMARY_IP, &ip);
  curl_easy_getinfo(e, CURLINFO_PRIMARY_PORT, &port);
  if (ip != nullptr && *ip != '\0') p.address = std::string(ip) + ":" + std::to_string(port);
}

// One connect-only attempt; `verify` false only to show what an untrusted
// server presents.
Probe RunProbe(const std::string& url, const std::string& proxy, const http::TlsOptions& tls,
               const DoctorContext& ctx, bool verify) {
  Probe p;
  CURL* e = curl_easy_init();
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_slist* pins = nullptr;
  for (const std::string& pin : ctx.resolve) pins = curl_slist_append(pins, pin.c_str());
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(ctx.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(ctx.connect_timeout.count()) * 2);
  curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
  curl_easy_setopt(e, CURLOPT_PROXY, proxy.c_str());  // "" disables proxies
  if (pins != nullptr) curl_easy_setopt(e, CURLOPT_RESOLVE, pins);
  curl_blob ca{const_cast<char*>(tls.ca_pem.data()), tls.ca_pem.size(), CURL_BLOB_COPY};
  if (!tls.ca_pem.empty()) {
    curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca);
  } else if (!ctx.ca_file.empty()) {
    curl_easy_setopt(e, CURLOPT_CAINFO, ctx.ca_file.c_str());
  }
  if (!verify || tls.insecure_skip_verify) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  p.code = curl_easy_perform(e);
  p.error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(p.code);
  ReadConnection(e, p);
  if (p.code == CURLE_OK) ReadCertificate(e, p);
  curl_easy_cleanup(e);
  curl_slist_free_all(pins);
  return p;
}

// The --resolve pin for host:port, or "".
std::string PinnedAddress(const std::string& host, int port, const std::vector<std::string>& pins) {
  std::string prefix = host + ":" + std::to_string(port) + ":";
  for (const std::string& pin : pins) {
    if (ToLower(pin).rfind(ToLower(prefix), 0) == 0) return pin.substr(prefix.size());
  }
  return "";
}

// getaddrinfo's answer as "a, b, c" in *addresses; returns its error code.
int ResolveHost(const std::string& host, std::string* addresses) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0) return rc;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw =
        a->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if (inet_ntop(a->ai_family, raw, text, sizeof(text)) == nullptr) continue;
    if (addresses->find(text) != std::string::npos) continue;
    *addresses += (addresses->empty() ? "" : ", ") + std::string(text);
  }
  freeaddrinfo(found);
  return 0;
}

CheckResult CheckDns(const http::Url& u, const std::string& proxy, const DoctorContext& ctx,
                     const std::string& scope) {
  CheckResult r = NewCheck("endpoint.dns", scope);
  std::string pinned = PinnedAddress(u.host, u.port, ctx.resolve);
  if (!pinned.empty()) {
    r.detail = u.host + " pinned by --resolve to " + pinned;
    return r;
  }
  if (!proxy.empty()) {
    r.detail = u.host + " is resolved by the proxy " + RedactUrl(proxy);
    return r;
  }
  std::string addresses;
  int rc = ResolveHost(u.host, &addresses);
  if (rc != 0) {
    r.status = CheckResult::kFail;
    r.detail = u.host + " does not resolve: " + gai_strerror(rc);
    r.fix =
        "check the host name in serverAddress; in a cluster, check that the pod can reach "
        "DNS (CoreDNS, egress to port 53) and, for a private endpoint, the private DNS zone";
    return r;
  }
  r.detail = u.host + " resolves to " + addresses;
  return r;
}

CheckResult TcpResult(const http::Url& u, const Probe& p, const DoctorContext& ctx,
                      const std::string& scope) {
  CheckResult r = NewCheck("endpoint.tcp", scope);
  std::string target = u.host + ":" + std::to_string(u.port);
  if (p.tcp_connected || p.code == CURLE_OK) {
    r.detail = "connected to " + target + (p.address.empty() ? "" : " (" + p.address + ")");
    return r;
  }
  r.status = CheckResult::kFail;
  if (p.code == CURLE_OPERATION_TIMEDOUT) {
    r.detail = "no answer from " + target + " within " +
               std::to_string(ctx.connect_timeout.count()) +
               " ms: packets are dropped on the way (" + p.error + ")";
    r.fix = "allow egress from the operator's pod to " + target +
            ": a NetworkPolicy, an egress firewall rule (Azure Firewall, NSG) or a missing "
            "private endpoint route is the usual cause";
    return r;
  }
  r.detail = "cannot connect to " + target + ": " + p.error;
  r.fix =
      "check the host and port of serverAddress and that the server listens there; a "
      "NetworkPolicy or egress rule that rejects the connection has the same symptom";
  return r;
}

CheckResult TlsResult(const std::string& url, const std::string& proxy, const http::TlsOptions& tls,
                      const Probe& p, const DoctorContext& ctx, const std::string& scope) {
  CheckResult r = NewCheck("endpoint.tls", scope);
  if (p.code == CURLE_OK) {
    r.detail = "certificate subject \"" + p.subject + "\", issuer \"" + p.issuer + "\", expires " +
               p.expires + (tls.insecure_skip_verify ? " (NOT verified: unsafeSsl is true)" : "");
    if (tls.insecure_skip_verify) {
      r.status = CheckResult::kWarn;
      r.fix = "give the server's CA as `ca` in the TriggerAuthentication instead of unsafeSsl";
    }
    return r;
  }
  r.status = CheckResult::kFail;
  r.detail = "TLS handshake failed: " + p.error;
  if (p.code == CURLE_PEER_FAILED_VERIFICATION) {
    Probe seen = RunProbe(url, proxy, tls, ctx, /*verify=*/false);
    if (seen.code == CURLE_OK) {
      r.detail += "; the server presents subject \"" + seen.subject + "\", issuer \"" +
                  seen.issuer + "\", expiring " + seen.expires;
    }
    r.fix =
        "if the server's CA is private, give it as `ca` in the TriggerAuthentication (or in "
        "SSL_CERT_FILE); make sure serverAddress uses a name on the certificate";
    return r;
  }
  r.fix =
      "check that serverAddress's port serves HTTPS (not plain HTTP) and that no proxy "
      "intercepts TLS";
  return r;
}

CheckResult ProxyResult(const std::string& url, const std::string& proxy, const DoctorContext& ctx,
                        const std::string& scope) {
  CheckResult r = NewCheck("endpoint.proxy", scope);
  std::string no_proxy;
  for (const char* name : {"no_proxy", "NO_PROXY"}) {
    auto it = ctx.env.find(name);
    if (it != ctx.env.end() && !it->second.empty()) no_proxy = it->second;
  }
  if (proxy.empty()) {
    r.detail = "no proxy for " + url + (no_proxy.empty() ? "" : " (no_proxy=" + no_proxy + ")");
  } else {
    r.detail = "connections go through the proxy " + RedactUrl(proxy) +
               (no_proxy.empty() ? "" : " (no_proxy=" + no_proxy + ")");
  }
  return r;
}

std::string WithoutQuery(const std::string& url) { return url.substr(0, url.find('?')); }

}  // namespace

std::vector<CheckResult> CheckEndpoint(const TriggerUnderTest& t, const DoctorContext& ctx) {
  std::string scope = t.Scope();
  std::string url = prometheus::QueryEndpoint(*t.config);
  Result<http::Url> u = http::ParseUrl(url);
  std::vector<CheckResult> out;
  std::string proxy = ProxyFor(url, ctx.env);
  out.push_back(ProxyResult(WithoutQuery(t.config->server_address), proxy, ctx, scope));
  if (!u.ok()) return out;  // manifest.trigger already validated it
  out.push_back(CheckDns(*u, proxy, ctx, scope));
  if (out.back().status == CheckResult::kFail) return out;
  http::TlsOptions tls = prometheus::BuildQueryRequest(*t.config, ctx.clock->Now()).tls;
  auto ca = t.params.find("ca");
  if (ca != t.params.end()) tls.ca_pem = ca->second.Reveal();  // a CA certificate: not secret
  Probe p = RunProbe(url, proxy, tls, ctx, /*verify=*/true);
  out.push_back(TcpResult(*u, p, ctx, scope));
  if (out.back().status == CheckResult::kFail || u->scheme != "https") return out;
  out.push_back(TlsResult(url, proxy, tls, p, ctx, scope));
  return out;
}

std::string ProxyFor(const std::string& url, const auth::Environment& env) {
  auto get = [&env](const char* name) -> std::string {
    auto it = env.find(name);
    return it == env.end() ? "" : it->second;
  };
  Result<http::Url> u = http::ParseUrl(url);
  if (!u.ok()) return "";
  std::string no_proxy = get("no_proxy").empty() ? get("NO_PROXY") : get("no_proxy");
  for (const std::string& item : Split(no_proxy, ',')) {
    std::string entry = ToLower(Trim(item));
    if (entry.empty()) continue;
    if (entry == "*") return "";
    if (!entry.empty() && entry[0] == '.') entry = entry.substr(1);
    std::string host = ToLower(u->host);
    if (host == entry || EndsWith(host, "." + entry)) return "";
  }
  std::string proxy;
  if (u->scheme == "https")
    proxy = get("https_proxy").empty() ? get("HTTPS_PROXY") : get("https_proxy");
  if (u->scheme == "http")
    proxy = get("http_proxy").empty() ? get("HTTP_PROXY") : get("http_proxy");
  if (proxy.empty()) proxy = get("all_proxy").empty() ? get("ALL_PROXY") : get("all_proxy");
  return proxy;
}

}  // namespace ebb::doctor
