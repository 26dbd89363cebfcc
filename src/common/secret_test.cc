#include "common/secret.h"

#include <gtest/gtest.h>

namespace ebb {
namespace {

TEST(Secret, ToStringNeverRevealsTheValue) {
  SecretString s("hunter2");
  EXPECT_EQ(s.ToString(), "REDACTED");
  EXPECT_EQ(s.Reveal(), "hunter2");
  EXPECT_EQ(SecretString().ToString(), "");
  EXPECT_EQ(Redact("abc"), "REDACTED");
}

TEST(Secret, RedactUrlRemovesUserinfo) {
  EXPECT_EQ(RedactUrl("https://user:pw@prom:9090/api?q=1"), "https://REDACTED@prom:9090/api?q=1");
  EXPECT_EQ(RedactUrl("https://prom:9090/a@b"), "https://prom:9090/a@b");
  EXPECT_EQ(RedactUrl("http://plain"), "http://plain");
}

TEST(Secret, ContainsSecret) {
  EXPECT_TRUE(ContainsSecret("token=abc123", "abc123"));
  EXPECT_FALSE(ContainsSecret("token=REDACTED", "abc123"));
  EXPECT_FALSE(ContainsSecret("anything", ""));
}

}  // namespace
}  // namespace ebb
