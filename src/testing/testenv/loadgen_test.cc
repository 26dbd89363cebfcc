#include "testing/testenv/loadgen.h"

#include <gtest/gtest.h>

namespace ebb::testing {
namespace {

using std::chrono::seconds;

TEST(Loadgen, ProfileRisesHoldsFallsAndStaysAtZero) {
  LoadProfile p{seconds(10), seconds(10), seconds(10), seconds(10), 60, false};
  EXPECT_EQ(LoadAt(p, seconds(0)), 0);
  EXPECT_EQ(LoadAt(p, seconds(9)), 0);
  EXPECT_EQ(LoadAt(p, seconds(15)), 30);
  EXPECT_EQ(LoadAt(p, seconds(20)), 60);
  EXPECT_EQ(LoadAt(p, seconds(29)), 60);
  EXPECT_EQ(LoadAt(p, seconds(35)), 30);
  EXPECT_EQ(LoadAt(p, seconds(40)), 0);
  EXPECT_EQ(LoadAt(p, seconds(400)), 0);
  p.repeat = true;
  EXPECT_EQ(LoadAt(p, seconds(55)), 30) << "second cycle";
}

TEST(Loadgen, Flags) {
  int port = 0;
  auto p = ParseLoadgenArgs({"--port", "9100", "--peak", "40", "--rise", "5", "--repeat"}, &port);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(port, 9100);
  EXPECT_EQ(p->peak, 40);
  EXPECT_EQ(p->rise, seconds(5));
  EXPECT_TRUE(p->repeat);
  EXPECT_FALSE(ParseLoadgenArgs({"--peak"}, &port).ok());
  EXPECT_FALSE(ParseLoadgenArgs({"--speed", "3"}, &port).ok());
  EXPECT_FALSE(ParseLoadgenArgs({"--hold", "-1"}, &port).ok());
}

}  // namespace
}  // namespace ebb::testing
