#include "scaling/replay.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ebb::scaling {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

TEST(ParseSeriesCsvTest, ReadsHeaderRowsAndFailedCells) {
  Result<Series> s = ParseSeriesCsv("time,queue,1\r\n0,1.5,2\n# a comment\n\n15, ,3\n30.5,4e1,\n", "s.csv");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_THAT(s->columns, ElementsAre("queue", "1"));
  EXPECT_THAT(s->times, ElementsAre(0, 15, 30.5));
  ASSERT_EQ(s->values.size(), 3u);
  EXPECT_THAT(s->values[0], ElementsAre(Optional(1.5), Optional(2.0)));
  EXPECT_THAT(s->values[1], ElementsAre(std::nullopt, Optional(3.0)));
  EXPECT_THAT(s->values[2], ElementsAre(Optional(40.0), std::nullopt));
}

struct CsvErrorCase {
  const char* text;
  const char* message;
};

class ParseSeriesCsvErrorTest : public ::testing::TestWithParam<CsvErrorCase> {};

TEST_P(ParseSeriesCsvErrorTest, NamesLineAndColumn) {
  Result<Series> s = ParseSeriesCsv(GetParam().text, "series.csv");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidConfig);
  EXPECT_EQ(s.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseSeriesCsvErrorTest,
    ::testing::Values(
        CsvErrorCase{"time,a\n0,1\n15,2\n30,abc\n", "series.csv:4:2: \"abc\" is not a number"},
        CsvErrorCase{"time,a,b\n0,1,2\n15,2,x\n", "series.csv:3:3: \"x\" is not a number"},
        CsvErrorCase{"time,a\n0,1\n0,2\n", "series.csv:3:1: time 0 is not after 0"},
        CsvErrorCase{"time,a\n10,1\n5,2\n", "series.csv:3:1: time 5 is not after 10"},
        CsvErrorCase{"time,a\nnow,1\n", "series.csv:2:1: time \"now\" is not a number"},
        CsvErrorCase{"time,a,b\n0,1\n", "series.csv:2: expected 3 cells, got 2"},
        CsvErrorCase{"t,a\n0,1\n", "series.csv:1:1: the header must start with \"time\""},
        CsvErrorCase{"time\n0\n", "series.csv:1: the header names no trigger column"},
        CsvErrorCase{"time,a,,b\n", "series.csv:1:3: empty column name"},
        CsvErrorCase{"\n# nothing\n", "series.csv: empty series (expected a header `time,<trigger>,...`)"}));

api::ScaledObject TwoTriggers() {
  api::ScaledObject so;
  so.spec.min_replica_count = 0;
  so.spec.max_replica_count = 10;
  api::Trigger t;
  t.type = "prometheus";
  t.name = "queue";
  so.spec.triggers.push_back(t);
  t.name = "";
  so.spec.triggers.push_back(t);
  return so;
}

ReplayOptions TwoTargets() {
  ReplayOptions o;
  o.targets = {{10, 0, api::MetricType::kAverageValue}, {10, 0, api::MetricType::kAverageValue}};
  o.file_name = "s.csv";
  return o;
}

TEST(ReplayTest, MapsColumnsByNameOrIndex) {
  Result<Series> s = ParseSeriesCsv("time,1,queue\n0,0,25\n", "s.csv");
  ASSERT_TRUE(s.ok());
  Result<ReplayResult> r = Replay(TwoTriggers(), *s, TwoTargets());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows[0].replicas, 1);  // queue active: activation
}

TEST(ReplayTest, ColumnMatchingNoTriggerIsAnError) {
  Result<Series> s = ParseSeriesCsv("time,queue,1,lag\n0,1,2,3\n", "s.csv");
  ASSERT_TRUE(s.ok());
  Result<ReplayResult> r = Replay(TwoTriggers(), *s, TwoTargets());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "s.csv:1:4: column \"lag\" matches no trigger");
}

TEST(ReplayTest, TriggerWithoutColumnIsAnError) {
  Result<Series> s = ParseSeriesCsv("time,queue\n0,1\n", "s.csv");
  ASSERT_TRUE(s.ok());
  Result<ReplayResult> r = Replay(TwoTriggers(), *s, TwoTargets());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "s.csv: no column for trigger 1");
}

TEST(ReplayTest, TargetsMustMatchTriggers) {
  Result<Series> s = ParseSeriesCsv("time,queue,1\n0,1,1\n", "s.csv");
  ASSERT_TRUE(s.ok());
  ReplayOptions o = TwoTargets();
  o.targets.pop_back();
  EXPECT_FALSE(Replay(TwoTriggers(), *s, o).ok());
}

TEST(ReplayTest, InvalidScaledObjectIsRejected) {
  Result<Series> s = ParseSeriesCsv("time,queue,1\n0,1,1\n", "s.csv");
  ASSERT_TRUE(s.ok());
  api::ScaledObject so = TwoTriggers();
  so.spec.min_replica_count = 20;
  Result<ReplayResult> r = Replay(so, *s, TwoTargets());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("spec.minReplicaCount"));
}

// Activation, HPA scale-up under the 2x limit, cooldown with downscale
// stabilization, deactivation, and a failed query at zero.
constexpr char kTimeline[] =
    "time,work\n"
    "0,0\n"
    "30,25\n"
    "60,25\n"
    "90,80\n"
    "120,80\n"
    "150,0\n"
    "210,0\n"
    "240,\n";

api::ScaledObject OneTrigger() {
  api::ScaledObject so;
  so.spec.min_replica_count = 0;
  so.spec.max_replica_count = 10;
  so.spec.cooldown_period = 60;
  api::Trigger t;
  t.type = "prometheus";
  t.name = "work";
  so.spec.triggers.push_back(t);
  return so;
}

ReplayOptions OneTarget() {
  ReplayOptions o;
  o.targets = {{10, 0, api::MetricType::kAverageValue}};
  return o;
}

TEST(ReplayTest, ProducesTheKnownTimeline) {
  Result<Series> s = ParseSeriesCsv(kTimeline, "s.csv");
  ASSERT_TRUE(s.ok());
  Result<ReplayResult> r = Replay(OneTrigger(), *s, OneTarget());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<int32_t> replicas;
  std::vector<std::string> reasons;
  for (const auto& row : r->rows) {
    replicas.push_back(row.replicas);
    reasons.push_back(row.reason);
  }
  EXPECT_THAT(replicas, ElementsAre(0, 1, 3, 6, 8, 8, 0, 0));
  EXPECT_THAT(reasons, ElementsAre("hold", "activate", "scale-up", "scale-up", "scale-up", "hold", "deactivate",
                                   "hold"));
  EXPECT_EQ(r->rows[2].desired, 3);
  EXPECT_EQ(r->summary.scale_changes, 5);
  EXPECT_EQ(r->summary.max_replicas, 8);
  EXPECT_DOUBLE_EQ(r->summary.replica_seconds, 1 * 30 + 3 * 30 + 6 * 30 + 8 * 30 + 8 * 60);
}

TEST(ReplayTest, InitialReplicasAreTheChangeBaseline) {
  Result<Series> s = ParseSeriesCsv("time,work\n0,0\n10,0\n", "s.csv");
  ASSERT_TRUE(s.ok());
  ReplayOptions o = OneTarget();
  o.initial_replicas = 4;
  Result<ReplayResult> r = Replay(OneTrigger(), *s, o);
  ASSERT_TRUE(r.ok());
  // At the creation instant KEDA does not scale in yet (creation must be
  // strictly before now), but the HPA brings 4 down to its floor of 1.
  EXPECT_EQ(r->rows[0].replicas, 1);
  EXPECT_EQ(r->rows[0].reason, "scale-down");
  // Never active, no initial cooldown: deactivated on the next poll.
  EXPECT_EQ(r->rows[1].replicas, 0);
  EXPECT_EQ(r->rows[1].reason, "deactivate");
  EXPECT_EQ(r->summary.scale_changes, 2);
  EXPECT_DOUBLE_EQ(r->summary.replica_seconds, 10);
}

TEST(ReplayTest, SameSeriesReplaysIdentically) {
  Result<Series> s = ParseSeriesCsv(kTimeline, "s.csv");
  ASSERT_TRUE(s.ok());
  Result<ReplayResult> a = Replay(OneTrigger(), *s, OneTarget());
  Result<ReplayResult> b = Replay(OneTrigger(), *s, OneTarget());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(ReplayToCsv(*a), ReplayToCsv(*b));
  EXPECT_EQ(ReplayToJson(*a), ReplayToJson(*b));
}

TEST(ReplayTest, CsvOutput) {
  Result<Series> s = ParseSeriesCsv(kTimeline, "s.csv");
  ASSERT_TRUE(s.ok());
  Result<ReplayResult> r = Replay(OneTrigger(), *s, OneTarget());
  ASSERT_TRUE(r.ok());
  std::string csv = ReplayToCsv(*r);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "time,replicas,active,reason,desired,message");
  EXPECT_THAT(csv, HasSubstr("\n0,0,false,hold,,triggers not active\n"));
  EXPECT_THAT(csv, HasSubstr("\n30,1,true,activate,,triggers active: from 0 to 1\n"));
  // Messages with commas are quoted.
  EXPECT_THAT(csv, HasSubstr("\n60,3,true,scale-up,3,\"metrics ask for 3, from 1 to 3\"\n"));
}

TEST(ReplayTest, JsonOutput) {
  Result<Series> s = ParseSeriesCsv("time,work\n0,0\n30,25\n", "s.csv");
  ASSERT_TRUE(s.ok());
  Result<ReplayResult> r = Replay(OneTrigger(), *s, OneTarget());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ReplayToJson(*r),
            "{\"rows\":[{\"time\":0,\"replicas\":0,\"active\":false,\"reason\":\"hold\",\"desired\":null,"
            "\"message\":\"triggers not active\"},{\"time\":30,\"replicas\":1,\"active\":true,\"reason\":"
            "\"activate\",\"desired\":null,\"message\":\"triggers active: from 0 to 1\"}],"
            "\"summary\":{\"scaleChanges\":1,\"maxReplicas\":1,\"replicaSeconds\":0}}");
}

}  // namespace
}  // namespace ebb::scaling
