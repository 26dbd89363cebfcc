#include "doctor/check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "doctor/format.h"

namespace ebb::doctor {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Report Sample() {
  Report r;
  r.Add({"manifest.parse", "Manifests parse and validate", CheckResult::kPass, "1 ScaledObject", "",
         ""});
  r.Add({"manifest.trigger", "Trigger type and metadata", CheckResult::kWarn, "odd", "look",
         "ScaledObject default/web, trigger 0 (prometheus)"});
  r.Add({"query.status", "Query answer", CheckResult::kFail, "HTTP 403", "grant the role",
         "ScaledObject default/web, trigger 0 (prometheus)"});
  r.Add({"query.shape", "Result shape", CheckResult::kSkip, "skipped: query.status failed", "",
         "ScaledObject default/web, trigger 0 (prometheus)"});
  return r;
}

TEST(ReportTest, TextHasOneLinePerCheckWithCauseAndFixUnderFailures) {
  std::ostringstream out;
  Sample().RenderText(out, {.color = false});
  std::string text = out.str();
  EXPECT_THAT(
      text,
      HasSubstr(
          "\xE2\x9C\x93 pass  manifest.parse: Manifests parse and validate -- 1 ScaledObject\n"));
  EXPECT_THAT(text, HasSubstr("ScaledObject default/web, trigger 0 (prometheus)\n"));
  EXPECT_THAT(text, HasSubstr("\xE2\x9C\x97 fail  query.status: Query answer\n"));
  EXPECT_THAT(text, HasSubstr("cause: HTTP 403\n"));
  EXPECT_THAT(text, HasSubstr("fix:   grant the role\n"));
  EXPECT_THAT(text,
              HasSubstr("- skip  query.shape: Result shape -- skipped: query.status failed\n"));
  EXPECT_THAT(text, HasSubstr("summary: 1 pass, 1 warn, 1 fail, 1 skip"));
  EXPECT_THAT(text, Not(HasSubstr("\x1b[")));
}

TEST(ReportTest, ColorOnlyWhenAsked) {
  std::ostringstream out;
  Sample().RenderText(out, {.color = true});
  EXPECT_THAT(out.str(), HasSubstr("\x1b[31m"));
}

TEST(ReportTest, JsonHasChecksAndSummary) {
  std::ostringstream out;
  Report r = Sample();
  r.RenderJson(out);
  nlohmann::json j = nlohmann::json::parse(out.str());
  ASSERT_EQ(j["checks"].size(), 4u);
  EXPECT_EQ(j["checks"][2]["id"], "query.status");
  EXPECT_EQ(j["checks"][2]["status"], "fail");
  EXPECT_EQ(j["checks"][2]["fix"], "grant the role");
  EXPECT_EQ(j["summary"]["pass"], 1);
  EXPECT_EQ(j["summary"]["warn"], 1);
  EXPECT_EQ(j["summary"]["fail"], 1);
  EXPECT_EQ(j["summary"]["skip"], 1);
  EXPECT_TRUE(r.HasFailure());
}

TEST(SetCauseAndFixTest, SplitsAtFix) {
  CheckResult r;
  SetCauseAndFix(r, "no credential matches. Fix: add one.", "fallback");
  EXPECT_EQ(r.detail, "no credential matches.");
  EXPECT_EQ(r.fix, "add one.");
  SetCauseAndFix(r, "plain message", "fallback");
  EXPECT_EQ(r.detail, "plain message");
  EXPECT_EQ(r.fix, "fallback");
}

TEST(FormatDurationShortTest, Readable) {
  EXPECT_EQ(FormatDurationShort(std::chrono::seconds(45)), "45s");
  EXPECT_EQ(FormatDurationShort(std::chrono::seconds(3599)), "59m");
  EXPECT_EQ(FormatDurationShort(std::chrono::seconds(3720)), "1h2m");
  EXPECT_EQ(FormatDurationShort(-std::chrono::seconds(90)), "1m30s");
}

}  // namespace
}  // namespace ebb::doctor
