// The group warden: what a ProcessPool copy starts dies with ebb, even when
// ebb is killed with SIGKILL (the issue: grandchildren outlived `kill -9`).
#include "targets/group_warden.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "targets/process_launch.h"
#include "targets/process_test_util.h"

namespace ebb::targets {
namespace {

using testutil::IsAlive;
using testutil::ReadPid;
using testutil::TempDir;
using testutil::WaitFor;

// Forks a stand-in for ebb that launches a copy whose shell starts a
// grandchild in the background, then waits to be killed. Returns its pid.
pid_t StartFakeEbb(const TempDir& dir) {
  pid_t pid = fork();
  if (pid == 0) {
    Result<pid_t> copy = Launch(
        {.program = "/bin/sh",
         .argv = {"sh", "-c", "sleep 600 & echo $! > " + dir.File("grandchild") + "; wait"}});
    if (!copy.ok()) _exit(1);
    for (;;) pause();
  }
  return pid;
}

TEST(GroupWarden, GrandchildrenDieWhenTheLauncherIsKilledWithSigkill) {
  TempDir dir;
  pid_t ebb = StartFakeEbb(dir);
  ASSERT_GT(ebb, 0);
  ASSERT_TRUE(WaitFor([&] { return ReadPid(dir.File("grandchild")) > 0; }));
  pid_t grandchild = ReadPid(dir.File("grandchild"));
  ASSERT_TRUE(IsAlive(grandchild));

  kill(ebb, SIGKILL);
  waitpid(ebb, nullptr, 0);
  bool died = WaitFor([&] { return !IsAlive(grandchild); }, std::chrono::seconds(10));
  if (!died) kill(grandchild, SIGKILL);
  EXPECT_TRUE(died) << "grandchild " << grandchild << " outlived kill -9 of its ebb";
}

// A `sleep 600` in a group of its own, without a parent-death signal:
// only the warden can stop it when its parent is killed.
pid_t SleepInOwnGroup() {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    execl("/bin/sleep", "sleep", "600", static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);
  return pid;
}

TEST(GroupWarden, KillsWatchedGroupsAndLeavesForgottenOnes) {
  TempDir dir;
  pid_t ebb = fork();
  if (ebb == 0) {
    pid_t watched = SleepInOwnGroup();
    pid_t forgotten = SleepInOwnGroup();
    WatchGroup(watched);
    WatchGroup(forgotten);
    ForgetGroup(forgotten);  // as the pool does once a group is reaped
    FILE* f = fopen(dir.File("pids").c_str(), "w");
    fprintf(f, "%d %d\n", watched, forgotten);
    fclose(f);
    for (;;) pause();
  }
  pid_t watched = 0, forgotten = 0;
  ASSERT_TRUE(WaitFor([&] {
    return sscanf(testutil::ReadFile(dir.File("pids")).c_str(), "%d %d", &watched, &forgotten) == 2;
  }));
  kill(ebb, SIGKILL);
  waitpid(ebb, nullptr, 0);
  bool died = WaitFor([&] { return !IsAlive(watched); }, std::chrono::seconds(10));
  if (!died) kill(watched, SIGKILL);
  EXPECT_TRUE(died);
  // The warden has acted on end-of-file once `watched` is gone; messages
  // arrive in order, so the forget was applied before.
  EXPECT_TRUE(IsAlive(forgotten));
  kill(forgotten, SIGKILL);
}

}  // namespace
}  // namespace ebb::targets
