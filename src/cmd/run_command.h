// `ebb run`: the scaling loop on manifests from files. Polls every
// ScaledObject, decides with the engine, scales ProcessPool targets, serves
// /metrics, /healthz and /readyz, reloads the files when they change, and
// stops cleanly on SIGINT/SIGTERM.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace ebb::cmd {

struct RunOptions {
  std::vector<std::string> files;                 // -f, files or directories
  std::string metrics_address = "127.0.0.1:8080";  // loopback by default
  std::string log_format = "text";                // text | json
  std::string log_level = "info";
  bool dry_run = false;                           // decide and log, change nothing
  int reload_seconds = 2;                         // how often the files are checked
  bool allow_insecure_auth = false;
  // --token-destination: hosts besides the Azure managed-Prometheus domains
  // that tokens of ebb\'s own identities may go to (token_destination.h).
  std::vector<std::string> token_destinations;
};

// Runs until SIGINT or SIGTERM. Exit code: 0 after a clean shutdown, 2 for
// unusable options or files that cannot be read at all.
int RunLoop(const RunOptions& options, std::ostream& err);

}  // namespace ebb::cmd
