#include "common/secret.h"

namespace ebb {

std::string Redact(std::string_view secret) { return secret.empty() ? "" : "REDACTED"; }

std::string RedactUrl(std::string_view url) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string_view authority = url.substr(start, end == std::string_view::npos ? url.npos : end - start);
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, start));
  out += "REDACTED@";
  out += url.substr(start + at + 1);
  return out;
}

bool ContainsSecret(std::string_view text, std::string_view secret) {
  return !secret.empty() && text.find(secret) != std::string_view::npos;
}

}  // namespace ebb
