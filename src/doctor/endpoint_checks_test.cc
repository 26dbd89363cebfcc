// endpoint.* against loopback servers, and the proxy selection.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "doctor/checks.h"
#include "doctor/doctor.h"
#include "doctor/test_util.h"
#include "http/curl_http_client.h"
#include "testing/azure/loopback_server.h"
#include "testing/pki/test_pki.h"

namespace ebb::doctor {
namespace {

using ::testing::HasSubstr;
namespace az = ebb::testing::azure;

TEST(ProxyForTest, FollowsCurlsVariables) {
  auth::Environment env = {{"https_proxy", "http://proxy:3128"},
                           {"no_proxy", ".internal,localhost"}};
  EXPECT_EQ(ProxyFor("https://w.eastus.prometheus.monitor.azure.com/api/v1/query", env),
            "http://proxy:3128");
  EXPECT_EQ(ProxyFor("https://prom.internal/api/v1/query", env), "");
  EXPECT_EQ(ProxyFor("https://localhost:9090/", env), "");
  EXPECT_EQ(ProxyFor("http://prom:9090/", env), "");
  EXPECT_EQ(ProxyFor("http://prom:9090/", {{"ALL_PROXY", "http://all:1"}}), "http://all:1");
  EXPECT_EQ(ProxyFor("https://x/", {{"HTTPS_PROXY", "http://p:1"}, {"NO_PROXY", "*"}}), "");
}

class EndpointChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = std::make_unique<ebb::testing::TestCa>(ebb::testing::TestCa::Create().value());
    cert_ = ca_->IssueServer({"localhost"}).value();
    server_ = az::LoopbackServer::Start(cert_, [](httplib::Server&) {}).value();
    ctx_.clock = &RealClock::Instance();
    ctx_.connect_timeout = std::chrono::milliseconds(2000);
  }

  std::vector<CheckResult> Check(const std::string& server) {
    set_ = testutil::Manifests(testutil::ScaledObjectYaml(server, "up", "10"));
    t_ = TriggerUnderTest{};
    t_.so = &set_.scaled_objects.at(0);
    t_.set = &set_;
    EXPECT_EQ(CheckTrigger(t_).status, CheckResult::kPass);
    std::vector<CheckResult> r = CheckEndpoint(t_, ctx_);
    for (const CheckResult& c : r) text_ += c.id + " " + c.detail + " " + c.fix + "\n";
    testutil::ExpectNoSecrets(text_, {cert_.key_pem});
    return r;
  }
  static const CheckResult* Find(const std::vector<CheckResult>& rs, const std::string& id) {
    for (const CheckResult& r : rs) {
      if (r.id == id) return &r;
    }
    return nullptr;
  }

  std::unique_ptr<ebb::testing::TestCa> ca_;
  ebb::testing::IssuedCert cert_;
  std::unique_ptr<az::LoopbackServer> server_;
  testutil::TempDir dir_;
  DoctorContext ctx_;
  api::ManifestSet set_;
  TriggerUnderTest t_;
  std::string text_;
};

TEST_F(EndpointChecksTest, TrustedCertificatePasses) {
  ctx_.ca_file = dir_.Write("ca.crt", ca_->cert_pem());
  auto r = Check(server_->base_url());
  ASSERT_EQ(r.size(), 4u) << text_;
  for (const CheckResult& c : r) EXPECT_EQ(c.status, CheckResult::kPass) << text_;
  EXPECT_THAT(Find(r, "endpoint.tls")->detail, HasSubstr("certificate subject"));
  EXPECT_THAT(Find(r, "endpoint.tls")->detail, HasSubstr("expires"));
}

TEST_F(EndpointChecksTest, UntrustedCertificateShowsWhatTheServerPresents) {
  auto r = Check(server_->base_url());
  const CheckResult* tls = Find(r, "endpoint.tls");
  ASSERT_NE(tls, nullptr) << text_;
  EXPECT_EQ(tls->status, CheckResult::kFail);
  EXPECT_THAT(tls->detail, HasSubstr("the server presents subject"));
  EXPECT_THAT(tls->fix, HasSubstr("`ca`"));
  EXPECT_EQ(Find(r, "endpoint.tcp")->status, CheckResult::kPass);
}

TEST_F(EndpointChecksTest, ResolvePinsAHostName) {
  ctx_.ca_file = dir_.Write("ca.crt", ca_->cert_pem());
  std::string port = std::to_string(server_->port());
  ctx_.resolve = {"localhost:" + port + ":127.0.0.1"};
  auto r = Check("https://localhost:" + port);
  EXPECT_THAT(Find(r, "endpoint.dns")->detail, HasSubstr("pinned by --resolve to 127.0.0.1"));
  EXPECT_EQ(Find(r, "endpoint.tls")->status, CheckResult::kPass) << text_;
}

TEST_F(EndpointChecksTest, RefusedConnectionFailsTcpAndStops) {
  std::string url = server_->base_url();
  server_->Stop();
  auto r = Check(url);
  const CheckResult* tcp = Find(r, "endpoint.tcp");
  ASSERT_NE(tcp, nullptr) << text_;
  EXPECT_EQ(tcp->status, CheckResult::kFail);
  EXPECT_THAT(tcp->detail, HasSubstr("cannot connect to 127.0.0.1:"));
  EXPECT_EQ(Find(r, "endpoint.tls"), nullptr);
}

TEST_F(EndpointChecksTest, PlainHttpHasNoTlsStep) {
  auto plain = az::LoopbackServer::Start(std::nullopt, [](httplib::Server&) {}).value();
  auto r = Check(plain->base_url());
  EXPECT_EQ(Find(r, "endpoint.tls"), nullptr);
  EXPECT_EQ(Find(r, "endpoint.tcp")->status, CheckResult::kPass) << text_;
}

TEST(QueryTimeoutTest, SlowServerFailsQueryStatusWithTheTimeoutAndEgressHint) {
  auto slow = az::LoopbackServer::Start(std::nullopt, [](httplib::Server& s) {
                s.Get("/api/v1/query", [](const httplib::Request&, httplib::Response& res) {
                  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
                  res.set_content("{}", "application/json");
                });
              }).value();
  api::ManifestSet set = testutil::Manifests(
      testutil::ScaledObjectYaml(slow->base_url(), "up", "10", "", "      timeout: \"300\"\n"));
  http::CurlHttpClient client;
  DoctorContext ctx;
  ctx.clock = &RealClock::Instance();
  ctx.client = &client;
  ctx.token_cache = std::make_shared<auth::TokenCache>(RealClock::Instance());
  Report report = RunDoctor(set, ctx, {});
  const CheckResult* c = report.Find("query.status");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, CheckResult::kFail);
  EXPECT_THAT(c->fix, HasSubstr("raise metadata.timeout (now 300 ms)"));
  EXPECT_THAT(c->fix, HasSubstr("NetworkPolicy"));
  EXPECT_EQ(report.Find("endpoint.tcp")->status, CheckResult::kPass);
  EXPECT_EQ(report.Find("threshold.values")->status, CheckResult::kSkip);
  std::ostringstream out;
  report.RenderJson(out);
  testutil::ExpectNoSecrets(out.str());
}

}  // namespace
}  // namespace ebb::doctor
