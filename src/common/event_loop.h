// EventLoop: one thread that owns some state runs the tasks that touch it;
// every other thread only posts. Tasks run one at a time, in order; timers
// are measured on the injected Clock, so code on a loop is tested on
// simulated time without sleeping.
//
//   // Production: the loop owns a thread.
//   EventLoop loop(RealClock::Instance());
//   loop.StartThread();
//   int polls = 0;                                // touched on the loop only
//   loop.Post([&] { ++polls; });                  // from any thread
//   EventLoop::TimerId t = loop.PostAfter(std::chrono::seconds(2), [&] { ++polls; });
//   loop.Cancel(t);
//   loop.Stop();                                  // drops what is pending, joins
//
//   // Tests: no thread; the test drives the loop on a SimulatedClock.
//   // (An owner with a schedule of its own -- the controller -- drives a
//   // loop the same way from its thread: RunUntilIdle, WaitForWork.)
//   SimulatedClock clock;
//   EventLoop test_loop(clock);
//   test_loop.PostAfter(std::chrono::seconds(2), [&] { ++polls; });
//   test_loop.AdvanceAndRun(clock, std::chrono::seconds(2));   // runs it at t+2 s
//
// The rule ("the loop owns; callbacks post"): state owned by a loop is read
// and written only by tasks on that loop. A callback that arrives on another
// thread (an HTTP answer, a timer of another component) posts a task that
// does the work; it never touches the state itself and never blocks the
// loop. The loop holds no lifetime guard for what its tasks capture: the
// owner of the state stops the loop (or otherwise ensures no task of its
// own is pending) before the state is destroyed.
//
// Time: a timer is due when clock.Now() >= its due time. With a clock that
// moves by itself (SteadyClock, the right choice for intervals in
// production, or RealClock) the owning thread waits on a
// condition variable until the earliest due time or a post. With a clock that
// moves only when told (SimulatedClock) the owning thread waits for a post or
// a clock jump (Clock::SubscribeToJumps), so Advance() wakes it and due
// timers run; a test-driven loop runs due timers in AdvanceAndRun.
//
// Stop: pending tasks and timers are dropped, never run; their captures are
// destroyed on the stopping thread after the loop's thread has ended. Code
// that must do something at shutdown (release a lease, fail a callback)
// does it before stopping the loop, or from a destructor of what it
// captured.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "common/clock.h"

namespace ebb {

// Thread-safe: Post, PostAfter and Cancel may be called from any thread,
// tasks included. StartThread, Stop and the test drivers (RunUntilIdle,
// AdvanceAndRun) are called by the owner, never from a task. The Clock is
// not owned and must outlive the loop.
class EventLoop {
 public:
  using Task = std::function<void()>;
  // Identifies a timer for Cancel. Never 0 for a scheduled timer.
  using TimerId = uint64_t;
  static constexpr TimerId kNoTimer = 0;

  explicit EventLoop(const Clock& clock);
  ~EventLoop();  // Stop()
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Starts the loop's own thread, which runs tasks until Stop. Without it
  // the loop runs only inside RunUntilIdle/AdvanceAndRun (tests). At most
  // once.
  void StartThread();

  // Runs `task` on the loop after the tasks already posted. Returns false
  // (and drops the task) once the loop is stopped.
  bool Post(Task task);
  // Runs `task` once clock.Now() >= now + delay (delay <= 0: at the next
  // turn). Timers due at the same time run in the order they were posted;
  // a timer found due queues behind the tasks already posted.
  // Returns kNoTimer (and drops the task) once the loop is stopped.
  TimerId PostAfter(Duration delay, Task task);
  // Cancels a pending timer. True when it will not run; false when it
  // already ran, is running, was cancelled, or `id` is kNoTimer. From the
  // loop's own thread, a true answer means it never runs.
  bool Cancel(TimerId id);

  // Drops pending tasks and timers, refuses new ones, and joins the loop's
  // thread. Idempotent. Never from a task (programmer error).
  void Stop();

  // True on the loop's thread (or inside a test driver's run).
  bool InLoopThread() const;
  const Clock& clock() const { return clock_; }

  // Drivers of a loop without a thread, run by its owner's thread (the
  // controller) or by a test. Runs posted tasks and due timers until none
  // is ready; returns how many ran.
  size_t RunUntilIdle();
  // Blocks (real time) until a task is posted, a timer is due, Interrupt()
  // is called, the loop stops, or `timeout` passes. Returns at once when a
  // task is already ready. Not for loops with a thread.
  void WaitForWork(Duration timeout);
  // Ends the current or the next WaitForWork early (a stop request).
  void Interrupt();
  // Moves `clock` forward by `d` in steps, stopping at each timer due on the
  // way, so every timer runs with clock.Now() equal to its due time; runs
  // what is ready at each step. `clock` must be the loop's clock. Returns
  // how many tasks ran.
  size_t AdvanceAndRun(SimulatedClock& clock, Duration d);
  // Pending timers (tests).
  size_t PendingTimers() const;

 private:
  // Due time, then posting order: equal due times run first-posted first.
  using TimerKey = std::pair<Time, TimerId>;
  // A task ready to run; `timer` is its TimerId when it was a timer (so
  // Cancel still reaches it), kNoTimer for a post.
  struct Ready {
    TimerId timer = kNoTimer;
    Task task;
  };

  void ThreadMain();
  // Moves timers due at `now` to the ready queue. REQUIRES: mu_ held.
  void CollectDueTimers(Time now);
  // Pops and runs one ready task; false when none was ready.
  bool RunOne();
  // The earliest due time, if any timer is pending.
  bool NextDue(Time* due) const;
  void Wake();

  const Clock& clock_;

  mutable std::mutex mu_;
  uint64_t jump_subscription_ = 0;                   // guarded by mu_; 0: none
  std::condition_variable cv_;
  std::deque<Ready> ready_;                          // guarded by mu_
  std::map<TimerKey, Task> timers_;                  // guarded by mu_
  // Every timer not yet run or cancelled; Time::max() once in ready_.
  std::unordered_map<TimerId, Time> timer_due_;      // guarded by mu_
  TimerId next_id_ = 1;                              // guarded by mu_
  bool stopped_ = false;                             // guarded by mu_
  bool interrupted_ = false;                         // guarded by mu_
  std::thread::id loop_thread_;                      // guarded by mu_
  std::thread thread_;
};

}  // namespace ebb
