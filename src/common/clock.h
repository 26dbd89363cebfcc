// Clock: where ebb reads the time. Code that needs the time takes a Clock&
// so that tests drive it with SimulatedClock and never sleep.
//
//   SimulatedClock clock(FromUnixSeconds(1'700'000'000));
//   cache.Get(key, clock);        // uses clock.Now()
//   clock.Advance(std::chrono::minutes(55));
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace ebb {

// Wall-clock time with nanosecond resolution (token expiry, query `time=`,
// status timestamps and the scheduler all use it).
using Time = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;
using Duration = std::chrono::nanoseconds;

Time FromUnixSeconds(double seconds);
double ToUnixSeconds(Time t);
// RFC 3339 in UTC with up to nanosecond fraction trimmed to what is needed:
// "2026-11-26T05:32:13Z", "2026-11-26T05:32:13.25Z".
std::string FormatRfc3339(Time t);
// RFC 3339 with exactly 6 fraction digits, as Kubernetes MicroTime wants.
std::string FormatRfc3339Micros(Time t);
// Parses RFC 3339 ("Z" or +hh:mm offsets, optional fraction). nullopt-like
// failure is signalled by returning false.
bool ParseRfc3339(const std::string& text, Time* out);

// Thread-safe: implementations may be shared by any number of threads.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time Now() const = 0;

  // For waiters such as EventLoop. A clock that moves only when told
  // (SimulatedClock) calls `on_jump` after each move, on the thread that
  // moved it, and returns a non-zero handle; a clock that moves by itself
  // returns 0 and never calls it (its waiters time out on their own).
  virtual uint64_t SubscribeToJumps(std::function<void()> on_jump) const;
  // Ends a subscription; once it returns, `on_jump` is not running and will
  // not run again. 0 is ignored.
  virtual void UnsubscribeFromJumps(uint64_t handle) const;
};

// The system clock. Thread-safe.
class RealClock final : public Clock {
 public:
  Time Now() const override;
  // A process-wide instance, for main() and code without a test seam.
  static RealClock& Instance();
};

// Monotonic: the wall time at construction plus the steady clock's
// elapsed time since, so it never steps when the system clock is set (NTP,
// an operator) and stays close to wall time. For intervals that must not
// stretch or shrink (lease renewals, timers of production event loops).
// Thread-safe.
class SteadyClock final : public Clock {
 public:
  SteadyClock();
  Time Now() const override;

 private:
  const Time wall_start_;
  const std::chrono::steady_clock::time_point steady_start_;
};

// A clock that moves only when told. Thread-safe. Advance and Set wake
// the event loops that wait on it (SubscribeToJumps) before they return.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(Time start = FromUnixSeconds(1'700'000'000)) : now_(start) {}
  Time Now() const override;
  void Advance(Duration d);
  void Set(Time t);

  uint64_t SubscribeToJumps(std::function<void()> on_jump) const override;
  void UnsubscribeFromJumps(uint64_t handle) const override;

 private:
  void NotifyJump() const;

  mutable std::mutex mu_;
  Time now_;  // guarded by mu_
  // Held while subscribers run, so that Unsubscribe waits for them.
  mutable std::mutex subscribers_mu_;
  mutable std::map<uint64_t, std::function<void()>> subscribers_;  // guarded by subscribers_mu_
  mutable uint64_t next_subscription_ = 1;                           // guarded by subscribers_mu_
};

}  // namespace ebb
