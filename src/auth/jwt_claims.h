// JwtClaims: the payload claims of a JSON Web Token, decoded WITHOUT
// verifying the signature. ebb never trusts these claims; it reads them to
// explain failures: which issuer, subject and audience a federated token
// carried (AADSTS70021), and which audience and expiry an access token had
// when Prometheus answered 401.
//
//   Result<JwtClaims> c = DecodeJwtClaims(assertion.Reveal());
//   if (c.ok()) msg += "issuer \"" + c->iss + "\", subject \"" + c->sub + "\"";
//
// Nothing here returns, logs or puts into an error the raw token.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace ebb::auth {

// Value type. Claims absent from the token are empty / nullopt.
struct JwtClaims {
  std::string iss;
  std::string sub;
  std::vector<std::string> aud;  // "aud" may be a string or an array
  std::optional<Time> exp;
  std::optional<Time> nbf;
  std::optional<Time> iat;
  std::string tid;    // Entra tenant id
  std::string appid;  // Entra v1 tokens: client id of the caller
  std::string azp;    // Entra v2 tokens: client id of the caller
  std::string oid;    // Entra object id of the principal

  // The audiences joined by ", " ("" when none).
  std::string AudienceText() const;
};

// Decodes the payload (second dot-separated part, base64url) of `jwt`.
// kInvalidConfig when `jwt` is not three dot-separated parts or the payload
// is not a JSON object; the message never quotes the input.
Result<JwtClaims> DecodeJwtClaims(std::string_view jwt);

}  // namespace ebb::auth
