#include "controller/manifest_watcher.h"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <utility>

#include "common/strings.h"

namespace ebb::controller {
namespace {

namespace fs = std::filesystem;

bool IsManifestName(const fs::path& p) {
  const std::string ext = ToLower(p.extension().string());
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

}  // namespace

ManifestWatcher::ManifestWatcher(std::vector<std::string> paths) : paths_(std::move(paths)), last_(Look()) {}

ManifestWatcher::Stamps ManifestWatcher::Look() const {
  Stamps stamps;
  // Errors (a file removed while listing, no permission) just leave the
  // file out: the next look sees the settled state, and the reload reports
  // unreadable files precisely.
  auto stamp = [&stamps](const fs::path& p) {
    std::error_code ec;
    const auto size = fs::file_size(p, ec);
    if (ec) return;
    const auto mtime = fs::last_write_time(p, ec);
    if (ec) return;
    stamps[p.string()] = FileStamp{mtime.time_since_epoch().count(), size};
  };
  for (const std::string& path : paths_) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
      if (fs::exists(path, ec)) stamp(path);
      continue;
    }
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_regular_file(ec) && IsManifestName(it->path())) stamp(it->path());
    }
  }
  return stamps;
}

bool ManifestWatcher::CheckNow() {
  Stamps now = Look();
  if (now == last_) return false;
  last_ = std::move(now);
  return true;
}

void ManifestWatcher::Run(std::stop_token stop, Duration interval, const std::function<void()>& on_change) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  while (!stop.stop_requested()) {
    // Returns early when a stop is requested; the predicate never ends the wait.
    cv.wait_for(lock, stop, interval, [] { return false; });
    if (stop.stop_requested()) return;
    if (CheckNow()) on_change();
  }
}

}  // namespace ebb::controller
