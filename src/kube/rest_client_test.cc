// RestClient against the fake API server: CRUD, errors decoded from
// metav1.Status, pagination, retries, authentication of every kind.
#include "kube/rest_client.h"

#include <gtest/gtest.h>

#include <optional>

#include "http/testing/fake_http_client.h"
#include "kube/kube_test_util.h"
#include "testing/pki/test_pki.h"

namespace ebb::kube {
namespace {

using nlohmann::json;

class RestClientTest : public KubeTest {
 protected:
  ApiResult Sync(std::function<void(ApiCallback)> call) {
    std::promise<ApiResult> p;
    call([&](ApiResult r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
};

TEST_F(RestClientTest, CreateGetUpdateConflictPatchDelete) {
  ApiResult created =
      Sync([&](ApiCallback cb) { rest_->Create(kDeployments, "ns", Deployment("web", 1), cb); });
  ASSERT_TRUE(created.ok()) << created.status.ToString();
  EXPECT_EQ(created.http_status, 201);
  ApiResult got = Sync([&](ApiCallback cb) { rest_->Get(kDeployments, "ns", "web", cb); });
  ASSERT_TRUE(got.ok());
  json v1 = got.object;
  v1["spec"]["replicas"] = 2;
  ASSERT_TRUE(Sync([&](ApiCallback cb) { rest_->Update(kDeployments, "ns", "web", v1, cb); }).ok());
  json stale = got.object;
  stale["spec"]["replicas"] = 3;
  ApiResult conflict =
      Sync([&](ApiCallback cb) { rest_->Update(kDeployments, "ns", "web", stale, cb); });
  EXPECT_TRUE(conflict.IsConflict());
  EXPECT_EQ(conflict.status.code(), StatusCode::kUnavailable);
  EXPECT_NE(conflict.status.message().find("the object has been modified"), std::string::npos);
  ApiResult again =
      Sync([&](ApiCallback cb) { rest_->Create(kDeployments, "ns", Deployment("web", 1), cb); });
  EXPECT_TRUE(again.IsAlreadyExists());
  EXPECT_FALSE(again.IsConflict());
  ApiResult patched = Sync([&](ApiCallback cb) {
    rest_->MergePatch(kDeployments, "ns", "web", {{"spec", {{"replicas", 7}}}}, "", cb);
  });
  EXPECT_EQ(patched.object["spec"]["replicas"], 7);
  ApiResult status = Sync([&](ApiCallback cb) {
    rest_->MergePatch(kDeployments, "ns", "web", {{"status", {{"replicas", 7}}}}, "status", cb);
  });
  EXPECT_EQ(status.object["status"]["replicas"], 7);
  EXPECT_TRUE(Sync([&](ApiCallback cb) { rest_->Delete(kDeployments, "ns", "web", cb); }).ok());
  ApiResult gone = Sync([&](ApiCallback cb) { rest_->Get(kDeployments, "ns", "web", cb); });
  EXPECT_TRUE(gone.IsNotFound());
  EXPECT_EQ(gone.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(gone.status.message(),
            "GET /apis/apps/v1/namespaces/ns/deployments/web: deployments.apps \"web\" not found");
}

TEST_F(RestClientTest, ForbiddenAndUnauthorizedCodes) {
  server_->SetRbac(std::vector<testing::kube::RbacRule>{});
  ApiResult forbidden = rest_->CallSync({.path = "/api/v1/namespaces/ns/secrets"});
  EXPECT_EQ(forbidden.status.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(forbidden.status.message().find("cannot list resource \"secrets\""), std::string::npos);
  server_->RevokeToken(kTestToken);
  ApiResult unauthorized = rest_->CallSync({.path = "/api/v1/namespaces/ns/secrets"});
  EXPECT_EQ(unauthorized.status.code(), StatusCode::kUnauthenticated);
  EXPECT_FALSE(ContainsSecret(unauthorized.status.message(), kTestToken));
}

TEST_F(RestClientTest, ListAllFollowsContinueTokens) {
  for (int i = 0; i < 7; ++i) {
    server_->store().Create(Type("", "v1", "configmaps"), "ns",
                            {{"metadata", {{"name", "c" + std::to_string(i)}}}});
  }
  ApiResult all =
      Sync([&](ApiCallback cb) { rest_->ListAll(kConfigMaps, "ns", {.limit = 3}, cb); });
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all.object["items"].size(), 7u);
  EXPECT_FALSE(all.object["metadata"].contains("continue"));
  int lists = 0;
  for (const auto& r : server_->Requests()) lists += r.path == "/api/v1/namespaces/ns/configmaps";
  EXPECT_EQ(lists, 3);
}

TEST(RestClientListTest, ExpiredContinueRestartsUnpaged) {
  int calls = 0;
  http::FakeHttpClient fake([&](const http::HttpRequest& r) -> Result<http::HttpResponse> {
    ++calls;
    http::HttpResponse res;
    res.status = 200;
    if (r.url.find("continue=") != std::string::npos) {
      res.status = 410;
      res.body =
          R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410,"message":"too old"})";
    } else if (r.url.find("limit=") != std::string::npos) {
      res.body =
          R"({"metadata":{"resourceVersion":"5","continue":"abc"},"items":[{"metadata":{"name":"a"}}]})";
    } else {
      res.body =
          R"({"metadata":{"resourceVersion":"9"},"items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]})";
    }
    return res;
  });
  RestConfig c;
  c.server = "http://fake";
  RestClient rest(fake, c);
  ApiResult result;
  rest.ListAll(kSecrets, "ns", {.limit = 1}, [&](ApiResult r) { result = std::move(r); });
  ASSERT_TRUE(result.ok()) << result.status.ToString();
  EXPECT_EQ(result.object["items"].size(), 2u);
  EXPECT_EQ(result.object["metadata"]["resourceVersion"], "9");
  EXPECT_EQ(calls, 3);
}

TEST(RestClientListTest, ListAnswersOfAnotherShapeAreErrorsNotThrows) {
  // A list without metadata used to throw inside the HTTP callback
  // (json::value on null), and the caller never heard back.
  std::string body;
  http::FakeHttpClient fake([&](const http::HttpRequest&) -> Result<http::HttpResponse> {
    http::HttpResponse res;
    res.status = 200;
    res.body = body;
    return res;
  });
  RestConfig c;
  c.server = "http://fake";
  RestClient rest(fake, c);
  for (std::string ok : {R"({"items":[{"metadata":{"name":"a"}}]})", R"({"metadata":null})",
                         R"({"metadata":{"continue":5},"items":[]})"}) {
    body = ok;
    std::optional<ApiResult> result;
    rest.ListAll(kSecrets, "ns", {}, [&](ApiResult r) { result = std::move(r); });
    ASSERT_TRUE(result.has_value()) << ok;
    EXPECT_TRUE(result->ok()) << ok << ": " << result->status.ToString();
    EXPECT_TRUE(result->object["metadata"].is_object()) << ok;
    EXPECT_TRUE(result->object["items"].is_array()) << ok;
  }
  for (std::string bad : {R"([1,2])", R"("x")", R"({"items":5})", R"({"metadata":[1],"items":[]})"}) {
    body = bad;
    std::optional<ApiResult> result;
    rest.ListAll(kSecrets, "ns", {}, [&](ApiResult r) { result = std::move(r); });
    ASSERT_TRUE(result.has_value()) << bad;
    EXPECT_FALSE(result->ok()) << bad;
    EXPECT_NE(result->status.message().find("is not a list"), std::string::npos) << bad;
  }
}

TEST_F(RestClientTest, TooManyRequestsIsRetriedAfterRetryAfter) {
  server_->InjectFault({"GET", "/secrets", 429, 1});
  ApiResult r = rest_->CallSync({.path = "/api/v1/namespaces/ns/secrets"});
  EXPECT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_EQ(server_->Requests().size(), 2u);
  server_->InjectFault({"GET", "/secrets", 500, 1});
  ApiResult failed = rest_->CallSync({.path = "/api/v1/namespaces/ns/secrets"});
  EXPECT_EQ(failed.status.code(), StatusCode::kUnavailable);  // no Retry-After: caller decides
}

TEST_F(RestClientTest, RotatedTokenFileIsReReadAfter401) {
  ScratchDir dir;
  RestConfig c;
  c.server = server_->base_url();
  c.token_file = dir.Write("token", kTestToken);
  RestClient rest(*http_, c);
  EXPECT_TRUE(rest.CallSync({.path = "/api/v1/namespaces/ns/secrets"}).ok());
  // The kubelet rotates the projected token; the old one stops working.
  dir.Write("token", "rotated");
  server_->SetToken("rotated", kTestUser);
  server_->RevokeToken(kTestToken);
  server_->ClearRequests();
  ApiResult r = rest.CallSync({.path = "/api/v1/namespaces/ns/secrets"});
  EXPECT_TRUE(r.ok()) << r.status.ToString();
  auto reqs = server_->Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].status, 401);
  EXPECT_EQ(reqs[1].user, kTestUser);
}

TEST_F(RestClientTest, ExecPluginCredentialRefreshedAfter401) {
  int runs = 0;
  RestClientOptions o;
  o.exec_runner = [&](const ExecConfig&) -> Result<ExecCredential> {
    ExecCredential e;
    e.token = SecretString(++runs == 1 ? "stale" : kTestToken);
    return e;
  };
  RestConfig c;
  c.server = server_->base_url();
  c.exec = ExecConfig{.command = "get-token"};
  RestClient rest(*http_, c, RealClock::Instance(), o);
  EXPECT_TRUE(rest.CallSync({.path = "/api/v1/namespaces/ns/secrets"}).ok());
  EXPECT_EQ(runs, 2);
}

TEST(RestClientTlsTest, CaClientCertificateBasicAndInsecure) {
  testing::TestCa ca = testing::TestCa::Create().value();
  testing::IssuedCert client = ca.IssueClient("alice").value();
  testing::kube::FakeApiServerOptions o;
  o.tls = ca.IssueServer({"localhost"}).value();
  o.client_ca_pem = ca.cert_pem();
  o.basic_users = {{"admin", "pw"}};
  auto server = testing::kube::FakeApiServer::Start(o).value();
  http::CurlHttpClient http;
  auto call = [&](RestConfig c) {
    c.server = server->base_url();
    RestClient rest(http, c);
    return rest.CallSync({.path = "/api/v1/namespaces/ns/secrets"});
  };
  RestConfig cert;
  cert.ca_pem = ca.cert_pem();
  cert.client_cert_pem = client.cert_pem;
  cert.client_key_pem = SecretString(client.key_pem);
  EXPECT_TRUE(call(cert).ok()) << call(cert).status.ToString();
  EXPECT_EQ(server->Requests().back().user, "alice");
  ScratchDir dir;
  RestConfig files;
  files.ca_file = dir.Write("ca.crt", ca.cert_pem());
  files.client_cert_file = dir.Write("c.crt", client.cert_pem);
  files.client_key_file = dir.Write("c.key", client.key_pem);
  EXPECT_TRUE(call(files).ok());
  RestConfig basic;
  basic.insecure_skip_tls_verify = true;
  basic.username = "admin";
  basic.password = SecretString("pw");
  EXPECT_TRUE(call(basic).ok());
  EXPECT_EQ(server->Requests().back().user, "admin");
  RestConfig untrusted;
  untrusted.username = "admin";
  untrusted.password = SecretString("pw");
  EXPECT_EQ(call(untrusted).status.code(), StatusCode::kInvalidConfig);
  http.Shutdown();
}

}  // namespace
}  // namespace ebb::kube

namespace ebb::kube {
namespace {

// From a configuration source to an answer: kubeconfig and in-cluster,
// over TLS with the CA they name.
class ConfigEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = std::make_unique<testing::TestCa>(testing::TestCa::Create().value());
    testing::kube::FakeApiServerOptions o;
    o.tls = ca_->IssueServer({"localhost"}).value();
    o.tokens = {{kTestToken, kTestUser}};
    server_ = testing::kube::FakeApiServer::Start(o).value();
  }
  void TearDown() override { http_.Shutdown(); }
  ApiResult Call(const RestConfig& c) {
    RestClient rest(http_, c);
    return rest.CallSync({.path = "/api/v1/namespaces/" + c.namespace_name + "/secrets"});
  }

  std::unique_ptr<testing::TestCa> ca_;
  std::unique_ptr<testing::kube::FakeApiServer> server_;
  http::CurlHttpClient http_;
  ScratchDir dir_;
};

TEST_F(ConfigEndToEndTest, Kubeconfig) {
  dir_.Write("ca.crt", ca_->cert_pem());
  dir_.Write("token", kTestToken);
  std::string path = dir_.Write("config",
                                "current-context: fake\n"
                                "clusters: [{name: c, cluster: {server: \"" +
                                    server_->base_url() +
                                    "\", certificate-authority: ca.crt}}]\n"
                                    "contexts: [{name: fake, context: {cluster: c, "
                                    "user: u, namespace: shop}}]\n"
                                    "users: [{name: u, user: {tokenFile: token}}]\n");
  auto c = LoadKubeconfig({.kubeconfig = path});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ApiResult r = Call(*c);
  EXPECT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_EQ(server_->Requests().back().path, "/api/v1/namespaces/shop/secrets");
  EXPECT_EQ(server_->Requests().back().user, kTestUser);
}

TEST_F(ConfigEndToEndTest, InCluster) {
  dir_.Write("sa/ca.crt", ca_->cert_pem());
  dir_.Write("sa/token", kTestToken);
  dir_.Write("sa/namespace", "keda");
  std::string port = std::to_string(server_->port());
  auto env = [port](const std::string& k) -> std::optional<std::string> {
    if (k == "KUBERNETES_SERVICE_HOST") return "127.0.0.1";
    if (k == "KUBERNETES_SERVICE_PORT") return port;
    return std::nullopt;
  };
  auto c = LoadRestConfig({}, env, dir_.path() + "/sa");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->source, "in-cluster");
  ApiResult r = Call(*c);
  EXPECT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_EQ(server_->Requests().back().path, "/api/v1/namespaces/keda/secrets");
}

}  // namespace
}  // namespace ebb::kube
