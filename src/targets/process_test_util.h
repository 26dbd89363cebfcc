// Helpers shared by the targets tests that run real child processes: a
// temporary directory, bounded waiting, liveness checks that treat a zombie
// as gone, and a Logger whose lines the test can read.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/strings.h"

namespace ebb::targets::testutil {

// A fresh directory under /tmp, removed with its content on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/ebb-targets-XXXXXX";
    path_ = mkdtemp(pattern.data()) ? pattern : "";
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Polls `condition` every 10 ms until it holds or `timeout` passes.
inline bool WaitFor(const std::function<bool()>& condition,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Whole content of a file, "" when missing.
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The integer a worker wrote to `path` (its pid), 0 when not (yet) there.
inline pid_t ReadPid(const std::string& path) {
  std::optional<int64_t> v = ParseInt(Trim(ReadFile(path)));
  return v ? static_cast<pid_t>(*v) : 0;
}

// True while `pid` runs. A zombie counts as gone: orphans re-parented to an
// init that does not reap them (some containers) stay zombies forever.
inline bool IsAlive(pid_t pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

// A Logger whose lines are kept for the test to read. Thread-safe.
class CapturedLog {
 public:
  CapturedLog() {
    logger_.SetLevel(LogLevel::kDebug);
    logger_.SetSink([this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
    });
  }
  Logger& logger() { return logger_; }
  std::vector<std::string> Lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  // Lines holding every one of `parts`.
  std::vector<std::string> Matching(const std::vector<std::string>& parts) const {
    std::vector<std::string> out;
    for (const std::string& line : Lines()) {
      bool all = true;
      for (const std::string& p : parts) all = all && line.find(p) != std::string::npos;
      if (all) out.push_back(line);
    }
    return out;
  }
  std::string All() const {
    std::string s;
    for (const std::string& line : Lines()) s += line + "\n";
    return s;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
  Logger logger_;
};

}  // namespace ebb::targets::testutil
