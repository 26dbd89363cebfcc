#include "targets/process_launch.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "targets/process_test_util.h"

namespace ebb::targets {
namespace {

using testutil::ReadFile;
using testutil::TempDir;

// Waits (bounded) for `pid` to exit and returns its wait status; kills it
// if it does not, so that no test leaves a process behind.
int WaitExit(pid_t pid) {
  int status = -1;
  bool exited = testutil::WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; });
  if (!exited) {
    kill(-pid, SIGKILL);
    waitpid(pid, &status, 0);
    ADD_FAILURE() << "pid " << pid << " did not exit";
  }
  return status;
}

TEST(ResolveProgram, FindsBareNamesInPath) {
  Result<std::string> sh = ResolveProgram("sh", "", "relative/dir::/nonexistent:/bin:/usr/bin");
  ASSERT_TRUE(sh.ok()) << sh.status().ToString();
  EXPECT_EQ(*sh, "/bin/sh");
}

TEST(ResolveProgram, TakesPathsAsGivenAndChecksThem) {
  EXPECT_EQ(ResolveProgram("/bin/sh", "", "").value_or(""), "/bin/sh");
  EXPECT_EQ(ResolveProgram("./sh", "/bin", "").value_or(""), "./sh");  // relative to workingDir
  Result<std::string> missing = ResolveProgram("./nope", "/bin", "/bin");
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(missing.status().message().find("/bin/./nope"), std::string::npos);
  // A directory is not a program.
  EXPECT_EQ(ResolveProgram("/tmp", "", "").status().code(), StatusCode::kInvalidConfig);
}

TEST(ResolveProgram, NamesTheCommandWhenNotFound) {
  Result<std::string> r = ResolveProgram("no-such-ebb-tool", "", "/bin:/usr/bin");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);
  EXPECT_EQ(r.status().message(),
            "\"no-such-ebb-tool\" was not found in PATH (/bin:/usr/bin); give its full path");
}

TEST(MergeEnvironment, ReplacesInPlaceAndAppends) {
  std::vector<std::string> env =
      MergeEnvironment({"A=1", "AB=2", "C=3"}, {{"A", "x"}, {"D", "4"}, {"D", "5"}});
  EXPECT_EQ(env, (std::vector<std::string>{"A=x", "AB=2", "C=3", "D=5"}));
}

TEST(Launch, RunsTheProgramWithItsEnvironmentDirectoryAndArguments) {
  TempDir dir;
  Result<pid_t> pid = Launch({.program = "/bin/sh",
                              .argv = {"sh", "-c", "echo \"$GREETING $1 $(pwd)\"", "sh", "world"},
                              .env = {"GREETING=hello"},
                              .working_dir = dir.path(),
                              .output_path = dir.File("out")});
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  int status = WaitExit(*pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << DescribeExit(status);
  EXPECT_EQ(ReadFile(dir.File("out")), "hello world " + dir.path() + "\n");
}

TEST(Launch, PutsTheChildInItsOwnProcessGroup) {
  Result<pid_t> pid = Launch({.program = "/bin/sleep", .argv = {"sleep", "30"}});
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  EXPECT_EQ(getpgid(*pid), *pid);
  EXPECT_NE(getpgid(*pid), getpgrp());
  EXPECT_EQ(TryReap(*pid), std::nullopt);
  EXPECT_TRUE(SignalGroup(*pid, SIGTERM));
  int status = WaitExit(*pid);
  EXPECT_EQ(DescribeExit(status), "killed by signal 15 (Terminated)");
  EXPECT_FALSE(SignalGroup(*pid, 0));  // the group is gone
}

TEST(Launch, ResetsIgnoredSignals) {
  // ebb ignores SIGPIPE; a copy must not inherit that.
  signal(SIGPIPE, SIG_IGN);
  Result<pid_t> pid = Launch({.program = "/bin/sleep", .argv = {"sleep", "30"}});
  signal(SIGPIPE, SIG_DFL);
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  kill(*pid, SIGPIPE);
  EXPECT_EQ(DescribeExit(WaitExit(*pid)), "killed by signal 13 (Broken pipe)");
}

TEST(Launch, ReportsWhyTheChildCouldNotStart) {
  TempDir dir;
  std::string script = dir.File("not-executable");
  { std::ofstream(script) << "#!/bin/sh\n"; }
  Result<pid_t> exec = Launch({.program = script, .argv = {script}});
  EXPECT_EQ(exec.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(exec.status().message().find("cannot execute " + script + ": Permission denied"),
            std::string::npos)
      << exec.status().ToString();

  Result<pid_t> cd = Launch({.program = "/bin/true", .working_dir = dir.File("missing")});
  EXPECT_EQ(cd.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(cd.status().message().find("cannot change to working directory"), std::string::npos);

  Result<pid_t> out = Launch({.program = "/bin/true", .output_path = dir.File("no/such/file")});
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(out.status().message().find("cannot open output file"), std::string::npos);
}

TEST(TryReap, SaysWhenAChildHasExited) {
  Result<pid_t> pid = Launch({.program = "/bin/sh", .argv = {"sh", "-c", "exit 3"}});
  ASSERT_TRUE(pid.ok());
  std::optional<int> status;
  EXPECT_TRUE(testutil::WaitFor([&] { return (status = TryReap(*pid)).has_value(); }));
  ASSERT_TRUE(status);
  EXPECT_EQ(DescribeExit(*status), "exited with code 3");
}

}  // namespace
}  // namespace ebb::targets
