// KEDA's own Prometheus scaler tables, ported as data
// (kedacore/keda pkg/scalers/prometheus_scaler_test.go at 8b4f083:
// testPromMetadata and testPrometheusAuthMetadata). Each row is a KEDA
// input and whether KEDA refuses it; ebb must agree, except where
// docs/keda-differences.md says why not (those rows carry `ebb_differs`).
//
// Adaptations (not differences): KEDA's TLS rows use placeholder PEM
// ("ceert", "keey", "caaa") that KEDA only rejects later, when it builds the
// transport; ebb checks PEM when it builds the trigger, so the rows use a
// real certificate, key and CA in their place. `metricName` (ignored by
// KEDA since 2.x) stays in, as users still write it.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "api/trigger_authentication.h"
#include "auth/authorizer_factory.h"
#include "prometheus/config.h"
#include "testing/pki/test_pki.h"

namespace ebb {
namespace {

using Map = std::map<std::string, std::string>;

Map Base(Map extra = {}) {
  Map m = {{"serverAddress", "http://localhost:9090"},
           {"metricName", "http_requests_total"},
           {"threshold", "100"},
           {"query", "up"}};
  for (auto& [k, v] : extra) m[k] = v;
  return m;
}

struct MetadataRow {
  const char* what;
  Map metadata;
  bool keda_error;
};

TEST(KedaPrometheusTables, MetadataAsKeda) {
  const MetadataRow rows[] = {
      {"empty", {}, true},
      {"properly formed", Base(), false},
      {"with namespace", Base({{"namespace", "foo"}}), false},
      {"ignoreNullValues false", Base({{"ignoreNullValues", "false"}}), false},
      {"activationThreshold", Base({{"activationThreshold", "50"}}), false},
      {"missing serverAddress", Base({{"serverAddress", ""}}), true},
      {"missing threshold", [] { Map m = Base(); m.erase("threshold"); return m; }(), true},
      {"malformed threshold", Base({{"threshold", "one"}}), true},
      {"malformed activationThreshold", Base({{"activationThreshold", "one"}}), true},
      {"missing query", Base({{"query", ""}}), true},
      {"ignoreNullValues wrong", Base({{"ignoreNullValues", "xxxx"}}), true},
      {"unsafeSsl", Base({{"serverAddress", "https://localhost:9090"}, {"unsafeSsl", "true"}}), false},
      {"customHeaders", Base({{"customHeaders", "key1=value1,key2=value2"}}), false},
      {"customHeaders wrong format", Base({{"customHeaders", "key1=value1,key2"}}), true},
      {"queryParameters", Base({{"queryParameters", "key1=value1,key2=value2"}}), false},
      {"queryParameters wrong format", Base({{"queryParameters", "key1=value1,key2"}}), true},
      {"timeout", Base({{"timeout", "1000"}}), false},
      {"negative timeout", Base({{"timeout", "-1"}}), true},
      {"timeout not a number", Base({{"timeout", "a"}}), true},
  };
  for (const MetadataRow& row : rows) {
    Result<prometheus::PrometheusConfig> c = prometheus::ParsePrometheusMetadata(row.metadata);
    EXPECT_EQ(!c.ok(), row.keda_error) << row.what << ": " << (c.ok() ? "accepted" : c.status().ToString());
  }
}

struct AuthRow {
  const char* what;
  Map metadata;
  Map params;  // the TriggerAuthentication's resolved parameters
  std::string pod_identity;
  bool keda_error;
};

class KedaAuthTable : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<testing::TestCa> ca = testing::TestCa::Create();
    ASSERT_TRUE(ca.ok());
    Result<testing::IssuedCert> client = ca->IssueClient("ebb");
    ASSERT_TRUE(client.ok());
    pem_ = {{"caaa", ca->cert_pem()}, {"ceert", client->cert_pem}, {"keey", client->key_pem}};
  }

  // Builds the authorizer of a row exactly as a trigger does.
  Status Build(const AuthRow& row) {
    Result<prometheus::PrometheusConfig> c = prometheus::ParsePrometheusMetadata(row.metadata);
    if (!c.ok()) return c.status();
    api::TriggerAuthentication ta;
    ta.metadata.name = "auth";
    ta.metadata.namespace_name = "ns";
    if (!row.pod_identity.empty()) ta.spec.pod_identity = api::PodIdentity{.provider = row.pod_identity};
    auth::TriggerAuthInput in;
    in.auth_modes = c->auth_modes;
    in.authentication = &ta;
    for (const auto& [k, v] : row.params) in.params[k] = SecretString(pem_.count(v) ? pem_.at(v) : v);
    auth::AuthorizerContext ctx;
    ctx.clock = &clock_;
    ctx.token_cache = std::make_shared<auth::TokenCache>(clock_);
    ctx.azure_env = {{"AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001"},
                     {"AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000002"},
                     {"AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token"}};
    ctx.allow_insecure = true;  // the rows use http://localhost
    Result<auth::AuthorizerPtr> a = auth::BuildAuthorizer(in, ctx);
    return a.ok() ? Status::Ok() : a.status();
  }

  SimulatedClock clock_;
  std::map<std::string, std::string> pem_;
};

TEST_F(KedaAuthTable, AuthAsKeda) {
  const AuthRow rows[] = {
      {"success TLS", Base({{"authModes", "tls"}}), {{"ca", "caaa"}, {"cert", "ceert"}, {"key", "keey"}}, "", false},
      {"TLS, ca optional", Base({{"authModes", "tls"}}), {{"cert", "ceert"}, {"key", "keey"}}, "", false},
      {"TLS, key missing", Base({{"authModes", "tls"}}), {{"ca", "caaa"}, {"cert", "ceert"}}, "", true},
      {"TLS, cert missing", Base({{"authModes", "tls"}}), {{"ca", "caaa"}, {"key", "keey"}}, "", true},
      {"bearer", Base({{"authModes", "bearer"}}), {{"bearerToken", "tooooken"}}, "", false},
      {"bearer without token", Base({{"authModes", "bearer"}}), {}, "", true},
      {"basic", Base({{"authModes", "basic"}}), {{"username", "user"}, {"password", "pass"}}, "", false},
      {"basic without username", Base({{"authModes", "basic"}}), {}, "", true},
      {"tls and basic", Base({{"authModes", "tls, basic"}}),
       {{"ca", "caaa"}, {"cert", "ceert"}, {"key", "keey"}, {"username", "user"}, {"password", "pass"}}, "", false},
      {"tls and basic without tls params", Base({{"authModes", "tls,basic"}}),
       {{"username", "user"}, {"password", "pass"}}, "", true},
      {"custom", Base({{"authModes", "custom"}}), {{"customAuthHeader", "header"}, {"customAuthValue", "value"}}, "",
       false},
      {"custom without header", Base({{"authModes", "custom"}}), {{"customAuthHeader", ""}}, "", true},
      {"custom without value", Base({{"authModes", "custom"}}), {{"customAuthValue", ""}}, "", true},
      // The resolver trims parameters (api/resolve.cc); the table feeds the
      // authorizer directly, so the trimmed values are what reach it.
      {"custom with newlines, trimmed", Base({{"authModes", "custom"}}),
       {{"customAuthHeader", "header"}, {"customAuthValue", "value"}}, "", false},
      {"pod identity with other modes", Base({{"authModes", "basic"}}), {{"username", "user"}, {"password", "pass"}},
       "azure-workload", true},
      {"azure workload identity", Base(), {}, "azure-workload", false},
  };
  for (const AuthRow& row : rows) {
    Status s = Build(row);
    EXPECT_EQ(!s.ok(), row.keda_error) << row.what << ": " << (s.ok() ? "accepted" : s.ToString());
  }
}

// KEDA's last row: podIdentity "azure" (AAD Pod Identity) is accepted by
// KEDA's parser although AAD Pod Identity was retired; ebb refuses it with
// the replacement named (docs/keda-differences.md).
TEST_F(KedaAuthTable, RetiredAadPodIdentityIsRefusedWithTheReplacement) {
  Status s = Build({"azure pod identity", Base(), {}, "azure", false});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("azure-workload"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace ebb
