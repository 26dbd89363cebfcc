#include "targets/process_pool_spec.h"

#include <gtest/gtest.h>

#include "api/manifest_set.h"

namespace ebb::targets {
namespace {

struct Decoded {
  std::optional<ProcessPoolSpec> pool;
  api::Problems errors;
  api::Problems warnings;
  std::string AllErrors() const {
    std::string s;
    for (const auto& e : errors) s += e.ToString() + "\n";
    return s;
  }
  bool HasError(const std::string& field, const std::string& text) const {
    for (const auto& e : errors) {
      if (e.field == field && e.message.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

Decoded Decode(const std::string& yaml) {
  Decoded d;
  auto docs = api::ParseDocuments(yaml, "pool.yaml");
  EXPECT_TRUE(docs.ok()) << docs.status().ToString();
  d.pool = DecodeProcessPool((*docs)[0], &d.errors, &d.warnings);
  return d;
}

TEST(DecodeProcessPool, EveryFieldIsRead) {
  Decoded d = Decode(R"(apiVersion: ebb.dev/v1alpha1
kind: ProcessPool
metadata:
  name: workers
  namespace: jobs
spec:
  command: /usr/bin/python3
  args: [worker.py, --port, 8080]
  env:
  - name: LOG_LEVEL
    value: debug
  - name: EMPTY
  workingDir: /srv/app
  gracePeriodSeconds: 5
)");
  ASSERT_TRUE(d.pool) << d.AllErrors();
  const ProcessPoolSpec& p = *d.pool;
  EXPECT_EQ(p.metadata.Key(), "jobs/workers");
  EXPECT_EQ(p.command, "/usr/bin/python3");
  EXPECT_EQ(p.args, (std::vector<std::string>{"worker.py", "--port", "8080"}));
  using Env = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(p.env, (Env{{"LOG_LEVEL", "debug"}, {"EMPTY", ""}}));
  EXPECT_EQ(p.working_dir, "/srv/app");
  EXPECT_EQ(p.grace_period_seconds, 5);
  // The unquoted 8080 is accepted, with a hint to quote it.
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0].field, "spec.args[2]");
}

TEST(DecodeProcessPool, DefaultsApply) {
  Decoded d = Decode(R"(apiVersion: ebb.dev/v1alpha1
kind: ProcessPool
metadata: {name: workers}
spec: {command: sleep}
)");
  ASSERT_TRUE(d.pool) << d.AllErrors();
  EXPECT_EQ(d.pool->metadata.namespace_name, "default");
  EXPECT_EQ(d.pool->grace_period_seconds, 30);
  EXPECT_EQ(d.pool->grace_period_seconds, kDefaultGracePeriodSeconds);
  EXPECT_TRUE(d.pool->args.empty());
  EXPECT_TRUE(d.pool->env.empty());
  EXPECT_EQ(d.pool->working_dir, "");
  EXPECT_TRUE(d.warnings.empty());
}

TEST(DecodeProcessPool, CommandAsAListComesBeforeArgs) {
  Decoded d = Decode(R"(apiVersion: ebb.dev/v1alpha1
kind: ProcessPool
metadata: {name: workers}
spec:
  command: [python3, -u]
  args: [worker.py]
)");
  ASSERT_TRUE(d.pool) << d.AllErrors();
  EXPECT_EQ(d.pool->command, "python3");
  EXPECT_EQ(d.pool->args, (std::vector<std::string>{"-u", "worker.py"}));
}

TEST(DecodeProcessPool, ErrorsNameTheFieldAndLine) {
  Decoded d = Decode(R"(apiVersion: ebb.dev/v1alpha1
kind: ProcessPool
metadata: {name: workers}
spec:
  args: {a: b}
  env:
  - value: x
  - name: A=B
  - name: SECRET
    valueFrom: {secretKeyRef: {name: s, key: k}}
  - just-a-string
  gracePeriodSeconds: -1
)");
  EXPECT_FALSE(d.pool);
  EXPECT_TRUE(d.HasError("spec.command", "is required")) << d.AllErrors();
  EXPECT_TRUE(d.HasError("spec.args", "must be a list")) << d.AllErrors();
  EXPECT_TRUE(d.HasError("spec.env[0].name", "is required")) << d.AllErrors();
  EXPECT_TRUE(d.HasError("spec.env[1].name", "'='")) << d.AllErrors();
  EXPECT_TRUE(d.HasError("spec.env[2].valueFrom", "not supported")) << d.AllErrors();
  EXPECT_TRUE(d.HasError("spec.env[3]", "name and value")) << d.AllErrors();
  EXPECT_TRUE(d.HasError("spec.gracePeriodSeconds", "0 or more")) << d.AllErrors();
  for (const auto& e : d.errors) {
    EXPECT_EQ(e.kind, "ProcessPool");
    EXPECT_EQ(e.object, "default/workers");
  }
  // Present fields carry their line.
  EXPECT_EQ(d.errors.back().field, "spec.gracePeriodSeconds");
  EXPECT_EQ(
      d.errors.back().ToString().rfind("pool.yaml:12 (document 1, ProcessPool default/workers): "
                                       "spec.gracePeriodSeconds: -1 must be 0 or more",
                                       0),
      0u)
      << d.errors.back().ToString();
}

TEST(DecodeProcessPool, WrongTypesAndMissingPartsAreErrors) {
  Decoded d = Decode(R"(apiVersion: ebb.dev/v1alpha1
kind: ProcessPool
metadata: {name: workers}
spec:
  command: sleep
  env: {A: b}
  gracePeriodSeconds: "10"
  workingDir: [a]
)");
  EXPECT_FALSE(d.pool);
  EXPECT_TRUE(d.HasError("spec.env", "list of {name, value}")) << d.AllErrors();
  EXPECT_TRUE(d.HasError("spec.gracePeriodSeconds", "not a string")) << d.AllErrors();
  EXPECT_TRUE(d.HasError("spec.workingDir", "must be a string")) << d.AllErrors();

  Decoded no_spec =
      Decode("apiVersion: ebb.dev/v1alpha1\nkind: ProcessPool\nmetadata: {name: w}\n");
  EXPECT_FALSE(no_spec.pool);
  EXPECT_TRUE(no_spec.HasError("spec", "is required")) << no_spec.AllErrors();

  Decoded no_name = Decode("apiVersion: ebb.dev/v1alpha1\nkind: ProcessPool\nspec: {command: x}\n");
  EXPECT_FALSE(no_name.pool);
  EXPECT_FALSE(no_name.errors.empty());
}

TEST(DecodeProcessPool, UnknownFieldsAndDuplicateEnvAreWarnings) {
  Decoded d = Decode(R"(apiVersion: ebb.dev/v1alpha1
kind: ProcessPool
metadata: {name: workers}
spec:
  command: sleep
  replicas: 3
  env:
  - {name: A, value: "1"}
  - {name: A, value: "2"}
)");
  ASSERT_TRUE(d.pool) << d.AllErrors();
  ASSERT_EQ(d.warnings.size(), 2u);
  EXPECT_EQ(d.warnings[0].field, "spec.env[1].name");
  EXPECT_EQ(d.warnings[1].field, "spec.replicas");
  EXPECT_EQ(d.pool->env.back().second, "2");
}

TEST(DecodeProcessPools, ReadsOnlyProcessPoolsFromTheOtherDocuments) {
  auto docs = api::ParseDocuments(R"(apiVersion: ebb.dev/v1alpha1
kind: ProcessPool
metadata: {name: a}
spec: {command: sleep}
---
apiVersion: ebb.dev/v1alpha1
kind: ProcessPool
metadata: {name: a}
spec: {command: true}
---
apiVersion: ebb.dev/v1
kind: ProcessPool
metadata: {name: b}
spec: {command: sleep}
---
apiVersion: ebb.dev/v1alpha1
kind: ProcessPool
metadata: {name: c, namespace: jobs}
spec: {}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
apiVersion: ebb.dev/v1alpha1
kind: ProcessPool
metadata: {name: d, namespace: jobs}
spec: {command: sleep, args: ["60"]}
)",
                                  "pools.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  api::ManifestSet set = api::BuildManifestSet(std::move(*docs));
  api::Problems errors, warnings;
  std::vector<ProcessPoolSpec> pools = DecodeProcessPools(set, &errors, &warnings);
  ASSERT_EQ(pools.size(), 2u);
  EXPECT_EQ(pools[0].metadata.Key(), "default/a");
  EXPECT_EQ(pools[0].command, "sleep");  // the first of two with the same name wins
  EXPECT_EQ(pools[1].metadata.Key(), "jobs/d");
  std::string all;
  for (const auto& e : errors) all += e.ToString() + "\n";
  ASSERT_EQ(errors.size(), 3u) << all;
  EXPECT_NE(all.find("pools.yaml:8 (document 2, ProcessPool default/a): metadata.name"),
            std::string::npos)
      << all;
  EXPECT_NE(
      all.find("apiVersion: \"ebb.dev/v1\" is not a ProcessPool version; use ebb.dev/v1alpha1"),
      std::string::npos)
      << all;
  EXPECT_NE(all.find("jobs/c): spec.command: is required"), std::string::npos) << all;
}

TEST(SameProcesses, ComparesWhatTheCopiesRun) {
  ProcessPoolSpec a;
  a.metadata.name = "w";
  a.command = "sleep";
  ProcessPoolSpec b = a;
  b.metadata.labels["team"] = "x";
  EXPECT_TRUE(SameProcesses(a, b));
  b.env.emplace_back("A", "1");
  EXPECT_FALSE(SameProcesses(a, b));
  b = a;
  b.grace_period_seconds = 1;
  EXPECT_FALSE(SameProcesses(a, b));
  b = a;
  b.metadata.namespace_name = "other";
  EXPECT_FALSE(SameProcesses(a, b));
}

}  // namespace
}  // namespace ebb::targets
