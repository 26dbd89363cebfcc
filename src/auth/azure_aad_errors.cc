#include "auth/azure_aad_errors.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "auth/azure_token_response.h"
#include "common/strings.h"

namespace ebb::auth {

namespace {

using nlohmann::json;

std::string StringField(const json& body, const char* name) {
  auto it = body.find(name);
  return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

// Entra descriptions end with "\r\nTrace ID: ...\r\nCorrelation ID: ...":
// only the first line says what is wrong.
std::string FirstLine(std::string_view text) {
  size_t end = text.find_first_of("\r\n");
  return std::string(Trim(text.substr(0, end)));
}

std::optional<int64_t> AadstsFromDescription(std::string_view d) {
  if (!StartsWith(d, "AADSTS")) return std::nullopt;
  size_t end = 6;
  while (end < d.size() && std::isdigit(static_cast<unsigned char>(d[end]))) ++end;
  return ParseInt(d.substr(6, end - 6));
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// The assertion's claims, or a pointer to Entra's message when unreadable.
std::string Claim(const AadErrorContext& c, std::string JwtClaims::*field) {
  return c.assertion ? Quoted((*c.assertion).*field) : "(see Azure AD's message)";
}
std::string Audience(const AadErrorContext& c) {
  return c.assertion ? Quoted(c.assertion->AudienceText()) : "(see Azure AD's message)";
}

std::string Explain70021(const AadErrorContext& c) {
  return "no federated identity credential of the application or managed identity " + c.client_id +
         " matches the service-account token ebb presented (issuer " + Claim(c, &JwtClaims::iss) +
         ", subject " + Claim(c, &JwtClaims::sub) + ", audience " + Audience(c) +
         "). Fix: add a federated credential to " + c.client_id +
         " with exactly this issuer, subject and audience (az identity federated-credential create "
         "--issuer ... --subject ... --audience api://AzureADTokenExchange), or run ebb under the "
         "service account an existing credential names; matching is exact and case-sensitive.";
}

std::string Explain700211(const AadErrorContext& c) {
  return "no federated credential of " + c.client_id + " trusts the issuer " + Claim(c, &JwtClaims::iss) +
         " of the service-account token: the cluster's OIDC issuer URL is not registered. Fix: "
         "register the issuer exactly as the cluster reports it (az aks show --query "
         "oidcIssuerProfile.issuerUrl), trailing slash included, in a federated credential of " +
         c.client_id + ".";
}

std::string Explain700212(const AadErrorContext& c) {
  return "the audience " + Audience(c) + " of the service-account token does not match the federated "
         "credential of " + c.client_id + ". Fix: use api://AzureADTokenExchange on both sides (the "
         "federated credential's audience and the projected token's audience).";
}

std::string Explain700213(const AadErrorContext& c) {
  return "no federated credential of " + c.client_id + " has the subject " + Claim(c, &JwtClaims::sub) +
         ": the namespace or service account name differ (matching is case-sensitive). Fix: create "
         "the federated credential with this subject, or run ebb under the service account it "
         "names. Azure AD also reports this transiently; ebb retries with backoff.";
}

std::string Explain700024(const AadErrorContext& c) {
  std::string when = c.assertion && c.assertion->exp ? " (it expires " + FormatRfc3339(*c.assertion->exp) + ")" : "";
  return "the service-account token in " + c.token_file + " is outside its valid time range" + when +
         ": kubelet has not rotated it, or the node's clock is off. Fix: make sure "
         "AZURE_FEDERATED_TOKEN_FILE is the projected token the webhook mounts (not a copy) and "
         "that the node's clock is synchronized; restarting the pod gives a fresh token.";
}

std::string Explain700016(const AadErrorContext& c) {
  return "no application with client id " + c.client_id + " exists in tenant " + c.tenant_id +
         ". Fix: set AZURE_CLIENT_ID (or identityId) to the client id of the managed identity or app "
         "registration -- not its object or principal id -- and AZURE_TENANT_ID (or "
         "identityTenantId) to its tenant.";
}

std::string Explain90002(const AadErrorContext& c) {
  return "tenant " + c.tenant_id + " was not found at " + c.authority_host +
         ". Fix: check AZURE_TENANT_ID (or identityTenantId), and that the authority host belongs "
         "to the tenant's cloud (https://login.microsoftonline.us/ for US Government, "
         "https://login.chinacloudapi.cn/ for China).";
}

std::string Explain50027(const AadErrorContext& c) {
  return "the service-account token in " + c.token_file + " is not a JWT Azure AD accepts (format, "
         "signature, issuer, audience or time). Fix: point AZURE_FEDERATED_TOKEN_FILE at the token "
         "projected by the workload identity webhook (audience api://AzureADTokenExchange).";
}

std::string Explain90061(const AadErrorContext& c) {
  return "Azure AD could not fetch the OIDC discovery document or signing keys of the issuer " +
         Claim(c, &JwtClaims::iss) + ". Fix: enable the cluster's OIDC issuer and make it publicly "
         "reachable; if it is, this is transient and ebb retries.";
}

std::string Explain70011(const AadErrorContext& c) {
  return "the scope " + Quoted(c.scope) + " is not valid. Fix: the scope is a resource URL followed "
         "by /.default (https://prometheus.monitor.azure.com/.default); check the trigger's cloud "
         "and azureManagedPrometheusResourceURL.";
}

std::string Explain7000218(const AadErrorContext& c) {
  return "the request carried no client assertion. Fix: make sure AZURE_FEDERATED_TOKEN_FILE (" +
         c.token_file + ") holds the projected service-account token.";
}

std::string Explain50196(const AadErrorContext& c) {
  return "Azure AD detected a loop: too many token requests for client id " + c.client_id +
         ". ebb requests one token per identity per lifetime; other programs or ebb replicas using "
         "the same identity add up. ebb backs off and retries.";
}

struct KnownCode {
  int64_t code;
  StatusCode status;
  const char* title;
  std::string (*explain)(const AadErrorContext&);
};

constexpr KnownCode kKnownCodes[] = {
    {70021, StatusCode::kInvalidConfig, "no matching federated identity credential", Explain70021},
    {700211, StatusCode::kInvalidConfig, "federated credential issuer not registered", Explain700211},
    {700212, StatusCode::kInvalidConfig, "federated credential audience mismatch", Explain700212},
    {700213, StatusCode::kInvalidConfig, "federated credential subject mismatch", Explain700213},
    {700024, StatusCode::kUnauthenticated, "client assertion outside its valid time range", Explain700024},
    {700016, StatusCode::kInvalidConfig, "application not found in tenant", Explain700016},
    {90002, StatusCode::kInvalidConfig, "tenant not found", Explain90002},
    {50027, StatusCode::kUnauthenticated, "invalid JWT", Explain50027},
    {90061, StatusCode::kUnavailable, "OIDC issuer unreachable", Explain90061},
    {70011, StatusCode::kInvalidConfig, "invalid scope", Explain70011},
    {7000218, StatusCode::kInvalidConfig, "no client assertion", Explain7000218},
    {50196, StatusCode::kUnavailable, "request loop detected", Explain50196},
};

const KnownCode* FindKnown(std::optional<int64_t> code) {
  if (!code) return nullptr;
  for (const KnownCode& k : kKnownCodes) {
    if (k.code == *code) return &k;
  }
  return nullptr;
}

bool IsTransientHttp(int status) { return status == 429 || status >= 500; }

StatusCode CodeForUnknown(int http_status) {
  if (IsTransientHttp(http_status)) return StatusCode::kUnavailable;
  if (http_status == 403) return StatusCode::kPermissionDenied;
  if (http_status == 404) return StatusCode::kInvalidConfig;
  return StatusCode::kUnauthenticated;
}

// "(HTTP 400, AADSTS70021, invalid_request)"
std::string Tags(const AadError& e) {
  std::string t = "HTTP " + std::to_string(e.http_status);
  if (e.aadsts) t += ", AADSTS" + std::to_string(*e.aadsts);
  if (!e.error.empty()) t += ", " + e.error;
  return "(" + t + ")";
}

std::string Said(const AadError& e) {
  return e.description.empty() ? "" : " Azure AD said: " + Quoted(e.description);
}

std::string Subject(const AadErrorContext& c) {
  return "Azure AD rejected the token request for client id " + c.client_id + " in tenant " +
         c.tenant_id + " ";
}

Status MapUnknown(const AadError& e, const AadErrorContext& c) {
  StatusCode code = CodeForUnknown(e.http_status);
  if (!e.body_was_json) {
    std::string hint = e.http_status == 404
                           ? ": check the authority host and tenant (the URL has no token endpoint)"
                           : "; the body was not an Azure AD error and is not shown";
    return Status(code, "the token endpoint at " + c.authority_host + " answered HTTP " +
                            std::to_string(e.http_status) + hint);
  }
  std::string retry = code == StatusCode::kUnavailable ? " This is transient; ebb retries with backoff." : "";
  return Status(code, Subject(c) + Tags(e) + "." + Said(e) + retry);
}

}  // namespace

AadError ParseAadError(int http_status, std::string_view body, std::string_view scrub) {
  AadError e;
  e.http_status = http_status;
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return e;
  e.body_was_json = true;
  e.error = SanitizeServerText(StringField(j, "error"), scrub, 80);
  e.description = SanitizeServerText(FirstLine(StringField(j, "error_description")), scrub);
  auto codes = j.find("error_codes");
  if (codes != j.end() && codes->is_array() && !codes->empty() && (*codes)[0].is_number_integer()) {
    e.aadsts = (*codes)[0].get<int64_t>();
  } else {
    e.aadsts = AadstsFromDescription(e.description);
  }
  return e;
}

const char* KnownAadstsTitle(int64_t code) {
  const KnownCode* k = FindKnown(code);
  return k ? k->title : nullptr;
}

Status MapAadError(const AadError& error, const AadErrorContext& context) {
  const KnownCode* k = FindKnown(error.aadsts);
  if (!k) return MapUnknown(error, context);
  return Status(k->status, Subject(context) + Tags(error) + ": " + k->explain(context) + Said(error));
}

}  // namespace ebb::auth
