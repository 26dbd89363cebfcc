// ChildProcess: runs a program (prometheus, promtool) as a child of the test
// process that can never outlive it, with stdout and stderr appended to a
// log file the test can print when it fails.
//
//   auto child = ChildProcess::Spawn({.program = "/usr/bin/prometheus",
//                                     .args = {"--config.file=/tmp/x/prometheus.yml"},
//                                     .output_path = "/tmp/x/prometheus.log"});
//   ...
//   child.value()->Terminate(std::chrono::seconds(5));  // SIGTERM, then SIGKILL
//
// Why the child dies with the test: ctest kills a test that times out with
// SIGKILL, which runs no destructor. The child asks the kernel for SIGKILL
// when its parent dies (prctl PR_SET_PDEATHSIG), so CI never leaves orphans.
// The kernel sends it when the *thread* that spawned the child exits: spawn
// from a thread that lives as long as the child (gtest's main thread does).
//
// All descriptors other than 0-2 are closed in the child, so it never holds a
// test's listening socket open.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace ebb::testing {

struct ChildProcessOptions {
  // Absolute path of the program (no PATH lookup).
  std::string program;
  // argv[1..]; argv[0] is `program`.
  std::vector<std::string> args;
  // stdout and stderr are appended to this file (created 0600 if missing).
  // REQUIRES: not empty.
  std::string output_path;
};

// One child process, owned: the destructor terminates it (SIGTERM, then
// SIGKILL after 5 s) and reaps it. Thread-compatible: not safe for concurrent
// use; distinct instances are independent.
class ChildProcess {
 public:
  // Forks and execs; returns once the child runs the program (or failed to).
  // kInvalidConfig if the program cannot be executed or the output file
  // cannot be opened; kInternal if fork fails.
  static Result<std::unique_ptr<ChildProcess>> Spawn(const ChildProcessOptions& options);

  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // True once the child has exited (reaps it; never blocks).
  bool HasExited();

  // Blocks until the child exits or `timeout` passes. Returns the raw wait
  // status (see DescribeWaitStatus); kDeadlineExceeded on timeout (the child
  // keeps running).
  Result<int> Wait(Duration timeout);

  // SIGTERM, waits up to `grace`, then SIGKILL and reaps. Idempotent.
  void Terminate(Duration grace);

  // The raw wait status once exited.
  std::optional<int> wait_status() const { return wait_status_; }

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}

  pid_t pid_;
  std::optional<int> wait_status_;  // set once reaped
};

// "exited with code 1", "killed by signal 9".
std::string DescribeWaitStatus(int wait_status);

// Runs a program to completion, bounded by `timeout` (then killed). Returns
// its exit code; kDeadlineExceeded on timeout, kInternal when killed by a
// signal, and Spawn's errors.
Result<int> RunToCompletion(const ChildProcessOptions& options, Duration timeout);

// The last `max_bytes` of a file (whole lines where possible); "" if missing.
std::string ReadFileTail(const std::string& path, size_t max_bytes);

}  // namespace ebb::testing
