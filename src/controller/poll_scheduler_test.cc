#include "controller/poll_scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ebb::controller {
namespace {

using std::chrono::seconds;

std::vector<std::string> Keys(const std::vector<PollScheduler::Due>& due) {
  std::vector<std::string> keys;
  for (const auto& d : due) keys.push_back(d.key);
  return keys;
}

TEST(PollSchedulerTest, PopsDueKeysEarliestFirst) {
  const Time t0 = FromUnixSeconds(1000);
  PollScheduler s;
  s.Schedule("b", t0 + seconds(2));
  s.Schedule("a", t0 + seconds(1));
  s.Schedule("c", t0 + seconds(5));
  EXPECT_EQ(s.NextDue(), t0 + seconds(1));
  EXPECT_TRUE(s.PopDue(t0).empty());
  auto due = s.PopDue(t0 + seconds(2));
  EXPECT_THAT(Keys(due), testing::ElementsAre("a", "b"));
  EXPECT_EQ(due[0].due, t0 + seconds(1));
  EXPECT_EQ(s.NextDue(), t0 + seconds(5));
  EXPECT_EQ(s.size(), 1u);
}

TEST(PollSchedulerTest, RescheduleAndCancelLeaveNoStaleEntries) {
  const Time t0 = FromUnixSeconds(1000);
  PollScheduler s;
  s.Schedule("a", t0 + seconds(1));
  s.Schedule("a", t0 + seconds(10));  // moved later
  s.Schedule("b", t0 + seconds(2));
  s.Cancel("b");
  EXPECT_TRUE(s.PopDue(t0 + seconds(5)).empty());
  EXPECT_EQ(s.NextDue(), t0 + seconds(10));
  EXPECT_EQ(s.DueOf("a"), t0 + seconds(10));
  EXPECT_EQ(s.DueOf("b"), std::nullopt);
  EXPECT_THAT(Keys(s.PopDue(t0 + seconds(10))), testing::ElementsAre("a"));
  EXPECT_EQ(s.NextDue(), std::nullopt);
}

TEST(PollSchedulerTest, TiesKeepSchedulingOrder) {
  const Time t0 = FromUnixSeconds(1000);
  PollScheduler s;
  for (const char* k : {"x", "y", "z"}) s.Schedule(k, t0);
  EXPECT_THAT(Keys(s.PopDue(t0)), testing::ElementsAre("x", "y", "z"));
}

TEST(NextSlotTest, KeepsTheGridAndSkipsMissedSlots) {
  const Time due = FromUnixSeconds(1000);
  // On time or a little late: the next slot on the grid, not now + interval.
  EXPECT_EQ(NextSlot(due, seconds(30), due + seconds(2)), due + seconds(30));
  // Far behind: the first future slot, no burst of missed ones.
  EXPECT_EQ(NextSlot(due, seconds(30), due + seconds(95)), due + seconds(120));
  EXPECT_EQ(NextSlot(due, seconds(30), due + seconds(30)), due + seconds(60));
}

}  // namespace
}  // namespace ebb::controller
