#include "targets/process_pool.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>

#include "targets/process_test_util.h"

namespace ebb::targets {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using testutil::IsAlive;
using testutil::ReadFile;
using testutil::ReadPid;
using testutil::TempDir;
using testutil::WaitFor;

// Each copy writes its pid to $DIR/<index>.pid, then becomes `sleep 60`
// (same pid) unless the script says otherwise.
constexpr char kSleeper[] = R"(echo $$ > "$DIR/$EBB_REPLICA_INDEX.pid"; exec sleep 60)";

class ProcessPoolTest : public ::testing::Test {
 protected:
  ProcessPoolSpec Spec(const std::string& script, int32_t grace_seconds = 5) {
    ProcessPoolSpec spec;
    spec.metadata.name = "workers";
    spec.command = "/bin/sh";
    spec.args = {"-c", script};
    spec.env = {{"DIR", dir_.path()}};
    spec.grace_period_seconds = grace_seconds;
    return spec;
  }

  ProcessPoolOptions Options() {
    ProcessPoolOptions o;
    o.output_path = dir_.File("output.log");
    o.ready_after = milliseconds(400);
    o.restart_backoff = milliseconds(100);
    o.max_restart_backoff = milliseconds(400);
    o.poll_interval = milliseconds(20);
    o.logger = &log_.logger();
    return o;
  }

  std::shared_ptr<ProcessPool> Start(ProcessPoolSpec spec) {
    auto pool = ProcessPool::Create(std::move(spec), Options());
    EXPECT_TRUE(pool.ok()) << pool.status().ToString();
    return pool.ok() ? *pool : nullptr;
  }

  static void Scale(ProcessPool& pool, int32_t replicas) {
    Status result = Internal("callback not called");
    pool.SetReplicas(replicas, [&](Status s) { result = s; });
    ASSERT_TRUE(result.ok()) << result.ToString();
  }

  static ScaleState GetScale(ProcessPool& pool) {
    ScaleState state{-1, -1};
    pool.GetScale([&](Result<ScaleState> s) {
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      state = *s;
    });
    return state;
  }

  // The pid copy `index` wrote, once it matches what the pool reports.
  pid_t RunningPid(ProcessPool& pool, int32_t index) {
    pid_t pid = 0;
    WaitFor([&] {
      for (const CopyInfo& c : pool.Copies()) {
        if (c.index == index && !c.stopping && c.pid != 0 &&
            ReadPid(dir_.File(std::to_string(index) + ".pid")) == c.pid) {
          pid = c.pid;
          return true;
        }
      }
      return false;
    });
    return pid;
  }

  std::vector<int32_t> Indexes(ProcessPool& pool) {
    std::vector<int32_t> out;
    for (const CopyInfo& c : pool.Copies()) out.push_back(c.index);
    return out;
  }

  TempDir dir_;
  testutil::CapturedLog log_;
};

TEST_F(ProcessPoolTest, ScalesZeroToThreeToOneToZeroStoppingTheNewestFirst) {
  auto pool = Start(Spec(kSleeper));
  ASSERT_TRUE(pool);
  EXPECT_EQ(pool->Describe(), "ProcessPool default/workers");
  EXPECT_EQ(GetScale(*pool).replicas, 0);

  Scale(*pool, 3);
  std::vector<pid_t> pids;
  for (int32_t i = 0; i < 3; ++i) pids.push_back(RunningPid(*pool, i));
  for (pid_t pid : pids) ASSERT_TRUE(IsAlive(pid)) << log_.All();
  ScaleState started = GetScale(*pool);
  EXPECT_EQ(started.replicas, 3);
  EXPECT_LT(started.ready_replicas, 3);  // not yet up for ready_after (400 ms)
  EXPECT_TRUE(WaitFor([&] { return GetScale(*pool).ready_replicas == 3; }));

  Scale(*pool, 1);
  EXPECT_EQ(GetScale(*pool).replicas, 1);
  EXPECT_TRUE(WaitFor([&] { return !IsAlive(pids[1]) && !IsAlive(pids[2]); })) << log_.All();
  EXPECT_TRUE(WaitFor([&] { return Indexes(*pool) == std::vector<int32_t>{0}; }));
  EXPECT_TRUE(IsAlive(pids[0]));
  EXPECT_EQ(RunningPid(*pool, 0), pids[0]);  // untouched
  EXPECT_EQ(GetScale(*pool).ready_replicas, 1);
  // Newest (highest index) first.
  auto stopping = log_.Matching({"copy stopping"});
  ASSERT_EQ(stopping.size(), 2u) << log_.All();
  EXPECT_NE(stopping[0].find("index=2"), std::string::npos) << stopping[0];
  EXPECT_NE(stopping[1].find("index=1"), std::string::npos) << stopping[1];

  Scale(*pool, 0);
  EXPECT_TRUE(WaitFor([&] { return !IsAlive(pids[0]) && pool->Copies().empty(); }));
  ScaleState zero = GetScale(*pool);
  EXPECT_EQ(zero.replicas, 0);
  EXPECT_EQ(zero.ready_replicas, 0);
  EXPECT_EQ(log_.Matching({"copy stopped", "killed by signal 15"}).size(), 3u) << log_.All();
  pool->Shutdown();
  EXPECT_TRUE(pool->IsShutDown());
}

TEST_F(ProcessPoolTest, GivesEachCopyItsEnvironmentArgumentsAndDirectory) {
  ProcessPoolSpec spec;
  spec.metadata.name = "env";
  spec.metadata.namespace_name = "jobs";
  spec.command = "sh";  // looked up in PATH
  spec.args = {
      "-c",
      R"sh(echo "$EBB_REPLICA_INDEX|$EBB_POOL_NAME|$COLOR|$1|$(pwd)" > "out.$EBB_REPLICA_INDEX"; exec sleep 60)sh",
      "sh", "two words"};
  spec.env = {{"COLOR", "blue"}};
  spec.working_dir = dir_.path();
  auto pool = Start(spec);
  ASSERT_TRUE(pool);
  Scale(*pool, 2);
  for (int i = 0; i < 2; ++i) {
    std::string file = dir_.File("out." + std::to_string(i));
    std::string want = std::to_string(i) + "|jobs/env|blue|two words|" + dir_.path() + "\n";
    EXPECT_TRUE(WaitFor([&] { return ReadFile(file) == want; })) << ReadFile(file);
  }
}

TEST_F(ProcessPoolTest, RestartsACrashedCopyWithTheSameIndex) {
  auto pool = Start(Spec(kSleeper));
  ASSERT_TRUE(pool);
  Scale(*pool, 2);
  pid_t first = RunningPid(*pool, 0);
  pid_t crashed = RunningPid(*pool, 1);
  ASSERT_TRUE(IsAlive(crashed));
  ASSERT_EQ(kill(crashed, SIGKILL), 0);

  pid_t restarted = 0;
  EXPECT_TRUE(WaitFor([&] {
    restarted = ReadPid(dir_.File("1.pid"));
    return restarted != crashed && IsAlive(restarted);
  })) << log_.All();
  EXPECT_EQ(RunningPid(*pool, 1), restarted);
  EXPECT_EQ(RunningPid(*pool, 0), first);  // the other copy is untouched
  std::vector<CopyInfo> copies = pool->Copies();
  ASSERT_EQ(copies.size(), 2u);
  EXPECT_EQ(copies[1].restarts, 1);
  EXPECT_EQ(copies[0].restarts, 0);
  EXPECT_EQ(log_.Matching({"exited; restarting", "index=1", "killed by signal 9"}).size(), 1u)
      << log_.All();
  EXPECT_EQ(GetScale(*pool).replicas, 2);
}

TEST_F(ProcessPoolTest, BacksOffACrashLoopingCommand) {
  // Options: restart after 100 ms, doubling to 400 ms. In 1.2 s that is
  // about 5 starts (0, 0.1, 0.3, 0.7, 1.1 s); without backoff it would be
  // one per 20 ms poll.
  auto pool = Start(Spec(R"(echo x >> "$DIR/starts"; exit 3)"));
  ASSERT_TRUE(pool);
  Scale(*pool, 1);
  std::this_thread::sleep_for(milliseconds(1200));
  EXPECT_EQ(GetScale(*pool).ready_replicas, 0);  // never up for ready_after (400 ms)
  pool->Shutdown();
  std::string starts = ReadFile(dir_.File("starts"));
  size_t count = std::count(starts.begin(), starts.end(), '\n');
  EXPECT_GE(count, 3u);
  EXPECT_LE(count, 7u);
  EXPECT_FALSE(log_.Matching({"exited; restarting", "exited with code 3"}).empty()) << log_.All();
  Status after = Status::Ok();
  pool->GetScale([&](Result<ScaleState> s) { after = s.status(); });
  EXPECT_EQ(after.code(), StatusCode::kUnavailable);
}

TEST_F(ProcessPoolTest, HonoursTheGracePeriodThenKills) {
  // One copy exits 0.3 s after SIGTERM; the other ignores SIGTERM (the
  // ignored disposition survives exec into sleep). Grace: 1 s.
  auto graceful = Start(Spec(R"(trap 'sleep 0.3; echo done > "$DIR/graceful"; exit 0' TERM
echo $$ > "$DIR/0.pid"; sleep 60 & wait)",
                             1));
  ProcessPoolSpec stubborn_spec = Spec(R"(trap "" TERM; echo $$ > "$DIR/0.pid"; exec sleep 60)", 1);
  stubborn_spec.metadata.name = "stubborn";
  stubborn_spec.env = {{"DIR", dir_.File("s")}};
  ASSERT_EQ(mkdir(dir_.File("s").c_str(), 0700), 0);
  auto stubborn = Start(stubborn_spec);
  ASSERT_TRUE(graceful && stubborn);
  Scale(*graceful, 1);
  Scale(*stubborn, 1);
  pid_t graceful_pid = RunningPid(*graceful, 0);
  pid_t stubborn_pid = 0;
  ASSERT_TRUE(WaitFor([&] {
    auto c = stubborn->Copies();
    stubborn_pid = c.empty() ? 0 : c[0].pid;
    return stubborn_pid != 0 && ReadPid(dir_.File("s/0.pid")) == stubborn_pid;
  }));
  // Let the shells reach their trap/exec before the signal.
  std::this_thread::sleep_for(milliseconds(100));

  auto start = steady_clock::now();
  Scale(*graceful, 0);
  Scale(*stubborn, 0);
  ASSERT_TRUE(WaitFor([&] { return !IsAlive(graceful_pid); }));
  auto graceful_took = steady_clock::now() - start;
  ASSERT_TRUE(WaitFor([&] { return !IsAlive(stubborn_pid); }));
  auto stubborn_took = steady_clock::now() - start;

  // Both reaped (and logged) once the pools list no copy.
  ASSERT_TRUE(WaitFor([&] { return graceful->Copies().empty() && stubborn->Copies().empty(); }));
  EXPECT_EQ(ReadFile(dir_.File("graceful")), "done\n");
  EXPECT_GE(graceful_took, milliseconds(300));
  EXPECT_LT(graceful_took, milliseconds(950));
  EXPECT_EQ(log_.Matching({"pool=default/workers", "copy stopped", "exited with code 0"}).size(),
            1u)
      << log_.All();
  EXPECT_TRUE(log_.Matching({"pool=default/workers", "sent SIGKILL"}).empty()) << log_.All();

  EXPECT_GE(stubborn_took, milliseconds(1000));
  EXPECT_LT(stubborn_took, milliseconds(3000));
  EXPECT_EQ(log_.Matching({"pool=default/stubborn", "sent SIGKILL"}).size(), 1u) << log_.All();
  EXPECT_EQ(log_.Matching({"pool=default/stubborn", "copy stopped", "killed by signal 9"}).size(),
            1u)
      << log_.All();
}

TEST_F(ProcessPoolTest, DoesNotReuseAnIndexStillStopping) {
  auto pool =
      Start(Spec(R"(trap "" TERM; echo $$ > "$DIR/$EBB_REPLICA_INDEX.pid"; exec sleep 60)", 1));
  ASSERT_TRUE(pool);
  Scale(*pool, 2);
  pid_t old = RunningPid(*pool, 1);
  ASSERT_NE(old, 0);
  Scale(*pool, 1);
  ASSERT_TRUE(WaitFor([&] { return pool->Copies().size() == 2 && pool->Copies()[1].stopping; }));
  Scale(*pool, 2);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(ReadPid(dir_.File("1.pid")), old);  // the new copy 1 waits for the old one
  pid_t fresh = 0;
  EXPECT_TRUE(WaitFor(
      [&] {
        fresh = ReadPid(dir_.File("1.pid"));
        return fresh != old && IsAlive(fresh);
      },
      std::chrono::seconds(4)));
  EXPECT_FALSE(IsAlive(old));
}

TEST_F(ProcessPoolTest, LeavesNoOrphans) {
  // Each copy is a shell with a child of its own.
  auto pool = Start(Spec(R"(sleep 60 & echo $! > "$DIR/$EBB_REPLICA_INDEX.child"
echo $$ > "$DIR/$EBB_REPLICA_INDEX.pid"; wait)",
                         1));
  ASSERT_TRUE(pool);
  Scale(*pool, 2);
  std::vector<pid_t> all;
  for (int i = 0; i < 2; ++i) {
    all.push_back(RunningPid(*pool, i));
    all.push_back(ReadPid(dir_.File(std::to_string(i) + ".child")));
  }
  for (pid_t pid : all) ASSERT_TRUE(IsAlive(pid)) << pid;

  // A crashed copy's children are killed before it is restarted: the
  // killed shell's sleep must not survive it.
  ASSERT_EQ(kill(all[2], SIGKILL), 0);
  EXPECT_TRUE(WaitFor([&] { return !IsAlive(all[3]); })) << log_.All();

  Scale(*pool, 0);
  EXPECT_TRUE(WaitFor([&] {
    return std::none_of(all.begin(), all.end(), IsAlive) && pool->Copies().empty();
  })) << log_.All();
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(IsAlive(ReadPid(dir_.File(std::to_string(i) + ".child"))));
    EXPECT_FALSE(IsAlive(ReadPid(dir_.File(std::to_string(i) + ".pid"))));
  }
}

TEST_F(ProcessPoolTest, DestructorStopsEveryCopy) {
  std::vector<pid_t> pids;
  {
    auto pool = Start(Spec(kSleeper));
    ASSERT_TRUE(pool);
    Scale(*pool, 3);
    for (int i = 0; i < 3; ++i) pids.push_back(RunningPid(*pool, i));
  }
  for (pid_t pid : pids) {
    EXPECT_NE(pid, 0);
    EXPECT_FALSE(IsAlive(pid)) << pid;
  }
}

TEST_F(ProcessPoolTest, CopiesDieWhenEbbIsKilled) {
  // A forked "ebb" runs the pool; SIGKILL runs no destructor, so only the
  // death signal can stop its copies. (Forking is safe here: no other
  // pool, hence no other thread, is alive in this process.)
  pid_t ebb = fork();
  ASSERT_GE(ebb, 0);
  if (ebb == 0) {
    auto pool = ProcessPool::Create(Spec(kSleeper), Options());
    if (!pool.ok()) _exit(1);
    (*pool)->SetReplicas(2, [](Status) {});
    std::this_thread::sleep_for(std::chrono::seconds(20));
    _exit(0);
  }
  std::vector<pid_t> copies(2, 0);
  bool started = WaitFor([&] {
    for (int i = 0; i < 2; ++i) copies[i] = ReadPid(dir_.File(std::to_string(i) + ".pid"));
    return IsAlive(copies[0]) && IsAlive(copies[1]);
  });
  kill(ebb, SIGKILL);
  int status = 0;
  waitpid(ebb, &status, 0);
  ASSERT_TRUE(started);
  EXPECT_TRUE(
      WaitFor([&] { return !IsAlive(copies[0]) && !IsAlive(copies[1]); }, std::chrono::seconds(2)));
}

TEST_F(ProcessPoolTest, RejectsBadCountsAndRequestsAfterShutdown) {
  auto pool = Start(Spec(kSleeper));
  ASSERT_TRUE(pool);
  Status negative, too_many, after;
  pool->SetReplicas(-1, [&](Status s) { negative = s; });
  pool->SetReplicas(1001, [&](Status s) { too_many = s; });
  EXPECT_EQ(negative.code(), StatusCode::kInvalidConfig);
  EXPECT_EQ(too_many.code(), StatusCode::kInvalidConfig);
  EXPECT_NE(too_many.message().find("0..1000"), std::string::npos) << too_many.message();
  pool->Shutdown();
  pool->SetReplicas(1, [&](Status s) { after = s; });
  EXPECT_EQ(after.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(pool->IsShutDown());
}

TEST_F(ProcessPoolTest, CreateChecksTheCommandAndDirectory) {
  ProcessPoolSpec missing = Spec(kSleeper);
  missing.command = "no-such-ebb-worker";
  auto r = ProcessPool::Create(missing, Options());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(r.status().message().find("ProcessPool default/workers: spec.command: "),
            std::string::npos)
      << r.status().ToString();

  ProcessPoolSpec bad_dir = Spec(kSleeper);
  bad_dir.working_dir = dir_.File("missing");
  r = ProcessPool::Create(bad_dir, Options());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(r.status().message().find("spec.workingDir"), std::string::npos);

  // spec.env's PATH is where a bare command is looked up.
  ProcessPoolSpec own_path = Spec(kSleeper);
  own_path.command = "sh";
  own_path.env.emplace_back("PATH", "/nonexistent");
  EXPECT_EQ(ProcessPool::Create(own_path, Options()).status().code(), StatusCode::kInvalidConfig);
}

}  // namespace
}  // namespace ebb::targets
