#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "doctor/checks.h"
#include "doctor/test_util.h"

namespace ebb::doctor {
namespace {

using ::testing::HasSubstr;

class ThresholdChecksTest : public ::testing::Test {
 protected:
  CheckResult Check(std::optional<double> value, const std::string& threshold,
                    const std::string& extra = "") {
    set_ = testutil::Manifests(
        testutil::ScaledObjectYaml("http://prom:9090", "up", threshold, "", extra));
    t_ = TriggerUnderTest{};
    t_.so = &set_.scaled_objects.at(0);
    t_.set = &set_;
    EXPECT_EQ(CheckTrigger(t_).status, CheckResult::kPass);
    t_.value = value;
    CheckResult r = CheckThreshold(t_);
    testutil::ExpectNoSecrets(r.detail + r.fix);
    return r;
  }
  api::ManifestSet set_;
  TriggerUnderTest t_;
};

TEST_F(ThresholdChecksTest, ActiveWithReplicas) {
  CheckResult r = Check(42, "10", "      activationThreshold: \"2\"\n");
  EXPECT_EQ(r.status, CheckResult::kPass);
  EXPECT_THAT(r.detail, HasSubstr("value 42 > activationThreshold 2: active"));
  EXPECT_THAT(r.detail,
              HasSubstr("ceil(value / threshold 10) = 5 -> 5 replicas now (min 0, max 10)"));
}

TEST_F(ThresholdChecksTest, NotActive) {
  CheckResult r = Check(1, "10", "      activationThreshold: \"2\"\n");
  EXPECT_THAT(r.detail, HasSubstr("not active"));
  EXPECT_THAT(r.detail, HasSubstr("-> 0 replicas"));
}

TEST_F(ThresholdChecksTest, ActivationAtOrAboveThresholdWarns) {
  CheckResult r = Check(std::nullopt, "10", "      activationThreshold: \"10\"\n");
  EXPECT_EQ(r.status, CheckResult::kWarn);
  EXPECT_THAT(r.detail, HasSubstr("activationThreshold 10 >= threshold 10"));
}

TEST_F(ThresholdChecksTest, FarAboveSitsAtMax) {
  CheckResult r = Check(1e6, "10");
  EXPECT_EQ(r.status, CheckResult::kWarn);
  EXPECT_THAT(r.detail, HasSubstr("replicas would sit at the maximum"));
  EXPECT_THAT(r.detail, HasSubstr("-> 10 replicas"));
}

TEST_F(ThresholdChecksTest, FarBelowSitsAtMin) {
  CheckResult r = Check(0.001, "10");
  EXPECT_EQ(r.status, CheckResult::kWarn);
  EXPECT_THAT(r.detail, HasSubstr("replicas would sit at the minimum"));
}

TEST_F(ThresholdChecksTest, NoValueOffline) {
  CheckResult r = Check(std::nullopt, "10");
  EXPECT_EQ(r.status, CheckResult::kPass);
  EXPECT_THAT(r.detail, HasSubstr("give --value"));
}

}  // namespace
}  // namespace ebb::doctor
