#include "auth/azure_scope.h"

#include "common/strings.h"
#include "http/url.h"

namespace ebb::auth {

namespace {

constexpr std::string_view kDefaultSuffix = "/.default";

bool CloudIs(std::string_view cloud, std::string_view name) { return ToLower(cloud) == ToLower(name); }

Result<std::string> PrivateScope(std::string_view resource_url) {
  std::string url(Trim(resource_url));
  if (url.empty()) {
    return InvalidConfig("cloud \"Private\" needs azureManagedPrometheusResourceURL (the resource "
                         "URL of Azure Managed Prometheus in that cloud)");
  }
  Result<http::Url> parsed = http::ParseUrl(url);
  if (!parsed.ok()) return parsed.status().WithContext("azureManagedPrometheusResourceURL");
  if (EndsWith(url, kDefaultSuffix)) return url;
  while (EndsWith(url, "/")) url.pop_back();
  return url + std::string(kDefaultSuffix);
}

}  // namespace

Result<std::string> AzurePrometheusScope(std::string_view cloud, std::string_view private_resource_url) {
  if (cloud.empty() || CloudIs(cloud, kAzurePublicCloud)) {
    return std::string("https://prometheus.monitor.azure.com/.default");
  }
  if (CloudIs(cloud, kAzureUsGovernmentCloud)) return std::string("https://prometheus.monitor.azure.us/.default");
  if (CloudIs(cloud, kAzureChinaCloud)) return std::string("https://prometheus.monitor.azure.cn/.default");
  if (CloudIs(cloud, kAzurePrivateCloud)) return PrivateScope(private_resource_url);
  return InvalidConfig("cloud \"" + std::string(cloud) + "\" is not known; use AzurePublicCloud (the "
                       "default), AzureUSGovernmentCloud, AzureChinaCloud, or Private with "
                       "azureManagedPrometheusResourceURL");
}

std::string DefaultAuthorityHost(std::string_view cloud) {
  if (cloud.empty() || CloudIs(cloud, kAzurePublicCloud)) return "https://login.microsoftonline.com/";
  if (CloudIs(cloud, kAzureUsGovernmentCloud)) return "https://login.microsoftonline.us/";
  if (CloudIs(cloud, kAzureChinaCloud)) return "https://login.chinacloudapi.cn/";
  return "";
}

std::string ScopeToResource(std::string_view scope) {
  if (EndsWith(scope, kDefaultSuffix)) scope.remove_suffix(kDefaultSuffix.size());
  return std::string(scope);
}

bool IsAzureManagedPrometheusHost(std::string_view host) {
  std::string h = ToLower(host);
  for (const char* suffix : {".prometheus.monitor.azure.com", ".prometheus.monitor.azure.us",
                             ".prometheus.monitor.azure.cn"}) {
    if (EndsWith(h, suffix)) return true;
  }
  return false;
}

}  // namespace ebb::auth
