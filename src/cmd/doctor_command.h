// `ebb doctor`: walks the whole path of every ScaledObject trigger
// (manifest, identity, token exchange, endpoint, query, threshold) and says,
// for each step, pass or the exact cause and the fix (docs/doctor.md).
#pragma once

#include <chrono>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ebb::cmd {

struct DoctorOptions {
  std::vector<std::string> files;  // -f, files or directories
  std::string name;                // --name NAMESPACE/NAME; "" = every ScaledObject
  bool in_cluster = false;         // --in-cluster: cluster checks with the pod's credentials
  std::string kubeconfig;          // --kubeconfig FILE: cluster checks with this kubeconfig
  // --operator-pod NAMESPACE/NAME: the pod the cluster checks examine;
  // "" = $POD_NAMESPACE/$POD_NAME with --in-cluster.
  std::string operator_pod;
  bool offline = false;            // --offline: only the checks that need no network
  // --resolve HOST:PORT:ADDR (repeatable), as curl's option.
  std::vector<std::string> resolve;
  std::string output = "text";  // text | json
  bool no_color = false;
  std::string time;             // --time RFC 3339 for the query; "" = now
  std::optional<double> value;  // --value: a value for the threshold check
  // Permit http:// token authorities and bearer tokens over plain http
  // (local emulators only). Default false.
  bool allow_insecure_auth = false;
  // --token-destination: hosts besides the Azure managed-Prometheus domains
  // that tokens of ebb\'s own identities may go to (token_destination.h).
  std::vector<std::string> token_destinations;
  // The environment doctor reads (AZURE_*, proxies). Default: the process's.
  // Tests set it.
  std::optional<std::map<std::string, std::string>> environment;
  // Bound on the endpoint probe's connect and handshake. Default 5 s.
  std::chrono::milliseconds connect_timeout{5000};
};

// Exit code: 0 nothing failed (warnings allowed), 1 a check failed, 2
// unusable input (bad options, unreadable paths, no ScaledObject; printed
// to `err`). The report goes to `out`; it never holds a token, assertion,
// password or key.
int RunDoctor(const DoctorOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ebb::cmd
