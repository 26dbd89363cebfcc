#include "kube/timer_queue.h"

namespace ebb::kube {

TimerQueue::TimerQueue() : thread_([this] { Loop(); }) {}

TimerQueue::~TimerQueue() { Stop(); }

void TimerQueue::RunAfter(std::chrono::nanoseconds delay, Task task) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      tasks_.emplace(std::chrono::steady_clock::now() + delay, std::move(task));
      cv_.notify_all();
      return;
    }
  }
  task(false);
}

void TimerQueue::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  std::multimap<std::chrono::steady_clock::time_point, Task> rest;
  {
    std::lock_guard lock(mu_);
    rest.swap(tasks_);
  }
  for (auto& [when, task] : rest) task(false);
}

void TimerQueue::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (tasks_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = tasks_.begin();
    if (first->first > std::chrono::steady_clock::now()) {
      cv_.wait_until(lock, first->first);
      continue;
    }
    Task task = std::move(first->second);
    tasks_.erase(first);
    lock.unlock();
    task(true);
    lock.lock();
  }
}

}  // namespace ebb::kube
