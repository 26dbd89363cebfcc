#include "targets/process_pool_resolver.h"

#include <gtest/gtest.h>

#include "targets/process_test_util.h"

namespace ebb::targets {
namespace {

using std::chrono::milliseconds;
using testutil::IsAlive;
using testutil::ReadFile;
using testutil::TempDir;
using testutil::WaitFor;

class ProcessPoolResolverTest : public ::testing::Test {
 protected:
  ProcessPoolResolverTest() : resolver_(Options()) {}

  ProcessPoolOptions Options() {
    ProcessPoolOptions o;
    o.output_path = "/dev/null";
    o.ready_after = milliseconds(100);
    o.poll_interval = milliseconds(20);
    o.logger = &log_.logger();
    return o;
  }

  // A pool whose copies write "<pid> <COLOR>" to $DIR/<name>.<index>.
  ProcessPoolSpec Pool(const std::string& name, const std::string& ns = "default",
                       const std::string& color = "blue") {
    std::filesystem::create_directories(dir_.path() + "/" + ns);
    ProcessPoolSpec spec;
    spec.metadata.name = name;
    spec.metadata.namespace_name = ns;
    spec.command = "/bin/sh";
    spec.args = {"-c", R"(echo "$$ $COLOR" > "$DIR/$EBB_POOL_NAME.$EBB_REPLICA_INDEX.tmp"
mv "$DIR/$EBB_POOL_NAME.$EBB_REPLICA_INDEX.tmp" "$DIR/$EBB_POOL_NAME.$EBB_REPLICA_INDEX"
exec sleep 60)"};
    spec.env = {{"DIR", dir_.path()}, {"COLOR", color}};
    spec.grace_period_seconds = 2;
    return spec;
  }

  static api::ScaledObject Targeting(const std::string& name, const std::string& ns = "default",
                                     const std::string& kind = kProcessPoolKind,
                                     const std::string& api_version = kProcessPoolApiVersion) {
    api::ScaledObject so;
    so.metadata.name = "so";
    so.metadata.namespace_name = ns;
    so.spec.scale_target_ref.api_version = api_version;
    so.spec.scale_target_ref.kind = kind;
    so.spec.scale_target_ref.name = name;
    return so;
  }

  // "<pid> <color>" written by copy `index` of pool ns/name.
  std::string Written(const std::string& ns, const std::string& name, int index) {
    return ReadFile(dir_.path() + "/" + ns + "/" + name + "." + std::to_string(index));
  }

  TempDir dir_;
  testutil::CapturedLog log_;
  ProcessPoolResolver resolver_;  // last: destroyed (stopping copies) first
};

Status Scale(const ScaleTargetPtr& target, int32_t replicas) {
  Status result = Internal("callback not called");
  target->SetReplicas(replicas, [&](Status s) { result = s; });
  return result;
}

TEST_F(ProcessPoolResolverTest, ResolvesTheSamePoolForTheSameReference) {
  resolver_.Update({Pool("workers"), Pool("workers", "jobs")});
  Result<ScaleTargetPtr> a = resolver_.Resolve(Targeting("workers"));
  Result<ScaleTargetPtr> b = resolver_.Resolve(Targeting("workers"));
  Result<ScaleTargetPtr> jobs = resolver_.Resolve(Targeting("workers", "jobs"));
  ASSERT_TRUE(a.ok() && b.ok() && jobs.ok()) << a.status().ToString();
  EXPECT_EQ(a->get(), b->get());
  EXPECT_NE(a->get(), jobs->get());
  EXPECT_EQ((*a)->Describe(), "ProcessPool default/workers");
  EXPECT_EQ((*jobs)->Describe(), "ProcessPool jobs/workers");
}

TEST_F(ProcessPoolResolverTest, ExplainsWhatItCannotScale) {
  resolver_.Update({Pool("workers")});
  Result<ScaleTargetPtr> deployment =
      resolver_.Resolve(Targeting("web", "default", "Deployment", "apps/v1"));
  EXPECT_EQ(deployment.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(deployment.status().message().find("`ebb run` scales ProcessPools"), std::string::npos);
  EXPECT_NE(deployment.status().message().find("use `ebb operator`"), std::string::npos)
      << deployment.status().ToString();

  // kind ProcessPool without its apiVersion (the ScaledObject default is apps/v1).
  Result<ScaleTargetPtr> version =
      resolver_.Resolve(Targeting("workers", "default", "ProcessPool", "apps/v1"));
  EXPECT_EQ(version.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(version.status().message().find("spec.scaleTargetRef.apiVersion"), std::string::npos)
      << version.status().ToString();

  Result<ScaleTargetPtr> unknown = resolver_.Resolve(Targeting("nope"));
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("ProcessPool default/nope"), std::string::npos)
      << unknown.status().ToString();

  // Same name, other namespace: a ScaledObject only reaches its own namespace.
  EXPECT_EQ(resolver_.Resolve(Targeting("workers", "jobs")).status().code(), StatusCode::kNotFound);
}

TEST_F(ProcessPoolResolverTest, ReportsAPoolThatCannotStart) {
  ProcessPoolSpec bad = Pool("bad");
  bad.command = "/nonexistent/worker";
  resolver_.Update({bad});
  Result<ScaleTargetPtr> r = resolver_.Resolve(Targeting("bad"));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(r.status().message().find("spec.command"), std::string::npos) << r.status().ToString();
}

TEST_F(ProcessPoolResolverTest, KeepsAnUnchangedPoolAndReplacesAChangedOne) {
  ProcessPoolSpec spec = Pool("workers");
  resolver_.Update({spec});
  ScaleTargetPtr first = resolver_.Resolve(Targeting("workers")).value_or(nullptr);
  ASSERT_TRUE(first);
  ASSERT_TRUE(Scale(first, 2).ok());
  ASSERT_TRUE(WaitFor([&] {
    return !Written("default", "workers", 0).empty() && !Written("default", "workers", 1).empty();
  }));

  // Only a label changes: same pool, copies untouched.
  spec.metadata.labels["team"] = "a";
  resolver_.Update({spec});
  EXPECT_EQ(resolver_.Resolve(Targeting("workers")).value_or(nullptr).get(), first.get());

  // The command's environment changes: a new pool with the same count.
  std::string before = Written("default", "workers", 0);
  resolver_.Update({Pool("workers", "default", "green")});
  ScaleTargetPtr second = resolver_.Resolve(Targeting("workers")).value_or(nullptr);
  ASSERT_TRUE(second);
  EXPECT_NE(second.get(), first.get());
  EXPECT_EQ(Scale(first, 3).code(), StatusCode::kUnavailable);  // the old pool is retired
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(WaitFor([&] {
      std::string w = Written("default", "workers", i);
      return w.size() > 6 && w.substr(w.size() - 6) == "green\n";
    })) << Written("default", "workers", i);
  }
  ScaleState state;
  second->GetScale([&](Result<ScaleState> s) { state = s.value_or(ScaleState{}); });
  EXPECT_EQ(state.replicas, 2);
  // The old copies are stopped.
  pid_t old_pid = static_cast<pid_t>(std::stol(before));
  EXPECT_TRUE(WaitFor([&] { return !IsAlive(old_pid); })) << log_.All();
}

TEST_F(ProcessPoolResolverTest, StopsAPoolWhoseManifestIsGone) {
  resolver_.Update({Pool("workers")});
  ScaleTargetPtr pool = resolver_.Resolve(Targeting("workers")).value_or(nullptr);
  ASSERT_TRUE(pool && Scale(pool, 1).ok());
  ASSERT_TRUE(WaitFor([&] { return !Written("default", "workers", 0).empty(); }));
  pid_t pid = static_cast<pid_t>(std::stol(Written("default", "workers", 0)));
  resolver_.Update({});
  EXPECT_EQ(resolver_.Resolve(Targeting("workers")).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(WaitFor([&] { return !IsAlive(pid); }));
}

TEST_F(ProcessPoolResolverTest, ShutdownStopsEverything) {
  resolver_.Update({Pool("a"), Pool("b")});
  std::vector<ScaleTargetPtr> pools;
  for (const char* name : {"a", "b"}) {
    pools.push_back(resolver_.Resolve(Targeting(name)).value_or(nullptr));
    ASSERT_TRUE(pools.back() && Scale(pools.back(), 2).ok());
  }
  std::vector<pid_t> pids;
  for (const char* name : {"a", "b"}) {
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(WaitFor([&] { return !Written("default", name, i).empty(); }));
      pids.push_back(static_cast<pid_t>(std::stol(Written("default", name, i))));
    }
  }
  resolver_.Shutdown();
  for (pid_t pid : pids) EXPECT_FALSE(IsAlive(pid)) << pid;
  EXPECT_EQ(resolver_.Resolve(Targeting("a")).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ebb::targets
