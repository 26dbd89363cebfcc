// Logging: one line per event, as text for people or JSON lines for tools.
//
//   Logger& log = Logger::Default();
//   log.Info("scaled", {{"scaledObject", "default/web"}, {"from", "1"}, {"to", "3"}});
//
// text: 2026-11-26T05:32:13.25Z INFO scaled scaledObject=default/web from=1 to=3
// json: {"ts":"2026-11-26T05:32:13.25Z","level":"info","msg":"scaled","scaledObject":"default/web",...}
//
// Messages and values are escaped (JSON: JsonEscape; text: values with
// spaces or quotes are quoted), so one event is always one line. Never pass
// a secret: use SecretString::ToString(), which prints REDACTED.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace ebb {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };
enum class LogFormat { kText, kJson };

using LogFields = std::vector<std::pair<std::string, std::string>>;

// Thread-safe: lines from concurrent threads never interleave.
class Logger {
 public:
  // Writes to stderr by default.
  Logger();

  void SetLevel(LogLevel level);
  void SetFormat(LogFormat format);
  // Replaces the sink (tests capture lines with it). The sink receives one
  // full line without the trailing newline.
  void SetSink(std::function<void(std::string_view)> sink);
  void SetClock(const Clock* clock);

  bool Enabled(LogLevel level) const;
  void Log(LogLevel level, std::string_view msg, const LogFields& fields = {});
  void Debug(std::string_view msg, const LogFields& f = {}) { Log(LogLevel::kDebug, msg, f); }
  void Info(std::string_view msg, const LogFields& f = {}) { Log(LogLevel::kInfo, msg, f); }
  void Warn(std::string_view msg, const LogFields& f = {}) { Log(LogLevel::kWarn, msg, f); }
  void Error(std::string_view msg, const LogFields& f = {}) { Log(LogLevel::kError, msg, f); }

  // Formats one line without writing it (exposed for tests).
  std::string Format(LogLevel level, std::string_view msg, const LogFields& fields) const;

  // The process-wide logger.
  static Logger& Default();

 private:
  mutable std::mutex mu_;
  LogLevel level_ = LogLevel::kInfo;       // guarded by mu_
  LogFormat format_ = LogFormat::kText;    // guarded by mu_
  std::function<void(std::string_view)> sink_;  // guarded by mu_
  const Clock* clock_;                     // guarded by mu_; not owned
};

// Parses "debug|info|warn|error" and "text|json"; false when unknown.
bool ParseLogLevel(std::string_view text, LogLevel* out);
bool ParseLogFormat(std::string_view text, LogFormat* out);

}  // namespace ebb
