#include "controller/poll_scheduler.h"

namespace ebb::controller {

void PollScheduler::Schedule(const std::string& key, Time due) {
  const uint64_t seq = next_seq_++;
  live_[key] = Live{due, seq};
  heap_.push(Entry{due, seq, key});
}

void PollScheduler::Cancel(const std::string& key) { live_.erase(key); }

void PollScheduler::DropStale() {
  while (!heap_.empty()) {
    const Entry& top = heap_.top();
    auto it = live_.find(top.key);
    if (it != live_.end() && it->second.seq == top.seq) return;
    heap_.pop();
  }
}

std::vector<PollScheduler::Due> PollScheduler::PopDue(Time now) {
  std::vector<Due> due;
  for (DropStale(); !heap_.empty() && heap_.top().due <= now; DropStale()) {
    due.push_back(Due{heap_.top().key, heap_.top().due});
    live_.erase(heap_.top().key);
    heap_.pop();
  }
  return due;
}

std::optional<Time> PollScheduler::NextDue() {
  DropStale();
  if (heap_.empty()) return std::nullopt;
  return heap_.top().due;
}

std::optional<Time> PollScheduler::DueOf(const std::string& key) const {
  auto it = live_.find(key);
  if (it == live_.end()) return std::nullopt;
  return it->second.due;
}

Time NextSlot(Time due, Duration interval, Time now) {
  Time next = due + interval;
  if (next > now) return next;
  // Skip every missed slot at once: k = floor((now - due) / interval) + 1.
  const auto missed = (now - due) / interval;
  return due + (missed + 1) * interval;
}

}  // namespace ebb::controller
