#include "controller/query_coalescer.h"

#include <utility>

namespace ebb::controller {

void QueryCoalescer::Add(const prometheus::PrometheusTrigger& trigger, QueryMember member) {
  http::HttpRequest request = trigger.BuildRequest(now_);
  auto [it, inserted] = index_.try_emplace(trigger.CoalescingKey(request), groups_.size());
  if (inserted) groups_.push_back(QueryGroup{std::move(request), trigger.authorizer(), {}});
  groups_[it->second].members.push_back(std::move(member));
}

std::vector<QueryGroup> QueryCoalescer::Take() {
  index_.clear();
  return std::exchange(groups_, {});
}

}  // namespace ebb::controller
