// query.* against a FakeHttpClient: every HTTP status and result shape.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "doctor/checks.h"
#include "doctor/test_util.h"
#include "http/testing/fake_http_client.h"

namespace ebb::doctor {
namespace {

using ::testing::HasSubstr;

class QueryChecksTest : public ::testing::Test {
 protected:
  // Runs manifest.trigger, manifest.auth-ref and then the query against
  // an answer of `status` with `body`.
  std::vector<CheckResult> Query(int status, const std::string& body, const std::string& extra = "",
                                 const std::string& server = "http://prom:9090") {
    set_ = testutil::Manifests(testutil::ScaledObjectYaml(server, "up", "10", "", extra));
    t_ = TriggerUnderTest{};
    t_.so = &set_.scaled_objects.at(0);
    t_.set = &set_;
    ctx_.clock = &clock_;
    ctx_.client = &fake_;
    EXPECT_EQ(CheckTrigger(t_).status, CheckResult::kPass);
    EXPECT_EQ(CheckAuthRef(t_, ctx_).status, CheckResult::kPass);
    fake_.SetHandler([status, body](const http::HttpRequest&) -> Result<http::HttpResponse> {
      http::HttpResponse r;
      r.status = status;
      r.body = body;
      return r;
    });
    return Record(CheckQuery(t_, ctx_));
  }
  std::vector<CheckResult> Record(std::vector<CheckResult> results) {
    for (const CheckResult& c : results) output_ += c.detail + "\n" + c.fix + "\n";
    return results;
  }
  void TearDown() override { testutil::ExpectNoSecrets(output_, {"s3cret-password"}); }
  std::vector<CheckResult> Vector(const std::string& result) {
    return Query(200,
                 R"({"status":"success","data":{"resultType":"vector","result":)" + result + "}}");
  }

  SimulatedClock clock_;
  http::FakeHttpClient fake_;
  DoctorContext ctx_;
  api::ManifestSet set_;
  TriggerUnderTest t_;
  std::string output_;
};

TEST_F(QueryChecksTest, BasicAuth401NamesTheCredentialNotThePassword) {
  set_ = testutil::Manifests(
      testutil::ScaledObjectYaml("http://prom:9090", "up", "10", "basic",
                                 "      authModes: basic\n") +
      "---\napiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\nmetadata:\n"
      "  name: basic\n  namespace: default\nspec:\n  secretTargetRef:\n"
      "  - {parameter: username, name: creds, key: user}\n"
      "  - {parameter: password, name: creds, key: pass}\n---\n"
      "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: default}\n"
      "stringData: {user: svc, pass: s3cret-password}\n");
  t_.so = &set_.scaled_objects.at(0);
  t_.set = &set_;
  ctx_.clock = &clock_;
  ctx_.client = &fake_;
  ASSERT_EQ(CheckTrigger(t_).status, CheckResult::kPass);
  ASSERT_EQ(CheckAuthRef(t_, ctx_).status, CheckResult::kPass);
  fake_.SetHandler([](const http::HttpRequest&) -> Result<http::HttpResponse> {
    http::HttpResponse r;
    r.status = 401;
    r.body = "Unauthorized";
    return r;
  });
  auto r = Record(CheckQuery(t_, ctx_));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, CheckResult::kFail);
  EXPECT_THAT(r[0].detail, HasSubstr("basic auth"));
  EXPECT_THAT(r[0].fix, HasSubstr("TriggerAuthentication"));
  ASSERT_EQ(fake_.requests().size(), 1u);
  EXPECT_EQ(fake_.requests()[0].headers.empty(), false);  // the credential was sent
}

TEST_F(QueryChecksTest, OneElement) {
  auto r = Vector(R"([{"metric":{"queue":"orders"},"value":[1,"42"]}])");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, CheckResult::kPass);
  EXPECT_THAT(r[0].detail,
              HasSubstr("HTTP 200 from http://prom:9090/api/v1/query with no credentials"));
  EXPECT_EQ(r[1].status, CheckResult::kPass);
  EXPECT_THAT(r[1].detail, HasSubstr("one element {queue=\"orders\"}, value 42"));
  EXPECT_EQ(t_.value, 42);
  ASSERT_EQ(fake_.requests().size(), 1u);
  EXPECT_THAT(fake_.requests()[0].url, HasSubstr("/api/v1/query?query=up&time="));
}

TEST_F(QueryChecksTest, EmptyWarnsAboutIgnoreNullValues) {
  auto r = Vector("[]");
  EXPECT_EQ(r[1].status, CheckResult::kWarn);
  EXPECT_THAT(r[1].detail, HasSubstr("ignoreNullValues true"));
  EXPECT_EQ(t_.value, 0);
}

TEST_F(QueryChecksTest, EmptyFailsWithoutIgnoreNullValues) {
  auto r = Query(200, R"({"status":"success","data":{"resultType":"vector","result":[]}})",
                 "      ignoreNullValues: \"false\"\n");
  EXPECT_EQ(r[1].status, CheckResult::kFail);
}

TEST_F(QueryChecksTest, ManyElementsShowTheLabelSets) {
  auto r = Vector(
      R"([{"metric":{"pool":"blue"},"value":[1,"3"]},{"metric":{"pool":"red"},"value":[1,"7"]}])");
  EXPECT_EQ(r[1].status, CheckResult::kFail);
  EXPECT_THAT(r[1].detail, HasSubstr("2 elements"));
  EXPECT_THAT(r[1].detail, HasSubstr("{pool=\"blue\"}, {pool=\"red\"}"));
  EXPECT_THAT(r[1].fix, HasSubstr("the labels that differ: pool"));
}

TEST_F(QueryChecksTest, MalformedAnswersFailTheCheckInsteadOfThrowing) {
  // Each used to throw nlohmann::type_error out of doctor (json::value on a
  // member of another type).
  for (std::string body : {
           R"({"data":{"resultType":5,"result":[]}})",
           R"({"data":{"resultType":"vector","result":{"a":1}}})",
           R"({"data":{"resultType":"vector","result":[1,2]}})",
           R"({"data":{"resultType":"vector","result":[{"metric":[1],"value":{"a":1}}]}})",
           R"({"data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]},{"metric":{"a":[2]}}]}})",
           R"({"data":{"resultType":"scalar","result":"x"}})",
       }) {
    auto r = Query(200, body);
    ASSERT_GE(r.size(), 2u) << body;
    EXPECT_NE(r[1].status, CheckResult::kPass) << body;
  }
}

TEST_F(QueryChecksTest, RangeVector) {
  auto r = Query(200, R"({"status":"success","data":{"resultType":"matrix","result":[]}})");
  EXPECT_EQ(r[1].status, CheckResult::kFail);
  EXPECT_THAT(r[1].detail, HasSubstr("range vector"));
  EXPECT_THAT(r[1].fix, HasSubstr("rate("));
}

TEST_F(QueryChecksTest, Scalar) {
  auto r = Query(200, R"({"status":"success","data":{"resultType":"scalar","result":[1,"7"]}})");
  EXPECT_EQ(r[1].status, CheckResult::kPass);
  EXPECT_EQ(t_.value, 7);
}

TEST_F(QueryChecksTest, Unauthorized) {
  auto r = Query(
      401,
      R"({"error":{"code":"AuthenticationFailed","message":"Request does not contain an Authorization Header"}})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, CheckResult::kFail);
  EXPECT_THAT(r[0].detail, HasSubstr("401"));
  EXPECT_THAT(r[0].detail, HasSubstr("Request does not contain an Authorization Header"));
}

TEST_F(QueryChecksTest, ForbiddenOnAzureNamesTheRole) {
  // A static bearer token stands in for the identity (manifest checks are not run here).
  auto r = Query(403, R"({"error":{"code":"InsufficientAccessError","message":"no role"}})", "",
                 "https://w.eastus.prometheus.monitor.azure.com");
  EXPECT_EQ(r[0].status, CheckResult::kFail);
  EXPECT_THAT(r[0].fix, HasSubstr("Monitoring Data Reader"));
}

// Amazon's and Google's 403s name the broken link; doctor gives its fix.
TEST_F(QueryChecksTest, CloudForbiddenAnswersGetTheirOwnFix) {
  struct Case {
    std::string body, fix;
  };
  for (const Case& c : {Case{R"({"message":"Signature expired: 20260101T000000Z is now earlier than 20260101T000600Z"})", "NTP"},
                        Case{R"({"message":"The request signature we calculated does not match the signature you provided."})", "re-encoding"},
                        Case{R"({"message":"Credential should be scoped to a valid region. "})", "metadata.awsRegion"},
                        Case{R"({"message":"User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: aps:QueryMetrics on resource: arn:aws:aps:eu-west-1:1:workspace/ws-1"})", "AmazonPrometheusQueryAccess"},
                        Case{R"({"error":{"code":403,"message":"Permission monitoring.timeSeries.list denied (or the resource may not exist).","status":"PERMISSION_DENIED"}})", "roles/monitoring.viewer"}}) {
    auto r = Query(403, c.body);
    EXPECT_EQ(r[0].status, CheckResult::kFail);
    EXPECT_THAT(r[0].fix, HasSubstr(c.fix)) << c.body;
  }
}

TEST_F(QueryChecksTest, NotFoundPointsAtServerAddress) {
  auto r = Query(404, "404 page not found");
  EXPECT_EQ(r[0].status, CheckResult::kFail);
  EXPECT_THAT(r[0].fix, HasSubstr("must not end in /api/v1"));
}

TEST_F(QueryChecksTest, BadQueryShowsPrometheusParseError) {
  auto r = Query(
      400,
      R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"})");
  EXPECT_EQ(r[0].status, CheckResult::kFail);
  EXPECT_THAT(r[0].detail, HasSubstr("1:5: parse error"));
  EXPECT_THAT(r[0].fix, HasSubstr("PromQL"));
}

TEST_F(QueryChecksTest, UnprocessableToo) {
  auto r = Query(
      422,
      R"({"status":"error","errorType":"execution","error":"many-to-many matching not allowed"})");
  EXPECT_EQ(r[0].status, CheckResult::kFail);
  EXPECT_THAT(r[0].detail, HasSubstr("many-to-many"));
}

TEST_F(QueryChecksTest, TimeoutSuggestsTimeoutAndEgress) {
  set_ = testutil::Manifests(testutil::ScaledObjectYaml("http://prom:9090", "up", "10"));
  t_.so = &set_.scaled_objects.at(0);
  t_.set = &set_;
  ctx_.clock = &clock_;
  ctx_.client = &fake_;
  ASSERT_EQ(CheckTrigger(t_).status, CheckResult::kPass);
  ASSERT_EQ(CheckAuthRef(t_, ctx_).status, CheckResult::kPass);
  fake_.SetHandler([](const http::HttpRequest&) -> Result<http::HttpResponse> {
    return DeadlineExceeded("no answer from prom:9090 within 3000 ms");
  });
  auto r = Record(CheckQuery(t_, ctx_));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, CheckResult::kFail);
  EXPECT_THAT(r[0].fix, HasSubstr("metadata.timeout"));
  EXPECT_THAT(r[0].fix, HasSubstr("NetworkPolicy"));
}

}  // namespace
}  // namespace ebb::doctor
