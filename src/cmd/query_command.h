// `ebb query`: evaluates every trigger of every ScaledObject once and
// prints the values, whether each is active, and the replicas they imply.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace ebb::cmd {

struct QueryOptions {
  std::vector<std::string> files;  // -f, files or directories
  std::string output = "text";     // text | json
  // Permit http:// token authorities and bearer tokens over plain http
  // (local emulators only). Default false.
  bool allow_insecure_auth = false;
  // --token-destination: hosts besides the Azure managed-Prometheus domains
  // that tokens of ebb\'s own identities may go to (token_destination.h).
  std::vector<std::string> token_destinations;
  // Evaluate at this time (RFC 3339) instead of now: backtesting, or
  // reproducing what a poll saw. Default "" (now).
  std::string time;
};

// Exit code: 0 every trigger succeeded, 1 any failed (the output is still
// complete), 2 unusable input (problems printed to `err`).
int RunQuery(const QueryOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ebb::cmd
