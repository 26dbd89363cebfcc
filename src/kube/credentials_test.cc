// Token files re-read on time and after a 401; exec plugins cached until
// expiry; RunExecPlugin against real scripts.
#include "kube/credentials.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "kube/kube_test_util.h"

namespace ebb::kube {
namespace {

TEST(CredentialSourceTest, TokenFileIsReReadEveryMinute) {
  ScratchDir dir;
  RestConfig c;
  c.token_file = dir.Write("token", "one\n");
  SimulatedClock clock;
  CredentialSource creds(c, clock);
  EXPECT_EQ(creds.Get()->bearer.Reveal(), "one");
  dir.Write("token", "two");
  clock.Advance(std::chrono::seconds(59));
  EXPECT_EQ(creds.Get()->bearer.Reveal(), "one");
  clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(creds.Get()->bearer.Reveal(), "two");
}

TEST(CredentialSourceTest, TokenFileIsReReadAfterInvalidate) {
  ScratchDir dir;
  RestConfig c;
  c.token_file = dir.Write("token", "one");
  SimulatedClock clock;
  CredentialSource creds(c, clock);
  EXPECT_EQ(creds.Get()->bearer.Reveal(), "one");
  dir.Write("token", "two");
  creds.Invalidate();
  EXPECT_EQ(creds.Get()->bearer.Reveal(), "two");
}

TEST(CredentialSourceTest, MissingTokenFileIsInvalidConfigUnlessOneWasRead) {
  RestConfig c;
  c.token_file = "/nonexistent/token";
  SimulatedClock clock;
  EXPECT_EQ(CredentialSource(c, clock).Get().status().code(), StatusCode::kInvalidConfig);
}

TEST(CredentialSourceTest, StaticTokenBasicAndCertificates) {
  SimulatedClock clock;
  RestConfig t;
  t.token = SecretString("static");
  EXPECT_EQ(CredentialSource(t, clock).Get()->bearer.Reveal(), "static");
  RestConfig b;
  b.username = "u";
  b.password = SecretString("p");
  auto basic = CredentialSource(b, clock).Get();
  EXPECT_EQ(basic->basic_user, "u");
  EXPECT_EQ(basic->basic_password.Reveal(), "p");
  RestConfig k;
  k.client_cert_pem = "CERT";
  k.client_key_pem = SecretString("KEY");
  auto cert = CredentialSource(k, clock).Get();
  EXPECT_EQ(cert->client_cert_pem, "CERT");
  EXPECT_TRUE(cert->bearer.empty());
}

TEST(CredentialSourceTest, ExecCredentialCachedUntilExpiry) {
  SimulatedClock clock;
  int runs = 0;
  RestConfig c;
  c.exec = ExecConfig{.command = "plugin"};
  CredentialSource creds(c, clock, [&](const ExecConfig&) -> Result<ExecCredential> {
    ExecCredential e;
    e.token = SecretString("tok" + std::to_string(++runs));
    e.expiration = clock.Now() + std::chrono::minutes(5);
    return e;
  });
  EXPECT_EQ(creds.Get()->bearer.Reveal(), "tok1");
  clock.Advance(std::chrono::minutes(4));
  EXPECT_EQ(creds.Get()->bearer.Reveal(), "tok1");
  clock.Advance(std::chrono::seconds(55));  // inside the renewal margin
  EXPECT_EQ(creds.Get()->bearer.Reveal(), "tok2");
  creds.Invalidate();
  EXPECT_EQ(creds.Get()->bearer.Reveal(), "tok3");
}

TEST(CredentialSourceTest, FailingPluginKeepsAValidCredential) {
  SimulatedClock clock;
  bool fail = false;
  RestConfig c;
  c.exec = ExecConfig{.command = "plugin"};
  CredentialSource creds(c, clock, [&](const ExecConfig&) -> Result<ExecCredential> {
    if (fail) return Unavailable("plugin down");
    ExecCredential e;
    e.token = SecretString("tok");
    e.expiration = clock.Now() + std::chrono::seconds(30);
    return e;
  });
  EXPECT_TRUE(creds.Get().ok());
  fail = true;
  clock.Advance(std::chrono::seconds(25));  // renewal due, still valid
  EXPECT_EQ(creds.Get()->bearer.Reveal(), "tok");
  clock.Advance(std::chrono::seconds(10));  // expired
  EXPECT_FALSE(creds.Get().ok());
}

TEST(ExecCredentialTest, Parse) {
  auto c = ParseExecCredential(R"({"apiVersion":"client.authentication.k8s.io/v1",
    "kind":"ExecCredential","status":{"token":"abc","expirationTimestamp":"2030-01-01T00:00:00Z"}})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->token.Reveal(), "abc");
  EXPECT_EQ(*c->expiration, FromUnixSeconds(1893456000));
  auto bad = ParseExecCredential(R"({"kind":"ExecCredential","status":{}})");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidConfig);
  auto secret = ParseExecCredential(R"({"kind":"Other","token":"leak"})");
  EXPECT_EQ(secret.status().message().find("leak"), std::string::npos);
}

std::string Script(const ScratchDir& dir, const std::string& name, const std::string& body) {
  std::string p = dir.Write(name, "#!/bin/sh\n" + body);
  chmod(p.c_str(), 0700);
  return p;
}

TEST(RunExecPluginTest, RunsWithArgsEnvAndExecInfo) {
  ScratchDir dir;
  std::string plugin = Script(dir, "p", R"(
case "$KUBERNETES_EXEC_INFO" in *'"interactive":false'*) ;; *) exit 3;; esac
printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"%s-%s"}}' "$1" "$REGION"
)");
  auto c = RunExecPlugin({.command = plugin, .args = {"arg"}, .env = {{"REGION", "eu"}}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->token.Reveal(), "arg-eu");
  EXPECT_FALSE(c->expiration.has_value());
}

TEST(RunExecPluginTest, FailuresSayWhy) {
  ScratchDir dir;
  auto failing = RunExecPlugin({.command = Script(dir, "f", "echo 'no login' >&2\nexit 4\n")});
  EXPECT_EQ(failing.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(failing.status().message().find("exit status 4"), std::string::npos);
  EXPECT_NE(failing.status().message().find("no login"), std::string::npos);
  auto missing =
      RunExecPlugin({.command = dir.path() + "/absent", .install_hint = "apt install x"});
  EXPECT_NE(missing.status().message().find("apt install x"), std::string::npos);
  auto slow = RunExecPlugin({.command = Script(dir, "s", "exec sleep 10\n")},
                            std::chrono::milliseconds(200));
  EXPECT_EQ(slow.status().code(), StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace ebb::kube
