// Decoders from a Document to the typed resources ebb reads, with KEDA's
// defaults applied and the resource validated. Every problem is recorded in
// `errors` or `warnings` (located: see problem.h); a decoder returns
// nullopt when the object has at least one error, so that a bad object is
// reported and skipped while the others go on.
#pragma once

#include <optional>

#include "api/document.h"
#include "api/problem.h"
#include "api/scaled_object.h"
#include "api/trigger_authentication.h"

namespace ebb::api {

// Trigger types ebb can evaluate. Any other type is a validation error
// naming these.
inline constexpr const char* kSupportedTriggerTypes[] = {"prometheus"};

std::optional<ScaledObject> DecodeScaledObject(const Document& doc, Problems* errors,
                                               Problems* warnings);
// `cluster_scoped`: ClusterTriggerAuthentication.
std::optional<TriggerAuthentication> DecodeTriggerAuthentication(const Document& doc,
                                                                 bool cluster_scoped,
                                                                 Problems* errors,
                                                                 Problems* warnings);
std::optional<SecretObject> DecodeSecret(const Document& doc, Problems* errors, Problems* warnings);
std::optional<ConfigMapObject> DecodeConfigMap(const Document& doc, Problems* errors,
                                               Problems* warnings);

}  // namespace ebb::api
