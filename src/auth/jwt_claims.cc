#include "auth/jwt_claims.h"

#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace ebb::auth {

namespace {

using nlohmann::json;

std::string StringClaim(const json& payload, const char* name) {
  auto it = payload.find(name);
  return it != payload.end() && it->is_string() ? it->get<std::string>() : "";
}

// NumericDate (RFC 7519): seconds since the epoch, possibly fractional.
std::optional<Time> TimeClaim(const json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end() || !it->is_number()) return std::nullopt;
  return FromUnixSeconds(it->get<double>());
}

std::vector<std::string> AudienceClaim(const json& payload) {
  std::vector<std::string> out;
  auto it = payload.find("aud");
  if (it == payload.end()) return out;
  if (it->is_string()) out.push_back(it->get<std::string>());
  if (it->is_array()) {
    for (const json& a : *it) {
      if (a.is_string()) out.push_back(a.get<std::string>());
    }
  }
  return out;
}

}  // namespace

std::string JwtClaims::AudienceText() const {
  std::string out;
  for (const std::string& a : aud) out += (out.empty() ? "" : ", ") + a;
  return out;
}

Result<JwtClaims> DecodeJwtClaims(std::string_view jwt) {
  std::vector<std::string> parts = Split(Trim(jwt), '.');
  if (parts.size() != 3 || parts[1].empty()) {
    return InvalidConfig("not a JWT (expected three dot-separated base64url parts)");
  }
  std::optional<std::string> payload_text = Base64Decode(parts[1]);
  if (!payload_text) return InvalidConfig("not a JWT (the payload is not base64url)");
  json payload = json::parse(*payload_text, nullptr, /*allow_exceptions=*/false);
  if (!payload.is_object()) return InvalidConfig("not a JWT (the payload is not a JSON object)");
  JwtClaims c;
  c.iss = StringClaim(payload, "iss");
  c.sub = StringClaim(payload, "sub");
  c.aud = AudienceClaim(payload);
  c.exp = TimeClaim(payload, "exp");
  c.nbf = TimeClaim(payload, "nbf");
  c.iat = TimeClaim(payload, "iat");
  c.tid = StringClaim(payload, "tid");
  c.appid = StringClaim(payload, "appid");
  c.azp = StringClaim(payload, "azp");
  c.oid = StringClaim(payload, "oid");
  return c;
}

}  // namespace ebb::auth
