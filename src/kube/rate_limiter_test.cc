// TokenBucket arithmetic (simulated clock) and the RestClient's use of it.
#include "kube/rate_limiter.h"

#include <gtest/gtest.h>

#include <future>
#include <optional>

#include "kube/kube_test_util.h"

namespace ebb::kube {
namespace {

using std::chrono::milliseconds;

TEST(TokenBucketTest, BurstThenQps) {
  SimulatedClock clock;
  TokenBucket bucket(10, 3, clock);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.Reserve(), Duration::zero());
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(bucket.Reserve()), milliseconds(100));
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(bucket.Reserve()), milliseconds(200));
  clock.Advance(milliseconds(200));  // both reservations are now earned
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(bucket.Reserve()), milliseconds(100));
}

TEST(TokenBucketTest, RefillsUpToBurstOnly) {
  SimulatedClock clock;
  TokenBucket bucket(10, 2, clock);
  clock.Advance(std::chrono::hours(1));
  EXPECT_EQ(bucket.Reserve(), Duration::zero());
  EXPECT_EQ(bucket.Reserve(), Duration::zero());
  EXPECT_GT(bucket.Reserve(), Duration::zero());
}

TEST(TokenBucketTest, DisabledWithZeroQps) {
  SimulatedClock clock;
  TokenBucket bucket(0, 1, clock);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(bucket.Reserve(), Duration::zero());
}

TEST(TokenBucketTest, DefaultsDoNotThrottleThousandsOfObjects) {
  SimulatedClock clock;
  RestClientOptions defaults;
  TokenBucket bucket(defaults.qps, defaults.burst, clock);
  // 2,000 objects, one request each, over the 10 s a resync may take.
  Duration worst = Duration::zero();
  for (int i = 0; i < 2000; ++i) {
    worst = std::max(worst, bucket.Reserve());
    clock.Advance(milliseconds(5));
  }
  EXPECT_EQ(worst, Duration::zero());
}

class RateLimitedClientTest : public KubeTest {
 protected:
  void SetUp() override {
    RestClientOptions o;
    o.qps = 20;
    o.burst = 2;
    Start({}, o);
  }
};

TEST_F(RateLimitedClientTest, RequestsBeyondTheBurstWait) {
  std::atomic<int> done{0};
  for (int i = 0; i < 4; ++i) {
    rest_->Call({.path = "/api/v1/namespaces/ns/secrets"}, [&](ApiResult r) {
      EXPECT_TRUE(r.ok()) << r.status.ToString();
      ++done;
    });
  }
  ASSERT_TRUE(WaitFor([&] { return done == 4; }));
  EXPECT_EQ(rest_->throttled(), 2u);
}

}  // namespace
}  // namespace ebb::kube

namespace ebb::kube {
namespace {

class ExhaustedBudgetTest : public KubeTest {
 protected:
  void SetUp() override {
    RestClientOptions o;
    o.qps = 0.01;  // the second normal request waits 100 s
    o.burst = 1;
    Start({}, o);
  }
};

TEST_F(ExhaustedBudgetTest, LeaseRequestsDoNotQueueBehindOtherRequests) {
  std::atomic<int> normal_done{0};
  for (int i = 0; i < 3; ++i) {
    rest_->Call({.path = "/api/v1/namespaces/ns/secrets"}, [&](ApiResult) { ++normal_done; });
  }
  std::atomic<bool> lease_answered{false};
  rest_->Call({.path = "/apis/coordination.k8s.io/v1/namespaces/keda/leases/x",
               .priority = RequestPriority::kLease},
              [&](ApiResult r) {
                EXPECT_TRUE(r.IsNotFound()) << r.status.ToString();
                lease_answered = true;
              });
  ASSERT_TRUE(WaitFor([&] { return lease_answered.load(); }));
  EXPECT_EQ(rest_->throttled(), 2u);  // the two normal ones still waiting
  EXPECT_LE(normal_done.load(), 1);
  // The waiting requests are cancelled when the client goes, and their
  // callbacks touch this test's locals: end the client while those live
  // (ThreadSanitizer caught the write after the test body had returned).
  Shutdown();
  EXPECT_EQ(normal_done.load(), 3);
}

TEST_F(ExhaustedBudgetTest, RequestsWaitingForTheLimitAreCancelledWhenTheClientGoes) {
  std::promise<ApiResult> first;
  rest_->Call({.path = "/api/v1/namespaces/ns/secrets"}, [&](ApiResult r) { first.set_value(r); });
  EXPECT_TRUE(first.get_future().get().ok());
  std::optional<ApiResult> second;  // written on the destroying thread
  rest_->Call({.path = "/api/v1/namespaces/ns/secrets"}, [&](ApiResult r) { second = r; });
  EXPECT_FALSE(second.has_value());  // waiting 100 s for its token
  rest_.reset();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->status.code(), StatusCode::kCancelled) << second->status.ToString();
  EXPECT_NE(second->status.message().find("shutting down"), std::string::npos);
}

}  // namespace
}  // namespace ebb::kube
