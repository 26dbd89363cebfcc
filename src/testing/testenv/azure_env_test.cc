#include "testing/testenv/azure_env.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/strings.h"

namespace ebb::testing::azure {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += "&";
    out += httplib::detail::encode_query_param(k) + "=" + httplib::detail::encode_query_param(v);
  }
  return out;
}

class AzureTestEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    upstream_ =
        LoopbackServer::Start(std::nullopt, [](httplib::Server& s) {
          s.Get("/api/v1/query", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(R"({"status":"success","data":{"resultType":"vector","result":[]}})",
                            "application/json");
          });
        }).value();
  }

  std::unique_ptr<AzureTestEnv> StartEnv(Misconfiguration mis, const std::string& name) {
    AzureTestEnvOptions options;
    options.prometheus_url = upstream_->base_url();
    options.dir = ::testing::TempDir() + "azure_env_test_" + name;
    options.ns = "keda";
    options.service_account = "ebb";
    options.misconfiguration = mis;
    return AzureTestEnv::Start(options, clock_).value();
  }

  // The workload-identity exchange as a client does it, from the files only.
  FetchResult Exchange(const AzureTestEnv& env) {
    FetchOptions options;
    options.method = "POST";
    options.ca_pem = ReadFile(env.ca_file());
    options.body = FormEncode({{"grant_type", "client_credentials"},
                               {"client_id", env.options().client_id},
                               {"client_assertion_type", kJwtBearerAssertionType},
                               {"client_assertion", ReadFile(env.token_file())},
                               {"scope", "https://prometheus.monitor.azure.com/.default"}});
    std::string url = const_cast<AzureTestEnv&>(env).idp().token_url(env.options().tenant_id);
    return HttpFetch(url, options).value();
  }

  FetchResult Query(AzureTestEnv& env, const std::string& token) {
    FetchOptions options;
    options.ca_pem = ReadFile(env.ca_file());
    options.headers = {{"Authorization", "Bearer " + token}};
    return HttpFetch(env.front_door().base_url() + "/api/v1/query?query=up", options).value();
  }

  static int AadCode(const FetchResult& r) {
    nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
    return body.is_object() ? body["error_codes"][0].get<int>() : 0;
  }

  SimulatedClock clock_{RealClock::Instance().Now()};
  std::unique_ptr<LoopbackServer> upstream_;
};

TEST_F(AzureTestEnvTest, WritesFilesAndTheEnv) {
  auto env = StartEnv(Misconfiguration::kNone, "files");
  EXPECT_TRUE(StartsWith(ReadFile(env->ca_file()), "-----BEGIN CERTIFICATE-----"));
  EXPECT_EQ(Split(ReadFile(env->token_file()), '.').size(), 3u);
  std::string e = ReadFile(env->env_file());
  EXPECT_NE(e.find("export AZURE_CLIENT_ID=" + env->options().client_id + "\n"), std::string::npos);
  EXPECT_NE(e.find("export AZURE_TENANT_ID=" + env->options().tenant_id + "\n"), std::string::npos);
  EXPECT_NE(e.find("export AZURE_FEDERATED_TOKEN_FILE=" + env->token_file() + "\n"),
            std::string::npos);
  EXPECT_NE(e.find("export AZURE_AUTHORITY_HOST=" + env->idp().authority_url() + "\n"),
            std::string::npos);
  EXPECT_TRUE(EndsWith(env->idp().authority_url(), "/"));
  EXPECT_NE(e.find("export SSL_CERT_FILE=" + env->ca_file() + "\n"), std::string::npos);
  std::string d = env->Describe();
  EXPECT_NE(d.find(env->front_door().base_url()), std::string::npos);
  EXPECT_NE(d.find(env->imds().token_url()), std::string::npos);
  EXPECT_NE(d.find(env->issuer().issuer_url()), std::string::npos);
}

TEST_F(AzureTestEnvTest, WholeFlowFromTheFilesReachesPrometheus) {
  auto env = StartEnv(Misconfiguration::kNone, "flow");
  FetchResult exchange = Exchange(*env);
  ASSERT_EQ(exchange.status, 200) << exchange.body;
  std::string token = nlohmann::json::parse(exchange.body)["access_token"];
  FetchResult query = Query(*env, token);
  EXPECT_EQ(query.status, 200) << query.body;
  EXPECT_NE(query.body.find("\"resultType\":\"vector\""), std::string::npos);
  EXPECT_EQ(env->front_door().counters().proxied, 1);
}

TEST_F(AzureTestEnvTest, TokenFileIsRefreshedAtEightyPercent) {
  auto env = StartEnv(Misconfiguration::kNone, "refresh");
  EXPECT_EQ(env->NextRefresh(), clock_.Now() + std::chrono::seconds(2880));
  std::string before = ReadFile(env->token_file());
  clock_.Advance(std::chrono::seconds(2880));
  ASSERT_TRUE(env->RefreshTokenFile().ok());
  EXPECT_NE(ReadFile(env->token_file()), before);
  EXPECT_EQ(Exchange(*env).status, 200);
}

TEST_F(AzureTestEnvTest, MisconfigurationsShowTheirErrors) {
  EXPECT_EQ(AadCode(Exchange(*StartEnv(Misconfiguration::kSubject, "subject"))), 700213);
  EXPECT_EQ(AadCode(Exchange(*StartEnv(Misconfiguration::kIssuer, "issuer"))), 700211);
  EXPECT_EQ(AadCode(Exchange(*StartEnv(Misconfiguration::kAudience, "audience"))), 70021);
  EXPECT_EQ(AadCode(Exchange(*StartEnv(Misconfiguration::kClientId, "client"))), 700016);
  auto env = StartEnv(Misconfiguration::kRole, "role");
  FetchResult exchange = Exchange(*env);
  ASSERT_EQ(exchange.status, 200);
  EXPECT_EQ(Query(*env, nlohmann::json::parse(exchange.body)["access_token"]).status, 403);
}

TEST(MisconfigurationTest, Parses) {
  Misconfiguration m;
  ASSERT_TRUE(ParseMisconfiguration("role", &m));
  EXPECT_EQ(m, Misconfiguration::kRole);
  EXPECT_FALSE(ParseMisconfiguration("bogus", &m));
}

}  // namespace
}  // namespace ebb::testing::azure
