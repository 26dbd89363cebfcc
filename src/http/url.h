// URL helpers: parsing the parts ebb needs (scheme, host, port, path),
// percent-encoding query components, and building query strings.
//
//   Url u = ParseUrl("https://prom.example:9090/base").value();
//   std::string q = BuildQuery({{"query", "sum(rate(x{a=\"b\"}[1m]))"}, {"time", "..."}});
//   // -> query=sum%28rate%28x%7Ba%3D%22b%22%7D%5B1m%5D%29%29&time=...
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace ebb::http {

struct Url {
  std::string scheme;  // lower case: "http" | "https"
  std::string host;    // without brackets for IPv6
  int port = 0;        // explicit or the scheme's default
  std::string path;    // "" or starting with '/'
  std::string query;   // without '?'
  bool explicit_port = false;

  // "scheme://host[:port]" (IPv6 bracketed; default port omitted).
  std::string Origin() const;
};

// Parses an absolute http(s) URL. kInvalidConfig naming the URL and what is
// wrong (no scheme, unsupported scheme, empty host, bad port).
Result<Url> ParseUrl(std::string_view url);

// RFC 3986 percent-encoding: unreserved characters (A-Z a-z 0-9 - . _ ~)
// stay, every other byte becomes %XX (space is %20, '+' is %2B), so UTF-8
// and PromQL's {}"=~ survive any server's decoding.
std::string PercentEncode(std::string_view s);

// "k1=v1&k2=v2" with both sides percent-encoded, in the given order.
std::string BuildQuery(const std::vector<std::pair<std::string, std::string>>& params);

// Resolves a Location header against the URL it came from (absolute,
// scheme-relative "//host/..", absolute-path "/..", or relative).
std::string ResolveReference(const Url& base, std::string_view location);

// True when `to` keeps the same host and port as `from` and does not
// downgrade https to http: the only redirects ebb follows with credentials.
bool IsSafeRedirect(const Url& from, const Url& to);

}  // namespace ebb::http
