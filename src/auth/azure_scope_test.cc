#include "auth/azure_scope.h"

#include <gtest/gtest.h>

namespace ebb::auth {
namespace {

TEST(AzureScopeTest, EachCloud) {
  EXPECT_EQ(AzurePrometheusScope("", "").value(), "https://prometheus.monitor.azure.com/.default");
  EXPECT_EQ(AzurePrometheusScope("AzurePublicCloud", "").value(), "https://prometheus.monitor.azure.com/.default");
  EXPECT_EQ(AzurePrometheusScope("azurepubliccloud", "").value(), "https://prometheus.monitor.azure.com/.default");
  EXPECT_EQ(AzurePrometheusScope("AzureUSGovernmentCloud", "").value(), "https://prometheus.monitor.azure.us/.default");
  EXPECT_EQ(AzurePrometheusScope("AzureChinaCloud", "").value(), "https://prometheus.monitor.azure.cn/.default");
  EXPECT_EQ(AzurePrometheusScope("Private", "https://prometheus.monitor.contoso.example/").value(),
            "https://prometheus.monitor.contoso.example/.default");
  EXPECT_EQ(AzurePrometheusScope("Private", "https://p.example/.default").value(), "https://p.example/.default");
}

TEST(AzureScopeTest, PrivateNeedsAResourceUrl) {
  Result<std::string> none = AzurePrometheusScope("Private", "");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(none.status().message().find("azureManagedPrometheusResourceURL"), std::string::npos);
  Result<std::string> bad = AzurePrometheusScope("Private", "prometheus.example");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("azureManagedPrometheusResourceURL"), std::string::npos);
}

TEST(AzureScopeTest, UnknownCloudNamesTheAcceptedValues) {
  Result<std::string> s = AzurePrometheusScope("AzureGermanCloud", "");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidConfig);
  for (const char* name : {"AzureGermanCloud", "AzurePublicCloud", "AzureUSGovernmentCloud", "AzureChinaCloud", "Private"}) {
    EXPECT_NE(s.status().message().find(name), std::string::npos) << name;
  }
}

TEST(AzureScopeTest, AuthorityHostsAndResources) {
  EXPECT_EQ(DefaultAuthorityHost(""), "https://login.microsoftonline.com/");
  EXPECT_EQ(DefaultAuthorityHost("AzureUSGovernmentCloud"), "https://login.microsoftonline.us/");
  EXPECT_EQ(DefaultAuthorityHost("AzureChinaCloud"), "https://login.chinacloudapi.cn/");
  EXPECT_EQ(DefaultAuthorityHost("Private"), "");
  EXPECT_EQ(ScopeToResource("https://prometheus.monitor.azure.com/.default"), "https://prometheus.monitor.azure.com");
  EXPECT_EQ(ScopeToResource("https://x"), "https://x");
}

}  // namespace
}  // namespace ebb::auth
