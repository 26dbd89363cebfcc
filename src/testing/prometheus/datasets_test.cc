// Checks, against the real Prometheus, every answer datasets.h documents.
// Queries go through a plain cpp-httplib client, not the harness's Query.
#include "testing/prometheus/datasets.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <iostream>
#include <map>

#include "common/strings.h"
#include "testing/prometheus/prometheus_server.h"

namespace ebb::testing::dataset {
namespace {

using nlohmann::json;

TEST(PrometheusDatasetText, IsOpenMetrics) {
  const std::string& text = OpenMetrics();
  EXPECT_TRUE(EndsWith(text, "\n# EOF\n"));
  EXPECT_NE(text.find("# TYPE ebb_requests counter\n"), std::string::npos);
  EXPECT_NE(text.find("ebb_queue_depth{queue=\"orders\"} 42 1700000300\n"), std::string::npos);
  EXPECT_NE(text.find("ebb_error_ratio{service=\"checkout\"} NaN 1700000300\n"), std::string::npos);
}

// One Prometheus with the data set for the whole suite (start ~0.5 s).
class PrometheusDatasetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    PrometheusOptions options;
    options.openmetrics = OpenMetrics();
    Result<std::unique_ptr<PrometheusServer>> started = PrometheusServer::Start(options);
    if (started.ok()) {
      server_ = std::move(started).value();
    } else {
      start_error_ = started.status().ToString();
    }
  }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override { ASSERT_NE(server_, nullptr) << start_error_; }
  void TearDown() override {
    if (HasFailure() && server_) std::cerr << "prometheus log:\n" << server_->ReadLog();
  }

  // The "data" object of an instant query at kEvalUnix (asserting success).
  static json QueryAtEval(std::string_view promql) {
    httplib::Client client(server_->base_url());
    httplib::Params params{{"query", std::string(promql)}, {"time", std::to_string(kEvalUnix)}};
    httplib::Result answer = client.Get("/api/v1/query", params, httplib::Headers{});
    EXPECT_TRUE(answer) << httplib::to_string(answer.error());
    if (!answer) return json::object();
    EXPECT_EQ(answer->status, 200) << answer->body;
    json body = json::parse(answer->body, nullptr, false);
    EXPECT_EQ(body.value("status", ""), "success") << answer->body;
    return body.value("data", json::object());
  }

  // The one sample of a one-element vector.
  static double SingleValue(json data) {
    EXPECT_EQ(data.value("resultType", ""), "vector") << data.dump();
    EXPECT_EQ(data["result"].size(), 1u) << data.dump();
    if (data["result"].size() != 1) return -1;
    EXPECT_EQ(data["result"][0]["value"][0].get<double>(), kEvalUnix);
    return std::strtod(data["result"][0]["value"][1].get<std::string>().c_str(), nullptr);
  }

  static double ScalarValue(json data) {
    EXPECT_EQ(data.value("resultType", ""), "scalar") << data.dump();
    return std::strtod(data["result"][1].get<std::string>().c_str(), nullptr);
  }

  static void ExpectEmptyVector(std::string_view promql) {
    json data = QueryAtEval(promql);
    EXPECT_EQ(data.value("resultType", ""), "vector") << promql;
    EXPECT_TRUE(data["result"].empty()) << promql << ": " << data.dump();
  }

  inline static std::unique_ptr<PrometheusServer> server_;
  inline static std::string start_error_;
};

TEST_F(PrometheusDatasetTest, SingleElementVector) {
  json data = QueryAtEval(kSingleQuery);
  EXPECT_EQ(SingleValue(data), kSingleValue);
  EXPECT_EQ(data["result"][0]["metric"],
            json({{"__name__", "ebb_queue_depth"}, {"queue", "orders"}}));
}

TEST_F(PrometheusDatasetTest, SingleScalar) {
  EXPECT_EQ(ScalarValue(QueryAtEval(kSingleScalarQuery)), 42);
}

TEST_F(PrometheusDatasetTest, SingleRangeVector) {
  json data = QueryAtEval(kSingleRangeQuery);
  ASSERT_EQ(data.value("resultType", ""), "matrix");
  ASSERT_EQ(data["result"].size(), 1u);
  const json& values = data["result"][0]["values"];
  ASSERT_EQ(values.size(), kSingleRangeValues.size()) << values.dump();
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(values[i][0].get<double>(), kSingleRangeFirstUnix + kStepSeconds * int64_t(i));
    EXPECT_EQ(values[i][1].get<std::string>(), FormatDouble(kSingleRangeValues[i]));
  }
  EXPECT_EQ(SingleValue(QueryAtEval("avg_over_time(ebb_queue_depth{queue=\"orders\"}[1m])")), 40);
}

TEST_F(PrometheusDatasetTest, MultiElementVector) {
  json data = QueryAtEval(kMultiQuery);
  ASSERT_EQ(data.value("resultType", ""), "vector");
  std::map<std::string, double> by_pool;
  for (const json& element : data["result"]) {
    by_pool[element["metric"][std::string(kMultiLabel)]] =
        std::strtod(element["value"][1].get<std::string>().c_str(), nullptr);
  }
  std::map<std::string, double> want;
  for (size_t i = 0; i < kMultiValues.size(); ++i) {
    want[std::string(kMultiLabelValues[i])] = kMultiValues[i];
  }
  EXPECT_EQ(by_pool, want);
  EXPECT_EQ(SingleValue(QueryAtEval(kMultiSumQuery)), kMultiSum);
  EXPECT_TRUE(std::isnan(ScalarValue(QueryAtEval(kMultiScalarQuery))));
}

TEST_F(PrometheusDatasetTest, LatestSampleNaN) {
  json data = QueryAtEval(kNaNQuery);
  EXPECT_TRUE(std::isnan(SingleValue(data)));
  EXPECT_EQ(data["result"][0]["value"][1], "NaN");
  EXPECT_EQ(SingleValue(QueryAtEval("max_over_time(ebb_error_ratio[1m])")), 0.5);
}

TEST_F(PrometheusDatasetTest, CounterRateIsExact) {
  EXPECT_EQ(SingleValue(QueryAtEval(kRateQuery)), kRateValue);
  EXPECT_EQ(SingleValue(QueryAtEval("rate(ebb_requests_total{pod=\"a\"}[1m])")), kRatePodA);
  EXPECT_EQ(SingleValue(QueryAtEval("rate(ebb_requests_total{pod=\"b\"}[1m])")), kRatePodB);
}

TEST_F(PrometheusDatasetTest, ZeroValue) { EXPECT_EQ(SingleValue(QueryAtEval(kZeroQuery)), 0); }

TEST_F(PrometheusDatasetTest, EmptyAnswers) {
  ExpectEmptyVector(kStaleQuery);
  ExpectEmptyVector(kMissingQuery);
  ExpectEmptyVector(kMissingLabelQuery);
  EXPECT_TRUE(std::isnan(ScalarValue(QueryAtEval(kMissingScalarQuery))));
}

TEST_F(PrometheusDatasetTest, StaleSeriesExistsEarlier) {
  // Proves kStaleQuery is empty because of the lookback, not a typo.
  httplib::Client client(server_->base_url());
  httplib::Params params{{"query", std::string(kStaleQuery)}, {"time", std::to_string(kStartUnix)}};
  httplib::Result answer = client.Get("/api/v1/query", params, httplib::Headers{});
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->body.find("\"9\""), std::string::npos) << answer->body;
}

TEST_F(PrometheusDatasetTest, NothingAtNow) {
  // The data are from 2023: a query without time= finds nothing.
  Result<json> answer = server_->Query(kSingleQuery);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_TRUE((*answer)["data"]["result"].empty()) << answer->dump();
}

TEST_F(PrometheusDatasetTest, HarnessQueryAtEvalTime) {
  Result<json> answer = server_->Query(kSingleQuery, double(kEvalUnix));
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ((*answer)["data"]["result"][0]["value"][1], "42");
}

}  // namespace
}  // namespace ebb::testing::dataset
