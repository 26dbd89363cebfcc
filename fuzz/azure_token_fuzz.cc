// Fuzz target: Azure AD / IMDS token endpoint answers, successes and errors.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth/azure_aad_errors.h"
#include "auth/azure_token_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)ebb::auth::ParseAzureTokenSuccess(body, ebb::FromUnixSeconds(1.7e9));
  for (int status : {400, 401, 429, 500}) {
    ebb::auth::AadError e = ebb::auth::ParseAadError(status, body, "secret");
    if (e.aadsts) (void)ebb::auth::KnownAadstsTitle(*e.aadsts);
  }
  (void)ebb::auth::SanitizeServerText(body, "secret");
  return 0;
}
