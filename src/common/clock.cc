#include "common/clock.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>

namespace ebb {

Time FromUnixSeconds(double seconds) {
  // Times come from untrusted input (a JWT's exp, a CSV): clamp to what
  // int64_t nanoseconds hold (about year 1678 to 2262) instead of casting
  // out of range (undefined behaviour). NaN is the epoch.
  constexpr double kMaxSeconds = 9.2e9;
  if (std::isnan(seconds)) seconds = 0;
  seconds = std::clamp(seconds, -kMaxSeconds, kMaxSeconds);
  // seconds * 1e9 would exceed a double's 53-bit mantissa for today's
  // epochs; convert the whole seconds and the fraction separately.
  double whole = std::floor(seconds);
  int64_t nanos = static_cast<int64_t>(whole) * 1'000'000'000 +
                  static_cast<int64_t>(std::llround((seconds - whole) * 1e9));
  return Time(std::chrono::nanoseconds(nanos));
}

double ToUnixSeconds(Time t) {
  return static_cast<double>(t.time_since_epoch().count()) / 1e9;
}

namespace {

// Splits t into whole seconds (floor) and nanoseconds in [0, 1e9).
void Split(Time t, int64_t* secs, int64_t* nanos) {
  int64_t ns = t.time_since_epoch().count();
  *secs = ns / 1'000'000'000;
  *nanos = ns % 1'000'000'000;
  if (*nanos < 0) {
    *nanos += 1'000'000'000;
    *secs -= 1;
  }
}

std::string FormatBase(int64_t secs) {
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace

std::string FormatRfc3339(Time t) {
  int64_t secs, nanos;
  Split(t, &secs, &nanos);
  std::string s = FormatBase(secs);
  if (nanos != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09lld", static_cast<long long>(nanos));
    std::string f(frac);
    while (f.back() == '0') f.pop_back();
    s += f;
  }
  return s + "Z";
}

std::string FormatRfc3339Micros(Time t) {
  int64_t secs, nanos;
  Split(t, &secs, &nanos);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(nanos / 1000));
  return FormatBase(secs) + frac + "Z";
}

bool ParseRfc3339(const std::string& text, Time* out) {
  int y, mo, d, h, mi, s;
  int n = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6) {
    if (std::sscanf(text.c_str(), "%4d-%2d-%2dt%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6)
      return false;
  }
  size_t i = static_cast<size_t>(n);
  int64_t nanos = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (digits < 9) {
        nanos = nanos * 10 + (text[i] - '0');
        ++digits;
      }
      ++i;
    }
    if (digits == 0) return false;
    for (; digits < 9; ++digits) nanos *= 10;
  }
  int offset_secs = 0;
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    ++i;
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int oh, om;
    if (std::sscanf(text.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return false;
    offset_secs = (oh * 3600 + om * 60) * (text[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return false;
  }
  if (i != text.size()) return false;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset_secs;
  // Time holds int64 nanoseconds: about 1677-09-21 to 2262-04-11. Years
  // outside (an ExecCredential's "1013-01-01...") are not representable;
  // multiplying would overflow (found by scripts/fuzz).
  constexpr int64_t kMaxSeconds = INT64_MAX / 1'000'000'000 - 1;
  if (secs < -kMaxSeconds || secs > kMaxSeconds) return false;
  *out = Time(std::chrono::nanoseconds(secs * 1'000'000'000 + nanos));
  return true;
}

Time RealClock::Now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

RealClock& RealClock::Instance() {
  static RealClock clock;
  return clock;
}

SteadyClock::SteadyClock()
    : wall_start_(RealClock::Instance().Now()), steady_start_(std::chrono::steady_clock::now()) {}

Time SteadyClock::Now() const {
  return wall_start_ +
         std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - steady_start_);
}

uint64_t Clock::SubscribeToJumps(std::function<void()>) const { return 0; }

void Clock::UnsubscribeFromJumps(uint64_t) const {}

Time SimulatedClock::Now() const {
  std::lock_guard lock(mu_);
  return now_;
}

void SimulatedClock::Advance(Duration d) {
  {
    std::lock_guard lock(mu_);
    now_ += d;
  }
  NotifyJump();
}

void SimulatedClock::Set(Time t) {
  {
    std::lock_guard lock(mu_);
    now_ = t;
  }
  NotifyJump();
}

uint64_t SimulatedClock::SubscribeToJumps(std::function<void()> on_jump) const {
  std::lock_guard lock(subscribers_mu_);
  uint64_t handle = next_subscription_++;
  subscribers_.emplace(handle, std::move(on_jump));
  return handle;
}

void SimulatedClock::UnsubscribeFromJumps(uint64_t handle) const {
  std::lock_guard lock(subscribers_mu_);
  subscribers_.erase(handle);
}

// Called without mu_ held: a subscriber may read Now() (lock order:
// subscribers_mu_, then the subscriber's own lock, then mu_).
void SimulatedClock::NotifyJump() const {
  std::lock_guard lock(subscribers_mu_);
  for (auto& [handle, on_jump] : subscribers_) on_jump();
}

}  // namespace ebb
