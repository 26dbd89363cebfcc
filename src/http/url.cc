#include "http/url.h"

#include <cctype>

#include "common/secret.h"
#include "common/strings.h"

namespace ebb::http {

std::string Url::Origin() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  bool default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  return scheme + "://" + h + (default_port ? "" : ":" + std::to_string(port));
}

Result<Url> ParseUrl(std::string_view text) {
  // Userinfo and the query may hold secrets: quote only what cannot.
  auto bad = [&](const std::string& why) {
    std::string shown = RedactUrl(text);
    size_t q = shown.find_first_of("?#");
    if (q != std::string::npos) shown = shown.substr(0, q) + "?...";
    return InvalidConfig("\"" + shown + "\" is not a valid URL: " + why);
  };
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) return bad("it has no scheme (use http:// or https://)");
  Url u;
  u.scheme = ToLower(text.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https") return bad("scheme must be http or https");
  std::string_view rest = text.substr(sep + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? "" : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    return bad("credentials in the URL are not supported; use a TriggerAuthentication");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed IPv6 bracket");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after IPv6 address");
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (u.host.empty()) return bad("the host is empty");
  u.host = ToLower(u.host);
  u.port = u.scheme == "https" ? 443 : 80;
  if (!port_text.empty()) {
    auto p = ParseInt(port_text);
    if (!p || *p <= 0 || *p > 65535) return bad("bad port \"" + std::string(port_text) + "\"");
    u.port = static_cast<int>(*p);
    u.explicit_port = true;
  }
  size_t hash = tail.find('#');
  if (hash != std::string_view::npos) tail = tail.substr(0, hash);
  size_t q = tail.find('?');
  u.path = std::string(tail.substr(0, q));
  if (q != std::string_view::npos) u.query = std::string(tail.substr(q + 1));
  return u;
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string BuildQuery(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += PercentEncode(k);
    out += '=';
    out += PercentEncode(v);
  }
  return out;
}

namespace {

// RFC 3986 section 5.2.4: removes "." and ".." segments.
std::string RemoveDotSegments(std::string_view path) {
  std::vector<std::string> out;
  for (const std::string& seg : Split(path.substr(path.empty() || path[0] != '/' ? 0 : 1), '/')) {
    if (seg == ".") continue;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(seg);
  }
  std::string joined = "/";
  for (size_t i = 0; i < out.size(); ++i) joined += (i ? "/" : "") + out[i];
  if ((EndsWith(path, "/.") || EndsWith(path, "/..")) && joined.back() != '/') joined += '/';
  return joined;
}

bool HasScheme(std::string_view ref) {
  size_t colon = ref.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i) {
    char c = ref[i];
    bool ok = std::isalpha(static_cast<unsigned char>(c)) ||
              (i > 0 && (std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'));
    if (!ok) return false;
  }
  return true;
}

}  // namespace

// RFC 3986 section 5.2.2 for the forms a Location header takes.
std::string ResolveReference(const Url& base, std::string_view location) {
  if (HasScheme(location)) return std::string(location);
  if (StartsWith(location, "//")) return base.scheme + ":" + std::string(location);
  std::string base_query = base.query.empty() ? "" : "?" + base.query;
  if (location.empty()) return base.Origin() + (base.path.empty() ? "/" : base.path) + base_query;
  if (location.front() == '?') return base.Origin() + (base.path.empty() ? "/" : base.path) + std::string(location);
  if (location.front() == '#') return base.Origin() + (base.path.empty() ? "/" : base.path) + base_query;
  size_t tail = location.find_first_of("?#");
  std::string_view path = location.substr(0, tail);
  std::string rest(tail == std::string_view::npos ? "" : location.substr(tail));
  std::string merged;
  if (path.front() == '/') {
    merged = std::string(path);
  } else {
    std::string dir = base.path.substr(0, base.path.rfind('/') + 1);
    merged = (dir.empty() ? "/" : dir) + std::string(path);
  }
  return base.Origin() + RemoveDotSegments(merged) + rest;
}

bool IsSafeRedirect(const Url& from, const Url& to) {
  if (from.host != to.host || from.port != to.port) return false;
  return !(from.scheme == "https" && to.scheme != "https");
}

}  // namespace ebb::http
