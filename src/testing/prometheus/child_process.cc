#include "testing/prometheus/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

namespace ebb::testing {
namespace {

constexpr Duration kDestructorGrace = std::chrono::seconds(5);

// Everything the child needs, prepared before fork: after fork only
// async-signal-safe calls are allowed (the test process may have threads).
struct ExecPlan {
  std::vector<std::string> storage;
  std::vector<char*> argv;
  int output_fd = -1;
  int null_fd = -1;
  int exec_pipe[2] = {-1, -1};  // both O_CLOEXEC: EOF on [0] means exec succeeded
  int max_fd = 1024;
  pid_t parent = 0;
};

int MaxFd() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 65536;
  return static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 65536));
}

void CloseFrom(int first, int max_fd) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, first, ~0U, 0) == 0) return;
#endif
  for (int fd = first; fd < max_fd; ++fd) close(fd);
}

void WriteRaw(int fd, const char* text) {
  ssize_t ignored = write(fd, text, strlen(text));
  (void)ignored;
}

// Exit code 126: the child could not be set up (the parent died first, or a
// descriptor could not be moved); 127: exec failed (also reported by pipe).
[[noreturn]] void ExecChild(const ExecPlan& plan) {
  // Die with the parent; if it died before prctl took effect, we were
  // already re-parented and nobody would stop us.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != plan.parent) _exit(126);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) signal(sig, SIG_DFL);
  if (dup2(plan.null_fd, 0) < 0 || dup2(plan.output_fd, 1) < 0 || dup2(plan.output_fd, 2) < 0) {
    _exit(126);
  }
  // Keep only the exec pipe, as fd 3 (still close-on-exec).
  int report = plan.exec_pipe[1];
  if (report != 3 && dup3(report, 3, O_CLOEXEC) < 0) _exit(126);
  CloseFrom(4, plan.max_fd);
  execv(plan.argv[0], plan.argv.data());
  int exec_errno = errno;
  ssize_t ignored = write(3, &exec_errno, sizeof exec_errno);
  (void)ignored;
  WriteRaw(2, "ebb ChildProcess: execv failed: ");
  WriteRaw(2, strerror(errno));  // not async-signal-safe in theory; we exit right after
  WriteRaw(2, "\n");
  _exit(127);
}

Result<ExecPlan> PrepareExec(const ChildProcessOptions& options) {
  if (access(options.program.c_str(), X_OK) != 0) {
    return InvalidConfig(options.program + " is not an executable file: " + strerror(errno));
  }
  ExecPlan plan;
  plan.storage.push_back(options.program);
  plan.storage.insert(plan.storage.end(), options.args.begin(), options.args.end());
  for (std::string& s : plan.storage) plan.argv.push_back(s.data());
  plan.argv.push_back(nullptr);
  plan.output_fd =
      open(options.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (plan.output_fd < 0) {
    return InvalidConfig("cannot open " + options.output_path + ": " + strerror(errno));
  }
  plan.null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (plan.null_fd < 0 || pipe2(plan.exec_pipe, O_CLOEXEC) != 0) {
    int saved_errno = errno;
    close(plan.output_fd);
    if (plan.null_fd >= 0) close(plan.null_fd);
    return Internal(std::string("cannot prepare the child's descriptors: ") +
                    strerror(saved_errno));
  }
  plan.max_fd = MaxFd();
  plan.parent = getpid();
  return plan;
}

}  // namespace

Result<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(const ChildProcessOptions& options) {
  Result<ExecPlan> plan = PrepareExec(options);
  if (!plan.ok()) return plan.status();
  pid_t pid = fork();
  if (pid == 0) ExecChild(*plan);
  int fork_errno = errno;
  close(plan->output_fd);
  close(plan->null_fd);
  close(plan->exec_pipe[1]);
  if (pid < 0) {
    close(plan->exec_pipe[0]);
    return Internal(std::string("fork failed: ") + strerror(fork_errno));
  }
  std::unique_ptr<ChildProcess> child(new ChildProcess(pid));
  // Returning only once the child runs the new program means nobody ever
  // sees the forked copy, with the test's descriptors, as "the child".
  int exec_errno = 0;
  ssize_t n;
  while ((n = read(plan->exec_pipe[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
  }
  close(plan->exec_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    child->Terminate(Duration::zero());
    return InvalidConfig("cannot execute " + options.program + ": " + strerror(exec_errno));
  }
  return child;
}

ChildProcess::~ChildProcess() { Terminate(kDestructorGrace); }

bool ChildProcess::HasExited() {
  if (wait_status_) return true;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    wait_status_ = status;
  } else if (r < 0 && errno == ECHILD) {
    wait_status_ = 0;  // reaped elsewhere (a SIGCHLD handler); treat as gone
  }
  return wait_status_.has_value();
}

Result<int> ChildProcess::Wait(Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (!HasExited()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return DeadlineExceeded("pid " + std::to_string(pid_) + " still running");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  return *wait_status_;
}

void ChildProcess::Terminate(Duration grace) {
  if (HasExited()) return;
  kill(pid_, SIGTERM);
  if (Wait(grace).ok()) return;
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  wait_status_ = status;
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return "exited with code " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return "killed by signal " + std::to_string(WTERMSIG(wait_status));
  return "wait status " + std::to_string(wait_status);
}

Result<int> RunToCompletion(const ChildProcessOptions& options, Duration timeout) {
  Result<std::unique_ptr<ChildProcess>> child = ChildProcess::Spawn(options);
  if (!child.ok()) return child.status();
  Result<int> status = (*child)->Wait(timeout);
  if (!status.ok()) {
    (*child)->Terminate(Duration::zero());
    return DeadlineExceeded(options.program + " did not finish in time");
  }
  if (!WIFEXITED(*status)) return Internal(options.program + " " + DescribeWaitStatus(*status));
  return WEXITSTATUS(*status);
}

std::string ReadFileTail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  std::streamoff size = in.tellg();
  std::streamoff start = size > static_cast<std::streamoff>(max_bytes) ? size - max_bytes : 0;
  in.seekg(start);
  std::string text(static_cast<size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (start > 0) {
    size_t newline = text.find('\n');
    if (newline != std::string::npos) text.erase(0, newline + 1);
  }
  return text;
}

}  // namespace ebb::testing
