// Entra ID (Azure AD) error answers: parsing them into code, AADSTS number
// and description, and turning them into Status values that say what is
// wrong and what to change.
//
//   AadError e = ParseAadError(resp.status, resp.body, /*scrub=*/assertion.Reveal());
//   Status s = MapAadError(e, context);   // AADSTS70021 -> names issuer, subject, audience
//
// Secrets: the description is reduced to its first line (Entra's trace,
// correlation and timestamp lines are dropped), anything shaped like a JWT
// and the `scrub` text are replaced by REDACTED, and the text is capped
// (SanitizeServerText). The raw body is never kept.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/jwt_claims.h"
#include "common/status.h"

namespace ebb::auth {

// The useful part of an Entra ID (or IMDS) error answer. Value type.
struct AadError {
  int http_status = 0;
  std::string error;               // "invalid_client", "" when absent
  std::optional<int64_t> aadsts;   // error_codes[0], else from "AADSTSnnnn:" in the description
  std::string description;         // first line, sanitized (see file comment)
  bool body_was_json = false;
};

// Parses an error answer. Any body is accepted (HTML from a proxy, empty):
// the result then has only http_status. Occurrences of `scrub` (the
// assertion that was sent) are replaced by REDACTED as well.
AadError ParseAadError(int http_status, std::string_view body, std::string_view scrub = {});

// What the failed exchange was, so that messages can name it. No secrets.
struct AadErrorContext {
  std::string client_id;
  std::string tenant_id;
  std::string authority_host;
  std::string scope;
  std::string token_file;
  // Claims of the service-account token that was presented, when readable.
  std::optional<JwtClaims> assertion;
};

// One Status per case, with cause and fix:
// - federated credential mismatches (70021, 700211, 700212, 700213), unknown
//   application (700016), unknown tenant (90002), bad scope (70011), no
//   assertion (7000218): kInvalidConfig -- someone must change Azure or ebb
//   configuration (the cache still retries with backoff, since Azure-side
//   fixes need no restart and 700213 is sometimes transient);
// - stale or invalid assertion (700024, 50027): kUnauthenticated -- the
//   credential itself is bad, a fresh projected token fixes it;
// - issuer unreachable (90061), loop detection (50196), HTTP 429 and 5xx:
//   kUnavailable;
// - any other 4xx: kUnauthenticated with Entra's first description line.
Status MapAadError(const AadError& error, const AadErrorContext& context);

// Stable short name of the AADSTS codes ebb explains ("70021"...), or
// nullptr for codes it does not know. Exposed for doctor and tests.
const char* KnownAadstsTitle(int64_t code);

}  // namespace ebb::auth
