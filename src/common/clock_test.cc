#include "common/clock.h"

#include <gtest/gtest.h>

#include <limits>

namespace ebb {
namespace {

TEST(Clock, Rfc3339RoundTrips) {
  Time t = FromUnixSeconds(1700000000.25);
  EXPECT_EQ(FormatRfc3339(t), "2023-11-14T22:13:20.25Z");
  EXPECT_EQ(FormatRfc3339(FromUnixSeconds(1700000000)), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatRfc3339Micros(t), "2023-11-14T22:13:20.250000Z");
  Time parsed;
  ASSERT_TRUE(ParseRfc3339("2023-11-14T22:13:20.25Z", &parsed));
  EXPECT_EQ(parsed, t);
  ASSERT_TRUE(ParseRfc3339("2023-11-14T23:13:20+01:00", &parsed));
  EXPECT_EQ(parsed, FromUnixSeconds(1700000000));
  EXPECT_FALSE(ParseRfc3339("2023-11-14 22:13:20", &parsed));
  EXPECT_FALSE(ParseRfc3339("yesterday", &parsed));
  EXPECT_FALSE(ParseRfc3339("2023-11-14T22:13:20Zjunk", &parsed));
}

TEST(Clock, Rfc3339OutsideTheRepresentableYearsIsRefused) {
  // Found by scripts/fuzz (scalars_fuzz, exec_credential_fuzz): seconds *
  // 1e9 overflowed int64 for years before 1678 or after 2262.
  Time parsed;
  EXPECT_FALSE(ParseRfc3339("1013-01-01T00:00:00Z", &parsed));
  EXPECT_FALSE(ParseRfc3339("0202-11-26T05:30:00.1234587773Z", &parsed));
  EXPECT_FALSE(ParseRfc3339("9999-12-31T23:59:59Z", &parsed));
  EXPECT_TRUE(ParseRfc3339("1700-01-01T00:00:00Z", &parsed));
  EXPECT_TRUE(ParseRfc3339("2262-01-01T00:00:00Z", &parsed));
  // FromUnixSeconds clamps what it cannot hold instead of casting.
  EXPECT_EQ(FromUnixSeconds(1e300), FromUnixSeconds(9.2e9));
  EXPECT_EQ(FromUnixSeconds(std::numeric_limits<double>::quiet_NaN()), FromUnixSeconds(0));
}

TEST(Clock, BeforeEpochFormatsCorrectly) {
  EXPECT_EQ(FormatRfc3339(FromUnixSeconds(-0.5)), "1969-12-31T23:59:59.5Z");
}

TEST(Clock, SimulatedClockMovesOnlyWhenTold) {
  SimulatedClock clock(FromUnixSeconds(100));
  EXPECT_EQ(clock.Now(), FromUnixSeconds(100));
  clock.Advance(std::chrono::seconds(30));
  EXPECT_EQ(clock.Now(), FromUnixSeconds(130));
  clock.Set(FromUnixSeconds(5));
  EXPECT_DOUBLE_EQ(ToUnixSeconds(clock.Now()), 5.0);
}

TEST(Clock, RealClockIsNearSystemTime) {
  auto sys = std::chrono::system_clock::now();
  Time now = RealClock::Instance().Now();
  EXPECT_LT(std::abs(ToUnixSeconds(now) -
                     std::chrono::duration<double>(sys.time_since_epoch()).count()), 5.0);
}

}  // namespace
}  // namespace ebb

namespace ebb {
namespace {

TEST(ClockJumpTest, SimulatedClockNotifiesSubscribersUntilUnsubscribed) {
  SimulatedClock clock;
  int jumps = 0;
  uint64_t handle = clock.SubscribeToJumps([&] { ++jumps; });
  EXPECT_NE(handle, 0u);
  clock.Advance(std::chrono::seconds(1));
  clock.Set(clock.Now() + std::chrono::seconds(1));
  EXPECT_EQ(jumps, 2);
  clock.UnsubscribeFromJumps(handle);
  clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(jumps, 2);
}

TEST(ClockJumpTest, RealClockHasNoJumps) {
  bool called = false;
  EXPECT_EQ(RealClock::Instance().SubscribeToJumps([&] { called = true; }), 0u);
  RealClock::Instance().UnsubscribeFromJumps(0);
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace ebb

namespace ebb {
namespace {

TEST(SteadyClockTest, StartsAtWallTimeAndNeverGoesBack) {
  Time before = RealClock::Instance().Now();
  SteadyClock clock;
  Time first = clock.Now();
  EXPECT_GE(first, before);
  Time previous = first;
  for (int i = 0; i < 1000; ++i) {
    Time now = clock.Now();
    EXPECT_GE(now, previous);
    previous = now;
  }
}

}  // namespace
}  // namespace ebb
