#include "controller/inbox.h"

#include <utility>

namespace ebb::controller {

void Inbox::Post(Event event) {
  {
    std::lock_guard l(mu_);
    if (closed_) return;
    events_.push_back(std::move(event));
  }
  cv_.notify_one();
}

std::deque<Inbox::Event> Inbox::TakeAll() {
  std::lock_guard l(mu_);
  return std::exchange(events_, {});
}

void Inbox::WaitFor(Duration timeout) {
  std::unique_lock l(mu_);
  cv_.wait_for(l, timeout, [this] { return !events_.empty() || woken_ || closed_; });
  woken_ = false;
}

void Inbox::Wake() {
  {
    std::lock_guard l(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Inbox::Close() {
  std::deque<Event> dropped;
  {
    std::lock_guard l(mu_);
    closed_ = true;
    dropped.swap(events_);
  }
  cv_.notify_all();
  // `dropped` is destroyed here, outside the lock: events may own anything.
}

}  // namespace ebb::controller
