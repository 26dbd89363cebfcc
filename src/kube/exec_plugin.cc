#include "kube/exec_plugin.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/strings.h"

extern char** environ;

namespace ebb::kube {

using nlohmann::json;

namespace {

// A string member: "" when absent or null; false when present with another
// type (json::value would throw). `field` names it in errors; the value
// is never quoted (it may be the credential).
bool StringField(const json& obj, const char* field, std::string* out, Status* error) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_string()) {
    *error = InvalidConfig(std::string("exec plugin's ExecCredential field ") + field +
                           " must be a string");
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

}  // namespace

Result<ExecCredential> ParseExecCredential(const std::string& text) {
  if (text.size() > kMaxExecCredentialBytes) {
    return InvalidConfig("exec plugin output is over the limit of " +
                         std::to_string(kMaxExecCredentialBytes) + " bytes");
  }
  json j = json::parse(text, nullptr, false);
  auto kind = j.is_object() ? j.find("kind") : j.end();
  if (!j.is_object() || kind == j.end() || *kind != "ExecCredential" || !j.contains("status") ||
      !j["status"].is_object()) {
    return InvalidConfig("exec plugin output is not an ExecCredential with a status");
  }
  const json& s = j["status"];
  ExecCredential c;
  std::string token, key, exp;
  Status bad;
  if (!StringField(s, "token", &token, &bad) ||
      !StringField(s, "clientCertificateData", &c.client_cert_pem, &bad) ||
      !StringField(s, "clientKeyData", &key, &bad) ||
      !StringField(s, "expirationTimestamp", &exp, &bad)) {
    return bad;
  }
  c.token = SecretString(std::move(token));
  c.client_key_pem = SecretString(std::move(key));
  if (c.token.empty() && (c.client_cert_pem.empty() || c.client_key_pem.empty())) {
    return InvalidConfig(
        "exec plugin's ExecCredential has neither a token nor a client "
        "certificate and key");
  }
  if (!exp.empty()) {
    Time t;
    if (!ParseRfc3339(exp, &t)) {
      return InvalidConfig("exec plugin's expirationTimestamp \"" + exp + "\" is not RFC 3339");
    }
    c.expiration = t;
  }
  return c;
}

namespace {

// Closes every descriptor from `first` up (async-signal-safe).
void CloseFrom(int first) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, 0U) == 0) return;
#endif
  long max_fd = sysconf(_SC_OPEN_MAX);
  for (long fd = first; fd < (max_fd > 0 ? std::min(max_fd, 65536L) : 65536L); ++fd) {
    close(static_cast<int>(fd));
  }
}

struct Child {
  pid_t pid = -1;
  int out = -1;
  int err = -1;
};

// Builds argv and envp before fork: the child only calls async-signal-safe
// functions.
Result<Child> Spawn(const ExecConfig& config) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (const auto& [k, v] : config.env) env_strings.push_back(k + "=" + v);
  json info = {{"apiVersion", config.api_version},
               {"kind", "ExecCredential"},
               {"spec", {{"interactive", false}}}};
  env_strings.push_back("KUBERNETES_EXEC_INFO=" +
                        info.dump(-1, ' ', false, json::error_handler_t::replace));
  std::vector<char*> envp, argv;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = {config.command};
  args.insert(args.end(), config.args.begin(), config.args.end());
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out[2], err[2], status_pipe[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
      pipe2(status_pipe, O_CLOEXEC) != 0) {
    return Internal("cannot create pipes for the exec plugin");
  }
  pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {out[0], out[1], err[0], err[1], status_pipe[0], status_pipe[1]}) close(fd);
    return Internal("cannot fork the exec plugin");
  }
  if (pid == 0) {
    // Own process group, so that a timeout kills what the plugin started
    // too (a shell script's children).
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    // Nothing of ebb's but 0-2 and the status pipe reaches the plugin:
    // sockets and files opened without O_CLOEXEC by libraries included.
    if (status_pipe[1] != 3) {
      if (dup3(status_pipe[1], 3, O_CLOEXEC) < 0) _exit(127);
      status_pipe[1] = 3;
    }
    CloseFrom(4);
    execvpe(argv[0], argv.data(), envp.data());
    int e = errno;
    (void)!write(status_pipe[1], &e, sizeof e);
    _exit(127);
  }
  setpgid(pid, pid);  // also here: whichever runs first, the group exists before a kill
  close(out[1]);
  close(err[1]);
  close(status_pipe[1]);
  int exec_errno = 0;
  ssize_t n = read(status_pipe[0], &exec_errno, sizeof exec_errno);
  close(status_pipe[0]);
  if (n == sizeof exec_errno) {
    close(out[0]);
    close(err[0]);
    waitpid(pid, nullptr, 0);
    return InvalidConfig("exec plugin " + config.command +
                         " cannot be started: " + std::strerror(exec_errno) +
                         (config.install_hint.empty() ? "" : " (" + config.install_hint + ")"));
  }
  return Child{pid, out[0], err[0]};
}

enum class Drained { kClosed, kTimedOut, kTooLarge };

constexpr size_t kMaxStderrBytes = 64 * 1024;

// Reads both pipes until they close, the deadline passes or the output
// passes its limit.
Drained Drain(const Child& c, std::chrono::steady_clock::time_point deadline, std::string* out,
              std::string* err) {
  pollfd fds[2] = {{c.out, POLLIN, 0}, {c.err, POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Drained::kTimedOut;
    if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) return Drained::kTimedOut;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        // Past its limit stderr is still read (a blocked plugin never
        // exits) but dropped.
        std::string* to = i == 0 ? out : err;
        size_t room = (i == 0 ? kMaxExecCredentialBytes + 1 : kMaxStderrBytes) - to->size();
        to->append(buf, std::min(room, static_cast<size_t>(n)));
        if (i == 0 && out->size() > kMaxExecCredentialBytes) return Drained::kTooLarge;
      } else {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  return Drained::kClosed;
}

}  // namespace

Result<ExecCredential> RunExecPlugin(const ExecConfig& config, std::chrono::milliseconds timeout) {
  Result<Child> child = Spawn(config);
  if (!child.ok()) return child.status();
  std::string out, err;
  Drained drained = Drain(*child, std::chrono::steady_clock::now() + timeout, &out, &err);
  // The whole group: a plugin's own children must not outlive it either.
  if (drained != Drained::kClosed) kill(-child->pid, SIGKILL);
  int status = 0;
  waitpid(child->pid, &status, 0);
  close(child->out);
  close(child->err);
  if (drained == Drained::kTooLarge) {
    return InvalidConfig("exec plugin " + config.command + " printed more than " +
                         std::to_string(kMaxExecCredentialBytes) + " bytes (the limit)");
  }
  if (drained == Drained::kTimedOut) {
    return DeadlineExceeded("exec plugin " + config.command + " did not finish within " +
                            std::to_string(timeout.count()) + "ms");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string first_line = err.substr(0, std::min(err.find('\n'), size_t{300}));
    return InvalidConfig("exec plugin " + config.command + " failed (exit status " +
                         std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")" +
                         (first_line.empty() ? "" : ": " + first_line));
  }
  Result<ExecCredential> c = ParseExecCredential(out);
  if (!c.ok()) return c.status().WithContext("exec plugin " + config.command);
  return c;
}

}  // namespace ebb::kube
