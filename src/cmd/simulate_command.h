// `ebb simulate`: replays a metric timeline (a CSV file, or each trigger's
// query_range from Prometheus) through the decision engine and prints the
// replica timeline the ScaledObject would produce: backtest a threshold
// before deploying it.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace ebb::cmd {

struct SimulateOptions {
  std::vector<std::string> files;       // -f, the ScaledObject (and its auth)
  std::string name;                     // NS/NAME when the files hold several
  std::string series;                   // --series CSV
  bool from_prometheus = false;         // --from-prometheus
  std::string start, end;               // RFC 3339, with --from-prometheus
  std::string step = "30s";             // poll interval of the replay
  std::optional<int> initial_replicas;  // default: minReplicaCount
  std::string output = "csv";           // csv | json
  bool allow_insecure_auth = false;
  // --token-destination: hosts besides the Azure managed-Prometheus domains
  // that tokens of ebb\'s own identities may go to (token_destination.h).
  std::vector<std::string> token_destinations;
};

// Exit code: 0 printed, 1 fetching from Prometheus failed, 2 unusable input.
int RunSimulate(const SimulateOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ebb::cmd
