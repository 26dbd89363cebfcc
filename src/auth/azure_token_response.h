// Reading Azure token endpoint success answers (Entra ID v2 token endpoint,
// and the v1/IMDS shape with numbers as strings). Errors: azure_aad_errors.h.
//
//   Result<AccessToken> t = ParseAzureTokenSuccess(resp.body, clock.Now());
//
// Secrets: no function here copies the access token or the raw body into
// a message; messages give the body's size, never its content.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "auth/token_source.h"
#include "common/clock.h"
#include "common/status.h"

namespace ebb::auth {

// Parses a success body: access_token (required), expires_in (number or
// numeric string; wins when present), else expires_on (epoch seconds,
// number or numeric string), refresh_in (optional), token_type ("Bearer"
// when present). `audience` and `tenant` of the result come from the
// token's claims when it is a readable JWT, else stay empty.
// kInternal when the body is not JSON, lacks access_token or any expiry, or
// names another token type; messages give the body's size, not its content.
Result<AccessToken> ParseAzureTokenSuccess(std::string_view body, Time now);

// Replaces every JWT-shaped run (16 or more base64url or '.' characters
// starting with "eyJ", the encoding of '{"': a JWT or a part of one) and
// every occurrence of `scrub` in `text` by REDACTED; caps the result at
// `max_len` characters.
std::string SanitizeServerText(std::string_view text, std::string_view scrub, size_t max_len = 400);

}  // namespace ebb::auth
