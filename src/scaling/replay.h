// Replay: runs a metric timeline through the decision engine (`ebb simulate`)
// to backtest a ScaledObject before deploying it.
//
//   Result<Series> s = ParseSeriesCsv(text, "series.csv");
//   ReplayOptions opts;
//   opts.targets = {{.target = 100, .activation_target = 5}};  // one per trigger
//   Result<ReplayResult> r = Replay(so, *s, opts);
//   std::cout << ReplayToCsv(*r);                // time,replicas,active,reason,desired,message
//
// Series CSV: a header `time,<trigger>,...` where a column names a trigger by
// its name or index ("0", "1"); then one row per poll, times in seconds
// (integer or decimal), strictly increasing; an empty cell means that
// trigger's query failed. Blank lines and lines starting with '#' are skipped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/scaled_object.h"
#include "common/status.h"

namespace ebb::scaling {

// A metric timeline. Plain value type.
struct Series {
  std::vector<double> times;                                // seconds, increasing
  std::vector<std::string> columns;                         // header names after "time"
  std::vector<std::vector<std::optional<double>>> values;   // per row, per column; nullopt = failed
};

// Parses the CSV above. kInvalidConfig naming file, line and column:
// `series.csv:4:2: "abc" is not a number`, `series.csv:5:1: time 3 is not
// after 4`, `series.csv:3: expected 3 cells, got 2`.
Result<Series> ParseSeriesCsv(std::string_view text, const std::string& file_name);

// How to read one trigger's values (the caller parses them from metadata).
struct TriggerTarget {
  double target = 0;                 // threshold, > 0
  double activation_target = 0;      // activationThreshold
  api::MetricType metric_type = api::MetricType::kAverageValue;
};

struct ReplayOptions {
  // One per trigger of the ScaledObject, in order. Required.
  std::vector<TriggerTarget> targets;
  // Replicas before the first row. Default: spec.minReplicaCount.
  std::optional<int32_t> initial_replicas;
  // Shown in errors ("series.csv: no column for trigger ..."). Default "series".
  std::string file_name = "series";
};

// The engine's decision at one row, applied at once with every replica ready.
struct ReplayRow {
  double time = 0;
  int32_t replicas = 0;              // after the decision
  bool active = false;
  std::string reason;
  std::optional<int32_t> desired;    // the HPA's raw proposal, if it ran
  std::string message;
};

struct ReplaySummary {
  int32_t scale_changes = 0;         // rows where the replica count changed
  int32_t max_replicas = 0;
  double replica_seconds = 0;        // sum of replicas x time to the next row
};

struct ReplayResult {
  std::vector<ReplayRow> rows;
  ReplaySummary summary;
};

// Runs one Decide per row. kInvalidConfig when a trigger has no column, a
// column matches no trigger, the targets do not match the triggers, or the
// ScaledObject fails ValidateForEngine.
Result<ReplayResult> Replay(const api::ScaledObject& so, const Series& series, const ReplayOptions& options);

// "time,replicas,active,reason,desired,message" then one line per row;
// active is true/false; desired is empty when the HPA did not run; the
// message is quoted as CSV requires.
std::string ReplayToCsv(const ReplayResult& result);

// {"rows":[{"time":..,"replicas":..,"active":..,"reason":..,"desired":..|null,
//  "message":..}],"summary":{"scaleChanges":..,"maxReplicas":..,"replicaSeconds":..}}
std::string ReplayToJson(const ReplayResult& result);

}  // namespace ebb::scaling
