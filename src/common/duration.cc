#include "common/duration.h"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "common/strings.h"

namespace ebb {

namespace {

// Nanoseconds per unit, or 0 for an unknown unit.
double UnitNanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  if (unit == "m") return 60e9;
  if (unit == "h") return 3600e9;
  return 0;
}

Status Bad(std::string_view text) {
  return InvalidConfig("\"" + std::string(text) +
                       "\" is not a duration (use e.g. \"3s\", \"500ms\", \"1m30s\")");
}

}  // namespace

Result<Duration> ParseGoDuration(std::string_view text) {
  std::string_view s = Trim(text);
  if (s == "0") return Duration(0);
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return Bad(text);
  double total = 0;
  while (!s.empty()) {
    size_t n = 0;
    while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '.')) ++n;
    if (n == 0) return Bad(text);
    std::optional<double> number = ParseDouble(s.substr(0, n));
    if (!number) return Bad(text);
    s.remove_prefix(n);
    size_t u = 0;
    while (u < s.size() && !std::isdigit(static_cast<unsigned char>(s[u])) && s[u] != '.') ++u;
    double per = UnitNanos(s.substr(0, u));
    if (per == 0) return Bad(text);
    total += *number * per;
    s.remove_prefix(u);
  }
  // int64_t nanoseconds hold about 292 years; past that llround overflows.
  if (!(total < 9.2e18)) {
    return InvalidConfig("\"" + std::string(text) + "\" is too long a duration (the limit is 292 years)");
  }
  auto ns = static_cast<int64_t>(std::llround(total));
  return Duration(negative ? -ns : ns);
}

Result<Duration> ParseTimeout(std::string_view text) {
  std::optional<int64_t> ms = ParseInt(text);
  // Milliseconds to int64 nanoseconds overflows past 292 years (found by
  // scripts/fuzz).
  constexpr int64_t kMaxMillis = INT64_MAX / 1'000'000;
  if (ms && (*ms > kMaxMillis || *ms < -kMaxMillis)) {
    return InvalidConfig("\"" + std::string(text) + "\" is too long a duration (the limit is 292 years)");
  }
  Result<Duration> d = ms ? Result<Duration>(std::chrono::milliseconds(*ms)) : ParseGoDuration(text);
  if (!d.ok()) return d.status();
  if (d->count() <= 0) {
    return InvalidConfig("\"" + std::string(text) + "\" must be a positive duration");
  }
  return d;
}

std::string FormatDuration(Duration d) {
  int64_t ns = d.count();
  std::string sign = ns < 0 ? "-" : "";
  if (ns < 0) ns = -ns;
  if (ns == 0) return "0s";
  char buf[64];
  if (ns < 1'000'000'000) {
    if (ns % 1'000'000 == 0) {
      std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ns / 1'000'000));
    } else {
      std::snprintf(buf, sizeof buf, "%gms", static_cast<double>(ns) / 1e6);
    }
    return sign + buf;
  }
  int64_t secs = ns / 1'000'000'000;
  int64_t frac = ns % 1'000'000'000;
  std::string out = sign;
  if (secs >= 3600) out += std::to_string(secs / 3600) + "h";
  if (secs >= 60 && (secs % 3600) / 60) out += std::to_string((secs % 3600) / 60) + "m";
  int64_t s = secs % 60;
  if (s || frac) {
    if (frac) {
      std::snprintf(buf, sizeof buf, "%g", static_cast<double>(s) + static_cast<double>(frac) / 1e9);
      out += std::string(buf) + "s";
    } else {
      out += std::to_string(s) + "s";
    }
  }
  return out;
}

}  // namespace ebb
