// Process launching for ProcessPool: fork + exec of one copy of a command
// in its own process group, with a death signal tied to the launching
// thread, a given environment, working directory and output file, and
// the group-wide signals used to stop it.
//
//   Result<std::string> program = ResolveProgram("python3", "/srv/app", getenv("PATH"));
//   Result<pid_t> pid = Launch({.program = *program, .argv = {"python3", "w.py"},
//                               .env = {"A=1"}, .working_dir = "/srv/app"});
//   SignalGroup(*pid, SIGTERM);   // the copy and everything it started
//
// Thread-safe (no shared state), but see Launch about which thread calls it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace ebb::targets {

struct LaunchRequest {
  // Path of the program: absolute, or relative to working_dir.
  std::string program{};
  // argv[0..]; argv[0] is conventionally the command as written.
  std::vector<std::string> argv{};
  // The whole environment, "NAME=value" each.
  std::vector<std::string> env{};
  // "" keeps ebb's working directory.
  std::string working_dir{};
  // "" inherits ebb's stdout and stderr; otherwise both are appended to
  // this file (created 0600 if missing; "/dev/null" to discard).
  std::string output_path{};
};

// Starts one copy and returns its pid, which is also its process group id.
// Returns only once the child runs the program (or failed to), so a
// successful return means exec succeeded. stdin is /dev/null; descriptors
// other than 0-2 are closed; signal dispositions and mask are reset.
//
// The child gets SIGKILL when the *thread* that launched it exits
// (PR_SET_PDEATHSIG), so that copies never outlive ebb: call it from a
// thread that lives as long as the copies. Its process group is also
// given to the group warden (group_warden.h), so what the copy starts dies
// with ebb too; call ForgetGroup(pid) once the group is gone.
//
// kInvalidConfig when the working directory, output file or program
// cannot be used (the message names which and why); kUnavailable when
// fork fails (process limit; retry later).
Result<pid_t> Launch(const LaunchRequest& request);

// Finds the program a command names, as execvp would: a command with a '/'
// is taken as is (relative to working_dir) and must be executable; a bare
// name is searched in `search_path` (a PATH value; relative entries are
// skipped, since the copy runs in another directory). kInvalidConfig naming
// the command when nothing executable is found.
Result<std::string> ResolveProgram(const std::string& command, const std::string& working_dir,
                                   const std::string& search_path);

// `base` ("NAME=value" entries, e.g. from environ) with `overrides` applied
// in order: a name already present is replaced in place, a new one appended.
std::vector<std::string> MergeEnvironment(
    const std::vector<std::string>& base,
    const std::vector<std::pair<std::string, std::string>>& overrides);

// The process's current environment as "NAME=value" entries.
std::vector<std::string> CurrentEnvironment();

// Sends `signal` to every process in group `pgid`. False when the group
// has no process left (ESRCH).
bool SignalGroup(pid_t pgid, int signal);

// Reaps `pid` without blocking. The raw wait status once it has exited;
// nullopt while it runs. A pid already reaped elsewhere (ECHILD, e.g.
// SIGCHLD set to SIG_IGN) counts as exited with status 0.
std::optional<int> TryReap(pid_t pid);

// True while group `pgid` holds a process that is not a zombie. Orphans
// re-parented to an init that never reaps them (some containers) stay
// zombies, and kill(-pgid, 0) still finds those: this reads /proc instead.
bool GroupHasLiveProcesses(pid_t pgid);

// Reaps, without blocking, every child of this process in group `pgid`
// (the leftovers of a copy whose leader exited). They are ebb's children
// only if ebb is a child subreaper (PR_SET_CHILD_SUBREAPER); otherwise
// they belong to init and this does nothing.
void ReapGroup(pid_t pgid);

// "exited with code 1", "killed by signal 9 (Killed)".
std::string DescribeExit(int wait_status);

}  // namespace ebb::targets
