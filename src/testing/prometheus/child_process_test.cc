#include "testing/prometheus/child_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace ebb::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A scratch directory per test, removed afterwards.
class HarnessChildProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string path = (std::filesystem::temp_directory_path() / "ebb-child-XXXXXX").string();
    ASSERT_NE(mkdtemp(path.data()), nullptr);
    dir_ = path;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ChildProcessOptions Shell(const std::string& script) {
    return {.program = "/bin/sh", .args = {"-c", script}, .output_path = dir_ + "/out.log"};
  }

  std::string dir_;
};

// True when `pid` is gone or a zombie nobody has reaped yet (in a container
// without an init process, orphans may stay zombies).
bool IsDead(pid_t pid) {
  if (kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  stat >> pid_field >> comm >> state;
  return !stat || state == "Z";
}

bool BecomesDead(pid_t pid, std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < deadline) {
    if (IsDead(pid)) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return IsDead(pid);
}

TEST_F(HarnessChildProcessTest, RunsToCompletionWithOutputInTheLog) {
  Result<int> code = RunToCompletion(Shell("echo hello; echo oops >&2; exit 3"), seconds(10));
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, 3);
  EXPECT_EQ(ReadFileTail(dir_ + "/out.log", 100), "hello\noops\n");
}

TEST_F(HarnessChildProcessTest, RunToCompletionIsBounded) {
  auto start = std::chrono::steady_clock::now();
  Result<int> code = RunToCompletion(Shell("exec sleep 30"), milliseconds(100));
  EXPECT_EQ(code.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
}

TEST_F(HarnessChildProcessTest, MissingProgramIsInvalidConfig) {
  Result<std::unique_ptr<ChildProcess>> child = ChildProcess::Spawn(
      {.program = "/nonexistent/prog", .args = {}, .output_path = dir_ + "/out.log"});
  EXPECT_EQ(child.status().code(), StatusCode::kInvalidConfig);
}

TEST_F(HarnessChildProcessTest, ExecFailureIsInvalidConfig) {
  std::string program = dir_ + "/not-a-program";
  std::ofstream(program) << "\x7f"
                         << "garbage";
  std::filesystem::permissions(program, std::filesystem::perms::owner_all);
  Result<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Spawn({.program = program, .args = {}, .output_path = dir_ + "/out.log"});
  EXPECT_EQ(child.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(child.status().message().find("Exec format error"), std::string::npos)
      << child.status().ToString();
}

TEST_F(HarnessChildProcessTest, TerminateSendsSigtermAndReaps) {
  auto child = ChildProcess::Spawn(Shell("exec sleep 30"));
  ASSERT_TRUE(child.ok());
  pid_t pid = (*child)->pid();
  (*child)->Terminate(seconds(5));
  ASSERT_TRUE((*child)->wait_status().has_value());
  EXPECT_EQ(DescribeWaitStatus(*(*child)->wait_status()), "killed by signal 15");
  EXPECT_NE(kill(pid, 0), 0);
}

TEST_F(HarnessChildProcessTest, TerminateEscalatesToSigkill) {
  // Ignored signals stay ignored across exec: sleep ignores SIGTERM.
  auto child = ChildProcess::Spawn(Shell("trap '' TERM; exec sleep 30"));
  ASSERT_TRUE(child.ok());
  std::this_thread::sleep_for(milliseconds(100));  // let the trap be set
  (*child)->Terminate(milliseconds(200));
  EXPECT_EQ(DescribeWaitStatus(*(*child)->wait_status()), "killed by signal 9");
}

TEST_F(HarnessChildProcessTest, DoesNotInheritOtherDescriptors) {
  int fd = open("/dev/null", O_RDONLY);  // no O_CLOEXEC: would leak without CloseFrom
  ASSERT_GE(fd, 0);
  ASSERT_EQ(dup2(fd, 100), 100);
  Result<int> code = RunToCompletion(Shell("test -e /proc/$$/fd/100"), seconds(10));
  close(100);
  close(fd);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 1) << "fd 100 leaked into the child";
}

TEST_F(HarnessChildProcessTest, ChildDiesWithItsParent) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t parent = fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    // The "test process": spawns a child, reports its pid, dies without
    // running any destructor (as when ctest SIGKILLs a test).
    auto child = ChildProcess::Spawn(Shell("exec sleep 30"));
    pid_t pid = child.ok() ? (*child)->pid() : 0;
    ssize_t written = write(fds[1], &pid, sizeof pid);
    _exit(written == sizeof pid ? 0 : 1);
  }
  close(fds[1]);
  pid_t grandchild = 0;
  ASSERT_EQ(read(fds[0], &grandchild, sizeof grandchild), static_cast<ssize_t>(sizeof grandchild));
  close(fds[0]);
  int status = 0;
  waitpid(parent, &status, 0);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(BecomesDead(grandchild, seconds(5)));
  if (!IsDead(grandchild)) kill(grandchild, SIGKILL);
}

TEST(HarnessReadFileTail, KeepsWholeLines) {
  std::string path = (std::filesystem::temp_directory_path() / "ebb-tail-XXXXXX").string();
  int fd = mkstemp(path.data());
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "first line\nsecond\nthird\n";
  EXPECT_EQ(ReadFileTail(path, 10), "third\n");
  EXPECT_EQ(ReadFileTail(path, 1000), "first line\nsecond\nthird\n");
  std::filesystem::remove(path);
  EXPECT_EQ(ReadFileTail(path, 10), "");
}

}  // namespace
}  // namespace ebb::testing
