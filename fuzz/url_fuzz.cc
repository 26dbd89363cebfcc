// Fuzz target: URLs (server addresses, redirect locations) and the redirect
// policy that decides whether credentials may follow.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ebb::Result<ebb::http::Url> url = ebb::http::ParseUrl(text);
  (void)ebb::http::PercentEncode(text);
  ebb::Result<ebb::http::Url> base = ebb::http::ParseUrl("https://prometheus.example:9090/api/v1/query");
  if (!base.ok()) __builtin_trap();
  std::string next = ebb::http::ResolveReference(*base, text);
  ebb::Result<ebb::http::Url> to = ebb::http::ParseUrl(next);
  if (to.ok()) (void)ebb::http::IsSafeRedirect(*base, *to);
  if (url.ok()) (void)ebb::http::IsSafeRedirect(*url, *base);
  return 0;
}
