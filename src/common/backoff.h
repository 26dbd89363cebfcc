// Backoff: the one jittered exponential backoff of ebb (informer re-lists
// and re-watches, status writes, token exchanges, process restarts).
//
//   BackoffPolicy policy({.initial = std::chrono::milliseconds(500),
//                         .max = std::chrono::seconds(30)});
//   Backoff backoff(policy);                 // one per retried thing
//   loop.PostAfter(backoff.Next(), retry);   // after a failure
//   backoff.Reset();                         // after a success
//
// The delay after the n-th consecutive failure is
//   min(max, initial * factor^(n-1)) * (1 - jitter_fraction * random())
// with random() in [0, 1): jitter only ever shortens a delay, so `max` is a
// true upper bound, and retries that failed together (every informer after
// an API server restart) spread over the last jitter_fraction of the delay
// instead of arriving together.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>

#include "common/clock.h"

namespace ebb {

struct BackoffOptions {
  // Delay after the first failure. Default 1 s. REQUIRES: > 0.
  Duration initial = std::chrono::seconds(1);
  // Longest delay. Default 30 s. REQUIRES: >= initial.
  Duration max = std::chrono::seconds(30);
  // Growth per consecutive failure. Default 2. REQUIRES: >= 1.
  double factor = 2.0;
  // Share of each delay removed at random. Default 0.2. REQUIRES: in [0, 1].
  double jitter_fraction = 0.2;
  // Returns a value in [0, 1) (clamped). Default (empty): a Mersenne
  // twister seeded from std::random_device. Tests inject a constant. Called
  // under the policy's lock, so it need not be thread-safe.
  std::function<double()> random{};
};

// The schedule of delays. Thread-safe (the random source is locked); share
// one policy among many Backoff states.
class BackoffPolicy {
 public:
  explicit BackoffPolicy(BackoffOptions options = {});
  BackoffPolicy(const BackoffPolicy&) = delete;
  BackoffPolicy& operator=(const BackoffPolicy&) = delete;

  // The delay after `failures` consecutive failures (failures >= 1; less is
  // treated as 1).
  Duration Delay(int failures) const;
  const BackoffOptions& options() const { return options_; }

 private:
  BackoffOptions options_;
  mutable std::mutex mu_;  // guards options_.random
};

// The consecutive failures of one retried thing (small: a pointer and a
// count, so one per object is cheap). Not thread-safe: owned with the state
// it retries. The policy must outlive it.
class Backoff {
 public:
  explicit Backoff(const BackoffPolicy& policy) : policy_(&policy) {}

  // Records a failure; returns the delay before the next attempt.
  Duration Next() { return policy_->Delay(++failures_); }
  // After a success: the next failure waits `initial` again.
  void Reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  const BackoffPolicy* policy_;
  int failures_ = 0;
};

}  // namespace ebb
