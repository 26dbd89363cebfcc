#include "targets/group_warden.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <string>

#include "common/log.h"

namespace ebb::targets {
namespace {

struct Message {
  int32_t op;  // '+' watch, '-' forget
  int32_t pgid;
};

// The warden's table: static storage, so the forked child needs no malloc.
pid_t g_groups[kMaxWatchedGroups];
size_t g_group_count = 0;

void CloseFrom(int first) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, 0U) == 0) return;
#endif
  for (int fd = first; fd < 65536; ++fd) close(fd);
}

void Apply(const Message& m) {
  if (m.op == '+' && g_group_count < kMaxWatchedGroups) {
    g_groups[g_group_count++] = m.pgid;
  } else if (m.op == '-') {
    for (size_t i = 0; i < g_group_count; ++i) {
      if (g_groups[i] == m.pgid) {
        g_groups[i] = g_groups[--g_group_count];
        break;
      }
    }
  }
}

// The warden: async-signal-safe calls only (ebb has other threads).
[[noreturn]] void RunWarden(int sock) {
  // Its own group, deaf to the signals a terminal or ebb's group receive:
  // it must outlive ebb long enough to clean up.
  setpgid(0, 0);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) signal(sig, SIG_IGN);
  int devnull = open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) dup2(devnull, fd);
  if (sock != 3 && dup2(sock, 3) < 0) _exit(1);
  CloseFrom(4);
  Message m{};
  for (;;) {
    ssize_t n = recv(3, &m, sizeof m, 0);
    if (n == static_cast<ssize_t>(sizeof m)) {
      Apply(m);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // end-of-file: ebb is gone
    }
  }
  for (size_t i = 0; i < g_group_count; ++i) kill(-g_groups[i], SIGKILL);
  _exit(0);
}

class Warden {
 public:
  static Warden& Instance() {
    static Warden* w = new Warden();  // never destroyed: the socket must stay open until exit
    return *w;
  }

  void Send(char op, pid_t pgid) {
    int sock = Socket();
    if (sock < 0) return;
    if (op == '+' && ++watched_ > static_cast<int64_t>(kMaxWatchedGroups)) {
      WarnOnce("more process groups than the warden watches (" +
               std::to_string(kMaxWatchedGroups) + "); later ones may outlive a killed ebb");
    }
    if (op == '-') --watched_;
    Message m{op, pgid};
    while (send(sock, &m, sizeof m, MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
  }

  pid_t pid() {
    std::lock_guard<std::mutex> lock(mu_);
    return owner_ == getpid() ? pid_ : 0;
  }

 private:
  // The socket to this process's warden, started on first use. A forked
  // copy of a process (a test's stand-in for ebb) gets a warden of its
  // own: the inherited socket leads to its parent's, which the child's
  // death would not close.
  int Socket() {
    std::lock_guard<std::mutex> lock(mu_);
    if (owner_ != getpid()) {
      if (sock_ >= 0) close(sock_);
      sock_ = -1;
      pid_ = 0;
      owner_ = getpid();
      Start();
    }
    return sock_;
  }

  void Start() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
      WarnOnce("cannot create the process group warden's socket");
      return;
    }
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      RunWarden(fds[1]);
    }
    close(fds[1]);
    if (pid < 0) {
      close(fds[0]);
      WarnOnce("cannot start the process group warden");
      return;
    }
    sock_ = fds[0];
    pid_ = pid;
  }

  void WarnOnce(const std::string& what) {
    if (warned_.exchange(true)) return;
    Logger::Default().Warn(what + "; copies' children may outlive ebb if it is killed");
  }

  std::mutex mu_;
  pid_t owner_ = 0;  // the process sock_ belongs to
  int sock_ = -1;
  pid_t pid_ = 0;
  std::atomic<int64_t> watched_{0};
  std::atomic<bool> warned_{false};
};

}  // namespace

void WatchGroup(pid_t pgid) { Warden::Instance().Send('+', pgid); }

void ForgetGroup(pid_t pgid) { Warden::Instance().Send('-', pgid); }

pid_t GroupWardenPid() { return Warden::Instance().pid(); }

}  // namespace ebb::targets
