#include "controller/spec_fingerprint.h"

#include <gtest/gtest.h>

#include "controller/testing/controller_harness.h"

namespace ebb::controller {
namespace {

using testing::MakeObject;

TEST(SpecFingerprintTest, EqualForARereadObject) {
  auto a = MakeObject("web", "q", 10);
  auto b = MakeObject("web", "q", 10);
  b.source.file = "elsewhere.yaml";  // where it came from does not matter
  EXPECT_EQ(SpecFingerprint(a), SpecFingerprint(b));
}

TEST(SpecFingerprintTest, DiffersForEveryEditTheControllerActsOn) {
  const auto base = MakeObject("web", "q", 10);
  const std::string fp = SpecFingerprint(base);
  auto threshold = base;
  threshold.spec.triggers[0].metadata["threshold"] = "11";
  auto annotation = base;
  annotation.metadata.annotations[api::kAnnotationPaused] = "true";
  auto interval = base;
  interval.spec.polling_interval = 5;
  auto fallback = base;
  fallback.spec.fallback = api::Fallback{.failure_threshold = 3, .replicas = 2};
  auto behavior = base;
  api::ScalingRules up;
  up.stabilization_window_seconds = 0;
  api::HorizontalPodAutoscalerConfig hpa;
  hpa.behavior = api::Behavior{up, std::nullopt};
  behavior.spec.advanced.horizontal_pod_autoscaler_config = hpa;
  auto auth = base;
  auth.spec.triggers[0].authentication_ref = api::AuthenticationRef{"ta", "TriggerAuthentication"};
  auto target = base;
  target.spec.scale_target_ref.name = "other";
  for (const auto* edited : {&threshold, &annotation, &interval, &fallback, &behavior, &auth, &target}) {
    EXPECT_NE(SpecFingerprint(*edited), fp);
  }
}

TEST(SpecFingerprintTest, ValuesCannotRunTogether) {
  auto a = MakeObject("web", "q", 10);
  auto b = a;
  a.metadata.annotations["k"] = "ab";
  a.metadata.annotations["x"] = "";
  b.metadata.annotations["k"] = "a";
  b.metadata.annotations["x"] = "b";
  EXPECT_NE(SpecFingerprint(a), SpecFingerprint(b));
}

}  // namespace
}  // namespace ebb::controller
