#include "prometheus/trigger.h"

#include <cassert>
#include <cmath>
#include <limits>
#include <utility>

#include "common/strings.h"
#include "prometheus/request.h"
#include "prometheus/response.h"

namespace ebb::prometheus {

namespace {

bool SendsNothing(const std::string& description) {
  return StartsWith(description, "no credentials");
}

// What went on the wire, by kind: the authorizer's part, and an Authorization
// header a user put into customHeaders (the Authorizer replaces it when it
// sets its own).
std::string CredentialDescription(const PrometheusConfig& c, const auth::Authorizer& a) {
  std::string described = a.Describe();
  if (!SendsNothing(described)) return described;
  for (const auto& [name, value] : c.custom_headers) {
    if (http::HeaderNameEquals(name, "Authorization"))
      return "an Authorization header from metadata.customHeaders";
  }
  return described;
}

}  // namespace

int64_t ImpliedReplicas(double value, double threshold) {
  if (!(value > 0) || !(threshold > 0)) return 0;
  // KEDA hands the HPA milli-quantities; dividing those avoids 1.1/0.1 = 11.000000000000002.
  double v = std::round(value * 1000);
  double t = std::round(threshold * 1000);
  if (t < 1) {
    v = value;
    t = threshold;
  }
  double replicas = std::ceil(v / t);
  if (!(replicas < static_cast<double>(std::numeric_limits<int64_t>::max()))) {
    return std::numeric_limits<int64_t>::max();
  }
  return static_cast<int64_t>(replicas);
}

PrometheusTrigger::PrometheusTrigger(PrometheusConfig config, auth::AuthorizerPtr authorizer)
    : state_(std::make_shared<const State>(State{std::move(config), std::move(authorizer)})) {
  assert(state_->authorizer && "PrometheusTrigger needs an Authorizer (NoAuthorizer for none)");
}

http::HttpRequest PrometheusTrigger::BuildRequest(Time now) const {
  return BuildQueryRequest(config(), now);
}

std::string PrometheusTrigger::CoalescingKey(Time now) const { return CoalescingKey(BuildRequest(now)); }

std::string PrometheusTrigger::CoalescingKey(const http::HttpRequest& r) const {
  std::string key = r.url + "\n" + state_->authorizer->IdentityKey() + "\n" +
                    (r.tls.insecure_skip_verify ? "insecure" : "verify") + "\n" +
                    std::to_string(r.timeout.count());
  for (const http::Header& h : r.headers) key += "\n" + ToLower(h.name) + ": " + h.value;
  return key;
}

void PrometheusTrigger::Evaluate(http::HttpClient& client, Time now,
                                 std::function<void(Result<TriggerValue>)> done) const {
  std::shared_ptr<const State> state = state_;
  state->authorizer->Send(client, BuildRequest(now),
                          [state, done = std::move(done)](Result<http::HttpResponse> response) {
                            done(InterpretWith(*state, response));
                          });
}

Result<TriggerValue> PrometheusTrigger::Interpret(
    const Result<http::HttpResponse>& response) const {
  return InterpretWith(*state_, response);
}

Result<TriggerValue> PrometheusTrigger::InterpretWith(const State& state,
                                                      const Result<http::HttpResponse>& response) {
  const PrometheusConfig& c = state.config;
  std::string context = "GET " + QueryEndpoint(c);
  if (!response.ok()) return response.status().WithContext(context);
  if (response->status / 100 != 2) {
    return HttpErrorStatus(response->status, response->body,
                           CredentialDescription(c, *state.authorizer))
        .WithContext(context);
  }
  Result<QueryResult> parsed = ParseQueryResponse(response->body, c.ignore_null_values);
  if (!parsed.ok()) return parsed.status().WithContext(context);
  return TriggerValue{parsed->value, parsed->value > c.activation_threshold, parsed->empty};
}

}  // namespace ebb::prometheus
