#include "common/duration.h"

#include <gtest/gtest.h>

namespace ebb {
namespace {

using std::chrono::milliseconds;

TEST(Duration, GoDurations) {
  EXPECT_EQ(*ParseGoDuration("3s"), milliseconds(3000));
  EXPECT_EQ(*ParseGoDuration("1m30s"), milliseconds(90000));
  EXPECT_EQ(*ParseGoDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(*ParseGoDuration("250ms"), milliseconds(250));
  EXPECT_EQ(*ParseGoDuration("2h"), std::chrono::hours(2));
  EXPECT_EQ(*ParseGoDuration("10us"), std::chrono::microseconds(10));
  EXPECT_EQ(*ParseGoDuration("0"), Duration(0));
  EXPECT_EQ(*ParseGoDuration("-1s"), milliseconds(-1000));
  for (const char* bad : {"", "s", "3", "3x", "abc", "1m30", "--1s"}) {
    auto r = ParseGoDuration(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);
    }
  }
}

TEST(Duration, KedaTimeoutIsMillisecondsOrDuration) {
  EXPECT_EQ(*ParseTimeout("3000"), milliseconds(3000));
  EXPECT_EQ(*ParseTimeout("3s"), milliseconds(3000));
  EXPECT_EQ(*ParseTimeout("1m"), milliseconds(60000));
  EXPECT_FALSE(ParseTimeout("0").ok());
  EXPECT_FALSE(ParseTimeout("-5").ok());
  auto bad = ParseTimeout("abc");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"abc\" is not a duration"), std::string::npos);
}

TEST(Duration, Format) {
  EXPECT_EQ(FormatDuration(std::chrono::seconds(30)), "30s");
  EXPECT_EQ(FormatDuration(std::chrono::seconds(90)), "1m30s");
  EXPECT_EQ(FormatDuration(std::chrono::seconds(3600)), "1h");
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(Duration(0)), "0s");
}

}  // namespace
TEST(DurationLimits, HugeValuesAreRefusedNotOverflowed) {
  // Found by scripts/fuzz (scalars_fuzz): milliseconds * 1e6 overflowed.
  EXPECT_FALSE(ParseTimeout("202222222222022").ok());
  EXPECT_TRUE(ParseTimeout("9223372036854").ok());
  EXPECT_FALSE(ParseTimeout("9223372036855").ok());
  EXPECT_FALSE(ParseGoDuration("99999999999999999999h").ok());
  EXPECT_FALSE(ParseGoDuration(std::string(400, '9') + "s").ok());
  EXPECT_TRUE(ParseGoDuration("2500000h").ok());  // 285 years
}

}  // namespace ebb
