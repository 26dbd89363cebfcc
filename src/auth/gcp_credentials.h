// Google credentials for Google Cloud Managed Service for Prometheus, as
// TokenSources for the one TokenCache (facts/aws-gcp.md, "Google"):
//
//   GceMetadataTokenSource      GKE Workload Identity / GCE: the metadata server
//                               (GCE_METADATA_HOST honoured), "Metadata-Flavor: Google"
//   ServiceAccountKeyTokenSource a service-account key (JSON) through the OAuth 2.0
//                               JWT-bearer grant (RS256) at the key's token_uri
//
//   Result<ServiceAccountKey> key = ParseServiceAccountKey(json_text);
//   auto source = std::make_shared<ServiceAccountKeyTokenSource>(*key, kMonitoringReadScope, clock);
//
// The scope is https://www.googleapis.com/auth/monitoring.read. A key's
// token_uri must be https://oauth2.googleapis.com/token unless the
// operator allowed its host (--token-destination): the signed assertion
// is a credential, and a key can come from a namespace's Secret.
#pragma once

#include <chrono>
#include <string>

#include "auth/token_destination.h"
#include "auth/token_source.h"
#include "common/clock.h"
#include "common/secret.h"
#include "common/status.h"

namespace ebb::auth {

inline constexpr char kMonitoringReadScope[] = "https://www.googleapis.com/auth/monitoring.read";
inline constexpr char kGoogleTokenUri[] = "https://oauth2.googleapis.com/token";
inline constexpr char kDefaultGceMetadataHost[] = "metadata.google.internal";
inline constexpr char kEnvGceMetadataHost[] = "GCE_METADATA_HOST";
inline constexpr char kEnvGoogleApplicationCredentials[] = "GOOGLE_APPLICATION_CREDENTIALS";
inline constexpr char kGoogleManagedPrometheusHost[] = "monitoring.googleapis.com";

// A service-account key file's fields. Value type; private_key is secret.
struct ServiceAccountKey {
  std::string client_email;
  std::string private_key_id;
  SecretString private_key;  // PEM (PKCS#8 RSA)
  std::string token_uri;
  std::string project_id;
};

// Parses a key file's JSON. kInvalidConfig naming what is wrong ("type" is
// not "service_account" -- e.g. an authorized_user or external_account
// file --, a missing field, a private key that does not load), never
// quoting the key. `where` names the source for messages.
Result<ServiceAccountKey> ParseServiceAccountKey(std::string_view json, const std::string& where);

// Checks the key's token_uri: the Google endpoint, or an https (http with
// `allow_insecure`) URL whose host `allowed` lets through. kInvalidConfig
// naming the host and --token-destination otherwise.
Status CheckTokenUri(const ServiceAccountKey& key, const TokenDestinations& allowed, bool allow_insecure);

// Signs the JWT-bearer assertion: header {"alg":"RS256","typ":"JWT","kid"},
// claims iss = client_email, scope, aud = token_uri, iat = now, exp = now +
// 1 h. kInvalidConfig when the key cannot sign.
Result<SecretString> SignJwtBearerAssertion(const ServiceAccountKey& key, const std::string& scope, Time now);

// Thread-safe (immutable). `clock` must outlive the source.
class ServiceAccountKeyTokenSource final : public TokenSource {
 public:
  ServiceAccountKeyTokenSource(ServiceAccountKey key, std::string scope, const Clock& clock);
  // POSTs grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT.
  // invalid_grant "Invalid JWT Signature." -> kUnauthenticated (key deleted
  // or wrong); the clock message -> kUnauthenticated naming the clock;
  // invalid_scope -> kInvalidConfig; 5xx / transport -> kUnavailable.
  void Fetch(http::HttpClient& client, TokenCallback done) override;
  // "gcp-sa-key|{token uri}|{client email}|{key id}|{scope}".
  std::string CacheKey() const override;
  // "Google service account key for E (key id K, scope S)".
  std::string Describe() const override;

 private:
  const ServiceAccountKey key_;
  const std::string scope_;
  const Clock& clock_;
};

// Thread-safe (immutable). `clock` must outlive the source.
class GceMetadataTokenSource final : public TokenSource {
 public:
  // `host` is "host[:port]" (GCE_METADATA_HOST's form).
  GceMetadataTokenSource(std::string host, std::string scope, const Clock& clock);
  // GET http://HOST/computeMetadata/v1/instance/service-accounts/default/token?scopes=S
  // with Metadata-Flavor: Google. 403/404 -> kInvalidConfig naming the
  // Workload Identity annotation and IAM binding; an answer without
  // "Metadata-Flavor: Google" -> kInvalidConfig (not a metadata server).
  void Fetch(http::HttpClient& client, TokenCallback done) override;
  std::string CacheKey() const override;
  std::string Describe() const override;

 private:
  const std::string host_;
  const std::string scope_;
  const Clock& clock_;
};

}  // namespace ebb::auth
