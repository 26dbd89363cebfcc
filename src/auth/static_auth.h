// Static authentication: the Authorizer for KEDA's `authModes` (basic,
// bearer, tls, custom) with parameters from a TriggerAuthentication.
//
//   // modes from the trigger's metadata.authModes, params resolved from the
//   // TriggerAuthentication's secretTargetRef / configMapTargetRef / env
//   Result<AuthorizerPtr> a = MakeStaticAuthorizer({"basic", "tls"}, params);
//   if (!a.ok()) return a.status();          // names the missing parameter
//   (*a)->Send(client, std::move(request), done);
//   (*a)->Describe();   // basic auth (username "svc") + TLS client certificate
//
// Rules follow KEDA's pkg/scalers/authentication (Config.Validate and
// GetAuthConfigs):
//   - basic needs `username`; `password` may be empty (API-key-as-username).
//   - bearer needs `bearerToken` (a trailing newline, common when a Secret is
//     made from a file, is dropped).
//   - tls needs `cert` and `key` (PEM contents); `ca` (PEM contents) is
//     optional and, as in KEDA, is used whenever present.
//   - custom needs `customAuthHeader` and `customAuthValue`.
//   - basic and bearer are mutually exclusive (both are Authorization).
// Where ebb is stricter than KEDA (because KEDA's Prometheus scaler applies
// only one of bearer/basic/custom and silently drops the rest): every mode
// listed is applied, so a custom header named Authorization cannot be
// combined with basic or bearer; cert, key and ca are parsed up front (a key
// that does not match the certificate is a configuration error, not a TLS
// failure at the first poll); values holding CR or LF are rejected.
// Error messages name parameters and TriggerAuthentication fields, never
// values.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "auth/authorizer.h"
#include "common/secret.h"
#include "common/status.h"

namespace ebb::auth {

// authModes values ebb applies statically.
inline constexpr char kAuthModeBasic[] = "basic";
inline constexpr char kAuthModeBearer[] = "bearer";
inline constexpr char kAuthModeTls[] = "tls";
inline constexpr char kAuthModeCustom[] = "custom";

// TriggerAuthentication parameter names (secretTargetRef `parameter:`).
inline constexpr char kParamUsername[] = "username";
inline constexpr char kParamPassword[] = "password";
inline constexpr char kParamBearerToken[] = "bearerToken";
// KEDA reads the bearer token from "bearerToken", else from "token".
inline constexpr char kParamBearerTokenAlias[] = "token";
inline constexpr char kParamCa[] = "ca";
inline constexpr char kParamCert[] = "cert";
inline constexpr char kParamKey[] = "key";
inline constexpr char kParamCustomAuthHeader[] = "customAuthHeader";
inline constexpr char kParamCustomAuthValue[] = "customAuthValue";

// Parses KEDA's comma list ("basic, tls"): items trimmed, case-insensitive,
// empty items and duplicates dropped, returned lower-case in order.
// kInvalidConfig naming an unknown mode and the accepted ones (KEDA's
// "oauth" and "apiKey" are named as not supported by ebb).
Result<std::vector<std::string>> ParseAuthModes(std::string_view text);

// Builds the Authorizer for `auth_modes` (as ParseAuthModes returns them, or
// raw: they are parsed again) from the TriggerAuthentication's resolved
// parameters. With no modes, a `ca` alone gives an Authorizer that only sets
// the CA (no credential is sent); any credential parameter without a mode is
// an error saying which authModes to add, so a configured credential is never
// silently dropped. kInvalidConfig naming the parameter and the field to add.
Result<AuthorizerPtr> MakeStaticAuthorizer(const std::vector<std::string>& auth_modes,
                                           const std::map<std::string, SecretString>& params);

}  // namespace ebb::auth
