#include "common/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ebb {
namespace {

struct Captured {
  std::vector<std::string> lines;
};

TEST(Log, TextLineWithQuotedValues) {
  Captured c;
  SimulatedClock clock(FromUnixSeconds(1700000000));
  Logger log;
  log.SetClock(&clock);
  log.SetSink([&](std::string_view l) { c.lines.emplace_back(l); });
  log.Info("scaled", {{"scaledObject", "default/web"}, {"reason", "value 5 > 2"}});
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_EQ(c.lines[0],
            "2023-11-14T22:13:20Z INFO scaled scaledObject=default/web reason=\"value 5 > 2\"");
}

TEST(Log, JsonLineIsValidJsonAndOneLine) {
  Captured c;
  SimulatedClock clock(FromUnixSeconds(1700000000));
  Logger log;
  log.SetClock(&clock);
  log.SetFormat(LogFormat::kJson);
  log.SetSink([&](std::string_view l) { c.lines.emplace_back(l); });
  log.Warn("multi\nline \"quoted\"", {{"k", "v\tw"}});
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_EQ(c.lines[0].find('\n'), std::string::npos);
  auto j = nlohmann::json::parse(c.lines[0]);
  EXPECT_EQ(j["msg"], "multi\nline \"quoted\"");
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["k"], "v\tw");
  EXPECT_EQ(j["ts"], "2023-11-14T22:13:20Z");
}

TEST(Log, LevelFilters) {
  Captured c;
  Logger log;
  log.SetSink([&](std::string_view l) { c.lines.emplace_back(l); });
  log.Debug("hidden");
  log.SetLevel(LogLevel::kDebug);
  log.Debug("shown");
  log.SetLevel(LogLevel::kError);
  log.Warn("hidden");
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_NE(c.lines[0].find("shown"), std::string::npos);
  LogLevel l;
  EXPECT_TRUE(ParseLogLevel("WARN", &l));
  EXPECT_EQ(l, LogLevel::kWarn);
  LogFormat f;
  EXPECT_FALSE(ParseLogFormat("xml", &f));
}

}  // namespace
}  // namespace ebb
