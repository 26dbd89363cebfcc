// Inbox: the queue through which other threads hand work to the
// controller's thread. HTTP and scale-target callbacks run on I/O threads;
// they only Post() a closure here, and the controller runs the closures in
// DrainResults(), so all object state is touched by one thread only.
//
//   auto inbox = std::make_shared<Inbox>();
//   client.Send(req, [inbox](Result<HttpResponse> r) { inbox->Post([r] { ... }); });
//   for (auto& event : inbox->TakeAll()) event();
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "common/clock.h"

namespace ebb::controller {

// Thread-safe. Shared (std::shared_ptr) by the controller and every
// callback in flight, so a callback that fires after the controller is gone
// posts into a closed inbox and its event is dropped, never run.
class Inbox {
 public:
  using Event = std::function<void()>;

  // Queues `event` and wakes a waiter. Dropped once the inbox is closed.
  void Post(Event event);
  // Removes and returns every queued event, oldest first.
  std::deque<Event> TakeAll();
  // Blocks (real time) until an event is queued, Wake() is called, or
  // `timeout` passes. Returns at once when something is already queued.
  void WaitFor(Duration timeout);
  // Ends the current or next WaitFor (stop requests).
  void Wake();
  // Drops queued events and refuses new ones.
  void Close();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;  // guarded by mu_
  bool woken_ = false;        // guarded by mu_
  bool closed_ = false;       // guarded by mu_
};

}  // namespace ebb::controller
