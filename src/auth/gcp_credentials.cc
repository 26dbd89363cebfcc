#include "auth/gcp_credentials.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "auth/azure_aad_errors.h"
#include "auth/azure_token_response.h"
#include "auth/sigv4.h"
#include "common/log.h"
#include "common/strings.h"
#include "http/url.h"

namespace ebb::auth {

namespace {

constexpr char kJwtBearerGrant[] = "urn:ietf:params:oauth:grant-type:jwt-bearer";
constexpr size_t kMaxKeyBytes = 64 * 1024;

using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

PKey LoadPrivateKey(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return PKey(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr, EVP_PKEY_free);
}

Result<std::string> SignRs256(const std::string& pem, std::string_view data) {
  PKey key = LoadPrivateKey(pem);
  if (!key || EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) return InvalidConfig("the private key is not an RSA key");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return InvalidConfig("the private key cannot sign");
  }
  std::string sig(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return InvalidConfig("the private key cannot sign");
  }
  sig.resize(size);
  return sig;
}

std::string Field(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

Status MapGoogleError(const http::HttpResponse& r, const ServiceAccountKey& key, const SecretString& assertion) {
  AadError e = ParseAadError(r.status, r.body, assertion.Reveal());
  const std::string head = "Google's token endpoint " + key.token_uri + " answered HTTP " + std::to_string(r.status) +
                           (e.error.empty() ? "" : " " + e.error) +
                           (e.description.empty() ? "" : " \"" + e.description + "\"") + " for service account " +
                           key.client_email + " (key id " + key.private_key_id + ")";
  if (r.status >= 500 || r.status == 429) return Unavailable(head);
  if (e.error == "invalid_scope") return InvalidConfig(head + ". Fix: the scope must be " + kMonitoringReadScope);
  if (e.description.find("reasonable timeframe") != std::string::npos) {
    return Unauthenticated(head + ". Fix: the clock of the machine running ebb is off; sync it (NTP)");
  }
  if (e.error == "invalid_grant") {
    return Unauthenticated(head + ". Fix: the key was deleted or disabled, or the service account no longer "
                                  "exists; create a new key and update the Secret");
  }
  return Unauthenticated(head);
}

}  // namespace

Result<ServiceAccountKey> ParseServiceAccountKey(std::string_view text, const std::string& where) {
  if (text.size() > kMaxKeyBytes) return InvalidConfig(where + " is larger than 64 KiB; it is not a key file");
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InvalidConfig(where + " is not JSON: it must be a service-account key file");
  const std::string type = Field(j, "type");
  if (type != "service_account") {
    return InvalidConfig(where + " holds credentials of type \"" + SanitizeServerText(type, "", 40) +
                         "\", not \"service_account\": ebb (like KEDA) accepts only service-account keys. Fix: create "
                         "one with gcloud iam service-accounts keys create, or use podIdentity.provider: gcp with "
                         "GKE Workload Identity");
  }
  ServiceAccountKey key{Field(j, "client_email"), Field(j, "private_key_id"), SecretString(Field(j, "private_key")),
                        Field(j, "token_uri"), Field(j, "project_id")};
  if (key.token_uri.empty()) key.token_uri = kGoogleTokenUri;
  for (const auto& [name, missing] : {std::pair<const char*, bool>{"client_email", key.client_email.empty()},
                                      {"private_key", key.private_key.empty()}}) {
    if (missing) return InvalidConfig(where + " has no " + name + ": it is not a complete service-account key");
  }
  if (!LoadPrivateKey(key.private_key.Reveal())) {
    return InvalidConfig(where + ": private_key of " + key.client_email + " is not a readable PEM private key");
  }
  return key;
}

Status CheckTokenUri(const ServiceAccountKey& key, const TokenDestinations& allowed, bool allow_insecure) {
  if (key.token_uri == kGoogleTokenUri) return Status::Ok();
  Result<http::Url> u = http::ParseUrl(key.token_uri);
  if (!u.ok()) return u.status().WithContext("token_uri of " + key.client_email);
  if ((u->scheme == "https" || allow_insecure) && allowed.Allows(u->host)) return Status::Ok();
  return InvalidConfig("refusing to send a signed assertion of " + key.client_email + " to its key's token_uri " +
                       key.token_uri + ": only " + kGoogleTokenUri + " and hosts the operator allows get it. Fix: "
                       "use an unmodified key file, or start ebb with --token-destination " + u->host);
}

Result<SecretString> SignJwtBearerAssertion(const ServiceAccountKey& key, const std::string& scope, Time now) {
  const int64_t iat = static_cast<int64_t>(ToUnixSeconds(now));
  nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!key.private_key_id.empty()) header["kid"] = key.private_key_id;
  nlohmann::json claims = {{"iss", key.client_email}, {"scope", scope}, {"aud", key.token_uri},
                           {"iat", iat},                {"exp", iat + 3600}};
  std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  Result<std::string> sig = SignRs256(key.private_key.Reveal(), input);
  if (!sig.ok()) return sig.status().WithContext("service account " + key.client_email);
  return SecretString(input + "." + Base64UrlEncode(*sig));
}

ServiceAccountKeyTokenSource::ServiceAccountKeyTokenSource(ServiceAccountKey key, std::string scope, const Clock& clock)
    : key_(std::move(key)), scope_(std::move(scope)), clock_(clock) {}

std::string ServiceAccountKeyTokenSource::CacheKey() const {
  return "gcp-sa-key|" + key_.token_uri + "|" + key_.client_email + "|" + key_.private_key_id + "|" +
         HexSha256(key_.private_key.Reveal()).substr(0, 16) + "|" + scope_;
}

std::string ServiceAccountKeyTokenSource::Describe() const {
  return "Google service account key for " + key_.client_email + " (key id " + key_.private_key_id + ", scope " +
         scope_ + ")";
}

void ServiceAccountKeyTokenSource::Fetch(http::HttpClient& client, TokenCallback done) {
  Result<SecretString> assertion = SignJwtBearerAssertion(key_, scope_, clock_.Now());
  if (!assertion.ok()) return done(assertion.status());
  http::HttpRequest req;
  req.method = "POST";
  req.url = key_.token_uri;
  req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
  req.body = http::BuildQuery({{"grant_type", kJwtBearerGrant}, {"assertion", assertion->Reveal()}});
  req.sensitive_body = true;
  req.timeout = std::chrono::seconds(10);
  req.max_redirects = 0;
  Logger::Default().Debug("requesting Google token", {{"identity", Describe()}});
  client.Send(std::move(req), [key = key_, scope = scope_, assertion = *assertion, &clock = clock_,
                               done = std::move(done)](Result<http::HttpResponse> r) {
    if (!r.ok()) return done(r.status().WithContext("requesting a Google token from " + key.token_uri));
    if (r->status != 200) return done(MapGoogleError(*r, key, assertion));
    Result<AccessToken> t = ParseAzureTokenSuccess(r->body, clock.Now());
    if (!t.ok()) return done(t.status().WithContext(key.token_uri));
    t->audience = scope;
    t->tenant = key.client_email;
    done(std::move(t));
  });
}

GceMetadataTokenSource::GceMetadataTokenSource(std::string host, std::string scope, const Clock& clock)
    : host_(std::move(host)), scope_(std::move(scope)), clock_(clock) {}

std::string GceMetadataTokenSource::CacheKey() const { return "gcp-metadata|" + host_ + "|" + scope_; }

std::string GceMetadataTokenSource::Describe() const {
  return "Google token from the metadata server " + host_ + " (default service account, scope " + scope_ + ")";
}

void GceMetadataTokenSource::Fetch(http::HttpClient& client, TokenCallback done) {
  http::HttpRequest req;
  req.url = "http://" + host_ + "/computeMetadata/v1/instance/service-accounts/default/token?" +
            http::BuildQuery({{"scopes", scope_}});
  req.headers.push_back({"Metadata-Flavor", "Google"});
  req.timeout = std::chrono::seconds(10);
  req.max_redirects = 0;
  const std::string where = "the metadata server " + host_;
  client.Send(std::move(req), [where, scope = scope_, &clock = clock_, done = std::move(done)](
                                  Result<http::HttpResponse> r) {
    if (!r.ok()) return done(r.status().WithContext(where + " (is ebb on GKE or GCE? set GCE_METADATA_HOST otherwise)"));
    if (r->HeaderValue("Metadata-Flavor") != "Google") {
      return done(InvalidConfig(where + " answered without \"Metadata-Flavor: Google\": it is not a Google metadata "
                                        "server; check GCE_METADATA_HOST"));
    }
    if (r->status == 403 || r->status == 404) {
      return done(InvalidConfig(
          where + " answered HTTP " + std::to_string(r->status) + " for the token of the default service account. "
                  "Fix (GKE Workload Identity): annotate ebb's Kubernetes service account with "
                  "iam.gke.io/gcp-service-account: GSA@PROJECT.iam.gserviceaccount.com, and grant "
                  "roles/iam.workloadIdentityUser on that Google service account to "
                  "serviceAccount:PROJECT.svc.id.goog[NAMESPACE/KSA]; restart ebb"));
    }
    if (r->status != 200) return done(Unavailable(where + " answered HTTP " + std::to_string(r->status)));
    Result<AccessToken> t = ParseAzureTokenSuccess(r->body, clock.Now());
    if (!t.ok()) return done(t.status().WithContext(where));
    t->audience = scope;
    done(std::move(t));
  });
}

}  // namespace ebb::auth
