#include "common/status.h"

#include <gtest/gtest.h>

namespace ebb {
namespace {

Result<int> Half(int v) {
  if (v % 2) return InvalidConfig(std::to_string(v) + " is odd");
  return v / 2;
}

Status Chain(int v) {
  Result<int> r = Half(v);
  if (!r.ok()) return r.status().WithContext("spec.replicas");
  return Status::Ok();
}

TEST(Status, CodesHaveStableNames) {
  EXPECT_EQ(StatusCodeName(StatusCode::kUnauthenticated), "unauthenticated");
  EXPECT_EQ(StatusCodeName(StatusCode::kInvalidConfig), "invalid_config");
  EXPECT_EQ(StatusCodeName(StatusCode::kPermissionDenied), "permission_denied");
  EXPECT_TRUE(IsRetryable(StatusCode::kUnavailable));
  EXPECT_TRUE(IsRetryable(StatusCode::kDeadlineExceeded));
  EXPECT_FALSE(IsRetryable(StatusCode::kInvalidConfig));
}

TEST(Status, ContextIsPrependedOnTheWayUp) {
  Status s = Chain(3);
  EXPECT_EQ(s.code(), StatusCode::kInvalidConfig);
  EXPECT_EQ(s.message(), "spec.replicas: 3 is odd");
  EXPECT_EQ(s.ToString(), "invalid_config: spec.replicas: 3 is odd");
  EXPECT_TRUE(Chain(4).ok());
  EXPECT_EQ(Status::Ok().WithContext("x"), Status::Ok());
}

TEST(Result, HoldsValueOrStatus) {
  Result<int> ok = Half(8);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 4);
  EXPECT_TRUE(ok.status().ok());
  Result<int> bad = Half(7);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.value_or(-1), -1);
  Result<std::string> moved = std::string("abc");
  std::string taken = std::move(moved).value();
  EXPECT_EQ(taken, "abc");
}

TEST(Result, ReturnIfErrorMacro) {
  auto f = [](bool fail) -> Status {
    EBB_RETURN_IF_ERROR(fail ? Unavailable("down") : Status::Ok());
    return NotFound("reached the end");
  };
  EXPECT_EQ(f(true).code(), StatusCode::kUnavailable);
  EXPECT_EQ(f(false).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace ebb
