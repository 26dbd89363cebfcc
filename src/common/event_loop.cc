#include "common/event_loop.h"

#include <algorithm>
#include <cassert>

namespace ebb {

EventLoop::EventLoop(const Clock& clock) : clock_(clock) {}

EventLoop::~EventLoop() { Stop(); }

void EventLoop::StartThread() {
  assert(!thread_.joinable() && "EventLoop::StartThread called twice");
  // A clock that moves only when told wakes the thread on each move; one
  // that moves by itself returns 0 and the thread waits with a timeout.
  // Outside mu_: the clock calls Wake (which takes mu_) under its own lock.
  uint64_t subscription = clock_.SubscribeToJumps([this] { Wake(); });
  std::lock_guard lock(mu_);
  assert(!stopped_ && "EventLoop::StartThread after Stop");
  jump_subscription_ = subscription;
  thread_ = std::thread([this] { ThreadMain(); });
  loop_thread_ = thread_.get_id();
}

bool EventLoop::Post(Task task) {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return false;
    ready_.push_back({kNoTimer, std::move(task)});
  }
  cv_.notify_one();
  return true;
}

EventLoop::TimerId EventLoop::PostAfter(Duration delay, Task task) {
  TimerId id;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return kNoTimer;
    id = next_id_++;
    Time due = clock_.Now() + std::max(delay, Duration::zero());
    timers_.emplace(TimerKey{due, id}, std::move(task));
    timer_due_.emplace(id, due);
  }
  cv_.notify_one();
  return id;
}

bool EventLoop::Cancel(TimerId id) {
  Task dropped;  // destroyed after the lock is released: it may own anything
  std::lock_guard lock(mu_);
  auto due = timer_due_.find(id);
  if (due == timer_due_.end()) return false;
  if (due->second == Time::max()) {
    auto it = std::find_if(ready_.begin(), ready_.end(), [id](const Ready& r) { return r.timer == id; });
    dropped = std::move(it->task);
    ready_.erase(it);
  } else {
    auto it = timers_.find({due->second, id});
    dropped = std::move(it->second);
    timers_.erase(it);
  }
  timer_due_.erase(due);
  return true;
}

void EventLoop::Stop() {
  std::deque<Ready> ready;
  std::map<TimerKey, Task> timers;
  uint64_t subscription;
  {
    std::lock_guard lock(mu_);
    subscription = std::exchange(jump_subscription_, 0);
    assert((!thread_.joinable() || std::this_thread::get_id() != thread_.get_id()) &&
           "EventLoop::Stop called from a task on its own thread");
    stopped_ = true;
    ready.swap(ready_);
    timers.swap(timers_);
    timer_due_.clear();
  }
  cv_.notify_all();
  clock_.UnsubscribeFromJumps(subscription);
  if (thread_.joinable()) thread_.join();
  // `ready` and `timers` are destroyed here, on the stopping thread.
}

bool EventLoop::InLoopThread() const {
  std::lock_guard lock(mu_);
  return loop_thread_ == std::this_thread::get_id();
}

void EventLoop::CollectDueTimers(Time now) {
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto first = timers_.begin();
    TimerId id = first->first.second;
    ready_.push_back({id, std::move(first->second)});
    timer_due_[id] = Time::max();
    timers_.erase(first);
  }
}

bool EventLoop::RunOne() {
  Task task;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return false;
    CollectDueTimers(clock_.Now());
    if (ready_.empty()) return false;
    Ready next = std::move(ready_.front());
    ready_.pop_front();
    if (next.timer != kNoTimer) timer_due_.erase(next.timer);
    task = std::move(next.task);
  }
  task();
  return true;
}

void EventLoop::ThreadMain() {
  for (;;) {
    if (RunOne()) continue;
    std::unique_lock lock(mu_);
    if (stopped_) return;
    // Re-checked under the lock: a post or a jump since RunOne looked is
    // seen here, and one after this check notifies the wait below.
    CollectDueTimers(clock_.Now());
    if (!ready_.empty()) continue;
    if (timers_.empty() || jump_subscription_ != 0) {
      cv_.wait(lock);
    } else {
      cv_.wait_for(lock, timers_.begin()->first.first - clock_.Now());
    }
  }
}

void EventLoop::Wake() {
  // Taking the lock orders this after the loop's check of Now(): the loop
  // is either before its check (and sees the new time) or waiting.
  { std::lock_guard lock(mu_); }
  cv_.notify_all();
}

void EventLoop::WaitForWork(Duration timeout) {
  std::unique_lock lock(mu_);
  assert(!thread_.joinable() && "WaitForWork is for loops without a thread");
  CollectDueTimers(clock_.Now());
  if (!timers_.empty()) timeout = std::min(timeout, timers_.begin()->first.first - clock_.Now());
  cv_.wait_for(lock, timeout, [this] { return !ready_.empty() || interrupted_ || stopped_; });
  interrupted_ = false;
}

void EventLoop::Interrupt() {
  {
    std::lock_guard lock(mu_);
    interrupted_ = true;
  }
  cv_.notify_all();
}

size_t EventLoop::RunUntilIdle() {
  {
    std::lock_guard lock(mu_);
    assert(!thread_.joinable() && "RunUntilIdle is for loops without a thread");
    loop_thread_ = std::this_thread::get_id();
  }
  size_t ran = 0;
  while (RunOne()) ++ran;
  std::lock_guard lock(mu_);
  loop_thread_ = std::thread::id();
  return ran;
}

bool EventLoop::NextDue(Time* due) const {
  std::lock_guard lock(mu_);
  if (timers_.empty()) return false;
  *due = timers_.begin()->first.first;
  return true;
}

size_t EventLoop::AdvanceAndRun(SimulatedClock& clock, Duration d) {
  assert(&clock == &clock_ && "AdvanceAndRun needs the loop's own clock");
  const Time target = clock.Now() + d;
  size_t ran = RunUntilIdle();
  Time due;
  while (NextDue(&due) && due <= target) {
    if (due > clock.Now()) clock.Set(due);
    ran += RunUntilIdle();
  }
  if (target > clock.Now()) clock.Set(target);
  return ran + RunUntilIdle();
}

size_t EventLoop::PendingTimers() const {
  std::lock_guard lock(mu_);
  return timer_due_.size();
}

}  // namespace ebb
