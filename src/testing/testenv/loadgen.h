// A load generator for the quickstart and end-to-end tests: a queue depth
// that sits idle, rises to a peak, holds, falls back to zero and stays
// there, served on /metrics for a real Prometheus to scrape.
//
//   LoadProfile p{.idle = 20s, .rise = 30s, .hold = 30s, .fall = 30s, .peak = 60};
//   double depth = LoadAt(p, now - start);   // 0 .. 60 .. 0
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace ebb::testing {

struct LoadProfile {
  Duration idle = std::chrono::seconds(20);  // at 0 before the rise
  Duration rise = std::chrono::seconds(30);  // linear 0 -> peak
  Duration hold = std::chrono::seconds(30);  // at peak
  Duration fall = std::chrono::seconds(30);  // linear peak -> 0, then 0 for good
  double peak = 60;
  bool repeat = false;  // start over after the fall (and an idle phase)

  Duration Cycle() const { return idle + rise + hold + fall; }
};

// The depth at `elapsed` since the start, rounded to a whole number of
// items (a queue holds whole messages).
double LoadAt(const LoadProfile& profile, Duration elapsed);

// Parses `ebb-testenv loadgen` flags: --port N --peak X --idle S --rise S
// --hold S --fall S --repeat. kInvalidConfig naming the flag.
Result<LoadProfile> ParseLoadgenArgs(const std::vector<std::string>& args, int* port);

}  // namespace ebb::testing
