// Helpers shared by the Azure emulator tests (test-only, header-only): a
// CA, a registry with one tenant and one workload-identity application, the
// OIDC issuer and the identity provider on loopback, and a form POST client.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "common/clock.h"
#include "testing/azure/identity_provider.h"
#include "testing/azure/loopback_server.h"
#include "testing/azure/oidc_issuer.h"
#include "testing/azure/registry.h"
#include "testing/pki/test_pki.h"

namespace ebb::testing::azure {

inline constexpr char kTenant[] = "11111111-2222-3333-4444-555555555555";
inline constexpr char kClientId[] = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
inline constexpr char kNamespace[] = "keda";
inline constexpr char kServiceAccount[] = "ebb";
inline constexpr char kScope[] = "https://prometheus.monitor.azure.com/.default";

inline std::string FormEncode(const std::map<std::string, std::string>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += "&";
    out += httplib::detail::encode_query_param(k) + "=" + httplib::detail::encode_query_param(v);
  }
  return out;
}

inline nlohmann::json ParseJson(const std::string& body) {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

// RSA key generation is slow on shared machines: one key per role per process.
inline const RsaSigningKey& SharedIssuerKey() {
  static const RsaSigningKey key = RsaSigningKey::Generate().value();
  return key;
}
inline const RsaSigningKey& SharedIdpKey() {
  static const RsaSigningKey key = RsaSigningKey::Generate().value();
  return key;
}

// One CA, a registry, an issuer and an identity provider; the clock is
// simulated and starts at the real time (TLS certificates use real time).
class AzureWorld {
 public:
  explicit AzureWorld(IdentityProviderOptions idp_options = {}) {
    ca_ = std::make_unique<TestCa>(TestCa::Create().value());
    cert = ca_->IssueServer({"localhost", "login.microsoftonline.com"}).value();
    OidcIssuerOptions issuer_options;
    issuer_options.tls = cert;
    issuer_options.signing_key = SharedIssuerKey();
    issuer = OidcIssuer::Start(std::move(issuer_options), clock).value();
    Application app;
    app.client_id = kClientId;
    app.tenant_id = kTenant;
    registry.AddApplication(app);
    FederatedCredential cred;
    cred.name = "ebb";
    cred.issuer = issuer->issuer_url();
    cred.subject = std::string("system:serviceaccount:") + kNamespace + ":" + kServiceAccount;
    EXPECT_TRUE(registry.AddFederatedCredential(kClientId, cred).ok());
    idp_options.tls = cert;
    if (!idp_options.signing_key) idp_options.signing_key = SharedIdpKey();
    idp_options.issuer_ca_pem = ca_->cert_pem();
    idp = IdentityProvider::Start(std::move(idp_options), registry, clock).value();
  }

  const std::string& ca_pem() const { return ca_->cert_pem(); }
  const TestCa& ca() const { return *ca_; }

  ServiceAccountTokenRequest DefaultRequest() const {
    ServiceAccountTokenRequest r;
    r.ns = kNamespace;
    r.service_account = kServiceAccount;
    return r;
  }
  std::string Assertion() const {
    return issuer->IssueServiceAccountToken(DefaultRequest()).value();
  }

  std::map<std::string, std::string> ValidForm(const std::string& assertion) const {
    return {{"grant_type", "client_credentials"},
            {"client_id", kClientId},
            {"client_assertion_type", kJwtBearerAssertionType},
            {"client_assertion", assertion},
            {"scope", kScope}};
  }

  FetchResult PostToken(const std::map<std::string, std::string>& form,
                        const std::string& tenant = kTenant, httplib::Headers headers = {}) const {
    FetchOptions options;
    options.method = "POST";
    options.body = FormEncode(form);
    options.ca_pem = ca_pem();
    options.headers = std::move(headers);
    Result<FetchResult> r = HttpFetch(idp->token_url(tenant), options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : FetchResult{};
  }

  SimulatedClock clock{RealClock::Instance().Now()};
  Registry registry;
  IssuedCert cert;
  std::unique_ptr<OidcIssuer> issuer;
  std::unique_ptr<IdentityProvider> idp;

 private:
  std::unique_ptr<TestCa> ca_;
};

}  // namespace ebb::testing::azure
