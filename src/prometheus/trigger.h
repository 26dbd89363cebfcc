// PrometheusTrigger: one prometheus trigger, ready to evaluate. It holds
// the parsed metadata and an Authorizer already resolved by the caller (no
// authenticationRef: auth::NoAuthorizer; static modes: MakeStaticAuthorizer;
// pod identity: a token authorizer). It never chooses a cloud or reads a
// secret.
//
//   PrometheusTrigger t(std::move(config), authorizer);
//   t.Evaluate(client, clock.Now(), [](Result<TriggerValue> v) {
//     if (v.ok()) use(v->value, v->active);
//   });
//
// For query coalescing the controller may instead send BuildRequest() once
// (through authorizer()) for every trigger with an equal CoalescingKey() and
// hand the shared answer to each trigger's Interpret().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "auth/authorizer.h"
#include "common/clock.h"
#include "common/status.h"
#include "http/http_client.h"
#include "prometheus/config.h"

namespace ebb::prometheus {

struct TriggerValue {
  double value = 0;
  bool active = false;          // value > activationThreshold
  bool empty_response = false;  // read as 0 under ignoreNullValues (see QueryResult)
};

// ceil(value / threshold), the replicas KEDA's default AverageValue target
// implies, computed on milli-units as the HPA sees KEDA's metric (so 1.1/0.1
// is 11, not 12). 0 for value <= 0 or threshold <= 0; saturates at INT64_MAX.
int64_t ImpliedReplicas(double value, double threshold);

// Immutable after construction. Thread-safe: Evaluate may run concurrently,
// and the trigger may be destroyed while an evaluation is in flight.
class PrometheusTrigger {
 public:
  // REQUIRES: authorizer non-null.
  PrometheusTrigger(PrometheusConfig config, auth::AuthorizerPtr authorizer);

  // Sends one instant query at `now` through the authorizer and calls `done`
  // exactly once (on the client's callback thread) with the value, or: the
  // authorizer's failure (nothing was sent), a transport failure, the
  // HttpErrorStatus of a non-2xx answer, or ParseQueryResponse's error; each
  // with the endpoint as context (never the credential).
  void Evaluate(http::HttpClient& client, Time now,
                std::function<void(Result<TriggerValue>)> done) const;

  // The request Evaluate sends, before the authorizer decorates it.
  http::HttpRequest BuildRequest(Time now) const;
  // Turns an answer to BuildRequest's request into this trigger's value.
  Result<TriggerValue> Interpret(const Result<http::HttpResponse>& response) const;
  // Equal for triggers that send the same request with the same credential.
  // Holds the URL and customHeaders values: a map key, not for logs.
  std::string CoalescingKey(Time now) const;
  // The same, from the request BuildRequest(now) made (built once per poll).
  std::string CoalescingKey(const http::HttpRequest& request) const;

  const PrometheusConfig& config() const { return state_->config; }
  const auth::AuthorizerPtr& authorizer() const { return state_->authorizer; }

 private:
  // Shared with callbacks in flight, so a trigger may be destroyed (manifest
  // changed) while its query is on the wire.
  struct State {
    PrometheusConfig config;
    auth::AuthorizerPtr authorizer;
  };
  static Result<TriggerValue> InterpretWith(const State& state,
                                            const Result<http::HttpResponse>& response);

  std::shared_ptr<const State> state_;
};

}  // namespace ebb::prometheus
