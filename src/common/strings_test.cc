#include "common/strings.h"

#include <gtest/gtest.h>

namespace ebb {
namespace {

TEST(Strings, KeyValueListAsKedaWritesIt) {
  auto kv = ParseKeyValueList(" X-Scope-OrgID = tenant1 ,X-Other=a=b,, ");
  ASSERT_TRUE(kv.ok());
  ASSERT_EQ(kv->size(), 2u);
  EXPECT_EQ((*kv)[0], std::make_pair(std::string("X-Scope-OrgID"), std::string("tenant1")));
  EXPECT_EQ((*kv)[1].second, "a=b");
  auto bad = ParseKeyValueList("novalue");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"novalue\""), std::string::npos);
  EXPECT_FALSE(ParseKeyValueList("=v").ok());
}

TEST(Strings, StrictNumbers) {
  EXPECT_EQ(ParseDouble("1.5"), 1.5);
  EXPECT_EQ(ParseDouble(" -2e3 "), -2000);
  EXPECT_EQ(ParseDouble(".5"), 0.5);
  EXPECT_EQ(ParseDouble("+3"), 3);
  EXPECT_FALSE(ParseDouble("abc"));
  EXPECT_FALSE(ParseDouble("1.2.3"));
  EXPECT_FALSE(ParseDouble(""));
  EXPECT_FALSE(ParseDouble("inf"));
  EXPECT_FALSE(ParseDouble("nan"));
  EXPECT_FALSE(ParseDouble("5 apples"));
  EXPECT_EQ(ParseInt("42"), 42);
  EXPECT_FALSE(ParseInt("4.2"));
  EXPECT_EQ(ParseBool("TRUE"), true);
  EXPECT_EQ(ParseBool("0"), false);
  EXPECT_FALSE(ParseBool("yes"));
}

TEST(Strings, FormatDoubleIsShortestRoundTrip) {
  EXPECT_EQ(FormatDouble(2), "2");
  EXPECT_EQ(FormatDouble(0.1), "0.1");
  EXPECT_EQ(FormatDouble(1.0 / 3), "0.3333333333333333");
}

TEST(Strings, JsonEscapeKeepsOneLine) {
  EXPECT_EQ(JsonEscape("a\"b\\c\nd\x01"), "a\\\"b\\\\c\\nd\\u0001");
  EXPECT_EQ(JsonEscape("héllo"), "héllo");
}

TEST(Strings, Base64BothAlphabets) {
  EXPECT_EQ(Base64Encode("user:pass"), "dXNlcjpwYXNz");
  EXPECT_EQ(Base64Encode("a"), "YQ==");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64Decode("dXNlcjpwYXNz"), "user:pass");
  EXPECT_EQ(Base64Decode("YQ"), "a");
  EXPECT_EQ(Base64Decode("-_8"), "\xfb\xff");
  EXPECT_EQ(Base64Decode("aGVs\nbG8="), "hello");
  EXPECT_FALSE(Base64Decode("a*b"));
  EXPECT_FALSE(Base64Decode("Y"));
}

}  // namespace
}  // namespace ebb
