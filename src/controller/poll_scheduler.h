// PollScheduler: when each object is due next, as a min-heap of due times
// keyed by object ("namespace/name"). One scheduler serves every object: no
// thread and no timer per object.
//
//   PollScheduler s;
//   s.Schedule("default/web", now + 3s);
//   for (const PollScheduler::Due& d : s.PopDue(clock.Now())) Poll(d.key, d.due);
//   std::optional<Time> wake = s.NextDue();
//
// Rescheduling or cancelling a key leaves its old heap entry behind; such
// stale entries are skipped when they reach the top (lazy deletion), which
// keeps every operation O(log n).
#pragma once

#include <cstdint>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"

namespace ebb::controller {

// Not thread-safe: owned and used by the controller's thread.
class PollScheduler {
 public:
  // Sets (or moves) the due time of `key`.
  void Schedule(const std::string& key, Time due);
  // Forgets `key`; a no-op when it is not scheduled.
  void Cancel(const std::string& key);
  struct Due {
    std::string key;
    Time due;
  };
  // Removes and returns the keys due at or before `now` with the time each
  // was due, earliest first (ties in scheduling order).
  std::vector<Due> PopDue(Time now);
  // The earliest due time, or nullopt when nothing is scheduled.
  std::optional<Time> NextDue();
  // The due time of `key`, or nullopt.
  std::optional<Time> DueOf(const std::string& key) const;
  size_t size() const { return live_.size(); }

 private:
  struct Entry {
    Time due;
    uint64_t seq;  // breaks ties and identifies the live entry of a key
    std::string key;
    bool operator>(const Entry& o) const { return due != o.due ? due > o.due : seq > o.seq; }
  };
  struct Live {
    Time due;
    uint64_t seq;
  };
  void DropStale();

  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
  std::unordered_map<std::string, Live> live_;
  uint64_t next_seq_ = 0;
};

// The first slot after `now` on the grid due + k * interval (k >= 1): the
// next poll keeps its phase instead of drifting by the time a poll took,
// and a controller that fell far behind skips the missed slots instead of
// bursting through them. REQUIRES: interval > 0.
Time NextSlot(Time due, Duration interval, Time now);

}  // namespace ebb::controller
