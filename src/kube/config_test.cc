// Every configuration source: in-cluster and kubeconfig (each user and
// cluster field), merging, the loading order.
#include "kube/config.h"

#include <gtest/gtest.h>

#include <map>

#include "common/strings.h"
#include "kube/kube_test_util.h"

namespace ebb::kube {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

class InClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("sa/token", "tok\n");
    dir_.Write("sa/ca.crt", "CA");
    dir_.Write("sa/namespace", "keda\n");
  }
  std::string Sa() const { return dir_.path() + "/sa"; }
  ScratchDir dir_;
};

TEST_F(InClusterTest, ServiceHostPortCaTokenNamespace) {
  auto c = LoadInClusterConfig(
      Env({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}), Sa());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://10.0.0.1:443");
  EXPECT_EQ(c->ca_file, Sa() + "/ca.crt");
  EXPECT_EQ(c->token_file, Sa() + "/token");
  EXPECT_EQ(c->namespace_name, "keda");
  EXPECT_EQ(c->source, "in-cluster");
}

TEST_F(InClusterTest, Ipv6IsBracketedAndPodNamespaceWins) {
  auto c = LoadInClusterConfig(Env({{"KUBERNETES_SERVICE_HOST", "fd00::1"},
                                    {"KUBERNETES_SERVICE_PORT", "6443"},
                                    {"POD_NAMESPACE", "mine"}}),
                               Sa());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->server, "https://[fd00::1]:6443");
  EXPECT_EQ(c->namespace_name, "mine");
}

TEST_F(InClusterTest, DefaultNamespaceAndErrors) {
  ScratchDir bare;
  bare.Write("token", "t");
  auto c = LoadInClusterConfig(
      Env({{"KUBERNETES_SERVICE_HOST", "h"}, {"KUBERNETES_SERVICE_PORT", "1"}}), bare.path());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->namespace_name, "default");
  EXPECT_EQ(LoadInClusterConfig(Env({}), Sa()).status().code(), StatusCode::kInvalidConfig);
  auto no_token = LoadInClusterConfig(
      Env({{"KUBERNETES_SERVICE_HOST", "h"}, {"KUBERNETES_SERVICE_PORT", "1"}}), "/nonexistent");
  EXPECT_EQ(no_token.status().code(), StatusCode::kInvalidConfig);
}

constexpr char kConfig[] = R"(apiVersion: v1
kind: Config
current-context: token
clusters:
- name: c1
  cluster:
    server: https://one.example:6443/
    certificate-authority: ca.pem
- name: c2
  cluster:
    server: https://two.example
    certificate-authority-data: Q0FEQVRB
    tls-server-name: api.internal
- name: c3
  cluster:
    server: https://three.example
    insecure-skip-tls-verify: true
contexts:
- name: token
  context: {cluster: c1, user: token, namespace: shop}
- name: tokenfile
  context: {cluster: c2, user: tokenfile}
- name: certdata
  context: {cluster: c3, user: certdata}
- name: certfile
  context: {cluster: c1, user: certfile}
- name: basic
  context: {cluster: c1, user: basic}
- name: exec
  context: {cluster: c1, user: exec}
- name: nouser
  context: {cluster: c1}
- name: badcluster
  context: {cluster: missing, user: token}
users:
- name: token
  user: {token: s3cr3t}
- name: tokenfile
  user: {tokenFile: secrets/token}
- name: certdata
  user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}
- name: certfile
  user: {client-certificate: /abs/c.crt, client-key: rel/c.key}
- name: basic
  user: {username: admin, password: hunter2}
- name: exec
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/get-token
      args: [--cluster, c1]
      env: [{name: REGION, value: eu}]
      installHint: install get-token
)";

class KubeconfigTest : public ::testing::Test {
 protected:
  Result<RestConfig> Load(const std::string& context) {
    std::string path = dir_.Write("kubeconfig", kConfig);
    return LoadKubeconfig({.kubeconfig = path, .context = context}, Env({}));
  }
  ScratchDir dir_;
};

TEST_F(KubeconfigTest, StaticTokenCaFileAndNamespace) {
  auto c = Load("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://one.example:6443");
  EXPECT_EQ(c->ca_file, dir_.path() + "/ca.pem");  // relative to the kubeconfig
  EXPECT_EQ(c->token.Reveal(), "s3cr3t");
  EXPECT_EQ(c->namespace_name, "shop");
  EXPECT_FALSE(ContainsSecret(c->ToString(), "s3cr3t"));
}

TEST_F(KubeconfigTest, TokenFileAndCaData) {
  auto c = Load("tokenfile");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->token_file, dir_.path() + "/secrets/token");
  EXPECT_EQ(c->ca_pem, "CADATA");
  EXPECT_TRUE(c->ca_file.empty());
  EXPECT_EQ(c->tls_server_name, "api.internal");
  EXPECT_EQ(c->namespace_name, "default");
}

TEST_F(KubeconfigTest, ClientCertificateDataAndInsecure) {
  auto c = Load("certdata");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->client_cert_pem, "CERT");
  EXPECT_EQ(c->client_key_pem.Reveal(), "KEY");
  EXPECT_FALSE(ContainsSecret(c->ToString(), "KEY"));
}

TEST_F(KubeconfigTest, ClientCertificateFiles) {
  auto c = Load("certfile");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->client_cert_file, "/abs/c.crt");
  EXPECT_EQ(c->client_key_file, dir_.path() + "/rel/c.key");
}

TEST_F(KubeconfigTest, BasicAuth) {
  auto c = Load("basic");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->username, "admin");
  EXPECT_EQ(c->password.Reveal(), "hunter2");
  EXPECT_FALSE(ContainsSecret(c->ToString(), "hunter2"));
}

TEST_F(KubeconfigTest, ExecPlugin) {
  auto c = Load("exec");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->exec.has_value());
  EXPECT_EQ(c->exec->command, dir_.path() + "/./bin/get-token");
  EXPECT_EQ(c->exec->args, (std::vector<std::string>{"--cluster", "c1"}));
  EXPECT_EQ(c->exec->env.at(0), (std::pair<std::string, std::string>{"REGION", "eu"}));
  EXPECT_EQ(c->exec->api_version, "client.authentication.k8s.io/v1");
  EXPECT_EQ(c->exec->install_hint, "install get-token");
}

TEST_F(KubeconfigTest, ContextWithoutUserAndErrors) {
  auto c = Load("nouser");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->token.empty());
  EXPECT_EQ(Load("nope").status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(Load("nope").status().message().find("context \"nope\" not found"), std::string::npos);
  EXPECT_NE(Load("badcluster").status().message().find("cluster \"missing\""), std::string::npos);
  EXPECT_EQ(LoadKubeconfig({.kubeconfig = "/nonexistent"}, Env({})).status().code(),
            StatusCode::kInvalidConfig);
}

TEST(KubeconfigMergeTest, KubeconfigListFirstDefinitionWins) {
  ScratchDir dir;
  std::string a = dir.Write("a", R"(current-context: one
contexts: [{name: one, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://a.example"}}]
)");
  std::string b = dir.Write("b", R"(current-context: two
clusters: [{name: c, cluster: {server: "https://b.example"}}]
users: [{name: u, user: {token: from-b}}]
)");
  auto c = LoadKubeconfig({}, Env({{"KUBECONFIG", a + ":" + dir.path() + "/missing:" + b}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://a.example");
  EXPECT_EQ(c->token.Reveal(), "from-b");
}

TEST(LoadRestConfigTest, OrderKubeconfigInClusterHome) {
  ScratchDir dir;
  dir.Write("home/.kube/config", R"(current-context: x
contexts: [{name: x, context: {cluster: c}}]
clusters: [{name: c, cluster: {server: "https://home.example"}}]
)");
  std::string named = dir.Write("named", R"(current-context: x
contexts: [{name: x, context: {cluster: c}}]
clusters: [{name: c, cluster: {server: "https://named.example"}}]
)");
  dir.Write("sa/token", "t");
  std::string sa = dir.path() + "/sa";
  std::map<std::string, std::string> env = {{"HOME", dir.path() + "/home"}};
  EXPECT_EQ(LoadRestConfig({}, Env(env), sa)->server, "https://home.example");
  env["KUBERNETES_SERVICE_HOST"] = "10.0.0.1";
  env["KUBERNETES_SERVICE_PORT"] = "443";
  EXPECT_EQ(LoadRestConfig({}, Env(env), sa)->server, "https://10.0.0.1:443");
  env["KUBECONFIG"] = named;
  EXPECT_EQ(LoadRestConfig({}, Env(env), sa)->server, "https://named.example");
  auto flag = LoadRestConfig(
      {.kubeconfig = dir.path() + "/home/.kube/config", .namespace_override = "ns2"}, Env(env), sa);
  EXPECT_EQ(flag->server, "https://home.example");
  EXPECT_EQ(flag->namespace_name, "ns2");
}

}  // namespace
}  // namespace ebb::kube

namespace ebb::kube {
namespace {

// Found by fuzz/kubeconfig_fuzz: an exec argument that is a mapping made
// yaml-cpp throw through ParseKubeconfig and abort the process.
TEST(KubeconfigShapeTest, ExecArgumentOfTheWrongShapeIsAnErrorNotAnAbort) {
  const std::string text = R"(apiVersion: v1
kind: Config
current-context: ctx
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
contexts:
- name: ctx
  context: {cluster: c, user: u}
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: /bin/true
      args: [ok, {not: a string}]
)";
  Result<RestConfig> c = ParseKubeconfig({{"kubeconfig", text}}, "");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(c.status().message().find("args"), std::string::npos) << c.status().ToString();
}

}  // namespace
}  // namespace ebb::kube
