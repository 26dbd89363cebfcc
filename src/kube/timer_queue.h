// TimerQueue: runs functions at a later time on one thread of its own
// (rate-limited sends, retries after backoff, re-watches). Uses the steady
// clock: delays here are waits, not wall-clock deadlines.
//
//   TimerQueue timers;
//   timers.RunAfter(std::chrono::milliseconds(500), [](bool run) {
//     if (!run) return;   // the queue stopped first
//     ...
//   });
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace ebb::kube {

// Owns its thread. Thread-safe; tasks may schedule further tasks. Each task
// is called exactly once: with true when its time came, with false when
// the queue stopped first (Stop or the destructor, on the stopping thread).
class TimerQueue {
 public:
  using Task = std::function<void(bool run)>;

  TimerQueue();
  ~TimerQueue();  // Stop()
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  void RunAfter(std::chrono::nanoseconds delay, Task task);
  // Cancels what is pending (tasks get false) and joins. Idempotent; not
  // from a task.
  void Stop();

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<std::chrono::steady_clock::time_point, Task> tasks_;  // guarded by mu_
  bool stopping_ = false;                                             // guarded by mu_
  std::thread thread_;
};

}  // namespace ebb::kube
