#include "controller/object_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/testing/controller_harness.h"

namespace ebb::controller {
namespace {

using ::testing::HasSubstr;

TEST(ObjectStatusTest, BuiltFromTheDecisionAndEngineState) {
  auto so = testing::MakeObject("web", "q", 10);
  so.spec.triggers.push_back(so.spec.triggers[0]);
  scaling::Decision d;
  d.conditions = {{"Ready", scaling::ConditionStatus::kTrue, "ScaledObjectReady", "ok"}};
  scaling::EngineState state;
  state.consecutive_failures = {0, 2};
  state.last_active_time = FromUnixSeconds(1'700'000'000);
  state.original_replica_count = 3;
  const ObjectStatus s = BuildStatus(so, d, state);
  EXPECT_EQ(s.conditions, d.conditions);
  EXPECT_EQ(s.last_active_time, state.last_active_time);
  EXPECT_EQ(s.original_replica_count, 3);
  EXPECT_EQ(s.health.at("s0-prometheus"), (TriggerHealth{0, "Happy"}));
  EXPECT_EQ(s.health.at("s1-prometheus"), (TriggerHealth{2, "Failing"}));
  EXPECT_EQ(s.scale_target_kind, "apps/v1.Deployment");
  EXPECT_EQ(s.external_metric_names, (std::vector<std::string>{"s0-prometheus", "s1-prometheus"}));
}

TEST(ObjectStatusTest, NotReadyReplacesOnlyReady) {
  ObjectStatus s;
  s.conditions = {{"Ready", scaling::ConditionStatus::kTrue, "ScaledObjectReady", "ok"},
                  {"Active", scaling::ConditionStatus::kTrue, "ScalerActive", "busy"}};
  const ObjectStatus n = NotReadyStatus(s, "ScaleTargetError", "gone");
  ASSERT_EQ(n.conditions.size(), 2u);
  EXPECT_EQ(n.conditions[0].status, scaling::ConditionStatus::kFalse);
  EXPECT_EQ(n.conditions[0].reason, "ScaleTargetError");
  EXPECT_EQ(n.conditions[1], s.conditions[1]);
  EXPECT_EQ(NotReadyStatus(ObjectStatus{}, "R", "m").conditions.size(), 1u);
}

TEST(ObjectStatusTest, LoggingSinkWritesOneLinePerChange) {
  std::vector<std::string> lines;
  Logger logger;
  logger.SetFormat(LogFormat::kJson);
  logger.SetSink([&](std::string_view l) { lines.emplace_back(l); });
  LoggingStatusSink sink(logger);
  ObjectStatus s = NotReadyStatus(ObjectStatus{}, "TriggerError", "connection refused");
  sink.Publish(ObjectRef{"shop", "web"}, s);
  sink.RecordEvent(ObjectRef{"shop", "web"}, "Warning", "TriggerError", "connection refused");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr(R"("scaledObject":"shop/web")"));
  EXPECT_THAT(lines[0], HasSubstr(R"("Ready":"False/TriggerError")"));
  EXPECT_THAT(lines[0], HasSubstr("connection refused"));
  EXPECT_THAT(lines[1], HasSubstr(R"("level":"warn")"));
}

}  // namespace
}  // namespace ebb::controller
