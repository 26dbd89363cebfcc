// EventLoop: ordering of posts and timers, cancel, stop with pending work,
// and the owning thread on a real and on a simulated clock. The threaded
// tests wait for completion (futures, latches), never for time.
#include "common/event_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace ebb {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Posts a task and waits until it ran: everything posted before it ran too.
void Fence(EventLoop& loop) {
  std::promise<void> done;
  ASSERT_TRUE(loop.Post([&] { done.set_value(); }));
  done.get_future().wait();
}

TEST(EventLoopTest, HeaderExampleCompilesAndRuns) {
  // Production: the loop owns a thread.
  EventLoop loop(RealClock::Instance());
  loop.StartThread();
  int polls = 0;                                // touched on the loop only
  loop.Post([&] { ++polls; });                  // from any thread
  EventLoop::TimerId t = loop.PostAfter(std::chrono::seconds(2), [&] { ++polls; });
  loop.Cancel(t);
  Fence(loop);
  loop.Stop();                                  // drops what is pending, joins
  EXPECT_EQ(polls, 1);

  // Tests: no thread; the test drives the loop on a SimulatedClock.
  SimulatedClock clock;
  EventLoop test_loop(clock);
  test_loop.PostAfter(std::chrono::seconds(2), [&] { ++polls; });
  test_loop.AdvanceAndRun(clock, std::chrono::seconds(2));   // runs it at t+2 s
  EXPECT_EQ(polls, 2);
}

TEST(EventLoopTest, PostedTasksRunInOrderAndOnlyWhenDriven) {
  SimulatedClock clock;
  EventLoop loop(clock);
  std::vector<int> ran;
  for (int i = 0; i < 5; ++i) loop.Post([&ran, i] { ran.push_back(i); });
  EXPECT_TRUE(ran.empty());
  EXPECT_EQ(loop.RunUntilIdle(), 5u);
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(loop.RunUntilIdle(), 0u);
}

TEST(EventLoopTest, TimersRunInOrderOfDueTimeAtTheirDueTime) {
  SimulatedClock clock;
  const Time start = clock.Now();
  EventLoop loop(clock);
  std::vector<std::pair<std::string, Duration>> ran;
  auto at = [&](std::string name) {
    return [&, name] { ran.emplace_back(name, clock.Now() - start); };
  };
  loop.PostAfter(seconds(3), at("3s"));
  loop.PostAfter(seconds(1), at("1s-first"));
  loop.PostAfter(seconds(2), at("2s"));
  loop.PostAfter(seconds(1), at("1s-second"));
  EXPECT_EQ(loop.PendingTimers(), 4u);

  EXPECT_EQ(loop.AdvanceAndRun(clock, milliseconds(999)), 0u);
  EXPECT_TRUE(ran.empty());
  EXPECT_EQ(loop.AdvanceAndRun(clock, seconds(5)), 4u);
  ASSERT_EQ(ran.size(), 4u);
  EXPECT_EQ(ran[0], std::make_pair(std::string("1s-first"), Duration(seconds(1))));
  EXPECT_EQ(ran[1], std::make_pair(std::string("1s-second"), Duration(seconds(1))));
  EXPECT_EQ(ran[2], std::make_pair(std::string("2s"), Duration(seconds(2))));
  EXPECT_EQ(ran[3], std::make_pair(std::string("3s"), Duration(seconds(3))));
  EXPECT_EQ(clock.Now() - start, milliseconds(5999));
  EXPECT_EQ(loop.PendingTimers(), 0u);
}

TEST(EventLoopTest, ATimerThatRearmsItselfRunsOncePerPeriod) {
  SimulatedClock clock;
  const Time start = clock.Now();
  EventLoop loop(clock);
  std::vector<Duration> ticks;
  std::function<void()> tick = [&] {
    ticks.push_back(clock.Now() - start);
    loop.PostAfter(seconds(2), tick);
  };
  loop.PostAfter(seconds(2), tick);
  loop.AdvanceAndRun(clock, seconds(9));
  EXPECT_EQ(ticks, (std::vector<Duration>{seconds(2), seconds(4), seconds(6), seconds(8)}));
}

TEST(EventLoopTest, ZeroDelayTimerRunsAfterTasksPostedBeforeIt) {
  SimulatedClock clock;
  EventLoop loop(clock);
  std::vector<std::string> ran;
  loop.Post([&] { ran.push_back("post-1"); });
  loop.PostAfter(Duration::zero(), [&] { ran.push_back("timer-0"); });
  loop.PostAfter(seconds(-5), [&] { ran.push_back("timer-negative"); });
  loop.RunUntilIdle();
  EXPECT_EQ(ran, (std::vector<std::string>{"post-1", "timer-0", "timer-negative"}));
}

TEST(EventLoopTest, CancelledTimersNeverRun) {
  SimulatedClock clock;
  EventLoop loop(clock);
  int ran = 0;
  EventLoop::TimerId a = loop.PostAfter(seconds(1), [&] { ++ran; });
  EventLoop::TimerId b = loop.PostAfter(seconds(1), [&] { ran += 10; });
  EXPECT_NE(a, EventLoop::kNoTimer);
  EXPECT_NE(a, b);
  EXPECT_TRUE(loop.Cancel(a));
  EXPECT_FALSE(loop.Cancel(a));  // already cancelled
  EXPECT_FALSE(loop.Cancel(EventLoop::kNoTimer));
  loop.AdvanceAndRun(clock, seconds(1));
  EXPECT_EQ(ran, 10);
  EXPECT_FALSE(loop.Cancel(b));  // already ran
}

TEST(EventLoopTest, ATaskCancelsATimerThatIsAlreadyDue) {
  // Both are due at the same instant; the first cancels the second, which
  // is already queued to run: it must not run.
  SimulatedClock clock;
  EventLoop loop(clock);
  bool second_ran = false;
  bool cancelled = false;
  EventLoop::TimerId second = EventLoop::kNoTimer;
  loop.PostAfter(seconds(1), [&] { cancelled = loop.Cancel(second); });
  second = loop.PostAfter(seconds(1), [&] { second_ran = true; });
  clock.Advance(seconds(1));
  loop.RunUntilIdle();
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(second_ran);
}

TEST(EventLoopTest, TasksPostedFromTasksRunAfterTheCurrentOne) {
  SimulatedClock clock;
  EventLoop loop(clock);
  std::vector<std::string> ran;
  loop.Post([&] {
    loop.Post([&] { ran.push_back("inner"); });
    loop.PostAfter(seconds(1), [&] { ran.push_back("inner-timer"); });
    ran.push_back("outer");
  });
  loop.Post([&] { ran.push_back("second"); });
  EXPECT_EQ(loop.RunUntilIdle(), 3u);
  EXPECT_EQ(ran, (std::vector<std::string>{"outer", "second", "inner"}));
  loop.AdvanceAndRun(clock, seconds(1));
  EXPECT_EQ(ran.back(), "inner-timer");
}

TEST(EventLoopTest, StopDropsPendingWorkAndRefusesNewWork) {
  SimulatedClock clock;
  EventLoop loop(clock);
  auto owned = std::make_shared<int>(0);
  bool ran = false;
  loop.Post([owned, &ran] { ran = true; });
  loop.PostAfter(seconds(1), [owned, &ran] { ran = true; });
  EXPECT_EQ(owned.use_count(), 3);
  loop.Stop();
  EXPECT_EQ(owned.use_count(), 1);  // the dropped tasks' captures are gone
  EXPECT_FALSE(loop.Post([&ran] { ran = true; }));
  EXPECT_EQ(loop.PostAfter(seconds(1), [&ran] { ran = true; }), EventLoop::kNoTimer);
  loop.AdvanceAndRun(clock, seconds(2));
  EXPECT_FALSE(ran);
  loop.Stop();  // idempotent
}

TEST(EventLoopTest, InLoopThreadOnlyInsideTheLoop) {
  SimulatedClock clock;
  EventLoop loop(clock);
  bool inside = false;
  loop.Post([&] { inside = loop.InLoopThread(); });
  EXPECT_FALSE(loop.InLoopThread());
  loop.RunUntilIdle();
  EXPECT_TRUE(inside);
  EXPECT_FALSE(loop.InLoopThread());
}

// A loop driven by its owner's thread (the controller's shape): each wait
// below would last an hour unless what the test names ends it.
TEST(EventLoopOwnerDrivenTest, WaitForWorkEndsOnAPostAnInterruptOrADueTimer) {
  SimulatedClock clock;
  EventLoop loop(clock);
  const Duration kHour = std::chrono::hours(1);

  loop.Post([] {});
  loop.WaitForWork(kHour);  // already ready: returns at once
  EXPECT_EQ(loop.RunUntilIdle(), 1u);

  std::thread poster([&] { loop.Post([] {}); });
  loop.WaitForWork(kHour);  // ends on the post (or returns at once if it came first)
  poster.join();
  EXPECT_EQ(loop.RunUntilIdle(), 1u);

  loop.Interrupt();         // before the wait: the next wait returns at once
  loop.WaitForWork(kHour);
  std::thread interrupter([&] { loop.Interrupt(); });
  loop.WaitForWork(kHour);
  interrupter.join();
  EXPECT_EQ(loop.RunUntilIdle(), 0u);

  bool ran = false;
  loop.PostAfter(seconds(5), [&] { ran = true; });
  clock.Advance(seconds(5));
  loop.WaitForWork(kHour);  // the timer is due
  loop.RunUntilIdle();
  EXPECT_TRUE(ran);

  loop.Stop();
  loop.WaitForWork(kHour);  // stopped: nothing will come
}

TEST(EventLoopThreadTest, PostsFromManyThreadsAllRunOnTheLoopThread) {
  EventLoop loop(RealClock::Instance());
  loop.StartThread();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::latch all_ran(kThreads * kPerThread);
  int count = 0;                 // loop-owned: no lock, TSan checks the claim
  std::atomic<int> off_loop{0};  // tasks that ran elsewhere
  std::vector<int> last_seen(kThreads, -1);
  std::atomic<bool> out_of_order{false};
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        loop.Post([&, t, i] {
          if (!loop.InLoopThread()) off_loop++;
          if (last_seen[t] != i - 1) out_of_order = true;  // per-poster FIFO
          last_seen[t] = i;
          ++count;
          all_ran.count_down();
        });
      }
    });
  }
  for (std::thread& p : posters) p.join();
  all_ran.wait();
  Fence(loop);
  EXPECT_EQ(count, kThreads * kPerThread);
  EXPECT_EQ(off_loop.load(), 0);
  EXPECT_FALSE(out_of_order.load());
  loop.Stop();
}

TEST(EventLoopThreadTest, RealClockTimersFireWithoutPosts) {
  EventLoop loop(RealClock::Instance());
  loop.StartThread();
  std::promise<std::vector<int>> done;
  auto order = std::make_shared<std::vector<int>>();
  loop.PostAfter(milliseconds(2), [order] { order->push_back(2); });
  loop.PostAfter(milliseconds(1), [order] { order->push_back(1); });
  loop.PostAfter(milliseconds(3), [order, &done] {
    order->push_back(3);
    done.set_value(*order);
  });
  EXPECT_EQ(done.get_future().get(), (std::vector<int>{1, 2, 3}));
  loop.Stop();
}

TEST(EventLoopThreadTest, SimulatedClockAdvanceWakesTheLoopThread) {
  SimulatedClock clock;
  EventLoop loop(clock);
  loop.StartThread();
  std::atomic<bool> fired{false};
  std::promise<Time> fired_at;
  loop.PostAfter(seconds(30), [&] {
    fired = true;
    fired_at.set_value(clock.Now());
  });
  const Time due = clock.Now() + seconds(30);
  Fence(loop);  // the loop has looked at the timer and gone to sleep
  EXPECT_FALSE(fired.load());
  clock.Advance(seconds(29));
  Fence(loop);
  EXPECT_FALSE(fired.load());
  clock.Advance(seconds(1));
  EXPECT_EQ(fired_at.get_future().get(), due);  // woken by the jump, no post needed
  loop.Stop();
}

TEST(EventLoopThreadTest, StopWithATaskRunningDropsWhatIsQueuedBehindIt) {
  EventLoop loop(RealClock::Instance());
  loop.StartThread();
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> go = release.get_future().share();
  auto owned = std::make_shared<int>(0);
  std::atomic<bool> second_ran{false};
  loop.Post([&started, go] {
    started.set_value();
    go.wait();
  });
  loop.Post([owned, &second_ran] { second_ran = true; });
  loop.PostAfter(std::chrono::hours(1), [owned, &second_ran] { second_ran = true; });
  started.get_future().wait();

  std::thread stopper([&] { loop.Stop(); });
  // Stop refuses posts as soon as it has begun; it then waits for the
  // running task. (Spinning on completion, not on time.)
  while (loop.Post([] {})) std::this_thread::yield();
  release.set_value();
  stopper.join();
  EXPECT_FALSE(second_ran.load());
  EXPECT_EQ(owned.use_count(), 1);
}

TEST(EventLoopThreadTest, CancelFromAnotherThreadStopsAPendingTimer) {
  SimulatedClock clock;
  EventLoop loop(clock);
  loop.StartThread();
  std::atomic<bool> ran{false};
  EventLoop::TimerId id = loop.PostAfter(seconds(5), [&] { ran = true; });
  EXPECT_TRUE(loop.Cancel(id));
  clock.Advance(seconds(10));
  Fence(loop);
  EXPECT_FALSE(ran.load());
  EXPECT_EQ(loop.PendingTimers(), 0u);
  loop.Stop();
}

}  // namespace
}  // namespace ebb
