#include "auth/token_destination.h"

#include <algorithm>
#include <cctype>

#include "common/strings.h"
#include "http/url.h"

namespace ebb::auth {

namespace {

constexpr std::string_view kWildcard = "*.";

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == ':' || c == '_';
}

std::string JoinPatterns(const std::vector<std::string>& patterns) {
  std::string out;
  for (const std::string& p : patterns) out += (out.empty() ? "" : ", ") + p;
  return out.empty() ? "none" : out;
}

}  // namespace

Status ValidateDestinationPattern(std::string_view pattern) {
  std::string_view host = pattern;
  if (StartsWith(host, kWildcard)) host.remove_prefix(kWildcard.size());
  const std::string quoted = "token destination \"" + std::string(pattern) + "\"";
  if (host.empty() || host.find('*') != std::string_view::npos) {
    return InvalidConfig(quoted + ": use a host (prom.example.com) or \"*.\" and a domain (*.example.com)");
  }
  for (char c : host) {
    if (!IsHostChar(c)) {
      return InvalidConfig(quoted + " is not a host name: give the host only, without scheme, port or path");
    }
  }
  const auto colons = std::count(host.begin(), host.end(), ':');
  if (colons == 1) return InvalidConfig(quoted + ": give the host only, without a port");
  if (host.find('.') == std::string_view::npos && host != "localhost" && colons == 0) {
    return InvalidConfig(quoted + " names a top-level domain; give the full host name");
  }
  return Status::Ok();
}

TokenDestinations::TokenDestinations(std::vector<std::string> patterns) {
  for (std::string& p : patterns) patterns_.push_back(ToLower(p));
}

bool TokenDestinations::Allows(std::string_view host) const {
  const std::string h = ToLower(host);
  for (const std::string& p : patterns_) {
    if (StartsWith(p, kWildcard)) {
      if (EndsWith(h, std::string_view(p).substr(1)) && h.size() > p.size() - 1) return true;
    } else if (h == p) {
      return true;
    }
  }
  return false;
}

Status TokenDestinations::Check(const std::string& url, const std::string& what) const {
  Result<http::Url> u = http::ParseUrl(url);
  if (!u.ok()) return u.status();
  if (Allows(u->host)) return Status::Ok();
  return InvalidConfig(
      "refusing to send the " + what + " to " + u->host + ": the operator's identity is sent only to "
      "hosts its own configuration allows (" + JoinPatterns(patterns_) + "), never to a host a "
      "namespace chooses. Fix: point serverAddress at the managed Prometheus query endpoint, or, "
      "if " + u->host + " is an endpoint the operator trusts, start ebb with --token-destination " + u->host);
}

TokenDestinations AzureTokenDestinations(const std::vector<std::string>& extra) {
  std::vector<std::string> all(std::begin(kAzureManagedPrometheusDomains), std::end(kAzureManagedPrometheusDomains));
  all.insert(all.end(), extra.begin(), extra.end());
  return TokenDestinations(std::move(all));
}

}  // namespace ebb::auth
