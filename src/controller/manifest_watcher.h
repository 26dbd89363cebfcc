// ManifestWatcher: notices when the manifest files `ebb run` reads change
// (a file modified, added or removed, in the given files and directories),
// so the caller reloads them (cmd::LoadAndValidate) and calls
// Controller::Update. Polls the file system (stat: size and mtime, and the
// set of files), which works on every file system and editor (atomic
// renames included) without inotify.
//
//   ManifestWatcher watcher({"deploy/"});
//   std::jthread t([&](std::stop_token st) {
//     watcher.Run(st, std::chrono::seconds(2), [&] { Reload(); });
//   });
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stop_token>
#include <string>
#include <vector>

#include "common/clock.h"

namespace ebb::controller {

// Not thread-safe: CheckNow and Run are for one thread.
class ManifestWatcher {
 public:
  // Takes the first snapshot of `paths` now, so that only later changes count.
  explicit ManifestWatcher(std::vector<std::string> paths);

  // Looks at the files now. True when anything changed since the previous
  // look: a file's size or modification time, a file added or removed
  // (directories are read recursively, as api::LoadDocuments reads them:
  // *.yaml, *.yml, *.json), a given path appearing or disappearing.
  bool CheckNow();

  // Calls CheckNow every `interval` (real time) until `stop`, and
  // `on_change` after each look that saw a change.
  void Run(std::stop_token stop, Duration interval, const std::function<void()>& on_change);

 private:
  struct FileStamp {
    int64_t mtime_ns = 0;
    uintmax_t size = 0;
    friend bool operator==(const FileStamp&, const FileStamp&) = default;
  };
  using Stamps = std::map<std::string, FileStamp>;
  Stamps Look() const;

  std::vector<std::string> paths_;
  Stamps last_;
};

}  // namespace ebb::controller
