// QueryCoalescer: merges the Prometheus queries due in one tick. Triggers
// whose requests are equal -- same URL (serverAddress, query, namespace,
// queryParameters, time), same headers, TLS mode, timeout and credential
// identity (PrometheusTrigger::CoalescingKey) -- share one request; its
// answer is handed to each member's Interpret, so a hundred objects watching
// one query cost one round trip per tick.
//
//   QueryCoalescer c(now);
//   c.Add(*trigger, QueryMember{"default/web", poll_id, 0});
//   for (QueryGroup& g : c.Take()) g.authorizer->Send(client, g.request, ...);
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/authorizer.h"
#include "common/clock.h"
#include "http/http_client.h"
#include "prometheus/trigger.h"

namespace ebb::controller {

// Who waits for a query's answer: trigger `trigger_index` of poll `poll_id`
// of object `object_key`.
struct QueryMember {
  std::string object_key;
  uint64_t poll_id = 0;
  size_t trigger_index = 0;
};

// One request to send and the triggers that share it.
struct QueryGroup {
  http::HttpRequest request;       // undecorated: send it through `authorizer`
  auth::AuthorizerPtr authorizer;  // the members' common credential
  std::vector<QueryMember> members;
};

// Not thread-safe: one per tick, on the controller's thread.
class QueryCoalescer {
 public:
  // Every query of the tick is built for `now` (the `time=` parameter), so
  // that equal queries have equal URLs.
  explicit QueryCoalescer(Time now) : now_(now) {}

  void Add(const prometheus::PrometheusTrigger& trigger, QueryMember member);
  // The groups, in the order their first member was added; empties this.
  std::vector<QueryGroup> Take();

 private:
  Time now_;
  std::unordered_map<std::string, size_t> index_;  // CoalescingKey -> groups_ index
  std::vector<QueryGroup> groups_;
};

}  // namespace ebb::controller
