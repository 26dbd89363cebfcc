#include "targets/process_launch.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/strings.h"
#include "targets/group_warden.h"

extern char** environ;

namespace ebb::targets {
namespace {

// What the child reports through the exec pipe when it cannot run the
// program. EOF on the pipe (it is close-on-exec) means exec succeeded.
enum class Stage : int { kSetup = 1, kWorkingDir, kExec };

struct ChildReport {
  Stage stage;
  int error;
};

// Everything the child needs, built before fork: between fork and exec only
// async-signal-safe calls are allowed, since ebb has other threads.
struct Plan {
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
  const char* program = nullptr;
  const char* working_dir = nullptr;  // nullptr: stay
  int stdin_fd = -1;
  int output_fd = -1;  // -1: inherit 1 and 2
  int report[2] = {-1, -1};
  int max_fd = 1024;  // for closing descriptors where close_range is missing
  pid_t parent = 0;
};

int MaxFd() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 65536;
  return static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 65536));
}

void CloseFrom(int first, int max_fd) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, 0U) == 0) return;
#endif
  for (int fd = first; fd < max_fd; ++fd) close(fd);
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void CloseIfOpen(int fd) {
  if (fd >= 0) close(fd);
}

void ClosePlan(Plan& plan) {
  CloseIfOpen(plan.stdin_fd);
  CloseIfOpen(plan.output_fd);
  CloseIfOpen(plan.report[0]);
  CloseIfOpen(plan.report[1]);
}

[[noreturn]] void Fail(int report_fd, Stage stage) {
  ChildReport r{stage, errno};
  ssize_t ignored = write(report_fd, &r, sizeof r);
  (void)ignored;
  _exit(127);
}

void ResetSignals() {
  // Ignored dispositions survive exec (ebb ignores SIGPIPE); handlers do not.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

[[noreturn]] void RunChild(const Plan& plan) {
  int report = plan.report[1];
  // Own group: stopping a copy signals everything it started (a shell's
  // children too) without touching ebb's group.
  if (setpgid(0, 0) != 0) Fail(report, Stage::kSetup);
  // Die with the launching thread; if ebb died before prctl took effect,
  // nobody would ever stop this copy.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != plan.parent)
    Fail(report, Stage::kSetup);
  ResetSignals();
  if (dup2(plan.stdin_fd, 0) < 0) Fail(report, Stage::kSetup);
  if (plan.output_fd >= 0 && (dup2(plan.output_fd, 1) < 0 || dup2(plan.output_fd, 2) < 0)) {
    Fail(report, Stage::kSetup);
  }
  if (report != 3) {
    if (dup3(report, 3, O_CLOEXEC) < 0) Fail(report, Stage::kSetup);
    report = 3;
  }
  CloseFrom(4, plan.max_fd);
  if (plan.working_dir && chdir(plan.working_dir) != 0) Fail(report, Stage::kWorkingDir);
  execve(plan.program, plan.argv.data(), plan.envp.data());
  Fail(report, Stage::kExec);
}

Status OpenDescriptors(const LaunchRequest& request, Plan* plan) {
  plan->stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (plan->stdin_fd < 0) return Internal(std::string("cannot open /dev/null: ") + strerror(errno));
  if (!request.output_path.empty()) {
    plan->output_fd =
        open(request.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (plan->output_fd < 0) {
      return InvalidConfig("cannot open output file " + request.output_path + ": " +
                           strerror(errno));
    }
  }
  if (pipe2(plan->report, O_CLOEXEC) != 0) {
    return Internal(std::string("cannot create a pipe: ") + strerror(errno));
  }
  return Status::Ok();
}

Result<Plan> Prepare(const LaunchRequest& request) {
  Plan plan;
  plan.argv_storage = request.argv;
  if (plan.argv_storage.empty()) plan.argv_storage.push_back(request.program);
  plan.env_storage = request.env;
  plan.argv = Pointers(plan.argv_storage);
  plan.envp = Pointers(plan.env_storage);
  plan.program = request.program.c_str();
  if (!request.working_dir.empty()) plan.working_dir = request.working_dir.c_str();
  plan.parent = getpid();
  plan.max_fd = MaxFd();
  Status s = OpenDescriptors(request, &plan);
  if (!s.ok()) {
    ClosePlan(plan);
    return s;
  }
  return plan;
}

Status DescribeReport(const LaunchRequest& request, const ChildReport& r) {
  std::string why = strerror(r.error);
  switch (r.stage) {
    case Stage::kWorkingDir:
      return InvalidConfig("cannot change to working directory " + request.working_dir + ": " +
                           why);
    case Stage::kExec:
      return InvalidConfig("cannot execute " + request.program + ": " + why);
    case Stage::kSetup:
      break;
  }
  return Internal("cannot set up the child process: " + why);
}

// Blocks until exec succeeded (EOF) or the child reported why it failed.
Status AwaitExec(const LaunchRequest& request, pid_t pid, int report_fd) {
  ChildReport r{};
  ssize_t n;
  while ((n = read(report_fd, &r, sizeof r)) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof r)) return Status::Ok();
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return DescribeReport(request, r);
}

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

struct ProcStat {
  char state = '?';
  pid_t pgrp = 0;
};

// State and process group from /proc/<pid>/stat: "pid (comm) S ppid pgrp ...";
// comm may hold spaces and parentheses, so parse from the last ')'.
std::optional<ProcStat> ReadProcStat(const char* pid) {
  std::string path = std::string("/proc/") + pid + "/stat";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  const char* paren = strrchr(buf, ')');
  ProcStat st;
  int ppid = 0, pgrp = 0;
  if (!paren || sscanf(paren + 1, " %c %d %d", &st.state, &ppid, &pgrp) != 3) return std::nullopt;
  st.pgrp = pgrp;
  return st;
}

}  // namespace

Result<pid_t> Launch(const LaunchRequest& request) {
  Result<Plan> plan = Prepare(request);
  if (!plan.ok()) return plan.status();
  pid_t pid = fork();
  if (pid == 0) RunChild(*plan);
  int fork_errno = errno;
  close(plan->report[1]);
  plan->report[1] = -1;
  if (pid < 0) {
    ClosePlan(*plan);
    return Unavailable(std::string("fork failed: ") + strerror(fork_errno));
  }
  // Also set from the parent, so the group exists whichever runs first.
  setpgid(pid, pid);
  Status exec_status = AwaitExec(request, pid, plan->report[0]);
  ClosePlan(*plan);
  if (!exec_status.ok()) return exec_status;
  WatchGroup(pid);  // the group dies with ebb, even on SIGKILL
  return pid;
}

Result<std::string> ResolveProgram(const std::string& command, const std::string& working_dir,
                                   const std::string& search_path) {
  if (command.empty()) return InvalidConfig("the command is empty");
  if (command.find('/') != std::string::npos) {
    std::string path =
        command[0] == '/' || working_dir.empty() ? command : working_dir + "/" + command;
    if (IsExecutableFile(path)) return command;
    return InvalidConfig("\"" + command + "\" is not an executable file" +
                         (path == command ? "" : " (looked for " + path + ")"));
  }
  for (const std::string& dir : Split(search_path, ':')) {
    if (dir.empty() || dir[0] != '/') continue;
    std::string path = dir + "/" + command;
    if (IsExecutableFile(path)) return path;
  }
  return InvalidConfig("\"" + command + "\" was not found in PATH (" + search_path +
                       "); give its full path");
}

std::vector<std::string> MergeEnvironment(
    const std::vector<std::string>& base,
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> env = base;
  for (const auto& [name, value] : overrides) {
    std::string prefix = name + "=";
    std::string entry = prefix + value;
    bool replaced = false;
    for (std::string& e : env) {
      if (StartsWith(e, prefix)) {
        e = entry;
        replaced = true;
      }
    }
    if (!replaced) env.push_back(std::move(entry));
  }
  return env;
}

std::vector<std::string> CurrentEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  return env;
}

bool SignalGroup(pid_t pgid, int signal) {
  if (pgid <= 1) return false;  // never kill(-1) or kill(0): that would reach others
  return kill(-pgid, signal) == 0 || errno != ESRCH;
}

std::optional<int> TryReap(pid_t pid) {
  int status = 0;
  pid_t r;
  while ((r = waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR) {
  }
  if (r == pid) return status;
  if (r < 0 && errno == ECHILD) return 0;
  return std::nullopt;
}

bool GroupHasLiveProcesses(pid_t pgid) {
  if (!SignalGroup(pgid, 0)) return false;
  DIR* proc = opendir("/proc");
  if (!proc) return true;  // cannot tell: assume the worst
  bool live = false;
  while (dirent* e = readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::optional<ProcStat> st = ReadProcStat(e->d_name);
    if (st && st->pgrp == pgid && st->state != 'Z' && st->state != 'X') {
      live = true;
      break;
    }
  }
  closedir(proc);
  return live;
}

void ReapGroup(pid_t pgid) {
  if (pgid <= 1) return;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(-pgid, &status, WNOHANG);
    if (r > 0 || (r < 0 && errno == EINTR)) continue;
    return;
  }
}

std::string DescribeExit(int wait_status) {
  if (WIFEXITED(wait_status)) return "exited with code " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    const char* name = strsignal(sig);
    return "killed by signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : "");
  }
  return "wait status " + std::to_string(wait_status);
}

}  // namespace ebb::targets
