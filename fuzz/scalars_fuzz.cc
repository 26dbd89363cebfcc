// Fuzz target: the small parsers of user-written values: Go durations,
// timeouts, Kubernetes quantities, numbers, booleans, RFC 3339 times,
// base64, KEDA's "k=v,k2=v2" lists, and JSON string escaping.
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/decoder.h"
#include "common/clock.h"
#include "common/duration.h"
#include "common/strings.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (auto d = ebb::ParseGoDuration(text); d.ok()) (void)ebb::FormatDuration(*d);
  (void)ebb::ParseTimeout(text);
  (void)ebb::api::ParseQuantity(text);
  if (auto v = ebb::ParseDouble(text)) (void)ebb::FormatDouble(*v);
  (void)ebb::ParseInt(text);
  (void)ebb::ParseBool(text);
  ebb::Time t;
  if (ebb::ParseRfc3339(text, &t)) (void)ebb::FormatRfc3339(t);
  (void)ebb::Base64Decode(text);
  (void)ebb::ParseKeyValueList(text);
  (void)ebb::JsonEscape(text);
  return 0;
}
