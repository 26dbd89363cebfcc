// The ebb binary: one executable, one subcommand per job (docs/design.md).
#include <CLI/CLI.hpp>

#include <iostream>

#include "cmd/query_command.h"
#include "cmd/simulate_command.h"
#include "cmd/version.h"

namespace {

void AddVersion(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("version", "Print ebb's version");
  cmd->callback([exit_code] {
    std::cout << "ebb " << ebb::cmd::kVersion << "\n";
    *exit_code = 0;
  });
}

void AddQuery(CLI::App& app, int* exit_code) {
  static ebb::cmd::QueryOptions options;
  CLI::App* cmd = app.add_subcommand(
      "query", "Evaluate every trigger of every ScaledObject once: value, active, replicas implied");
  cmd->add_option("-f,--filename", options.files, "Manifest file or directory (repeatable)")
      ->required();
  cmd->add_option("-o,--output", options.output, "text or json")->capture_default_str();
  cmd->add_option("--time", options.time, "Evaluate at this RFC 3339 time instead of now");
  cmd->add_flag("--allow-insecure-auth", options.allow_insecure_auth,
                "Allow http:// token authorities and bearer tokens over plain http (local testing)");
  cmd->callback([exit_code] { *exit_code = ebb::cmd::RunQuery(options, std::cout, std::cerr); });
}

void AddSimulate(CLI::App& app, int* exit_code) {
  static ebb::cmd::SimulateOptions options;
  static int initial = -1;
  CLI::App* cmd = app.add_subcommand(
      "simulate", "Replay a metric timeline through the decision engine and print the replicas");
  cmd->add_option("-f,--filename", options.files, "Manifest file or directory (repeatable)")->required();
  cmd->add_option("--name", options.name, "NAMESPACE/NAME of the ScaledObject when the files hold several");
  cmd->add_option("--series", options.series, "CSV: time,<trigger>,... one row per poll");
  cmd->add_flag("--from-prometheus", options.from_prometheus,
                "Fetch each trigger's series with query_range (same auth as the trigger)");
  cmd->add_option("--start", options.start, "RFC 3339 start, with --from-prometheus");
  cmd->add_option("--end", options.end, "RFC 3339 end, with --from-prometheus");
  cmd->add_option("--step", options.step, "Poll interval of the replay, with --from-prometheus")
      ->capture_default_str();
  cmd->add_option("--initial-replicas", initial, "Replicas before the first row (default: minReplicaCount)");
  cmd->add_option("-o,--output", options.output, "csv or json")->capture_default_str();
  cmd->add_flag("--allow-insecure-auth", options.allow_insecure_auth,
                "Allow http:// token authorities and bearer tokens over plain http (local testing)");
  cmd->callback([exit_code] {
    if (initial >= 0) options.initial_replicas = initial;
    *exit_code = ebb::cmd::RunSimulate(options, std::cout, std::cerr);
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ebb: an event-driven autoscaler that reads KEDA's resources"};
  app.require_subcommand(1);
  int exit_code = 0;
  AddVersion(app, &exit_code);
  AddQuery(app, &exit_code);
  AddSimulate(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
