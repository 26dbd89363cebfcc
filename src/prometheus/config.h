// PrometheusConfig: the Prometheus trigger's metadata (KEDA's keys, see
// facts/keda-compat.md), parsed and validated.
//
//   Result<PrometheusConfig> c = ParsePrometheusMetadata(trigger.metadata);
//   if (!c.ok()) return c.status().WithContext("spec.triggers[0]");
//   // -> spec.triggers[0]: metadata.threshold: "abc" is not a number
//   for (const std::string& w : c->warnings) ...   // e.g. serverAddress ends in /api/v1
//
// Errors are kInvalidConfig and start with the key ("metadata.<key>: ...");
// values are quoted only where they cannot hold a secret (customHeaders and
// queryParameters values are never echoed; URL userinfo is redacted).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace ebb::prometheus {

// Azure clouds for Azure Managed Prometheus (metadata `cloud`).
inline constexpr char kCloudAzurePublic[] = "AzurePublicCloud";
inline constexpr char kCloudAzureUsGovernment[] = "AzureUSGovernmentCloud";
inline constexpr char kCloudAzureChina[] = "AzureChinaCloud";
inline constexpr char kCloudPrivate[] = "Private";

using KeyValueList = std::vector<std::pair<std::string, std::string>>;

struct PrometheusConfig {
  // Base URL without trailing '/'; the query goes to {server_address}/api/v1/query.
  // REQUIRES: absolute http(s) URL without userinfo, query or fragment.
  std::string server_address;
  std::string query;                        // PromQL, required, non-empty
  double threshold = 0;                     // required, > 0
  double activation_threshold = 0;          // Default: 0; active when value > this
  std::string namespace_name;               // Default: "" (not sent)
  KeyValueList custom_headers;              // Default: none; in the order written
  KeyValueList query_parameters;            // Default: none; in the order written
  bool ignore_null_values = true;           // Default: true
  bool unsafe_ssl = false;                  // Default: false
  std::chrono::milliseconds timeout{3000};  // Default: 3000 ms
  // Validated, lower-case, deduplicated (auth::ParseAuthModes). Default: empty.
  std::vector<std::string> auth_modes;
  // Canonical cloud name (kCloud*). Default: AzurePublicCloud.
  std::string cloud = kCloudAzurePublic;
  // As written; required when cloud is Private.
  std::string azure_managed_prometheus_resource_url;
  std::string aws_region;      // Default: "" (Amazon Managed Prometheus only)
  std::string identity_owner;  // Default: "" ("pod"); "operator" for KEDA's own identity
  // Things that parse but are probably mistakes, for events and doctor.
  std::vector<std::string> warnings;
};

// Parses a prometheus trigger's metadata. kInvalidConfig naming the key.
Result<PrometheusConfig> ParsePrometheusMetadata(
    const std::map<std::string, std::string>& metadata);

}  // namespace ebb::prometheus
