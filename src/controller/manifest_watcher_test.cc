#include "controller/manifest_watcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace ebb::controller {
namespace {

namespace fs = std::filesystem;

class ManifestWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ebb-watch-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "sub");
    Write("a.yaml", "kind: A\n");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  // Moves a file's mtime explicitly: no waiting for the clock to tick.
  void Touch(const std::string& name, int seconds_later) {
    fs::last_write_time(dir_ / name, fs::last_write_time(dir_ / name) + std::chrono::seconds(seconds_later));
  }

  fs::path dir_;
};

TEST_F(ManifestWatcherTest, SeesModifiedAddedAndRemovedFiles) {
  ManifestWatcher w({dir_.string()});
  EXPECT_FALSE(w.CheckNow());

  Touch("a.yaml", 5);  // same size, new mtime
  EXPECT_TRUE(w.CheckNow());
  EXPECT_FALSE(w.CheckNow());

  Write("a.yaml", "kind: A\nmore: 1\n");  // new size
  EXPECT_TRUE(w.CheckNow());

  Write("sub/b.yml", "kind: B\n");
  EXPECT_TRUE(w.CheckNow());

  fs::remove(dir_ / "sub/b.yml");
  EXPECT_TRUE(w.CheckNow());
  EXPECT_FALSE(w.CheckNow());
}

TEST_F(ManifestWatcherTest, IgnoresFilesThatAreNotManifests) {
  ManifestWatcher w({dir_.string()});
  Write("notes.txt", "hello");
  Write(".a.yaml.swp", "x");
  EXPECT_FALSE(w.CheckNow());
}

TEST_F(ManifestWatcherTest, WatchesSingleFilesAndTheirDisappearance) {
  const std::string file = (dir_ / "a.yaml").string();
  ManifestWatcher w({file});
  fs::remove(file);
  EXPECT_TRUE(w.CheckNow());
  Write("a.yaml", "kind: A\n");
  EXPECT_TRUE(w.CheckNow());
}

TEST_F(ManifestWatcherTest, RunStopsWhenAsked) {
  ManifestWatcher w({dir_.string()});
  int changes = 0;
  {
    std::jthread t([&](std::stop_token st) { w.Run(st, std::chrono::hours(1), [&] { ++changes; }); });
    // Destroying the jthread requests stop: Run must return without waiting the hour.
  }
  EXPECT_EQ(changes, 0);
}

}  // namespace
}  // namespace ebb::controller
