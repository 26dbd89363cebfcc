// Helpers shared by the benchmarks in bench/: a fixed-answer Prometheus-like
// HTTP server in a child process, and a process's memory figures.
//
//   int port = 0;
//   pid_t server = StartFixedServer(&port, -1);   // before any thread starts
//   ... point triggers at http://127.0.0.1:<port> ...
//   long requests = FixedServerCount(port);
//   long rss_kib = ProcStatusKiB("VmRSS:");
//   kill(server, SIGKILL); waitpid(server, nullptr, 0);
//
// Benchmarks only: nothing here is used by ebb or by a test.
#pragma once

#include <sys/types.h>

namespace ebb::bench {

// Forks a minimal HTTP server on 127.0.0.1 (a free port) that answers every
// GET /api/v1/query with the same one-element vector (value 42) and counts
// them; GET /count returns that count. It runs in a child process so that
// its CPU is not the measured process's. Fork before the caller starts any
// thread. Returns the child's pid (-1 if the pipe cannot be made); *port
// receives its port. `counter_fd` is unused (kept for callers).
pid_t StartFixedServer(int* port, int counter_fd);

// The fixed server's count of /api/v1/query requests so far; -1 when it
// does not answer.
long FixedServerCount(int port);

// A "Field:" line of /proc/<pid>/status (VmRSS:, VmHWM:), in KiB; pid 0 is
// this process. 0 when the field or the process is missing.
long ProcStatusKiB(const char* field, pid_t pid = 0);

}  // namespace ebb::bench
