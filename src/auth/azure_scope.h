// Azure clouds: which OAuth scope a token for Azure Managed Prometheus
// needs, and which authority host a cloud's tokens come from.
//
//   Result<std::string> scope = AzurePrometheusScope("AzureUSGovernmentCloud", "");
//   // "https://prometheus.monitor.azure.us/.default"
//   std::string resource = ScopeToResource(*scope);  // for IMDS: no "/.default"
//
// Cloud names are KEDA's trigger metadata values ("cloud"), compared without
// regard to case; "" means AzurePublicCloud.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace ebb::auth {

inline constexpr char kAzurePublicCloud[] = "AzurePublicCloud";
inline constexpr char kAzureUsGovernmentCloud[] = "AzureUSGovernmentCloud";
inline constexpr char kAzureChinaCloud[] = "AzureChinaCloud";
inline constexpr char kAzurePrivateCloud[] = "Private";

// The scope for querying Azure Managed Prometheus in `cloud`:
// AzurePublicCloud (default) https://prometheus.monitor.azure.com/.default,
// AzureUSGovernmentCloud ...azure.us/.default, AzureChinaCloud
// ...azure.cn/.default, Private: `private_resource_url` (KEDA's
// azureManagedPrometheusResourceURL; trailing slash dropped) + "/.default".
// kInvalidConfig for an unknown cloud (naming the accepted values), for
// Private without a resource URL, or with one that is not an http(s) URL.
Result<std::string> AzurePrometheusScope(std::string_view cloud, std::string_view private_resource_url);

// The default Entra ID authority host of `cloud`, with a trailing slash
// ("https://login.microsoftonline.com/"); "" for Private and unknown clouds.
std::string DefaultAuthorityHost(std::string_view cloud);

// "https://x/.default" -> "https://x" (IMDS and v1 endpoints take a
// resource, not a scope); other strings are returned unchanged.
std::string ScopeToResource(std::string_view scope);

// True for the query hosts of Azure Managed Prometheus in every cloud:
// *.prometheus.monitor.azure.com, *.azure.us, *.azure.cn (case-insensitive).
// Such a host answers 401 to any request without an Entra ID token.
bool IsAzureManagedPrometheusHost(std::string_view host);

}  // namespace ebb::auth
