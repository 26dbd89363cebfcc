// The Prometheus trigger against a real Prometheus (Debian's package),
// through ebb's real HTTP client: every response shape of the fixed data
// set, then the same server behind TLS and basic auth, and `ebb query`
// end to end on manifests.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "api/manifest_set.h"
#include "cmd/query_command.h"
#include "common/strings.h"
#include "controller/trigger_factory.h"
#include "http/curl_http_client.h"
#include "testing/prometheus/datasets.h"
#include "testing/prometheus/prometheus_server.h"

namespace ebb {
namespace {

namespace ds = testing::dataset;
using ::testing::HasSubstr;

const Time kEval = FromUnixSeconds(ds::kEvalUnix);

std::unique_ptr<testing::PrometheusServer> StartServer(testing::PrometheusOptions options) {
  options.openmetrics = ds::OpenMetrics();
  auto server = testing::PrometheusServer::Start(std::move(options));
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return server.ok() ? std::move(*server) : nullptr;
}

// Evaluates one trigger built from `metadata` (and, when given, the
// manifests of a TriggerAuthentication and its Secret) at kEval.
Result<prometheus::TriggerValue> Evaluate(http::HttpClient& client,
                                          std::map<std::string, std::string> metadata,
                                          const std::string& auth_yaml = "") {
  std::string yaml =
      "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: so, namespace: ns}\n"
      "spec:\n  scaleTargetRef: {name: web}\n  triggers:\n  - type: prometheus\n";
  if (!auth_yaml.empty()) yaml += "    authenticationRef: {name: prom-auth}\n";
  yaml += "    metadata:\n";
  for (const auto& [k, v] : metadata) yaml += "      " + k + ": '" + v + "'\n";
  if (!auth_yaml.empty()) yaml += "---\n" + auth_yaml;
  auto docs = api::ParseDocuments(yaml, "test.yaml");
  EXPECT_TRUE(docs.ok()) << docs.status().ToString();
  api::ManifestSet set = api::BuildManifestSet(std::move(*docs));
  EXPECT_TRUE(set.errors.empty()) << set.errors[0].ToString();
  controller::TriggerEnvironment env;
  auto built = controller::BuildTrigger(set.scaled_objects.at(0), 0, set, env);
  if (!built.ok()) return built.status();
  std::promise<Result<prometheus::TriggerValue>> p;
  built->prometheus->Evaluate(client, kEval, [&](Result<prometheus::TriggerValue> v) { p.set_value(v); });
  return p.get_future().get();
}

std::map<std::string, std::string> Meta(const std::string& url, std::string_view query,
                                        std::map<std::string, std::string> extra = {}) {
  extra["serverAddress"] = url;
  extra["query"] = std::string(query);
  if (!extra.count("threshold")) extra["threshold"] = "10";
  return extra;
}

class PlainPrometheus : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = StartServer({}).release(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr); }
  std::string Url() const { return server_->base_url(); }
  static testing::PrometheusServer* server_;
  http::CurlHttpClient client_;
};
testing::PrometheusServer* PlainPrometheus::server_ = nullptr;

TEST_F(PlainPrometheus, SingleElementVector) {
  auto v = Evaluate(client_, Meta(Url(), ds::kSingleQuery, {{"activationThreshold", "41"}}));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_DOUBLE_EQ(v->value, ds::kSingleValue);
  EXPECT_TRUE(v->active);
  auto inactive = Evaluate(client_, Meta(Url(), ds::kSingleQuery, {{"activationThreshold", "42"}}));
  ASSERT_TRUE(inactive.ok());
  EXPECT_FALSE(inactive->active) << "active only when value > activationThreshold, strictly";
}

TEST_F(PlainPrometheus, ScalarResult) {
  auto v = Evaluate(client_, Meta(Url(), ds::kSingleScalarQuery));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_DOUBLE_EQ(v->value, ds::kSingleValue);
}

TEST_F(PlainPrometheus, RateOfACounter) {
  auto v = Evaluate(client_, Meta(Url(), ds::kRateQuery));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_DOUBLE_EQ(v->value, ds::kRateValue);
}

TEST_F(PlainPrometheus, EmptyVectorDependsOnIgnoreNullValues) {
  auto lenient = Evaluate(client_, Meta(Url(), ds::kMissingQuery));
  ASSERT_TRUE(lenient.ok()) << lenient.status().ToString();
  EXPECT_EQ(lenient->value, 0);
  EXPECT_FALSE(lenient->active);
  EXPECT_TRUE(lenient->empty_response);
  auto strict = Evaluate(client_, Meta(Url(), ds::kMissingQuery, {{"ignoreNullValues", "false"}}));
  ASSERT_FALSE(strict.ok());
  EXPECT_THAT(strict.status().message(), HasSubstr("empty"));
}

TEST_F(PlainPrometheus, MultiElementVectorNamesTheLabelSets) {
  auto v = Evaluate(client_, Meta(Url(), ds::kMultiQuery));
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("pool=\"blue\""));
  EXPECT_THAT(v.status().message(), HasSubstr("pool=\"red\""));
  auto sum = Evaluate(client_, Meta(Url(), ds::kMultiSumQuery));
  ASSERT_TRUE(sum.ok());
  EXPECT_DOUBLE_EQ(sum->value, ds::kMultiSum);
}

TEST_F(PlainPrometheus, RangeVectorIsAClearError) {
  auto v = Evaluate(client_, Meta(Url(), ds::kSingleRangeQuery));
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("range vector"));
}

TEST_F(PlainPrometheus, NaNDependsOnIgnoreNullValues) {
  auto lenient = Evaluate(client_, Meta(Url(), ds::kNaNQuery));
  ASSERT_TRUE(lenient.ok()) << lenient.status().ToString();
  EXPECT_EQ(lenient->value, 0);
  auto strict = Evaluate(client_, Meta(Url(), ds::kNaNQuery, {{"ignoreNullValues", "false"}}));
  ASSERT_FALSE(strict.ok());
  EXPECT_THAT(strict.status().message(), HasSubstr("NaN"));
}

TEST_F(PlainPrometheus, BadPromQLCarriesPrometheusError) {
  auto v = Evaluate(client_, Meta(Url(), "sum(rate(x[1m])"));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(v.status().message(), HasSubstr("bad_data"));
}

TEST_F(PlainPrometheus, WrongPathIsNamed) {
  auto v = Evaluate(client_, Meta(Url() + "/api/v1", ds::kSingleQuery));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kNotFound);
}

class SecuredPrometheus : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::PrometheusOptions options;
    options.tls = testing::PrometheusTls{};
    options.basic_auth_users = {testing::TestBasicAuthUser()};
    server_ = StartServer(std::move(options)).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr); }
  static std::string Auth(const std::string& modes_param, const std::string& secret_data) {
    return "apiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\n"
           "metadata: {name: prom-auth, namespace: ns}\nspec:\n  secretTargetRef:\n" + modes_param +
           "---\napiVersion: v1\nkind: Secret\nmetadata: {name: prom, namespace: ns}\nstringData:\n" +
           secret_data;
  }
  static std::string Ca() {
    std::string out;
    for (char c : server_->ca_pem()) out += c == '\n' ? std::string("\n    ") : std::string(1, c);
    return out;
  }
  static std::string BasicAuth(const std::string& password) {
    return Auth("  - {parameter: username, name: prom, key: user}\n"
                "  - {parameter: password, name: prom, key: pass}\n"
                "  - {parameter: ca, name: prom, key: ca}\n",
                "  user: ebb\n  pass: " + password + "\n  ca: |\n    " + Ca() + "\n");
  }
  static testing::PrometheusServer* server_;
  http::CurlHttpClient client_;
};
testing::PrometheusServer* SecuredPrometheus::server_ = nullptr;

TEST_F(SecuredPrometheus, BasicAuthWithCaWorks) {
  auto v = Evaluate(client_, Meta(server_->base_url(), ds::kSingleQuery, {{"authModes", "basic"}}),
                    BasicAuth(std::string(testing::kTestBasicAuthPassword)));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_DOUBLE_EQ(v->value, ds::kSingleValue);
}

TEST_F(SecuredPrometheus, WrongPasswordIsReportedAsSuch) {
  auto v = Evaluate(client_, Meta(server_->base_url(), ds::kSingleQuery, {{"authModes", "basic"}}),
                    BasicAuth("not-the-password"));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(v.status().message(), HasSubstr("401"));
  EXPECT_THAT(v.status().message(), HasSubstr("basic auth (username \"ebb\")"));
  EXPECT_FALSE(ContainsSecret(v.status().message(), "not-the-password"));
}

TEST_F(SecuredPrometheus, BearerIsRejected) {
  std::string auth = Auth("  - {parameter: bearerToken, name: prom, key: token}\n"
                          "  - {parameter: ca, name: prom, key: ca}\n",
                          "  token: some-token-value\n  ca: |\n    " + Ca() + "\n");
  auto v = Evaluate(client_, Meta(server_->base_url(), ds::kSingleQuery, {{"authModes", "bearer"}}), auth);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(v.status().message(), HasSubstr("bearer token"));
  EXPECT_FALSE(ContainsSecret(v.status().message(), "some-token-value"));
}

TEST_F(SecuredPrometheus, NoCredentialsSaysNoneWereSent) {
  std::map<std::string, std::string> meta = Meta(server_->base_url(), ds::kSingleQuery);
  meta["unsafeSsl"] = "true";
  auto v = Evaluate(client_, meta);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(v.status().message(), HasSubstr("no credentials"));
}

TEST_F(SecuredPrometheus, UntrustedCertificateIsNamed) {
  auto v = Evaluate(client_, Meta(server_->base_url(), ds::kSingleQuery));
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(ToLower(v.status().message()), HasSubstr("certificate"));
}

TEST(ClientCertificatePrometheus, TlsModeWithCa) {
  testing::PrometheusOptions options;
  options.tls = testing::PrometheusTls{};
  options.tls->require_client_cert = true;
  auto server = StartServer(std::move(options));
  ASSERT_NE(server, nullptr);
  auto indent = [](const std::string& pem) {
    std::string out;
    for (char c : pem) out += c == '\n' ? std::string("\n    ") : std::string(1, c);
    return out;
  };
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  std::string auth =
      "apiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\n"
      "metadata: {name: prom-auth, namespace: ns}\nspec:\n  secretTargetRef:\n"
      "  - {parameter: cert, name: prom, key: cert}\n  - {parameter: key, name: prom, key: key}\n"
      "  - {parameter: ca, name: prom, key: ca}\n"
      "---\napiVersion: v1\nkind: Secret\nmetadata: {name: prom, namespace: ns}\nstringData:\n"
      "  cert: |\n    " + indent(read(server->client_cert_file())) + "\n  key: |\n    " +
      indent(read(server->client_key_file())) + "\n  ca: |\n    " + indent(server->ca_pem()) + "\n";
  http::CurlHttpClient client;
  auto v = Evaluate(client, Meta(server->base_url(), ds::kSingleQuery, {{"authModes", "tls"}}), auth);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_DOUBLE_EQ(v->value, ds::kSingleValue);
}

// `ebb query` end to end: manifest files -> real Prometheus -> JSON.
TEST(EbbQuery, JsonShapeAgainstARealPrometheus) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("ebb-query-it-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "so.yaml")
      << "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: web}\nspec:\n"
         "  scaleTargetRef: {name: web}\n  maxReplicaCount: 10\n  triggers:\n"
         "  - type: prometheus\n    metadata:\n      serverAddress: " << server->base_url() << "\n"
         "      query: 'sum(rate(ebb_requests_total[1m]))'\n      threshold: '2'\n"
         "  - type: prometheus\n    name: broken\n    metadata:\n      serverAddress: "
      << server->base_url() << "\n      query: 'ebb_pool_load'\n      threshold: '1'\n";
  cmd::QueryOptions options;
  options.files = {dir.string()};
  options.output = "json";
  options.time = FormatRfc3339(kEval);
  std::ostringstream out, err;
  int code = cmd::RunQuery(options, out, err);
  fs::remove_all(dir);
  EXPECT_EQ(code, 1) << "one trigger fails: exit 1, output still complete\n" << err.str();
  auto j = nlohmann::json::parse(out.str());
  const auto& so = j["scaledObjects"][0];
  EXPECT_EQ(so["namespace"], "default");
  EXPECT_EQ(so["name"], "web");
  EXPECT_EQ(so["triggers"][0]["index"], 0);
  EXPECT_EQ(so["triggers"][0]["name"], "");
  EXPECT_EQ(so["triggers"][0]["type"], "prometheus");
  EXPECT_DOUBLE_EQ(so["triggers"][0]["value"].get<double>(), 5.0);
  EXPECT_EQ(so["triggers"][0]["active"], true);
  EXPECT_TRUE(so["triggers"][0]["error"].is_null());
  EXPECT_TRUE(so["triggers"][1]["value"].is_null());
  EXPECT_EQ(so["triggers"][1]["error"]["code"], "invalid_config");
  EXPECT_EQ(so["replicasImplied"], 3) << "ceil(5 / 2) from the trigger that succeeded";
}

TEST(EbbQuery, UnusableInputExitsTwoNamingTheField) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("ebb-query-bad-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "so.yaml")
      << "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: web}\nspec:\n"
         "  scaleTargetRef: {name: web}\n  triggers:\n  - type: prometheus\n    metadata:\n"
         "      serverAddress: http://127.0.0.1:1\n      query: up\n      threshold: abc\n";
  cmd::QueryOptions options;
  options.files = {dir.string()};
  std::ostringstream out, err;
  int code = cmd::RunQuery(options, out, err);
  fs::remove_all(dir);
  EXPECT_EQ(code, 2);
  EXPECT_THAT(err.str(), HasSubstr("so.yaml:11 (document 1, ScaledObject default/web): "
                                   "spec.triggers[0].metadata.threshold: \"abc\" is not a number"));
}

}  // namespace
}  // namespace ebb
