#include "prometheus/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ebb::prometheus {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

std::map<std::string, std::string> Minimal() {
  return {{"serverAddress", "http://prometheus.monitoring:9090"},
          {"query", "sum(rate(http_requests_total[2m]))"},
          {"threshold", "100"}};
}

Result<PrometheusConfig> ParseWith(const std::string& key, const std::string& value) {
  auto m = Minimal();
  m[key] = value;
  return ParsePrometheusMetadata(m);
}

std::string ErrorOf(const Result<PrometheusConfig>& r) {
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);
  return r.status().message();
}

TEST(PrometheusConfigTest, MinimalGetsKedaDefaults) {
  auto c = ParsePrometheusMetadata(Minimal());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server_address, "http://prometheus.monitoring:9090");
  EXPECT_EQ(c->query, "sum(rate(http_requests_total[2m]))");
  EXPECT_EQ(c->threshold, 100);
  EXPECT_EQ(c->activation_threshold, 0);
  EXPECT_EQ(c->namespace_name, "");
  EXPECT_TRUE(c->ignore_null_values);
  EXPECT_FALSE(c->unsafe_ssl);
  EXPECT_EQ(c->timeout, std::chrono::milliseconds(3000));
  EXPECT_THAT(c->auth_modes, IsEmpty());
  EXPECT_EQ(c->cloud, "AzurePublicCloud");
  EXPECT_THAT(c->warnings, IsEmpty());
}

TEST(PrometheusConfigTest, EveryKey) {
  std::map<std::string, std::string> m = {{"serverAddress", "https://thanos.example/prometheus/"},
                                          {"query", "up"},
                                          {"threshold", "2.5"},
                                          {"activationThreshold", "0.5"},
                                          {"namespace", "team-a"},
                                          {"customHeaders", "X-Scope-OrgID=tenant1, X-Other = b"},
                                          {"queryParameters", "dedup=true,partial_response=false"},
                                          {"ignoreNullValues", "false"},
                                          {"unsafeSsl", "TRUE"},
                                          {"timeout", "5s"},
                                          {"authModes", "basic, tls"},
                                          {"cloud", "azureusgovernmentcloud"},
                                          {"identityOwner", "operator"}};
  auto c = ParsePrometheusMetadata(m);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server_address, "https://thanos.example/prometheus");
  EXPECT_EQ(c->threshold, 2.5);
  EXPECT_EQ(c->activation_threshold, 0.5);
  EXPECT_EQ(c->namespace_name, "team-a");
  EXPECT_THAT(c->custom_headers,
              ElementsAre(Pair("X-Scope-OrgID", "tenant1"), Pair("X-Other", "b")));
  EXPECT_THAT(c->query_parameters,
              ElementsAre(Pair("dedup", "true"), Pair("partial_response", "false")));
  EXPECT_FALSE(c->ignore_null_values);
  EXPECT_TRUE(c->unsafe_ssl);
  EXPECT_EQ(c->timeout, std::chrono::milliseconds(5000));
  EXPECT_THAT(c->auth_modes, ElementsAre("basic", "tls"));
  EXPECT_EQ(c->cloud, "AzureUSGovernmentCloud");
  EXPECT_EQ(c->identity_owner, "operator");
  EXPECT_THAT(c->warnings, IsEmpty());
}

TEST(PrometheusConfigTest, RequiredKeysAreNamed) {
  for (const char* key : {"serverAddress", "query", "threshold"}) {
    auto m = Minimal();
    m.erase(key);
    EXPECT_THAT(ErrorOf(ParsePrometheusMetadata(m)),
                HasSubstr(std::string("metadata.") + key + ": required"));
    m[key] = "  ";
    EXPECT_THAT(ErrorOf(ParsePrometheusMetadata(m)),
                HasSubstr(std::string("metadata.") + key + ": required"));
  }
}

TEST(PrometheusConfigTest, BadNumbersNameTheKey) {
  EXPECT_EQ(ErrorOf(ParseWith("threshold", "abc")), "metadata.threshold: \"abc\" is not a number");
  EXPECT_EQ(ErrorOf(ParseWith("activationThreshold", "1,5")),
            "metadata.activationThreshold: \"1,5\" is not a number");
  EXPECT_THAT(ErrorOf(ParseWith("threshold", "0")), HasSubstr("must be greater than 0"));
  EXPECT_THAT(ErrorOf(ParseWith("threshold", "-3")), HasSubstr("must be greater than 0"));
  EXPECT_TRUE(ParseWith("activationThreshold", "-1").ok());
}

TEST(PrometheusConfigTest, ContextPrefixReadsAsTheManifestPath) {
  Status s = ParseWith("threshold", "abc").status().WithContext("spec.triggers[0]");
  EXPECT_EQ(s.message(), "spec.triggers[0]: metadata.threshold: \"abc\" is not a number");
}

TEST(PrometheusConfigTest, BooleansLikeGo) {
  EXPECT_FALSE(ParseWith("ignoreNullValues", "f")->ignore_null_values);
  EXPECT_TRUE(ParseWith("unsafeSsl", "1")->unsafe_ssl);
  EXPECT_EQ(ErrorOf(ParseWith("ignoreNullValues", "yes")),
            "metadata.ignoreNullValues: \"yes\" is not a boolean (use \"true\" or \"false\")");
  EXPECT_THAT(ErrorOf(ParseWith("unsafeSsl", "nope")), HasSubstr("metadata.unsafeSsl"));
}

TEST(PrometheusConfigTest, TimeoutInBothForms) {
  EXPECT_EQ(ParseWith("timeout", "3000")->timeout, std::chrono::milliseconds(3000));
  EXPECT_EQ(ParseWith("timeout", "3s")->timeout, std::chrono::milliseconds(3000));
  EXPECT_EQ(ParseWith("timeout", "1m")->timeout, std::chrono::milliseconds(60000));
  EXPECT_EQ(ParseWith("timeout", "1m30s")->timeout, std::chrono::milliseconds(90000));
  EXPECT_EQ(ParseWith("timeout", "250ms")->timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(ParseWith("timeout", "1500us")->timeout, std::chrono::milliseconds(2));  // rounded up
  std::string bad = ErrorOf(ParseWith("timeout", "abc"));
  EXPECT_THAT(bad, HasSubstr("metadata.timeout: \"abc\" is not a duration"));
  // KEDA: a zero timeout means "use the global HTTP timeout" (3 s by default).
  EXPECT_EQ(ParseWith("timeout", "0")->timeout, std::chrono::milliseconds(3000));
  EXPECT_EQ(ParseWith("timeout", "0s")->timeout, std::chrono::milliseconds(3000));
  EXPECT_THAT(ErrorOf(ParseWith("timeout", "-5s")), HasSubstr("metadata.timeout"));
}

TEST(PrometheusConfigTest, ServerAddressChecks) {
  EXPECT_THAT(ErrorOf(ParseWith("serverAddress", "prometheus:9090")),
              HasSubstr("metadata.serverAddress: \"prometheus:9090\" is not a valid URL"));
  EXPECT_THAT(ErrorOf(ParseWith("serverAddress", "ftp://x")), HasSubstr("metadata.serverAddress"));
  EXPECT_THAT(ErrorOf(ParseWith("serverAddress", "http://p:9090?x=1")),
              HasSubstr("queryParameters"));
  EXPECT_EQ(ParseWith("serverAddress", "http://p:9090//")->server_address, "http://p:9090");
}

TEST(PrometheusConfigTest, ServerAddressWithCredentialsIsRejectedWithoutEchoingThem) {
  std::string e = ErrorOf(ParseWith("serverAddress", "https://admin:hunter2pw@prom.example:9090"));
  EXPECT_THAT(e, HasSubstr("metadata.serverAddress"));
  EXPECT_THAT(e, HasSubstr("TriggerAuthentication"));
  EXPECT_THAT(e, Not(HasSubstr("hunter2pw")));
}

TEST(PrometheusConfigTest, WarnsOnApiSuffixInServerAddress) {
  for (const char* addr :
       {"http://p:9090/api/v1", "http://p:9090/api/v1/", "http://p:9090/api/v1/query"}) {
    auto c = ParseWith("serverAddress", addr);
    ASSERT_TRUE(c.ok());
    ASSERT_EQ(c->warnings.size(), 1u) << addr;
    EXPECT_THAT(c->warnings[0], HasSubstr("/api/v1/query"));
    EXPECT_THAT(c->warnings[0], HasSubstr("metadata.serverAddress"));
  }
}

TEST(PrometheusConfigTest, KeyValueListErrorsNameTheItemButNotItsValue) {
  std::string e = ErrorOf(ParseWith("customHeaders", "X-Ok=1,Authorization: Bearer sekret-tok"));
  EXPECT_THAT(e, HasSubstr("metadata.customHeaders: item 2 is not of the form name=value"));
  EXPECT_THAT(e, Not(HasSubstr("sekret-tok")));
  EXPECT_THAT(ErrorOf(ParseWith("queryParameters", "a=1,=2")),
              HasSubstr("metadata.queryParameters: item 2"));
  EXPECT_THAT(ErrorOf(ParseWith("customHeaders", "Bad Name=1")),
              HasSubstr("not a valid HTTP header name"));
}

TEST(PrometheusConfigTest, QueryParametersThatShadowOursWarn) {
  auto c = ParseWith("queryParameters", "time=0");
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_THAT(c->warnings[0], HasSubstr("\"time\""));
}

TEST(PrometheusConfigTest, AuthModesValidated) {
  EXPECT_THAT(ParseWith("authModes", "bearer")->auth_modes, ElementsAre("bearer"));
  EXPECT_THAT(ParseWith("authMode", "custom")->auth_modes, ElementsAre("custom"));
  std::string e = ErrorOf(ParseWith("authModes", "basic,digest"));
  EXPECT_THAT(e, HasSubstr("metadata.authModes: unknown authModes value \"digest\""));
  EXPECT_THAT(e, HasSubstr("basic, bearer, tls, custom"));
}

// Ignoring these keys would send the query without the credential the user
// asked for; each is refused with the field named (issue 14).
TEST(PrometheusConfigTest, CloudCredentialKeysEbbCannotHonourAreRefused) {
  for (const char* key : {"credentialsFromEnv", "credentialsFromEnvFile"}) {
    std::string e = ErrorOf(ParseWith(key, "X"));
    EXPECT_THAT(e, HasSubstr(std::string("metadata.") + key + ": ")) << key;
    EXPECT_THAT(e, HasSubstr("not supported by ebb yet")) << key;
  }
}

// awsRegion is honoured: it selects SigV4 signing (auth/aws_identity.h),
// which refuses to build without AWS credentials.
TEST(PrometheusConfigTest, AwsRegionIsKept) {
  EXPECT_EQ(ParseWith("awsRegion", " eu-west-1 ")->aws_region, "eu-west-1");
  EXPECT_EQ(ParseWith("awsRegion", "  ")->aws_region, "");  // blank is absent, as KEDA reads it
}

TEST(PrometheusConfigTest, Clouds) {
  EXPECT_EQ(ParseWith("cloud", "AzureChinaCloud")->cloud, "AzureChinaCloud");
  EXPECT_THAT(
      ErrorOf(ParseWith("cloud", "Private")),
      HasSubstr("metadata.azureManagedPrometheusResourceURL: required when cloud is Private"));
  auto m = Minimal();
  m["cloud"] = "private";
  m["azureManagedPrometheusResourceURL"] = "https://prometheus.monitor.example/.default";
  auto c = ParsePrometheusMetadata(m);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->cloud, "Private");
  EXPECT_EQ(c->azure_managed_prometheus_resource_url, "https://prometheus.monitor.example/.default");
  EXPECT_THAT(ErrorOf(ParseWith("cloud", "AzureGermanCloud")), HasSubstr("metadata.cloud"));
}

TEST(PrometheusConfigTest, UnknownKeysWarnWithSuggestion) {
  auto c = ParseWith("treshold", "5");
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_THAT(c->warnings[0], HasSubstr("metadata.treshold is not a prometheus trigger key"));
  EXPECT_THAT(c->warnings[0], HasSubstr("did you mean threshold?"));
}

}  // namespace
}  // namespace ebb::prometheus
