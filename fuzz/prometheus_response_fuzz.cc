// Fuzz target: Prometheus HTTP API answers (instant and range queries,
// error bodies), as a server or anything in between may send them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "prometheus/response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  for (bool ignore_null : {false, true}) {
    (void)ebb::prometheus::ParseQueryResponse(body, ignore_null);
    (void)ebb::prometheus::ParseRangeResponse(body, ignore_null);
  }
  (void)ebb::prometheus::ParseErrorBody(body);
  for (int status : {400, 401, 422, 503}) (void)ebb::prometheus::HttpErrorStatus(status, body, "bearer token from Secret s");
  return 0;
}
