#include "prometheus/request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/strings.h"

namespace ebb::prometheus {
namespace {

using ::testing::HasSubstr;

const Time kNow = FromUnixSeconds(1'700'000'000.75);  // 2023-11-14T22:13:20.75Z
constexpr char kTimeParam[] = "time=2023-11-14T22%3A13%3A20Z";

PrometheusConfig Config(const std::string& query) {
  PrometheusConfig c;
  c.server_address = "http://prom:9090";
  c.query = query;
  c.threshold = 1;
  return c;
}

// Decodes %XX; '+' stays '+' (the encoder never produces it for a space).
std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The decoded value of the first `name=` parameter of a URL.
std::string Param(const std::string& url, const std::string& name) {
  std::string query = url.substr(url.find('?') + 1);
  for (const std::string& kv : Split(query, '&')) {
    if (StartsWith(kv, name + "=")) return PercentDecode(kv.substr(name.size() + 1));
  }
  return "<absent>";
}

TEST(BuildQueryRequestTest, ExactUrlForPlainQuery) {
  http::HttpRequest r = BuildQueryRequest(Config("up"), kNow);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, std::string("http://prom:9090/api/v1/query?query=up&") + kTimeParam);
  EXPECT_TRUE(r.headers.empty());
  EXPECT_EQ(r.timeout, std::chrono::milliseconds(3000));
  EXPECT_FALSE(r.tls.insecure_skip_verify);
  EXPECT_TRUE(r.body.empty());
}

TEST(BuildQueryRequestTest, EscapesPromQlOperators) {
  const std::string q = "sum(rate(x{a=\"b\",c=~\"d.*\"}[1m]))";
  http::HttpRequest r = BuildQueryRequest(Config(q), kNow);
  EXPECT_EQ(r.url,
            "http://prom:9090/api/v1/query?query=sum%28rate%28x%7Ba%3D%22b%22%2Cc%3D~%22d.%2A%22"
            "%7D%5B1m%5D%29%29&" +
                std::string(kTimeParam));
  EXPECT_EQ(Param(r.url, "query"), q);
}

TEST(BuildQueryRequestTest, EscapesPlusSpaceAmpersandHashAndUnicode) {
  const std::string q = "a + b{name=\"caf\xC3\xA9 \xE2\x98\x83\", x!~\"1&2#3/4?\"} % 2";
  http::HttpRequest r = BuildQueryRequest(Config(q), kNow);
  std::string encoded =
      r.url.substr(r.url.find("query=") + 6, r.url.find("&time=") - r.url.find("query=") - 6);
  EXPECT_EQ(encoded,
            "a%20%2B%20b%7Bname%3D%22caf%C3%A9%20%E2%98%83%22%2C%20x%21~%221%262%233%2F4%3F%22%7D%"
            "20%25%202");
  EXPECT_EQ(r.url.find(' '), std::string::npos);
  EXPECT_EQ(r.url.find('+'), std::string::npos);
  EXPECT_EQ(Param(r.url, "query"), q);
}

TEST(BuildQueryRequestTest, TimeIsUtcWholeSeconds) {
  http::HttpRequest r = BuildQueryRequest(Config("up"), FromUnixSeconds(1'700'000'000.999));
  EXPECT_EQ(Param(r.url, "time"), "2023-11-14T22:13:20Z");
}

TEST(BuildQueryRequestTest, NamespaceThenQueryParametersInOrder) {
  PrometheusConfig c = Config("up");
  c.namespace_name = "team a";
  c.query_parameters = {{"dedup", "true"}, {"x y", "1+1"}};
  http::HttpRequest r = BuildQueryRequest(c, kNow);
  EXPECT_EQ(r.url, std::string("http://prom:9090/api/v1/query?query=up&") + kTimeParam +
                       "&namespace=team%20a&dedup=true&x%20y=1%2B1");
}

TEST(BuildQueryRequestTest, PathPrefixKept) {
  PrometheusConfig c = Config("up");
  c.server_address = "https://thanos.example/select/0/prometheus";
  EXPECT_THAT(
      BuildQueryRequest(c, kNow).url,
      ::testing::StartsWith("https://thanos.example/select/0/prometheus/api/v1/query?query=up&"));
  EXPECT_EQ(QueryEndpoint(c), "https://thanos.example/select/0/prometheus/api/v1/query");
}

TEST(BuildQueryRequestTest, CustomHeadersTimeoutAndUnsafeSsl) {
  PrometheusConfig c = Config("up");
  c.custom_headers = {{"X-Scope-OrgID", "tenant1"}, {"X-Other", "b"}};
  c.timeout = std::chrono::milliseconds(1500);
  c.unsafe_ssl = true;
  http::HttpRequest r = BuildQueryRequest(c, kNow);
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0].name, "X-Scope-OrgID");
  EXPECT_EQ(r.headers[0].value, "tenant1");
  EXPECT_TRUE(r.headers[0].sensitive);
  EXPECT_EQ(r.headers[1].name, "X-Other");
  EXPECT_EQ(r.timeout, std::chrono::milliseconds(1500));
  EXPECT_TRUE(r.tls.insecure_skip_verify);
}

TEST(BuildRangeRequestTest, ExactUrl) {
  PrometheusConfig c = Config("rate(x[1m])");
  c.namespace_name = "ns";
  http::HttpRequest r = BuildRangeRequest(c, FromUnixSeconds(1'700'000'000),
                                          FromUnixSeconds(1'700'003'600), std::chrono::seconds(30));
  EXPECT_EQ(r.url,
            "http://prom:9090/api/v1/query_range?query=rate%28x%5B1m%5D%29"
            "&start=2023-11-14T22%3A13%3A20Z&end=2023-11-14T23%3A13%3A20Z&step=30&namespace=ns");
  http::HttpRequest fractional =
      BuildRangeRequest(c, FromUnixSeconds(0), FromUnixSeconds(1), std::chrono::milliseconds(1500));
  EXPECT_EQ(Param(fractional.url, "step"), "1.5");
}

}  // namespace
}  // namespace ebb::prometheus
