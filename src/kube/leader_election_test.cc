// LeaderElector on simulated time: electors share one test-driven EventLoop
// and a FakeLeaseStore (kube/testing/fake_lease_api.h), with client-go's
// default durations (lease 15 s, renew deadline 10 s, retry 2 s). Every
// instant below is exact: the clock moves only when the test says, and
// each timer runs at its due time. No real-time sleeps, no margins.
#include "kube/leader_election.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "kube/testing/fake_lease_api.h"

namespace ebb::kube {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeLeaseStore;

constexpr char kNs[] = "keda";
constexpr char kLease[] = "ebb-operator.ebb.dev";
const Duration kLeaseDuration = seconds(15);
const Duration kRenewDeadline = seconds(10);
const Duration kRetryPeriod = seconds(2);
const std::string kPath = ObjectPath(kLeases, kNs, kLease);

LeaderElectionConfig Config(const std::string& identity) {
  return {.lease_namespace = kNs,
          .lease_name = kLease,
          .identity = identity,
          .random = [] { return 0.5; }};  // every retry is 2.2 s
}

bool IsMicroTime(const json& v) {
  static const std::regex kMicro(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");
  return v.is_string() && std::regex_match(v.get<std::string>(), kMicro);
}

Time TimeOf(const json& v) {
  Time t{};
  EXPECT_TRUE(ParseRfc3339(v.get<std::string>(), &t)) << v;
  return t;
}

// One elector and what its callbacks saw.
struct Candidate {
  Candidate(ApiCaller& api, EventLoop& loop, const std::string& identity, Logger* logger,
            std::function<void()> on_start = {})
      : elector(api, loop, Config(identity),
                {.on_started_leading =
                     [this, on_start] {
                       started++;
                       if (on_start) on_start();
                     },
                 .on_stopped_leading = [this] { stopped++; },
                 .on_new_leader = [this](const std::string&) { new_leaders++; }},
                logger) {}
  int started = 0;
  int stopped = 0;
  int new_leaders = 0;
  LeaderElector elector;
};

class LeaderElectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    logger_.SetSink([this](std::string_view line) { log_.emplace_back(line); });
    logger_.SetLevel(LogLevel::kDebug);
  }
  void TearDown() override { loop_.Stop(); }  // before the electors go

  Candidate& Add(const std::string& identity, FakeLeaseStore::Client** api = nullptr) {
    FakeLeaseStore::Client& client = store_.NewClient();
    if (api != nullptr) *api = &client;
    candidates_.push_back(std::make_unique<Candidate>(client, loop_, identity, &logger_, [this] {
      // The invariant, checked at the instant anyone starts leading.
      int leaders = 0;
      for (auto& c : candidates_) leaders += c->elector.IsLeader() ? 1 : 0;
      if (leaders > 1) overlaps_++;
    }));
    return *candidates_.back();
  }

  // Advances in steps of `step`, counting instants at which two lead.
  void Run(Duration d, Duration step = milliseconds(100)) {
    for (Duration done{0}; done < d; done += step) {
      loop_.AdvanceAndRun(clock_, step);
      int leaders = 0;
      for (auto& c : candidates_) leaders += c->elector.IsLeader() ? 1 : 0;
      if (leaders > 1) overlaps_++;
    }
  }
  // Advances until `pred` or `limit`; returns the time it took.
  std::optional<Duration> RunUntil(const std::function<bool()>& pred, Duration limit,
                                   Duration step = milliseconds(1)) {
    const Time start = clock_.Now();
    while (clock_.Now() - start <= limit) {
      if (pred()) return clock_.Now() - start;
      loop_.AdvanceAndRun(clock_, step);
    }
    return std::nullopt;
  }
  void StopAndRun(Candidate& c) {
    bool done = false;
    c.elector.Stop([&done] { done = true; });
    loop_.RunUntilIdle();
    EXPECT_TRUE(done);
  }
  json Spec() { return store_.Get(kPath)["spec"]; }
  bool Logged(const std::string& text) const {
    for (const std::string& line : log_) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }

  SimulatedClock clock_;
  EventLoop loop_{clock_};
  FakeLeaseStore store_;
  Logger logger_;
  std::vector<std::string> log_;
  int overlaps_ = 0;
  std::vector<std::unique_ptr<Candidate>> candidates_;
};

TEST(LeaderElectionValidation, NamesTheFlag) {
  EXPECT_TRUE(ValidateLeaderElection({.lease_namespace = "keda", .identity = "pod-1_x"}).ok());
  EXPECT_TRUE(ValidateLeaderElection(Config("a")).ok());

  auto message = [](LeaderElectionConfig c) {
    Status s = ValidateLeaderElection(c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidConfig);
    return s.message();
  };
  LeaderElectionConfig c = Config("a");
  c.lease_duration = kRenewDeadline;
  EXPECT_NE(message(c).find("--lease-duration"), std::string::npos) << message(c);
  c = Config("a");
  c.renew_deadline = milliseconds(2400);  // == 1.2 x retry period
  EXPECT_NE(message(c).find("--renew-deadline"), std::string::npos) << message(c);
  EXPECT_NE(message(c).find("--retry-period"), std::string::npos);
  c = Config("a");
  c.retry_period = Duration::zero();
  EXPECT_NE(message(c).find("--retry-period"), std::string::npos) << message(c);
  c = Config("");
  EXPECT_NE(message(c).find("identity"), std::string::npos);
  c = Config("a");
  c.lease_namespace = "";
  EXPECT_NE(message(c).find("namespace"), std::string::npos);
  c.lease_namespace = "Bad_NS";
  EXPECT_NE(message(c).find("Bad_NS"), std::string::npos);
  c = Config("a");
  c.lease_name = "Not.A.Name";
  EXPECT_NE(message(c).find("lease name"), std::string::npos);
  c = Config("a");
  c.request_timeout = seconds(11);
  EXPECT_NE(message(c).find("request timeout"), std::string::npos);
}

TEST_F(LeaderElectionTest, CreatesTheLeaseLeadsRenewsEveryRetryPeriodAndReleases) {
  FakeLeaseStore::Client* api;
  Candidate& a = Add("pod-a_1x2y", &api);
  const Time t0 = clock_.Now();
  a.elector.Start();
  loop_.RunUntilIdle();
  ASSERT_TRUE(a.elector.IsLeader());
  EXPECT_EQ(a.started, 1);
  EXPECT_EQ(a.elector.Leader(), "pod-a_1x2y");
  EXPECT_EQ(api->Count("GET", 404), 1);
  EXPECT_EQ(api->Count("POST", 201), 1);

  json lease = store_.Get(kPath);
  EXPECT_EQ(lease["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(lease["kind"], "Lease");
  json spec = lease["spec"];
  EXPECT_EQ(spec["holderIdentity"], "pod-a_1x2y");
  EXPECT_EQ(spec["leaseDurationSeconds"], 15);
  EXPECT_TRUE(IsMicroTime(spec["acquireTime"])) << spec.dump();
  EXPECT_TRUE(IsMicroTime(spec["renewTime"])) << spec.dump();
  EXPECT_EQ(TimeOf(spec["acquireTime"]), t0);
  EXPECT_EQ(spec["leaseTransitions"], 0);

  // Renews exactly every retry period; acquireTime and transitions stay.
  loop_.AdvanceAndRun(clock_, kRetryPeriod - Duration(1));
  EXPECT_EQ(Spec()["renewTime"], spec["renewTime"]);
  loop_.AdvanceAndRun(clock_, Duration(1));
  EXPECT_EQ(TimeOf(Spec()["renewTime"]), t0 + kRetryPeriod);
  loop_.AdvanceAndRun(clock_, seconds(60));
  EXPECT_EQ(api->Count("PUT", 200), 31);  // at 2 s, 4 s, ..., 62 s
  EXPECT_EQ(Spec()["acquireTime"], spec["acquireTime"]);
  EXPECT_EQ(Spec()["leaseTransitions"], 0);
  EXPECT_TRUE(a.elector.IsLeader());
  EXPECT_TRUE(api->all_lease_priority());

  StopAndRun(a);
  EXPECT_FALSE(a.elector.IsLeader());
  EXPECT_EQ(a.stopped, 1);
  json released = Spec();
  EXPECT_EQ(released["holderIdentity"], "");
  EXPECT_EQ(released["leaseDurationSeconds"], 1);
  EXPECT_EQ(released["leaseTransitions"], 0);
  EXPECT_EQ(a.elector.Leader(), "");
  EXPECT_EQ(loop_.PendingTimers(), 0u);  // nothing left behind
  EXPECT_TRUE(Logged("became leader"));
  EXPECT_TRUE(Logged("reason=\"shutting down\""));
  EXPECT_TRUE(Logged("released the lease"));
}

TEST_F(LeaderElectionTest, TwoElectorsNeverBothLeadAndReleaseHandsOverAtTheNextRetry) {
  Candidate& a = Add("a");
  Candidate& b = Add("b");
  a.elector.Start();
  b.elector.Start();
  Run(seconds(60));
  EXPECT_EQ(overlaps_, 0);
  ASSERT_NE(a.elector.IsLeader(), b.elector.IsLeader());
  Candidate& leader = a.elector.IsLeader() ? a : b;
  Candidate& follower = a.elector.IsLeader() ? b : a;
  EXPECT_EQ(follower.elector.Leader(), leader.elector.Leader());
  EXPECT_EQ(follower.started, 0);

  StopAndRun(leader);
  // A released lease is free at once: the follower takes it at its next
  // attempt (at most 1.2 retry periods away), not after a lease duration.
  std::optional<Duration> took = RunUntil([&] { return follower.elector.IsLeader(); }, kLeaseDuration);
  ASSERT_TRUE(took.has_value());
  EXPECT_LE(*took, kRetryPeriod * 1.2);
  json spec = Spec();
  EXPECT_EQ(spec["holderIdentity"], follower.elector.config().identity);
  EXPECT_EQ(spec["leaseTransitions"], 1);
  EXPECT_EQ(spec["leaseDurationSeconds"], 15);
  EXPECT_EQ(follower.elector.Stats().leader_transitions, 2u);  // leader -> "" -> itself
  EXPECT_EQ(follower.new_leaders, 2);
  Run(seconds(30));
  EXPECT_EQ(overlaps_, 0);
  EXPECT_FALSE(leader.elector.IsLeader());  // stopped for good
}

TEST_F(LeaderElectionTest, TwoCreatorsOfAMissingLeaseOneWins) {
  FakeLeaseStore::Client *api_a, *api_b;
  Candidate& a = Add("a", &api_a);
  Candidate& b = Add("b", &api_b);
  api_a->Hold(true);
  api_b->Hold(true);
  a.elector.Start();
  b.elector.Start();
  loop_.RunUntilIdle();  // both GETs are in flight
  api_a->Hold(false);    // 404: a POSTs, held no more: a creates it
  api_b->Hold(false);    // b saw 404 too... only now answered
  loop_.RunUntilIdle();
  EXPECT_TRUE(a.elector.IsLeader());
  EXPECT_FALSE(b.elector.IsLeader());
  EXPECT_EQ(api_b->Count("POST", 409), 1);
  Run(seconds(30));
  EXPECT_EQ(overlaps_, 0);
  EXPECT_EQ(b.started, 0);
}

TEST_F(LeaderElectionTest, CutOffLeaderFencesItselfBeforeTheOtherTakesOver) {
  FakeLeaseStore::Client* api_a;
  Candidate& a = Add("a", &api_a);
  a.elector.Start();
  loop_.RunUntilIdle();
  ASSERT_TRUE(a.elector.IsLeader());
  Candidate& b = Add("b");
  b.elector.Start();
  Run(seconds(5));
  ASSERT_EQ(b.elector.Leader(), "a");

  // a may still read but no longer write: it cannot renew, nor release.
  api_a->Fail("PUT", 403);
  const Time last_renew = TimeOf(Spec()["renewTime"]);  // sent before the cut
  const Time fence = last_renew + kRenewDeadline;
  loop_.AdvanceAndRun(clock_, fence - Duration(1) - clock_.Now());
  EXPECT_TRUE(a.elector.IsLeader());
  EXPECT_EQ(a.stopped, 0);
  loop_.AdvanceAndRun(clock_, Duration(1));
  EXPECT_FALSE(a.elector.IsLeader());  // exactly at the deadline
  EXPECT_EQ(a.stopped, 1);              // and told so at once, by its timer
  EXPECT_GT(a.elector.Stats().renew_failures, 0u);
  EXPECT_TRUE(Logged("no successful renew within --renew-deadline"));
  EXPECT_FALSE(b.elector.IsLeader());

  // b waits out the lease from when it last saw it change: never before
  // last_renew + lease duration.
  std::optional<Duration> took = RunUntil([&] { return b.elector.IsLeader(); }, seconds(30));
  ASSERT_TRUE(took.has_value());
  EXPECT_GE(clock_.Now(), last_renew + kLeaseDuration);
  EXPECT_EQ(overlaps_, 0);
  json spec = Spec();
  EXPECT_EQ(spec["holderIdentity"], "b");
  EXPECT_EQ(spec["leaseTransitions"], 1);

  // a now sees b's live lease and stays a follower.
  api_a->Fail("PUT", 0);
  Run(seconds(60));
  EXPECT_EQ(overlaps_, 0);
  EXPECT_FALSE(a.elector.IsLeader());
  EXPECT_EQ(a.started, 1);
  EXPECT_EQ(a.elector.Leader(), "b");
}

TEST_F(LeaderElectionTest, HungRenewStillFencesAtTheDeadlineAndLateAnswersAreIgnored) {
  FakeLeaseStore::Client* api;
  Candidate& a = Add("a", &api);
  a.elector.Start();
  loop_.RunUntilIdle();
  const Time last_renew = TimeOf(Spec()["renewTime"]);
  api->Hold(true);  // the API server stops answering
  loop_.AdvanceAndRun(clock_, kRenewDeadline - Duration(1));
  EXPECT_TRUE(a.elector.IsLeader());
  loop_.AdvanceAndRun(clock_, Duration(1));
  EXPECT_EQ(clock_.Now(), last_renew + kRenewDeadline);
  EXPECT_FALSE(a.elector.IsLeader());
  EXPECT_EQ(a.stopped, 1);
  EXPECT_TRUE(Logged("no answer within 5s"));  // each request gives up at renew_deadline / 2

  // The requests that never got an answer are answered now: too late to
  // count, and the elector carries on from its own state.
  api->DropHeld();
  api->Hold(false);
  Run(seconds(10));
  EXPECT_TRUE(a.elector.IsLeader());  // re-acquired its own lease
  EXPECT_EQ(a.started, 2);
  EXPECT_EQ(Spec()["leaseTransitions"], 0);
}

TEST_F(LeaderElectionTest, ConflictOnUpdateIsNotLeadership) {
  store_.Put(kPath, {{"metadata", {{"name", kLease}, {"namespace", kNs}}},
                     {"spec",
                      {{"holderIdentity", ""}, {"leaseDurationSeconds", 1}, {"leaseTransitions", 4}}}});
  FakeLeaseStore::Client* api;
  Candidate& a = Add("a", &api);
  api->Fail("PUT", 409);  // free to take, but every PUT is 409
  a.elector.Start();
  Run(seconds(10));
  EXPECT_EQ(api->Count("PUT", 409), 5);  // at 0, 2.2, 4.4, 6.6, 8.8 s
  EXPECT_FALSE(a.elector.IsLeader());
  EXPECT_EQ(a.started, 0);

  api->Fail("PUT", 0);
  Run(seconds(3));
  ASSERT_TRUE(a.elector.IsLeader());
  EXPECT_EQ(Spec()["leaseTransitions"], 5);

  // A conflict on every renew ends leadership at the renew deadline.
  const Time last_renew = TimeOf(Spec()["renewTime"]);
  api->Fail("PUT", 409);
  std::optional<Duration> lost = RunUntil([&] { return !a.elector.IsLeader(); }, seconds(30));
  ASSERT_TRUE(lost.has_value());
  EXPECT_EQ(clock_.Now(), last_renew + kRenewDeadline);
  EXPECT_EQ(a.stopped, 1);
  api->Fail("PUT", 0);
  Run(seconds(3));
  EXPECT_TRUE(a.elector.IsLeader());
  EXPECT_EQ(a.started, 2);
  EXPECT_EQ(Spec()["leaseTransitions"], 5);  // its own lease: no new transition
}

TEST_F(LeaderElectionTest, LiveLeaseOfAnotherHolderIsNeverTaken) {
  Time last_other_write{};
  auto renew_other = [&] {
    json lease = store_.Get(kPath);
    if (lease.is_null()) {
      lease = {{"metadata", {{"name", kLease}, {"namespace", kNs}}},
               {"spec",
                {{"holderIdentity", "other"}, {"leaseDurationSeconds", 15}, {"leaseTransitions", 2}}}};
    }
    // "other" keeps its own clock, an hour behind: renewTime itself is never
    // compared with the local clock.
    lease["spec"]["renewTime"] = FormatRfc3339Micros(clock_.Now() - std::chrono::hours(1));
    store_.Put(kPath, lease);
    last_other_write = clock_.Now();
  };
  bool renewing = true;
  std::function<void()> renewer = [&] {
    if (!renewing) return;
    renew_other();
    loop_.PostAfter(seconds(10), renewer);  // well inside its 15 s lease
  };
  renewer();
  Candidate& a = Add("a");
  a.elector.Start();
  Run(seconds(120));
  EXPECT_FALSE(a.elector.IsLeader());
  EXPECT_EQ(a.started, 0);
  EXPECT_EQ(a.elector.Leader(), "other");
  EXPECT_EQ(Spec()["holderIdentity"], "other");

  renewing = false;
  std::optional<Duration> took = RunUntil([&] { return a.elector.IsLeader(); }, seconds(40));
  ASSERT_TRUE(took.has_value());
  // Not before a lease duration after the last change a could have seen.
  EXPECT_GE(clock_.Now(), last_other_write + kLeaseDuration);
  EXPECT_EQ(overlaps_, 0);
  json spec = Spec();
  EXPECT_EQ(spec["holderIdentity"], "a");
  EXPECT_EQ(spec["leaseTransitions"], 3);
}

TEST_F(LeaderElectionTest, StopWaitsForTheRequestInFlightThenReleases) {
  FakeLeaseStore::Client* api;
  Candidate& a = Add("a", &api);
  a.elector.Start();
  loop_.RunUntilIdle();
  api->Hold(true);
  loop_.AdvanceAndRun(clock_, kRetryPeriod);  // the renew's GET is in flight
  ASSERT_EQ(api->held(), 1u);
  bool done = false;
  a.elector.Stop([&done] { done = true; });
  loop_.RunUntilIdle();
  EXPECT_FALSE(a.elector.IsLeader());  // stops leading at once
  EXPECT_EQ(a.stopped, 1);
  EXPECT_FALSE(done);                  // the release waits for the read
  api->Hold(false);
  loop_.RunUntilIdle();
  EXPECT_TRUE(done);
  EXPECT_EQ(Spec()["holderIdentity"], "");
  EXPECT_EQ(a.started, 1);
}

TEST_F(LeaderElectionTest, StopBeforeStartAndTwiceIsHarmless) {
  Candidate& a = Add("a");
  int done = 0;
  a.elector.Stop([&done] { done++; });
  a.elector.Stop([&done] { done++; });
  loop_.RunUntilIdle();
  EXPECT_EQ(done, 2);
  a.elector.Start();  // after Stop: ignored
  Run(seconds(5));
  EXPECT_FALSE(a.elector.IsLeader());
  EXPECT_TRUE(store_.Get(kPath).is_null());
}

// The header's shape: a loop with its own thread, StopAndWait from the
// owner's thread. The clock is simulated, so the elector's timers wait for
// Advance, and the test waits only for completion.
TEST(LeaderElectorThreadedTest, RunsOnALoopThreadAndStopAndWaitReleases) {
  SimulatedClock clock;
  FakeLeaseStore store;
  FakeLeaseStore::Client& api = store.NewClient();
  EventLoop loop(clock);
  loop.StartThread();
  std::promise<void> leading;
  LeaderElector elector(api, loop, Config("pod-1_x2y"),
                        {.on_started_leading = [&leading] { leading.set_value(); }});
  elector.Start();
  leading.get_future().wait();
  EXPECT_TRUE(elector.IsLeader());
  elector.StopAndWait();
  EXPECT_FALSE(elector.IsLeader());
  loop.Stop();
  EXPECT_EQ(store.Get(kPath)["spec"]["holderIdentity"], "");
}

}  // namespace
}  // namespace ebb::kube
