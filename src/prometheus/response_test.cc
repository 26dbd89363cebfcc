#include "prometheus/response.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ebb::prometheus {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Vector(const std::string& result) {
  return R"({"status":"success","data":{"resultType":"vector","result":)" + result + "}}";
}
std::string Sample(const std::string& metric, const std::string& value) {
  return R"({"metric":)" + metric + R"(,"value":[1700000000.123,)" + value + "]}";
}

double ValueOf(std::string_view body, bool ignore = true) {
  Result<QueryResult> r = ParseQueryResponse(body, ignore);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->value : -999;
}

Status ErrorOf(std::string_view body, bool ignore = true) {
  Result<QueryResult> r = ParseQueryResponse(body, ignore);
  EXPECT_FALSE(r.ok()) << body;
  return r.status();
}

TEST(ParseQueryResponseTest, VectorWithOneSample) {
  Result<QueryResult> r =
      ParseQueryResponse(Vector("[" + Sample(R"({"job":"api"})", R"("42.5")") + "]"), true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value, 42.5);
  EXPECT_FALSE(r->empty);
  EXPECT_EQ(ValueOf(Vector("[" + Sample("{}", R"("1e+06")") + "]")), 1e6);
  EXPECT_EQ(ValueOf(Vector("[" + Sample("{}", R"("-3")") + "]")), -3);
}

TEST(ParseQueryResponseTest, EmptyVectorFollowsIgnoreNullValues) {
  Result<QueryResult> r = ParseQueryResponse(Vector("[]"), true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value, 0);
  EXPECT_TRUE(r->empty);
  Status s = ErrorOf(Vector("[]"), false);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("empty result"));
  EXPECT_THAT(s.message(), HasSubstr("ignoreNullValues is false"));
}

TEST(ParseQueryResponseTest, MoreThanOneSampleNamesTheLabelSets) {
  Status s = ErrorOf(Vector("[" + Sample(R"({"queue":"a"})", R"("1")") + "," +
                            Sample(R"({"queue":"b"})", R"("2")") + "]"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(s.message(), HasSubstr("query returns 2 series"));
  EXPECT_THAT(s.message(), HasSubstr(R"({queue="a"}, {queue="b"})"));
  EXPECT_THAT(s.message(), HasSubstr("sum(...)"));
  EXPECT_THAT(s.message(), HasSubstr("max(...)"));
}

TEST(ParseQueryResponseTest, ManySeriesAreTruncatedAndNamesAndEscapesShown) {
  std::string result = "[";
  for (int i = 0; i < 7; ++i) {
    if (i) result += ",";
    result += Sample(R"({"__name__":"jobs","q":"x\")" + std::to_string(i) + R"(","zone":"eu"})",
                     R"("1")");
  }
  Status s = ErrorOf(Vector(result + "]"));
  EXPECT_THAT(s.message(), HasSubstr("query returns 7 series"));
  EXPECT_THAT(s.message(), HasSubstr(R"(jobs{q="x\"0", zone="eu"}, jobs{q="x\"1", zone="eu"}, )"
                                     R"(jobs{q="x\"2", zone="eu"} and 4 more)"));
  EXPECT_THAT(s.message(), Not(HasSubstr("x\\\"3")));
}

TEST(ParseQueryResponseTest, ScalarResult) {
  EXPECT_EQ(
      ValueOf(R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"7"]}})"),
      7);
}

TEST(ParseQueryResponseTest, MatrixIsAClearError) {
  Status s = ErrorOf(R"({"status":"success","data":{"resultType":"matrix","result":[)"
                     R"({"metric":{},"values":[[1,"1"],[2,"2"]]}]}})");
  EXPECT_EQ(s.code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(s.message(), HasSubstr("query returns a range vector"));
  EXPECT_THAT(s.message(), HasSubstr("wrap it, e.g. in rate("));
}

TEST(ParseQueryResponseTest, StringAndHistogramAreErrors) {
  EXPECT_THAT(ErrorOf(R"({"status":"success","data":{"resultType":"string","result":[1,"hello"]}})")
                  .message(),
              HasSubstr("returns a string"));
  EXPECT_THAT(ErrorOf(Vector(R"([{"metric":{},"histogram":[1,{"count":"3"}]}])")).message(),
              HasSubstr("native histogram"));
}

TEST(ParseQueryResponseTest, NonFiniteValuesFollowIgnoreNullValues) {
  for (const char* v : {R"("NaN")", R"("+Inf")", R"("-Inf")"}) {
    std::string body = Vector("[" + Sample("{}", v) + "]");
    Result<QueryResult> r = ParseQueryResponse(body, true);
    ASSERT_TRUE(r.ok()) << v;
    EXPECT_EQ(r->value, 0);
    EXPECT_TRUE(r->empty);
    Status s = ErrorOf(body, false);
    EXPECT_EQ(s.code(), StatusCode::kUnavailable);
    EXPECT_THAT(s.message(), HasSubstr(std::string("returned ") +
                                       std::string(v).substr(1, std::string(v).size() - 2)));
  }
}

TEST(ParseQueryResponseTest, NullValueIsAnErrorNotMinusOne) {
  Status s = ErrorOf(Vector("[" + Sample("{}", "null") + "]"));
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("null"));
}

TEST(ParseQueryResponseTest, NumericValueFromAProxyIsAccepted) {
  EXPECT_EQ(ValueOf(Vector("[" + Sample("{}", "12") + "]")), 12);
  EXPECT_EQ(ValueOf(Vector("[" + Sample("{}", "0.25") + "]")), 0.25);
}

TEST(ParseQueryResponseTest, EmptyValueArrayCountsAsEmpty) {
  std::string body = Vector(R"([{"metric":{},"value":[]}])");
  EXPECT_TRUE(ParseQueryResponse(body, true)->empty);
  EXPECT_EQ(ErrorOf(body, false).code(), StatusCode::kUnavailable);
  EXPECT_EQ(ErrorOf(Vector(R"([{"metric":{},"value":[1]}])")).code(), StatusCode::kInternal);
  EXPECT_THAT(ErrorOf(Vector("[" + Sample("{}", R"("12abc")") + "]")).message(),
              HasSubstr("not a number"));
}

TEST(ParseQueryResponseTest, ErrorBodyCarriesErrorTypeAndError) {
  Status s = ErrorOf(
      R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \"}\""})");
  EXPECT_EQ(s.code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(s.message(), HasSubstr("errorType \"bad_data\""));
  EXPECT_THAT(s.message(), HasSubstr("1:5: parse error"));
  EXPECT_EQ(ErrorOf(R"({"status":"error","errorType":"timeout","error":"query timed out"})").code(),
            StatusCode::kDeadlineExceeded);
  EXPECT_EQ(ErrorOf(R"({"status":"error","errorType":"unavailable","error":"x"})").code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(ErrorOf(R"({"status":"error","errorType":"execution","error":"many-to-many"})").code(),
            StatusCode::kInvalidConfig);
}

TEST(ParseQueryResponseTest, LenientShapesAsKeda) {
  // No status, no resultType: read as a vector.
  EXPECT_EQ(ValueOf(R"({"data":{"result":[)" + Sample("{}", R"("5")") + "]}}"), 5);
  // {} and a success without data: empty.
  Result<QueryResult> r = ParseQueryResponse("{}", true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty);
  EXPECT_EQ(ErrorOf("{}", false).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(ParseQueryResponse(R"({"status":"success"})", true)->empty);
  EXPECT_TRUE(ParseQueryResponse(
                  R"({"status":"success","data":{"resultType":"vector","result":null}})", true)
                  ->empty);
  // Prometheus's warnings do not matter.
  EXPECT_EQ(
      ValueOf(R"({"status":"success","warnings":["w"],"data":{"resultType":"vector","result":[)" +
              Sample("{}", R"("3")") + "]}}"),
      3);
}

TEST(ParseQueryResponseTest, MalformedAnswers) {
  Status html = ErrorOf("<html><body>Sign in</body></html>");
  EXPECT_EQ(html.code(), StatusCode::kInternal);
  EXPECT_THAT(html.message(), HasSubstr("not JSON"));
  EXPECT_THAT(html.message(), HasSubstr("HTML"));
  EXPECT_THAT(html.message(), Not(HasSubstr("Sign in")));
  EXPECT_THAT(ErrorOf("").message(), HasSubstr("empty"));
  EXPECT_THAT(ErrorOf("[1,2]").message(), HasSubstr("not an object"));
  EXPECT_EQ(ErrorOf(R"({"data":{"result":"x"}})").code(), StatusCode::kInternal);
  EXPECT_EQ(ErrorOf(R"({"status":"success","data":{"resultType":"vector","result":[)").code(),
            StatusCode::kInternal);
}

TEST(ParseRangeResponseTest, OneSeries) {
  auto r = ParseRangeResponse(
      R"({"status":"success","data":{"resultType":"matrix","result":[)"
      R"({"metric":{"job":"a"},"values":[[1700000000,"1"],[1700000030.5,"2.5"],[1700000060,"NaN"]]}]}})",
      true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].time, FromUnixSeconds(1700000000));
  EXPECT_EQ((*r)[0].value, 1);
  EXPECT_EQ((*r)[1].time, FromUnixSeconds(1700000030.5));
  EXPECT_EQ((*r)[1].value, 2.5);
  EXPECT_EQ((*r)[2].value, 0);
}

TEST(ParseRangeResponseTest, EmptyManyAndErrors) {
  EXPECT_TRUE(ParseRangeResponse(
                  R"({"status":"success","data":{"resultType":"matrix","result":[]}})", false)
                  ->empty());
  auto many =
      ParseRangeResponse(R"({"status":"success","data":{"resultType":"matrix","result":[)"
                         R"({"metric":{"q":"a"},"values":[]},{"metric":{"q":"b"},"values":[]}]}})",
                         true);
  ASSERT_FALSE(many.ok());
  EXPECT_THAT(many.status().message(), HasSubstr(R"({q="a"}, {q="b"})"));
  auto nan = ParseRangeResponse(R"({"status":"success","data":{"resultType":"matrix","result":[)"
                                R"({"metric":{},"values":[[1,"NaN"]]}]}})",
                                false);
  EXPECT_EQ(nan.status().code(), StatusCode::kUnavailable);
  auto err = ParseRangeResponse(
      R"({"status":"error","errorType":"bad_data","error":"exceeded maximum resolution"})", true);
  EXPECT_THAT(err.status().message(), HasSubstr("exceeded maximum resolution"));
}

// ---- non-2xx ----

constexpr char kBadData[] =
    R"({"status":"error","errorType":"bad_data","error":"1:14: parse error: unexpected right bracket"})";

TEST(HttpErrorStatusTest, UnauthorizedWithoutCredentialsSaysSo) {
  Status s = HttpErrorStatus(401, "Unauthorized\n", "no credentials");
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(), HasSubstr("Prometheus answered 401 Unauthorized"));
  EXPECT_THAT(s.message(),
              HasSubstr("ebb sent no credentials: the trigger has no authenticationRef"));
  EXPECT_THAT(s.message(), HasSubstr("TriggerAuthentication"));
}

TEST(HttpErrorStatusTest, UnauthorizedNamesTheCredentialKind) {
  Status s = HttpErrorStatus(401, R"({"error":"Request does not contain an Authorization Header"})",
                             "basic auth (username \"svc\")");
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(),
              HasSubstr("Prometheus answered 401 Unauthorized (\"Request does not contain an "
                        "Authorization Header\")"));
  EXPECT_THAT(s.message(),
              HasSubstr("ebb sent basic auth (username \"svc\"), which the server did not accept"));
}

TEST(HttpErrorStatusTest, ForbiddenSaysTheCredentialLacksPermission) {
  Status s =
      HttpErrorStatus(403, R"({"error":{"code":"Forbidden","message":"no access to workspace"}})",
                      "Azure Workload Identity token (client id 1234)");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("403 Forbidden (\"Forbidden: no access to workspace\")"));
  EXPECT_THAT(s.message(), HasSubstr("ebb sent Azure Workload Identity token (client id 1234)"));
  EXPECT_THAT(s.message(), HasSubstr("Monitoring Data Reader"));
  EXPECT_THAT(HttpErrorStatus(403, "", "no credentials").message(),
              HasSubstr("ebb sent no credentials"));
}

// Amazon Managed Prometheus answers {"message": ...}; its text is the diagnosis.
TEST(HttpErrorStatusTest, AmazonForbiddenCarriesAwsMessage) {
  Status s = HttpErrorStatus(
      403, R"({"message":"Credential should be scoped to a valid region. "})",
      "AWS access key AKIA1, signed with SigV4 for aps in us-east-1");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("(\"Credential should be scoped to a valid region."));
  EXPECT_THAT(s.message(), HasSubstr("aps:QueryMetrics"));
  EXPECT_THAT(s.message(), ::testing::Not(HasSubstr("Monitoring Data Reader")));
}

TEST(HttpErrorStatusTest, BadRequestCarriesErrorTypeAndParseError) {
  for (int code : {400, 422}) {
    Status s = HttpErrorStatus(code, kBadData, "no credentials");
    EXPECT_EQ(s.code(), StatusCode::kInvalidConfig);
    EXPECT_THAT(s.message(), HasSubstr("Prometheus answered " + std::to_string(code)));
    EXPECT_THAT(
        s.message(),
        HasSubstr("errorType \"bad_data\": \"1:14: parse error: unexpected right bracket\""));
    EXPECT_THAT(s.message(), HasSubstr("metadata.query"));
  }
}

TEST(HttpErrorStatusTest, NotFoundHintsAtServerAddress) {
  Status s = HttpErrorStatus(404, "404 page not found", "no credentials");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("404 Not Found"));
  EXPECT_THAT(s.message(), HasSubstr("metadata.serverAddress"));
  EXPECT_THAT(s.message(), Not(HasSubstr("page not found")));  // arbitrary body text is not echoed
}

TEST(HttpErrorStatusTest, RetryableStatuses) {
  Status s = HttpErrorStatus(
      503, R"({"status":"error","errorType":"unavailable","error":"TSDB not ready"})", "x");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.message(),
              HasSubstr("503 Service Unavailable (errorType \"unavailable\": \"TSDB not ready\")"));
  EXPECT_EQ(HttpErrorStatus(500, "", "x").code(), StatusCode::kUnavailable);
  EXPECT_EQ(HttpErrorStatus(429, "", "x").code(), StatusCode::kUnavailable);
  EXPECT_EQ(HttpErrorStatus(504, "", "x").code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(HttpErrorStatus(408, "", "x").code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(HttpErrorStatus(302, "", "x").code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(HttpErrorStatus(302, "", "x").message(), HasSubstr("redirect"));
  EXPECT_EQ(HttpErrorStatus(405, "", "x").code(), StatusCode::kInvalidConfig);
}

TEST(HttpErrorStatusTest, LongErrorIsTruncatedAndControlCharactersReplaced) {
  std::string long_error(5000, 'e');
  Status s = HttpErrorStatus(
      400, R"({"status":"error","errorType":"bad_data","error":"line1\nline2)" + long_error + "\"}",
      "no credentials");
  EXPECT_LT(s.message().size(), 1000u);
  EXPECT_THAT(s.message(), HasSubstr("line1 line2"));
  EXPECT_THAT(s.message(), HasSubstr("..."));
}

TEST(HttpErrorStatusTest, TruncationKeepsUtf8Whole) {
  std::string snowmen;
  for (int i = 0; i < 200; ++i) snowmen += "\xE2\x98\x83";
  auto e = ParseErrorBody(R"({"error":")" + snowmen + "\"}");
  ASSERT_TRUE(e.has_value());
  std::string text = e->error.substr(0, e->error.size() - 3);  // without "..."
  EXPECT_EQ(text.size() % 3, 0u);
}

}  // namespace
}  // namespace ebb::prometheus
