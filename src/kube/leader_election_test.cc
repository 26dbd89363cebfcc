// LeaderElector against the fake API server with the real clock and short
// durations (lease 1 s, renew deadline 0.6 s, retry 0.15 s): validation,
// the Lease it writes, hand-over on release, the fence when renewals fail,
// 409s, and a live lease held by someone else.
#include "kube/leader_election.h"

#include <gtest/gtest.h>

#include <regex>

#include "kube/kube_test_util.h"

namespace ebb::kube {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

constexpr char kNs[] = "keda";
constexpr char kLease[] = "ebb-operator.ebb.dev";
constexpr char kTokenB[] = "t0k3n-b";
constexpr char kUserB[] = "system:serviceaccount:keda:ebb-b";
const Duration kLeaseDuration = std::chrono::seconds(1);
const Duration kRenewDeadline = milliseconds(600);
const Duration kRetryPeriod = milliseconds(150);

LeaderElectionConfig Config(const std::string& identity) {
  return {.lease_namespace = kNs,
          .lease_name = kLease,
          .identity = identity,
          .lease_duration = kLeaseDuration,
          .renew_deadline = kRenewDeadline,
          .retry_period = kRetryPeriod};
}

bool IsMicroTime(const json& v) {
  static const std::regex kMicro(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");
  return v.is_string() && std::regex_match(v.get<std::string>(), kMicro);
}

// One elector on its own thread, counting its callbacks.
class Candidate {
 public:
  Candidate(RestClient& rest, const std::string& identity, Logger* logger)
      : elector_(rest, RealClock::Instance(), Config(identity),
                 {.on_started_leading = [this] { started_++; },
                  .on_stopped_leading = [this] { stopped_++; },
                  .on_new_leader = [this](const std::string&) { new_leaders_++; }},
                 logger) {}
  ~Candidate() { Stop(); }

  void Start() {
    thread_ = std::jthread([this](std::stop_token st) { elector_.Run(st); });
  }
  void Stop() {
    if (!thread_.joinable()) return;
    thread_.request_stop();
    thread_.join();
  }
  bool IsLeader() const { return elector_.IsLeader(); }
  const LeaderElector& elector() const { return elector_; }
  int started() const { return started_.load(); }
  int stopped() const { return stopped_.load(); }
  int new_leaders() const { return new_leaders_.load(); }

 private:
  std::atomic<int> started_{0};
  std::atomic<int> stopped_{0};
  std::atomic<int> new_leaders_{0};
  LeaderElector elector_;
  std::jthread thread_;
};

struct Samples {
  int total = 0;
  int both = 0;       // instants at which both claimed to lead
  bool done = false;  // `until` became true within the limit
};

// Samples IsLeader of `a` and `b` about every millisecond until `until`
// returns true or `limit` passes.
Samples SampleUntil(const Candidate& a, const Candidate& b, const std::function<bool()>& until,
                    milliseconds limit) {
  Samples s;
  auto deadline = Steady::now() + limit;
  while (Steady::now() < deadline) {
    bool la = a.IsLeader();
    bool lb = b.IsLeader();
    s.total++;
    if (la && lb) s.both++;
    if (until()) {
      s.done = true;
      return s;
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
  return s;
}

class LeaderElectionTest : public KubeTest {
 protected:
  void SetUp() override {
    testing::kube::FakeApiServerOptions o;
    o.tokens = {{kTestToken, kTestUser}, {kTokenB, kUserB}};
    Start(std::move(o));
    RestConfig c;
    c.server = server_->base_url();
    c.token = SecretString(kTokenB);
    rest_b_ = std::make_unique<RestClient>(*http_, c);
    logger_.SetSink([this](std::string_view line) {
      std::lock_guard lock(log_mu_);
      log_.emplace_back(line);
    });
  }
  void TearDown() override {
    a_.reset();  // stops and releases while the server is up
    b_.reset();
    if (http_) http_->Shutdown();
    rest_b_.reset();
    Shutdown();
  }

  Candidate& StartA(const std::string& identity = "a") {
    a_ = std::make_unique<Candidate>(*rest_, identity, &logger_);
    a_->Start();
    return *a_;
  }
  Candidate& StartB(const std::string& identity = "b") {
    b_ = std::make_unique<Candidate>(*rest_b_, identity, &logger_);
    b_->Start();
    return *b_;
  }

  json GetLease() {
    ApiResult r = rest_->CallSync({.path = ObjectPath(kLeases, kNs, kLease)});
    EXPECT_TRUE(r.ok()) << r.status.ToString();
    return r.object;
  }
  json Spec() { return GetLease()["spec"]; }

  bool Logged(const std::string& text) {
    std::lock_guard lock(log_mu_);
    for (const std::string& line : log_) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }

  std::unique_ptr<RestClient> rest_b_;
  Logger logger_;
  std::mutex log_mu_;
  std::vector<std::string> log_;  // guarded by log_mu_
  std::unique_ptr<Candidate> a_;
  std::unique_ptr<Candidate> b_;
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
  c.renew_deadline = milliseconds(180);  // == 1.2 x retry period
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
  c.request_timeout = std::chrono::seconds(5);
  EXPECT_NE(message(c).find("request timeout"), std::string::npos);
}

TEST_F(LeaderElectionTest, CreatesTheLeaseLeadsRenewsAndReleases) {
  Candidate& a = StartA("pod-a_1x2y");
  ASSERT_TRUE(WaitFor([&] { return a.IsLeader(); }));
  EXPECT_EQ(a.started(), 1);
  EXPECT_EQ(a.elector().Leader(), "pod-a_1x2y");

  json lease = GetLease();
  EXPECT_EQ(lease["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(lease["kind"], "Lease");
  json spec = lease["spec"];
  EXPECT_EQ(spec["holderIdentity"], "pod-a_1x2y");
  EXPECT_EQ(spec["leaseDurationSeconds"], 1);
  EXPECT_TRUE(IsMicroTime(spec["acquireTime"])) << spec.dump();
  EXPECT_TRUE(IsMicroTime(spec["renewTime"])) << spec.dump();
  EXPECT_EQ(spec["leaseTransitions"], 0);

  // Renewing moves renewTime and keeps acquireTime and the transitions.
  ASSERT_TRUE(WaitFor([&] { return Spec()["renewTime"] != spec["renewTime"]; }));
  json renewed = Spec();
  EXPECT_EQ(renewed["acquireTime"], spec["acquireTime"]);
  EXPECT_EQ(renewed["leaseTransitions"], 0);
  EXPECT_EQ(renewed["holderIdentity"], "pod-a_1x2y");

  a.Stop();
  EXPECT_FALSE(a.IsLeader());
  EXPECT_EQ(a.stopped(), 1);
  json released = Spec();
  EXPECT_EQ(released["holderIdentity"], "");
  EXPECT_EQ(released["leaseDurationSeconds"], 1);
  EXPECT_EQ(released["leaseTransitions"], 0);
  EXPECT_TRUE(Logged("became leader"));
  EXPECT_TRUE(Logged("stopped leading"));
  EXPECT_TRUE(Logged("reason=\"shutting down\""));
  EXPECT_FALSE(Logged(kTestToken));
}

TEST_F(LeaderElectionTest, TwoElectorsNeverBothLeadAndReleaseHandsOverQuickly) {
  Candidate& a = StartA();
  Candidate& b = StartB();
  Samples s = SampleUntil(
      a, b, [] { return false; }, milliseconds(1000));
  EXPECT_EQ(s.both, 0) << "of " << s.total << " samples";
  ASSERT_TRUE(a.IsLeader() != b.IsLeader());
  Candidate& leader = a.IsLeader() ? a : b;
  Candidate& follower = a.IsLeader() ? b : a;
  EXPECT_EQ(follower.elector().Leader(), leader.elector().Leader());
  EXPECT_EQ(follower.started(), 0);

  auto stopped_at = Steady::now();
  leader.Stop();
  ASSERT_TRUE(WaitFor([&] { return follower.IsLeader(); }, milliseconds(3000)));
  // A released lease is free at once: no waiting out the lease duration.
  EXPECT_LT(Steady::now() - stopped_at, kLeaseDuration);
  json spec = Spec();
  EXPECT_EQ(spec["holderIdentity"], follower.elector().config().identity);
  EXPECT_EQ(spec["leaseTransitions"], 1);
  EXPECT_EQ(spec["leaseDurationSeconds"], 1);
  EXPECT_GE(follower.elector().Stats().leader_transitions, 2u);  // leader -> "" -> itself
  EXPECT_GE(follower.new_leaders(), 2);
  EXPECT_TRUE(Logged("new leader observed"));
}

TEST_F(LeaderElectionTest, CutOffLeaderFencesItselfBeforeTheOtherTakesOver) {
  Candidate& a = StartA();
  ASSERT_TRUE(WaitFor([&] { return a.IsLeader(); }));
  Candidate& b = StartB();
  ASSERT_TRUE(WaitFor([&] { return b.elector().Leader() == "a"; }));

  // a may still read but no longer write: it cannot renew, and does not
  // release. b may do everything.
  server_->SetRbac(std::vector<testing::kube::RbacRule>{
      {.user = kTestUser,
       .verbs = {"get", "list", "watch"},
       .groups = {"*"},
       .resources = {"*"},
       .namespaces = {}},
      {.user = kUserB, .verbs = {"*"}, .groups = {"*"}, .resources = {"*"}, .namespaces = {}}});
  auto cut_at = Steady::now();
  std::optional<Steady::time_point> a_fenced_at;
  Samples s = SampleUntil(
      a, b,
      [&] {
        if (!a_fenced_at && !a.IsLeader()) a_fenced_at = Steady::now();
        return b.IsLeader();
      },
      milliseconds(5000));
  ASSERT_TRUE(s.done);
  auto b_led_at = Steady::now();
  EXPECT_EQ(s.both, 0) << "of " << s.total << " samples";
  ASSERT_TRUE(a_fenced_at.has_value());
  // The fence counts from a's last good renew, sent before the cut.
  EXPECT_LE(*a_fenced_at - cut_at, kRenewDeadline + milliseconds(100));
  // b waited out the lease from when it last saw a renew; a renewed at most
  // a retry period or so before the cut.
  EXPECT_GE(b_led_at - cut_at, milliseconds(500));
  EXPECT_TRUE(WaitFor([&] { return a.stopped() == 1; }));
  EXPECT_GT(a.elector().Stats().renew_failures, 0u);
  EXPECT_TRUE(Logged("no successful renew within --renew-deadline"));

  json spec = Spec();
  EXPECT_EQ(spec["holderIdentity"], "b");
  EXPECT_EQ(spec["leaseTransitions"], 1);
  // a now sees b's live lease and stays a follower.
  s = SampleUntil(
      a, b, [] { return false; }, milliseconds(400));
  EXPECT_EQ(s.both, 0);
  EXPECT_FALSE(a.IsLeader());
  EXPECT_EQ(a.elector().Leader(), "b");
}

TEST_F(LeaderElectionTest, ConflictOnUpdateIsNotLeadership) {
  // A released lease: free to take, but every PUT is 409.
  ASSERT_TRUE(
      server_->store()
          .Seed(Type("coordination.k8s.io", "v1", "leases"),
                {{"metadata", {{"name", kLease}, {"namespace", kNs}}},
                 {"spec",
                  {{"holderIdentity", ""}, {"leaseDurationSeconds", 1}, {"leaseTransitions", 4}}}})
          .ok());
  server_->InjectFault({.method = "PUT", .path_contains = kLease, .status = 409, .times = 1000});
  Candidate& a = StartA();
  auto conflicts = [&] {
    int n = 0;
    for (const auto& r : server_->Requests()) n += r.method == "PUT" && r.status == 409;
    return n;
  };
  ASSERT_TRUE(WaitFor([&] { return conflicts() >= 3; }));
  EXPECT_FALSE(a.IsLeader());
  EXPECT_EQ(a.started(), 0);

  server_->ClearFaults();
  ASSERT_TRUE(WaitFor([&] { return a.IsLeader(); }));
  EXPECT_EQ(Spec()["leaseTransitions"], 5);

  // A conflict on every renew ends leadership within the renew deadline.
  server_->InjectFault({.method = "PUT", .path_contains = kLease, .status = 409, .times = 1000});
  ASSERT_TRUE(WaitFor([&] { return !a.IsLeader(); }));
  EXPECT_TRUE(WaitFor([&] { return a.stopped() == 1; }));
  server_->ClearFaults();
  ASSERT_TRUE(WaitFor([&] { return a.IsLeader(); }));
  EXPECT_EQ(a.started(), 2);
  EXPECT_EQ(Spec()["leaseTransitions"], 5);  // its own lease: no new transition
}

TEST_F(LeaderElectionTest, LiveLeaseOfAnotherHolderIsNeverTaken) {
  ASSERT_TRUE(server_->store()
                  .Seed(Type("coordination.k8s.io", "v1", "leases"),
                        {{"metadata", {{"name", kLease}, {"namespace", kNs}}},
                         {"spec",
                          {{"holderIdentity", "other"},
                           {"leaseDurationSeconds", 1},
                           {"leaseTransitions", 2}}}})
                  .ok());
  // "other" renews every 200 ms, with its own clock (an hour behind, to
  // show that renewTime itself is never compared with the local clock).
  std::jthread renewer([&](std::stop_token st) {
    while (!st.stop_requested()) {
      json lease = GetLease();
      lease["spec"]["renewTime"] =
          FormatRfc3339Micros(RealClock::Instance().Now() - std::chrono::hours(1));
      rest_->CallSync(
          {.method = "PUT", .path = ObjectPath(kLeases, kNs, kLease), .body = lease.dump()});
      std::this_thread::sleep_for(milliseconds(200));
    }
  });
  Candidate& a = StartA();
  ASSERT_TRUE(WaitFor([&] { return a.elector().Leader() == "other"; }));
  auto until = Steady::now() + milliseconds(1400);  // well past one lease duration
  while (Steady::now() < until) {
    ASSERT_FALSE(a.IsLeader());
    std::this_thread::sleep_for(milliseconds(2));
  }
  EXPECT_EQ(a.started(), 0);
  EXPECT_EQ(Spec()["holderIdentity"], "other");

  renewer.request_stop();
  renewer.join();
  ASSERT_TRUE(WaitFor([&] { return a.IsLeader(); }, milliseconds(3000)));
  json spec = Spec();
  EXPECT_EQ(spec["holderIdentity"], "a");
  EXPECT_EQ(spec["leaseTransitions"], 3);
}

}  // namespace
}  // namespace ebb::kube
