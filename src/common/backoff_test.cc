#include "common/backoff.h"

#include <gtest/gtest.h>

#include <vector>

namespace ebb {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(BackoffTest, DoublesFromInitialToMaxWithoutJitter) {
  BackoffPolicy policy({.initial = milliseconds(500), .max = seconds(4), .jitter_fraction = 0});
  Backoff b(policy);
  std::vector<Duration> delays;
  for (int i = 0; i < 6; ++i) delays.push_back(b.Next());
  EXPECT_EQ(delays, (std::vector<Duration>{milliseconds(500), seconds(1), seconds(2), seconds(4),
                                           seconds(4), seconds(4)}));
  EXPECT_EQ(b.failures(), 6);
}

TEST(BackoffTest, ResetStartsAgainFromInitial) {
  BackoffPolicy policy({.initial = seconds(1), .max = seconds(60), .jitter_fraction = 0});
  Backoff b(policy);
  b.Next();
  b.Next();
  EXPECT_EQ(b.Next(), seconds(4));
  b.Reset();
  EXPECT_EQ(b.failures(), 0);
  EXPECT_EQ(b.Next(), seconds(1));
}

TEST(BackoffTest, JitterOnlyShortensByUpToTheFraction) {
  double r = 0.5;
  BackoffPolicy policy({.initial = seconds(10),
                        .max = seconds(10),
                        .jitter_fraction = 0.2,
                        .random = [&r] { return r; }});
  EXPECT_EQ(policy.Delay(1), seconds(9));  // 10 * (1 - 0.2 * 0.5)
  r = 0.0;
  EXPECT_EQ(policy.Delay(1), seconds(10));
  r = 0.999999;
  EXPECT_GT(policy.Delay(1), seconds(8));
  r = 7.0;  // out of range: clamped, never below (1 - fraction)
  EXPECT_EQ(policy.Delay(5), seconds(8));
}

TEST(BackoffTest, DefaultRandomSpreadsEqualRetries) {
  BackoffPolicy policy({.initial = seconds(30), .max = seconds(30)});
  Duration lowest = policy.Delay(1), highest = lowest;
  for (int i = 0; i < 200; ++i) {
    Duration d = policy.Delay(1);
    EXPECT_LE(d, seconds(30));
    EXPECT_GE(d, seconds(24));
    lowest = std::min(lowest, d);
    highest = std::max(highest, d);
  }
  EXPECT_LT(lowest, highest);  // 200 equal draws from a 64-bit generator: impossible
}

TEST(BackoffTest, OtherFactorsAndHugeFailureCounts) {
  BackoffPolicy policy({.initial = seconds(1), .max = std::chrono::minutes(2), .factor = 3,
                        .jitter_fraction = 0});
  EXPECT_EQ(policy.Delay(0), seconds(1));
  EXPECT_EQ(policy.Delay(3), seconds(9));
  EXPECT_EQ(policy.Delay(100000), std::chrono::minutes(2));
}

}  // namespace
}  // namespace ebb
