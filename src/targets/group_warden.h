// GroupWarden: makes sure the process groups ebb starts (ProcessPool
// copies and whatever they start) die with ebb, even when ebb itself is
// killed with SIGKILL and cannot clean up.
//
//   WatchGroup(pid);    // after launching a copy in its own group
//   ...
//   ForgetGroup(pid);   // once the group has been killed and reaped
//
// PR_SET_PDEATHSIG covers a copy's leader only: it is not inherited across
// fork, so a shell's children (`sh -c 'worker & wait'`) would be left
// running. The warden is a small process forked on first use that only
// reads a socket: each watched group id arrives as a message, and when the
// socket reaches end-of-file -- ebb exited or was killed, the kernel closes
// its end -- the warden sends SIGKILL to every group still watched and
// exits. Between fork and its exit it makes only async-signal-safe calls.
//
// Limits: a process that leaves its group (setsid, setpgid) escapes, as it
// would escape any group signal; at most kMaxWatchedGroups groups at once
// (more are not watched, and a warning is logged once).
//
// Thread-safe: any thread may call these; messages are atomic
// (SOCK_SEQPACKET).
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace ebb::targets {

inline constexpr size_t kMaxWatchedGroups = 4096;

// Starts the warden if needed and adds `pgid`. Without a warden (fork
// failed), logs a warning once and does nothing.
void WatchGroup(pid_t pgid);

// Removes `pgid` (no-op when not watched).
void ForgetGroup(pid_t pgid);

// The warden's pid (0 when none runs): for tests.
pid_t GroupWardenPid();

}  // namespace ebb::targets
