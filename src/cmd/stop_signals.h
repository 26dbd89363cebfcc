// The long-running commands (`ebb run`, `ebb operator`) stop on SIGINT and
// SIGTERM: the main thread waits for them with sigwait while every other
// thread has them blocked.
#pragma once

#include <signal.h>

namespace ebb::cmd {

// Blocks SIGINT and SIGTERM in the calling thread and every thread it
// starts afterwards (call it before starting any); returns the set to pass
// to sigwait.
inline sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

}  // namespace ebb::cmd
