// Token files re-read on time and after a 401; exec plugins cached until
// expiry; RunExecPlugin against real scripts.
#include "kube/credentials.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

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

TEST(ExecCredentialTest, WrongTypesAreErrorsNamingTheFieldNotAborts) {
  // "token": 123 used to abort the operator (json::value threw type_error).
  for (std::string field : {"token", "clientCertificateData", "clientKeyData", "expirationTimestamp"}) {
    for (std::string bad : {"123", "{\"a\":1}", "[\"x\"]", "true"}) {
      auto c = ParseExecCredential(R"({"kind":"ExecCredential","status":{")" + field + "\":" + bad + "}}");
      ASSERT_FALSE(c.ok()) << field << "=" << bad;
      EXPECT_EQ(c.status().code(), StatusCode::kInvalidConfig);
      EXPECT_NE(c.status().message().find("field " + field + " must be a string"), std::string::npos)
          << c.status().message();
    }
  }
  for (std::string text : {R"({"kind":5,"status":{}})", R"({"kind":"ExecCredential","status":"x"})",
                           R"([1,2])", "", "\xff"}) {
    EXPECT_EQ(ParseExecCredential(text).status().code(), StatusCode::kInvalidConfig) << text;
  }
}

TEST(ExecCredentialTest, OutputAtTheLimitIsReadOnePastIsRefused) {
  std::string head = R"({"kind":"ExecCredential","status":{"token":")";
  std::string tail = R"("}})";
  std::string at = head + std::string(kMaxExecCredentialBytes - head.size() - tail.size(), 't') + tail;
  ASSERT_EQ(at.size(), kMaxExecCredentialBytes);
  EXPECT_TRUE(ParseExecCredential(at).ok());
  auto past = ParseExecCredential(at + " ");
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.status().message().find("over the limit of 1048576 bytes"), std::string::npos);
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

// True while `pid` runs; a zombie (an orphan init has not reaped yet) is gone.
bool Running(pid_t pid) {
  if (kill(pid, 0) != 0) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

TEST(RunExecPluginTest, TimeoutKillsWhatThePluginStartedToo) {
  ScratchDir dir;
  std::string pid_file = dir.path() + "/child";
  auto slow = RunExecPlugin(
      {.command = Script(dir, "g", "sleep 600 &\necho $! > " + pid_file + "\nwait\n")},
      std::chrono::milliseconds(500));
  EXPECT_EQ(slow.status().code(), StatusCode::kDeadlineExceeded);
  std::ifstream in(pid_file);
  pid_t child = 0;
  in >> child;
  ASSERT_GT(child, 0);
  // SIGKILL went to the whole group before RunExecPlugin returned; the
  // kernel may take a moment to finish the process off.
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    gone = !Running(child);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!gone) kill(child, SIGKILL);
  EXPECT_TRUE(gone) << "the plugin's child outlived the timeout";
}

TEST(RunExecPluginTest, PluginInheritsNoDescriptorOfEbb) {
  ScratchDir dir;
  std::string path = dir.Write("open", "x");
  int leaked = open(path.c_str(), O_RDONLY);  // no O_CLOEXEC, as a library might
  ASSERT_GE(leaked, 3);
  std::string plugin = Script(dir, "fd", R"(
if [ -e /proc/$$/fd/$LEAKED ]; then echo "fd $LEAKED inherited" >&2; exit 5; fi
printf '{"kind":"ExecCredential","status":{"token":"t"}}'
)");
  auto c = RunExecPlugin({.command = plugin, .env = {{"LEAKED", std::to_string(leaked)}}});
  close(leaked);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
}

TEST(RunExecPluginTest, EndlessOutputStopsAtTheLimit) {
  ScratchDir dir;
  auto c = RunExecPlugin({.command = Script(dir, "y", "exec yes\n")}, std::chrono::seconds(20));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("printed more than 1048576 bytes (the limit)"), std::string::npos)
      << c.status().ToString();
}

}  // namespace
}  // namespace ebb::kube
