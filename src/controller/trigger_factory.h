// Building a ScaledObject's triggers: one explicit switch on the trigger
// type, the authenticationRef resolved (api/resolve.h) and turned into an
// Authorizer (auth/authorizer_factory.h).
//
//   api::Problems problems = ValidateTriggers(so);         // metadata only, no lookups
//   Result<BuiltTrigger> t = BuildTrigger(so, 0, lookup, env);
//   t->prometheus->Evaluate(client, now, done);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/lookup.h"
#include "api/problem.h"
#include "api/resolve.h"
#include "api/scaled_object.h"
#include "auth/authorizer_factory.h"
#include "prometheus/trigger.h"

namespace ebb::controller {

// A trigger ready to evaluate, with what the engine needs to know of it.
struct BuiltTrigger {
  size_t index = 0;
  std::string name;  // the trigger's name, or its index as text
  std::string type;
  std::shared_ptr<const prometheus::PrometheusTrigger> prometheus;  // set for type prometheus
  double target = 0;             // threshold
  double activation_target = 0;  // activationThreshold
  api::MetricType metric_type = api::MetricType::kAverageValue;
};

// Everything a trigger's construction may use. Shared; must outlive the
// built triggers (the token cache and clock inside `auth`).
struct TriggerEnvironment {
  api::ResolveOptions resolve;
  auth::AuthorizerContext auth;
};

// Checks each trigger's metadata (required keys, numbers, durations,
// authModes) without resolving anything. Problems name
// "spec.triggers[i].metadata.<key>".
api::Problems ValidateTriggers(const api::ScaledObject& so);

// Builds trigger `index` of `so`. kInvalidConfig / kNotFound with the
// field path ("spec.triggers[0]: ...") when metadata, authenticationRef or
// its parameters cannot be used.
Result<BuiltTrigger> BuildTrigger(const api::ScaledObject& so, size_t index,
                                  const api::ObjectLookup& lookup, const TriggerEnvironment& env);

// The trigger's column/variable name: its `name`, or its index ("0").
std::string TriggerName(const api::Trigger& trigger, size_t index);

}  // namespace ebb::controller
