// RS256 JSON Web Tokens for the Azure emulators: signing keys, signing,
// decoding, verification against a public key or a JWKS, and JWKs built
// from RSA public keys.
//
//   RsaSigningKey key = RsaSigningKey::Generate().value();
//   std::string token = SignJwt(key, {{"iss", "https://issuer"}, {"sub", "me"}}).value();
//   DecodedJwt jwt = DecodeJwt(token).value();
//   Status s = VerifyJwt(jwt, key.public_key_pem());     // or VerifyJwtWithJwks(jwt, jwks)
//
// Only RS256 is accepted when verifying (no algorithm confusion: "none",
// HS256 and everything else are rejected). Library code for tests and
// ebb-testenv only.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ebb::testing::azure {

// An RSA private key with its key id. Immutable after creation; safe to
// share between threads (const methods only). Copyable (shares the key).
class RsaSigningKey {
 public:
  // A fresh 2048-bit key. kid = base64url(SHA-256(DER SubjectPublicKeyInfo)),
  // as Kubernetes names its service-account signing keys.
  static Result<RsaSigningKey> Generate();
  // From a PKCS#8 (or traditional) PEM private key. kInvalidConfig if unreadable.
  static Result<RsaSigningKey> FromPrivateKeyPem(const std::string& pem);

  const std::string& kid() const { return kid_; }
  const std::string& public_key_pem() const { return public_key_pem_; }
  // {"kty":"RSA","alg":"RS256","use":"sig","kid":...,"n":...,"e":...}
  nlohmann::json Jwk() const;
  // RSASSA-PKCS1-v1_5 with SHA-256 over `data`; raw signature bytes.
  Result<std::string> Sign(std::string_view data) const;

 private:
  struct Key;
  std::shared_ptr<Key> key_;
  std::string kid_;
  std::string public_key_pem_;
};

// Returns a compact JWS: header {"alg":"RS256","kid":key.kid()} plus
// `extra_header` fields (default {"typ":"JWT"}), the claims, and the RS256
// signature.
Result<std::string> SignJwt(const RsaSigningKey& key, const nlohmann::json& claims,
                            const nlohmann::json& extra_header = {{"typ", "JWT"}});

struct DecodedJwt {
  nlohmann::json header;
  nlohmann::json claims;
  std::string signing_input;  // "<header b64>.<claims b64>"
  std::string signature;      // raw bytes
};

// Splits and decodes a compact JWS without verifying it. kUnauthenticated
// when it is not three base64url parts of which the first two are JSON objects.
Result<DecodedJwt> DecodeJwt(std::string_view token);

// Verifies an RS256 signature with an SPKI PEM public key.
// kUnauthenticated when alg is not RS256 or the signature does not verify.
Status VerifyJwt(const DecodedJwt& jwt, const std::string& public_key_pem);

// Verifies against a JWKS ({"keys":[...]}): the key whose kid matches the
// header's kid (every RSA key when the header has no kid).
// kUnauthenticated when no key matches or the signature does not verify.
Status VerifyJwtWithJwks(const DecodedJwt& jwt, const nlohmann::json& jwks);

// The JWK of an RSA public key (SPKI PEM); kInvalidConfig if unreadable.
Result<nlohmann::json> JwkFromPublicKeyPem(const std::string& public_key_pem,
                                           const std::string& kid);
// The SPKI PEM of an RSA JWK (n, e base64url); kInvalidConfig if malformed.
Result<std::string> PublicKeyPemFromJwk(const nlohmann::json& jwk);

// The string member `name` of a JSON object; "" when absent or not a
// string (never throws, unlike nlohmann's value()).
std::string StringField(const nlohmann::json& object, const std::string& name);

// Reads a NumericDate claim (number, or numeric string); nullopt if absent
// or malformed.
std::optional<int64_t> NumericClaim(const nlohmann::json& claims, const std::string& name);

// True when the "aud" claim (string or array of strings) contains `audience`.
bool AudienceContains(const nlohmann::json& claims, const std::string& audience);
// The "aud" claim as text, for error messages ("a" or "a, b").
std::string AudienceText(const nlohmann::json& claims);

}  // namespace ebb::testing::azure
