#include "http/url.h"

#include <cctype>

#include "common/strings.h"

namespace ebb::http {

std::string Url::Origin() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  bool default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  return scheme + "://" + h + (default_port ? "" : ":" + std::to_string(port));
}

Result<Url> ParseUrl(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return InvalidConfig("\"" + std::string(text) + "\" is not a valid URL: " + why);
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

std::string ResolveReference(const Url& base, std::string_view location) {
  if (location.find("://") != std::string_view::npos) return std::string(location);
  if (StartsWith(location, "//")) return base.scheme + ":" + std::string(location);
  if (StartsWith(location, "/")) return base.Origin() + std::string(location);
  std::string dir = base.path.substr(0, base.path.rfind('/') + 1);
  if (dir.empty()) dir = "/";
  return base.Origin() + dir + std::string(location);
}

bool IsSafeRedirect(const Url& from, const Url& to) {
  if (from.host != to.host || from.port != to.port) return false;
  return !(from.scheme == "https" && to.scheme != "https");
}

}  // namespace ebb::http
