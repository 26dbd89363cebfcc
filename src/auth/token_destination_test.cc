#include "auth/token_destination.h"

#include <gtest/gtest.h>

namespace ebb::auth {
namespace {

TEST(TokenDestinationsTest, AzureDomainsAllowWorkspacesOnly) {
  TokenDestinations d = AzureTokenDestinations({});
  EXPECT_TRUE(d.Allows("ws-abcd.eastus.prometheus.monitor.azure.com"));
  EXPECT_TRUE(d.Allows("WS.EASTUS.Prometheus.Monitor.Azure.Com"));
  EXPECT_TRUE(d.Allows("ws.usgovvirginia.prometheus.monitor.azure.us"));
  EXPECT_TRUE(d.Allows("ws.chinanorth3.prometheus.monitor.azure.cn"));
  EXPECT_FALSE(d.Allows("prometheus.monitor.azure.com"));  // the bare domain is no workspace
  EXPECT_FALSE(d.Allows("evilprometheus.monitor.azure.com"));
  EXPECT_FALSE(d.Allows("ws.prometheus.monitor.azure.com.evil.example"));
  EXPECT_FALSE(d.Allows("127.0.0.1"));
  EXPECT_FALSE(d.Allows(""));
}

TEST(TokenDestinationsTest, OperatorGivenHostsAndWildcards) {
  TokenDestinations d = AzureTokenDestinations({"127.0.0.1", "*.corp.example", "Prom.Local"});
  EXPECT_TRUE(d.Allows("127.0.0.1"));
  EXPECT_FALSE(d.Allows("127.0.0.2"));
  EXPECT_TRUE(d.Allows("a.b.corp.example"));
  EXPECT_FALSE(d.Allows("corp.example"));
  EXPECT_TRUE(d.Allows("prom.local"));
  EXPECT_FALSE(d.Allows("prom.local.evil"));
}

TEST(TokenDestinationsTest, EmptyAllowsNothing) {
  EXPECT_FALSE(TokenDestinations().Allows("ws.eastus.prometheus.monitor.azure.com"));
}

TEST(TokenDestinationsTest, CheckNamesHostAndFixWithoutPathOrQuery) {
  TokenDestinations d = AzureTokenDestinations({});
  EXPECT_TRUE(d.Check("https://ws.eastus.prometheus.monitor.azure.com/api/v1/query?query=up", "token").ok());
  Status s = d.Check("https://evil.example:8443/api/v1/query?query=secret_metric", "Azure token");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidConfig);
  EXPECT_NE(s.message().find("refusing to send the Azure token to evil.example"), std::string::npos);
  EXPECT_NE(s.message().find("--token-destination evil.example"), std::string::npos);
  EXPECT_NE(s.message().find("*.prometheus.monitor.azure.com"), std::string::npos);
  EXPECT_EQ(s.message().find("secret_metric"), std::string::npos);
  EXPECT_FALSE(d.Check("not a url", "token").ok());
}

TEST(TokenDestinationsTest, PatternValidation) {
  for (const char* ok : {"prom.example.com", "*.example.com", "127.0.0.1", "localhost", "::1"}) {
    EXPECT_TRUE(ValidateDestinationPattern(ok).ok()) << ok;
  }
  for (const char* bad : {"", "*", "*.", "*.com.*", "https://prom.example.com", "prom.example.com:443",
                          "prom.example.com/path", "com", "a*.example.com"}) {
    Status s = ValidateDestinationPattern(bad);
    EXPECT_FALSE(s.ok()) << bad;
  }
}

}  // namespace
}  // namespace ebb::auth
