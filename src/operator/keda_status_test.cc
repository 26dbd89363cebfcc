// KEDA's status shape: every field as KEDA writes it, the inverse, and the
// merge patch between two statuses.
#include "operator/keda_status.h"

#include <gtest/gtest.h>

namespace ebb::op {
namespace {

using controller::ObjectStatus;
using controller::TriggerHealth;
using nlohmann::json;
using scaling::Condition;
using scaling::ConditionStatus;

ObjectStatus FullStatus() {
  ObjectStatus s;
  s.conditions = {
      {"Ready", ConditionStatus::kTrue, "ScaledObjectReady", "ScaledObject is defined correctly and is ready for scaling"},
      {"Active", ConditionStatus::kFalse, "ScalerNotActive", "Scaling is not performed because triggers are not active"},
      {"Fallback", ConditionStatus::kFalse, "NoFallbackFound", "No fallbacks are active on this scaled object"},
      {"Paused", ConditionStatus::kUnknown, "", ""}};
  s.last_active_time = FromUnixSeconds(1'700'000'000.75);  // fraction dropped
  s.original_replica_count = 2;
  s.health = {{"s0-prometheus", TriggerHealth{0, "Happy"}}, {"s1-prometheus", TriggerHealth{3, "Failing"}}};
  s.external_metric_names = {"s0-prometheus", "s1-prometheus"};
  s.scale_target_kind = "apps/v1.Deployment";
  return s;
}

TEST(KedaStatusJson, EveryFieldInKedasShape) {
  json expected = json::parse(R"({
    "conditions": [
      {"type": "Ready", "status": "True", "reason": "ScaledObjectReady",
       "message": "ScaledObject is defined correctly and is ready for scaling"},
      {"type": "Active", "status": "False", "reason": "ScalerNotActive",
       "message": "Scaling is not performed because triggers are not active"},
      {"type": "Fallback", "status": "False", "reason": "NoFallbackFound",
       "message": "No fallbacks are active on this scaled object"},
      {"type": "Paused", "status": "Unknown"}],
    "lastActiveTime": "2023-11-14T22:13:20Z",
    "originalReplicaCount": 2,
    "health": {"s0-prometheus": {"numberOfFailures": 0, "status": "Happy"},
               "s1-prometheus": {"numberOfFailures": 3, "status": "Failing"}},
    "externalMetricNames": ["s0-prometheus", "s1-prometheus"],
    "scaleTargetKind": "apps/v1.Deployment",
    "scaleTargetGVKR": {"group": "apps", "version": "v1", "kind": "Deployment", "resource": "deployments"}
  })");
  EXPECT_EQ(KedaStatusJson(FullStatus()), expected) << KedaStatusJson(FullStatus()).dump(2);
}

TEST(KedaStatusJson, ConditionOrderIsKept) {
  ObjectStatus s;
  s.conditions = {{"Paused", ConditionStatus::kTrue, "ScaledObjectPaused", "paused"},
                  {"Ready", ConditionStatus::kTrue, "Ready", "ok"}};
  json j = KedaStatusJson(s);
  ASSERT_EQ(j["conditions"].size(), 2u);
  EXPECT_EQ(j["conditions"][0]["type"], "Paused");
  EXPECT_EQ(j["conditions"][1]["type"], "Ready");
}

TEST(KedaStatusJson, OmitsWhatKedaOmits) {
  EXPECT_EQ(KedaStatusJson(ObjectStatus{}), json::object());
  ObjectStatus s = FullStatus();
  s.last_active_time.reset();
  s.original_replica_count.reset();
  s.health.clear();
  json j = KedaStatusJson(s);
  EXPECT_FALSE(j.contains("lastActiveTime"));
  EXPECT_FALSE(j.contains("originalReplicaCount"));
  EXPECT_FALSE(j.contains("health"));
  EXPECT_TRUE(j.contains("conditions"));
}

TEST(KedaStatusJson, ZeroOriginalReplicaCountIsWritten) {
  ObjectStatus s;
  s.original_replica_count = 0;
  EXPECT_EQ(KedaStatusJson(s)["originalReplicaCount"], 0);
}

TEST(KedaStatusJson, ResourceFromDiscoveryWinsOverTheGuess) {
  ObjectStatus s;
  s.scale_target_kind = "example.com/v1.Fish";
  EXPECT_EQ(KedaStatusJson(s)["scaleTargetGVKR"]["resource"], "fishes");
  EXPECT_EQ(KedaStatusJson(s, "fish")["scaleTargetGVKR"]["resource"], "fish");
}

TEST(ParseScaleTargetKind, GroupsWithDotsCoreGroupAndBadInput) {
  EXPECT_EQ(ParseScaleTargetKind("argoproj.io/v1alpha1.Rollout"),
            (ScaleTargetGvkr{"argoproj.io", "v1alpha1", "Rollout", "rollouts"}));
  EXPECT_EQ(ParseScaleTargetKind("apps/v1.StatefulSet"),
            (ScaleTargetGvkr{"apps", "v1", "StatefulSet", "statefulsets"}));
  EXPECT_EQ(ParseScaleTargetKind("v1.ReplicationController"),
            (ScaleTargetGvkr{"", "v1", "ReplicationController", "replicationcontrollers"}));
  EXPECT_FALSE(ParseScaleTargetKind("Deployment"));
  EXPECT_FALSE(ParseScaleTargetKind("apps/v1."));
  EXPECT_FALSE(ParseScaleTargetKind(""));
}

TEST(FromKedaStatusJson, RoundTrips) {
  ObjectStatus s = FullStatus();
  s.last_active_time = FromUnixSeconds(1'700'000'000);  // the JSON holds whole seconds
  Result<ObjectStatus> back = FromKedaStatusJson(KedaStatusJson(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, s);
}

TEST(FromKedaStatusJson, ReadsKedasOwnStatusAndIgnoresUnknownFields) {
  json keda = json::parse(R"({
    "conditions": [{"type": "Ready", "status": "True"}],
    "hpaName": "keda-hpa-web", "pausedReplicaCount": 3,
    "lastActiveTime": "2023-11-14T22:13:20Z", "originalReplicaCount": 1})");
  Result<ObjectStatus> s = FromKedaStatusJson(keda);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->conditions.size(), 1u);
  EXPECT_EQ(s->conditions[0].status, ConditionStatus::kTrue);
  EXPECT_EQ(s->last_active_time, FromUnixSeconds(1'700'000'000));
  EXPECT_EQ(s->original_replica_count, 1);
}

TEST(FromKedaStatusJson, WrongTypesAreInvalidConfigNotExceptions) {
  EXPECT_EQ(FromKedaStatusJson(json::array()).status().code(), StatusCode::kInvalidConfig);
  EXPECT_EQ(FromKedaStatusJson({{"originalReplicaCount", "two"}}).status().code(),
            StatusCode::kInvalidConfig);
  EXPECT_EQ(FromKedaStatusJson({{"lastActiveTime", "yesterday"}}).status().code(),
            StatusCode::kInvalidConfig);
  EXPECT_EQ(FromKedaStatusJson({{"health", {{"m", {{"numberOfFailures", "x"}}}}}}).status().code(),
            StatusCode::kInvalidConfig);
}

TEST(StatusMergePatch, RemovedKeysBecomeNullAtAnyDepth) {
  json before = {{"lastActiveTime", "t"},
                 {"health", {{"s0-prometheus", {{"numberOfFailures", 0}}}, {"s1-x", {{"numberOfFailures", 1}}}}},
                 {"externalMetricNames", {"s0-prometheus", "s1-x"}}};
  json after = {{"health", {{"s0-prometheus", {{"numberOfFailures", 2}}}}},
                {"externalMetricNames", {"s0-prometheus"}}};
  json expected = {{"lastActiveTime", nullptr},
                   {"health", {{"s0-prometheus", {{"numberOfFailures", 2}}}, {"s1-x", nullptr}}},
                   {"externalMetricNames", {"s0-prometheus"}}};
  EXPECT_EQ(StatusMergePatch(before, after), expected);
}

TEST(StatusMergePatch, UnknownBeforeSendsAfterWhole) {
  json after = {{"a", 1}};
  EXPECT_EQ(StatusMergePatch(nullptr, after), after);
  EXPECT_EQ(StatusMergePatch(after, after), after);
}

}  // namespace
}  // namespace ebb::op
