#include "scaling/replay.h"

#include <algorithm>

#include "common/clock.h"
#include "common/strings.h"
#include "scaling/engine.h"
#include "scaling/validate.h"

namespace ebb::scaling {
namespace {

Status LineError(const std::string& file, size_t line, std::optional<size_t> column, const std::string& msg) {
  std::string where = file + ":" + std::to_string(line);
  if (column) where += ":" + std::to_string(*column);
  return InvalidConfig(where + ": " + msg);
}

// Splits one line on commas (the series holds only names and numbers, so
// no quoting is needed) and trims each cell.
std::vector<std::string> Cells(std::string_view line) {
  std::vector<std::string> cells = Split(line, ',');
  for (auto& c : cells) c = std::string(Trim(c));
  return cells;
}

Status ParseHeader(std::string_view line, const std::string& file, size_t line_no, Series& out) {
  std::vector<std::string> cells = Cells(line);
  if (cells.empty() || cells[0] != "time") {
    return LineError(file, line_no, 1, "the header must start with \"time\"");
  }
  if (cells.size() < 2) return LineError(file, line_no, std::nullopt, "the header names no trigger column");
  for (size_t i = 1; i < cells.size(); ++i) {
    if (cells[i].empty()) return LineError(file, line_no, i + 1, "empty column name");
    out.columns.push_back(cells[i]);
  }
  return Status::Ok();
}

Status ParseRow(std::string_view line, const std::string& file, size_t line_no, Series& out) {
  std::vector<std::string> cells = Cells(line);
  const size_t expected = out.columns.size() + 1;
  if (cells.size() != expected) {
    return LineError(file, line_no, std::nullopt,
                     "expected " + std::to_string(expected) + " cells, got " + std::to_string(cells.size()));
  }
  std::optional<double> time = ParseDouble(cells[0]);
  if (!time) return LineError(file, line_no, 1, "time \"" + cells[0] + "\" is not a number");
  if (!out.times.empty() && *time <= out.times.back()) {
    return LineError(file, line_no, 1,
                     "time " + FormatDouble(*time) + " is not after " + FormatDouble(out.times.back()));
  }
  std::vector<std::optional<double>> row;
  for (size_t i = 1; i < cells.size(); ++i) {
    if (cells[i].empty()) {
      row.push_back(std::nullopt);
      continue;
    }
    std::optional<double> v = ParseDouble(cells[i]);
    if (!v) return LineError(file, line_no, i + 1, "\"" + cells[i] + "\" is not a number");
    row.push_back(v);
  }
  out.times.push_back(*time);
  out.values.push_back(std::move(row));
  return Status::Ok();
}

// The series column of each trigger, by name or index.
Result<std::vector<size_t>> MapColumns(const api::ScaledObject& so, const Series& series, const std::string& file) {
  const auto& triggers = so.spec.triggers;
  std::vector<std::optional<size_t>> column_of(triggers.size());
  for (size_t c = 0; c < series.columns.size(); ++c) {
    const std::string& col = series.columns[c];
    std::optional<size_t> trigger;
    for (size_t t = 0; t < triggers.size() && !trigger; ++t) {
      if (!triggers[t].name.empty() && triggers[t].name == col) trigger = t;
    }
    std::optional<int64_t> index = ParseInt(col);
    if (!trigger && index && *index >= 0 && static_cast<size_t>(*index) < triggers.size()) trigger = *index;
    if (!trigger) return LineError(file, 1, c + 2, "column \"" + col + "\" matches no trigger");
    if (column_of[*trigger]) return LineError(file, 1, c + 2, "a second column for trigger " + std::to_string(*trigger));
    column_of[*trigger] = c;
  }
  std::vector<size_t> result;
  for (size_t t = 0; t < triggers.size(); ++t) {
    if (!column_of[t]) {
      const std::string label = triggers[t].name.empty() ? "" : " (\"" + triggers[t].name + "\")";
      return InvalidConfig(file + ": no column for trigger " + std::to_string(t) + label);
    }
    result.push_back(*column_of[t]);
  }
  return result;
}

std::vector<TriggerObservation> Observe(const api::ScaledObject& so, const Series& series, size_t row,
                                        const std::vector<size_t>& columns, const ReplayOptions& options) {
  std::vector<TriggerObservation> obs;
  for (size_t t = 0; t < columns.size(); ++t) {
    const TriggerTarget& target = options.targets[t];
    TriggerObservation o;
    o.name = so.spec.triggers[t].name;
    o.value = series.values[row][columns[t]];
    if (!o.value) o.error = "no value in the series";
    o.target = target.target;
    o.activation_target = target.activation_target;
    o.metric_type = target.metric_type;
    obs.push_back(std::move(o));
  }
  return obs;
}

ReplaySummary Summarize(const std::vector<ReplayRow>& rows, int32_t initial) {
  ReplaySummary s;
  int32_t previous = initial;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].replicas != previous) ++s.scale_changes;
    previous = rows[i].replicas;
    s.max_replicas = std::max(s.max_replicas, rows[i].replicas);
    if (i + 1 < rows.size()) s.replica_seconds += rows[i].replicas * (rows[i + 1].time - rows[i].time);
  }
  return s;
}

std::string CsvQuote(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

Result<Series> ParseSeriesCsv(std::string_view text, const std::string& file_name) {
  Series series;
  bool have_header = false;
  size_t line_no = 0;
  for (const std::string& raw : Split(text, '\n')) {
    ++line_no;
    std::string_view line = Trim(raw);  // also drops a '\r' of CRLF files
    if (line.empty() || line.front() == '#') continue;
    if (!have_header) {
      EBB_RETURN_IF_ERROR(ParseHeader(line, file_name, line_no, series));
      have_header = true;
      continue;
    }
    EBB_RETURN_IF_ERROR(ParseRow(line, file_name, line_no, series));
  }
  if (!have_header) return InvalidConfig(file_name + ": empty series (expected a header `time,<trigger>,...`)");
  return series;
}

Result<ReplayResult> Replay(const api::ScaledObject& so, const Series& series, const ReplayOptions& options) {
  EBB_RETURN_IF_ERROR(ValidateForEngine(so));
  if (options.targets.size() != so.spec.triggers.size()) {
    return InvalidConfig("replay: " + std::to_string(options.targets.size()) + " targets for " +
                         std::to_string(so.spec.triggers.size()) + " triggers");
  }
  Result<std::vector<size_t>> columns = MapColumns(so, series, options.file_name);
  if (!columns.ok()) return columns.status();

  const int32_t initial = options.initial_replicas.value_or(so.spec.min_replica_count);
  const Time created = FromUnixSeconds(series.times.empty() ? 0 : series.times.front());
  EngineState state;
  int32_t current = initial;
  ReplayResult result;
  for (size_t row = 0; row < series.times.size(); ++row) {
    std::vector<TriggerObservation> obs = Observe(so, series, row, *columns, options);
    Decision d = Decide(so, obs, current, current, FromUnixSeconds(series.times[row]), created, state);
    current = d.replicas;
    result.rows.push_back({series.times[row], d.replicas, d.active, d.reason, d.desired, d.message});
  }
  result.summary = Summarize(result.rows, initial);
  return result;
}

std::string ReplayToCsv(const ReplayResult& result) {
  std::string out = "time,replicas,active,reason,desired,message\n";
  for (const auto& r : result.rows) {
    out += FormatDouble(r.time) + "," + std::to_string(r.replicas) + "," + (r.active ? "true" : "false") + "," +
           r.reason + "," + (r.desired ? std::to_string(*r.desired) : "") + "," + CsvQuote(r.message) + "\n";
  }
  return out;
}

std::string ReplayToJson(const ReplayResult& result) {
  std::string out = "{\"rows\":[";
  for (size_t i = 0; i < result.rows.size(); ++i) {
    const ReplayRow& r = result.rows[i];
    if (i > 0) out += ",";
    out += "{\"time\":" + FormatDouble(r.time) + ",\"replicas\":" + std::to_string(r.replicas) +
           ",\"active\":" + (r.active ? "true" : "false") + ",\"reason\":\"" + JsonEscape(r.reason) +
           "\",\"desired\":" + (r.desired ? std::to_string(*r.desired) : "null") + ",\"message\":\"" +
           JsonEscape(r.message) + "\"}";
  }
  const ReplaySummary& s = result.summary;
  out += "],\"summary\":{\"scaleChanges\":" + std::to_string(s.scale_changes) +
         ",\"maxReplicas\":" + std::to_string(s.max_replicas) +
         ",\"replicaSeconds\":" + FormatDouble(s.replica_seconds) + "}}";
  return out;
}

}  // namespace ebb::scaling
