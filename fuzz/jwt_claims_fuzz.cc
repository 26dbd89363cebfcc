// Fuzz target: JWT claims decoding (service-account tokens, Entra tokens).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth/jwt_claims.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view jwt(reinterpret_cast<const char*>(data), size);
  ebb::Result<ebb::auth::JwtClaims> claims = ebb::auth::DecodeJwtClaims(jwt);
  if (claims.ok()) (void)claims->AudienceText();
  return 0;
}
