// TokenDestinations: where a token of one of the operator's own identities
// (Azure Workload Identity, Azure managed identity) may be sent.
//
//   TokenDestinations d = AzureTokenDestinations({"prom.internal.example"});
//   if (Status s = d.Check(url, "Azure Workload Identity token"); !s.ok()) ...  // nothing sent
//
// Why: the identity belongs to the operator and is shared by every
// namespace, but a ScaledObject's serverAddress is written by a namespace
// tenant. Sending the operator's token wherever a tenant points would let any
// tenant collect it and replay it against every workspace the identity can
// read. So the places a token may go are decided by the operator's own
// configuration only: the managed-Prometheus domains of the Azure clouds by
// default, plus the hosts ebb was started with (--token-destination).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ebb::auth {

// Host suffixes of Azure Managed Prometheus query endpoints (public, US
// Government and China clouds).
inline constexpr const char* kAzureManagedPrometheusDomains[] = {
    "*.prometheus.monitor.azure.com", "*.prometheus.monitor.azure.us", "*.prometheus.monitor.azure.cn"};

// Checks one operator-given pattern: a host name or IP address ("prom.example",
// "127.0.0.1") or a wildcard over a domain's subdomains ("*.example.com").
// kInvalidConfig naming the pattern otherwise (schemes, ports, paths and
// bare "*" are refused: they would widen the rule beyond what was meant).
Status ValidateDestinationPattern(std::string_view pattern);

// A set of allowed hosts. Value type; thread-safe for concurrent reads.
// Empty: nothing is allowed.
class TokenDestinations {
 public:
  TokenDestinations() = default;
  explicit TokenDestinations(std::vector<std::string> patterns);

  // True when `host` (case-insensitive) equals a pattern, or ends with
  // ".suffix" of a "*.suffix" pattern (the bare suffix itself does not match).
  bool Allows(std::string_view host) const;
  // Ok when the host of `url` is allowed; kInvalidConfig naming the host,
  // `what` (e.g. "Azure Workload Identity token"), the allowed patterns and
  // the fix otherwise. A URL that does not parse is kInvalidConfig too.
  Status Check(const std::string& url, const std::string& what) const;
  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  std::vector<std::string> patterns_;  // lower case
};

// The Azure managed-Prometheus domains plus `extra` (already validated).
TokenDestinations AzureTokenDestinations(const std::vector<std::string>& extra);

}  // namespace ebb::auth
