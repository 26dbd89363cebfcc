#include "auth/azure_token_response.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "auth/jwt_claims.h"
#include "common/strings.h"

namespace ebb::auth {

namespace {

using nlohmann::json;

// expires_in, expires_on and refresh_in arrive as numbers from the v2
// endpoint and as strings from the v1 endpoint and IMDS.
std::optional<double> NumberField(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end()) return std::nullopt;
  if (it->is_number()) return it->get<double>();
  if (it->is_string()) return ParseDouble(it->get<std::string>());
  return std::nullopt;
}

std::string StringField(const json& body, const char* name) {
  auto it = body.find(name);
  return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

Duration Seconds(double s) {
  return std::chrono::round<Duration>(std::chrono::duration<double>(s));
}

std::string BodySize(std::string_view body) {
  return std::to_string(body.size()) + " bytes, not shown";
}

Status CheckTokenType(const json& body) {
  std::string type = StringField(body, "token_type");
  if (type.empty() || ToLower(type) == "bearer") return Status::Ok();
  return Internal("the token endpoint returned a token of type \"" + SanitizeServerText(type, {}, 40) +
                  "\", not Bearer");
}

constexpr size_t kMinJwtPieceLength = 16;

bool IsBase64UrlOrDot(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '=';
}

void ReplaceAll(std::string& text, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + with.size())) {
    text.replace(pos, what.size(), with);
  }
}

}  // namespace

std::string SanitizeServerText(std::string_view text, std::string_view scrub, size_t max_len) {
  std::string out(text);
  ReplaceAll(out, scrub, "REDACTED");
  for (size_t pos = out.find("eyJ"); pos != std::string::npos; pos = out.find("eyJ", pos + 1)) {
    size_t end = pos;
    while (end < out.size() && IsBase64UrlOrDot(out[end])) ++end;
    // Base64url JSON of 16+ characters is a JWT or a piece of one.
    if (end - pos >= kMinJwtPieceLength) out.replace(pos, end - pos, "REDACTED");
  }
  if (out.size() > max_len) out = out.substr(0, max_len) + "...";
  return out;
}

Result<AccessToken> ParseAzureTokenSuccess(std::string_view body, Time now) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return Internal("the token endpoint's success answer is not a JSON object (" + BodySize(body) + ")");
  }
  EBB_RETURN_IF_ERROR(CheckTokenType(j));
  AccessToken t;
  t.token = SecretString(StringField(j, "access_token"));
  if (t.token.empty()) {
    return Internal("the token endpoint's success answer has no access_token (" + BodySize(body) + ")");
  }
  t.obtained_at = now;
  std::optional<double> expires_in = NumberField(j, "expires_in");
  std::optional<double> expires_on = NumberField(j, "expires_on");
  if (expires_in) {
    t.expires_on = now + Seconds(*expires_in);
  } else if (expires_on) {
    t.expires_on = FromUnixSeconds(*expires_on);
  } else {
    return Internal("the token endpoint's answer has neither expires_in nor expires_on as a number");
  }
  if (std::optional<double> refresh_in = NumberField(j, "refresh_in"); refresh_in && *refresh_in > 0) {
    t.refresh_at = now + Seconds(*refresh_in);
  }
  if (Result<JwtClaims> claims = DecodeJwtClaims(t.token.Reveal()); claims.ok()) {
    t.audience = claims->AudienceText();
    t.tenant = claims->tid;
  }
  return t;
}

}  // namespace ebb::auth
