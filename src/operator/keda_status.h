// KEDA's ScaledObject `.status` as JSON: what the controller reports
// (controller::ObjectStatus) in the exact shape KEDA writes
// (facts/keda-compat.md "Status"), so dashboards, kubectl columns and
// tools built for KEDA read ebb's status unchanged; the inverse, to seed
// state from a status already on the server; and the merge patch that
// turns one written status into the next.
//
//   json status = KedaStatusJson(object_status, "deployments");
//   // {"conditions":[{"type":"Ready","status":"True","reason":..,"message":..},..],
//   //  "lastActiveTime":"2023-11-14T22:13:20Z","originalReplicaCount":2,
//   //  "health":{"s0-prometheus":{"numberOfFailures":0,"status":"Happy"}},
//   //  "externalMetricNames":["s0-prometheus"],"scaleTargetKind":"apps/v1.Deployment",
//   //  "scaleTargetGVKR":{"group":"apps","version":"v1","kind":"Deployment","resource":"deployments"}}
//   json patch = {{"status", StatusMergePatch(last_written, status)}};
//
// Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/status.h"
#include "controller/object_status.h"

namespace ebb::op {

// status.scaleTargetGVKR.
struct ScaleTargetGvkr {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string kind;      // "Deployment"
  std::string resource;  // "deployments"
  friend bool operator==(const ScaleTargetGvkr&, const ScaleTargetGvkr&) = default;
};

// Splits a scaleTargetKind ("apps/v1.Deployment", "argoproj.io/v1alpha1.Rollout",
// "v1.ReplicationController") into its parts. `resource` is the plural the
// API serves (from discovery); empty: guessed from the kind as kubectl does
// without discovery (kube::GuessResource). nullopt when the kind is not of
// the form "<apiVersion>.<Kind>".
std::optional<ScaleTargetGvkr> ParseScaleTargetKind(const std::string& scale_target_kind,
                                                    const std::string& resource = "");

// The ScaledObject `.status` in KEDA's shape. Fields KEDA omits when empty
// (omitempty) are omitted here too: lastActiveTime and originalReplicaCount
// when unknown, an empty health map, empty metric names, a condition's empty
// reason or message. Conditions keep the controller's order. `resource`: as
// for ParseScaleTargetKind.
nlohmann::json KedaStatusJson(const controller::ObjectStatus& status,
                              const std::string& resource = "");

// The inverse of KedaStatusJson (scaleTargetGVKR is derived, so ignored;
// unknown fields too). kInvalidConfig when a field has the wrong type or
// lastActiveTime is not RFC 3339.
Result<controller::ObjectStatus> FromKedaStatusJson(const nlohmann::json& status);

// The JSON merge patch (RFC 7386) that turns `before` into `after` when
// both are objects: `after` whole, plus null for every key of `before`
// (at any depth of nested objects) that `after` lacks, since a merge patch
// keeps keys it does not mention (a trigger removed from `health` would
// otherwise stay forever). Arrays are replaced whole. `before` null or not
// an object: `after`.
nlohmann::json StatusMergePatch(const nlohmann::json& before, const nlohmann::json& after);

}  // namespace ebb::op
