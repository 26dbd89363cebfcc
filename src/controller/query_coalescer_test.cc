#include "controller/query_coalescer.h"

#include <gtest/gtest.h>

#include "prometheus/config.h"

namespace ebb::controller {
namespace {

prometheus::PrometheusTrigger MakeTrigger(const std::string& query, const std::string& headers = "") {
  std::map<std::string, std::string> md{{"serverAddress", "https://prom:9090"}, {"query", query}, {"threshold", "10"}};
  if (!headers.empty()) md["customHeaders"] = headers;
  auto config = prometheus::ParsePrometheusMetadata(md);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return prometheus::PrometheusTrigger(*config, std::make_shared<auth::NoAuthorizer>());
}

TEST(QueryCoalescerTest, EqualRequestsShareOneGroup) {
  QueryCoalescer c(FromUnixSeconds(1'700'000'000));
  auto a = MakeTrigger("up");
  auto b = MakeTrigger("up");
  auto other = MakeTrigger("down");
  c.Add(a, QueryMember{"ns/a", 1, 0});
  c.Add(b, QueryMember{"ns/b", 2, 0});
  c.Add(other, QueryMember{"ns/c", 3, 0});
  auto groups = c.Take();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].members.size(), 2u);
  EXPECT_EQ(groups[0].members[1].object_key, "ns/b");
  EXPECT_EQ(groups[1].members.size(), 1u);
  EXPECT_NE(groups[0].request.url.find("query=up"), std::string::npos);
  EXPECT_TRUE(c.Take().empty());
}

TEST(QueryCoalescerTest, DifferentHeadersAreDifferentRequests) {
  QueryCoalescer c(FromUnixSeconds(1'700'000'000));
  auto a = MakeTrigger("up", "X-Scope-OrgID=team-a");
  auto b = MakeTrigger("up", "X-Scope-OrgID=team-b");
  c.Add(a, QueryMember{"ns/a", 1, 0});
  c.Add(b, QueryMember{"ns/b", 2, 0});
  EXPECT_EQ(c.Take().size(), 2u);
}

}  // namespace
}  // namespace ebb::controller
