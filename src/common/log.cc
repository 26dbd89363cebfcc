#include "common/log.h"

#include <cctype>
#include <cstdio>

#include "common/strings.h"

namespace ebb {

namespace {

std::string_view LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

// Text values are quoted when they would otherwise break the key=value form.
std::string TextValue(std::string_view v) {
  bool plain = !v.empty();
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) plain = false;
  }
  if (plain) return std::string(v);
  return "\"" + JsonEscape(v) + "\"";
}

void WriteStderr(std::string_view line) {
  std::string out(line);
  out += '\n';
  std::fwrite(out.data(), 1, out.size(), stderr);
}

}  // namespace

Logger::Logger() : sink_(WriteStderr), clock_(&RealClock::Instance()) {}

void Logger::SetLevel(LogLevel level) { std::lock_guard l(mu_); level_ = level; }
void Logger::SetFormat(LogFormat format) { std::lock_guard l(mu_); format_ = format; }
void Logger::SetSink(std::function<void(std::string_view)> sink) {
  std::lock_guard l(mu_);
  sink_ = sink ? std::move(sink) : WriteStderr;
}
void Logger::SetClock(const Clock* clock) { std::lock_guard l(mu_); clock_ = clock; }

bool Logger::Enabled(LogLevel level) const {
  std::lock_guard l(mu_);
  return level >= level_;
}

std::string Logger::Format(LogLevel level, std::string_view msg, const LogFields& fields) const {
  std::string ts = FormatRfc3339(clock_->Now());
  std::string out;
  if (format_ == LogFormat::kJson) {
    out = "{\"ts\":\"" + ts + "\",\"level\":\"" + std::string(LevelName(level)) + "\",\"msg\":\"" +
          JsonEscape(msg) + "\"";
    for (const auto& [k, v] : fields) out += ",\"" + JsonEscape(k) + "\":\"" + JsonEscape(v) + "\"";
    out += "}";
    return out;
  }
  std::string upper(LevelName(level));
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out = ts + " " + upper + " " + JsonEscape(msg);
  for (const auto& [k, v] : fields) out += " " + k + "=" + TextValue(v);
  return out;
}

void Logger::Log(LogLevel level, std::string_view msg, const LogFields& fields) {
  std::lock_guard l(mu_);
  if (level < level_) return;
  sink_(Format(level, msg, fields));
}

Logger& Logger::Default() {
  static Logger logger;
  return logger;
}

bool ParseLogLevel(std::string_view text, LogLevel* out) {
  std::string t = ToLower(text);
  if (t == "debug") *out = LogLevel::kDebug;
  else if (t == "info") *out = LogLevel::kInfo;
  else if (t == "warn" || t == "warning") *out = LogLevel::kWarn;
  else if (t == "error") *out = LogLevel::kError;
  else return false;
  return true;
}

bool ParseLogFormat(std::string_view text, LogFormat* out) {
  if (text == "text") *out = LogFormat::kText;
  else if (text == "json") *out = LogFormat::kJson;
  else return false;
  return true;
}

}  // namespace ebb
