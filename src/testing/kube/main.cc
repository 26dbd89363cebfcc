// ebb-fake-apiserver: the fake Kubernetes API server as a process, for
// manual runs and scripts.
//
//   ebb-fake-apiserver --port 6443 --dir /tmp/kube --token t0k3n=ebb-user -f examples/
//
// With --dir it serves HTTPS with a fresh test CA and writes DIR/ca.crt and
// DIR/kubeconfig (using the first --token). Prints the URL, then serves
// until SIGINT or SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "api/document.h"
#include "common/strings.h"
#include "testing/kube/fake_apiserver.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

struct Flags {
  ebb::testing::kube::FakeApiServerOptions options;
  std::string dir;
  std::string first_token;
  std::vector<std::string> files;
};

int Usage() {
  std::cerr << "usage: ebb-fake-apiserver [--port N] [--dir DIR] [--token TOKEN=USER]...\n"
               "         [--basic USER=PASSWORD]... [--workload-delay-ms N]\n"
               "         [--bookmark-interval-ms N] [-f MANIFEST]...\n";
  return 2;
}

bool SplitPair(const std::string& s, std::string* a, std::string* b) {
  size_t eq = s.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  *a = s.substr(0, eq);
  *b = s.substr(eq + 1);
  return true;
}

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return false;
    std::string v = argv[++i];
    std::string a, b;
    if (flag == "--port") {
      f->options.port = static_cast<int>(ebb::ParseInt(v).value_or(-1));
    } else if (flag == "--dir") {
      f->dir = v;
    } else if (flag == "--token" && SplitPair(v, &a, &b)) {
      f->options.tokens[a] = b;
      if (f->first_token.empty()) f->first_token = a;
    } else if (flag == "--basic" && SplitPair(v, &a, &b)) {
      f->options.basic_users[a] = b;
    } else if (flag == "--workload-delay-ms") {
      f->options.workload_delay = std::chrono::milliseconds(ebb::ParseInt(v).value_or(0));
    } else if (flag == "--bookmark-interval-ms") {
      f->options.bookmark_interval = std::chrono::milliseconds(ebb::ParseInt(v).value_or(1000));
    } else if (flag == "-f") {
      f->files.push_back(v);
    } else {
      return false;
    }
  }
  return f->options.port >= 0;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

std::string Kubeconfig(const std::string& url, const std::string& ca_path,
                       const std::string& token) {
  return "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
         "clusters:\n- name: fake\n  cluster:\n    server: " +
         url + "\n    certificate-authority: " + ca_path +
         "\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n"
         "    namespace: default\nusers:\n- name: fake\n  user:\n    token: " +
         token + "\n";
}

// Seeds each manifest into the type whose apiVersion and kind it names.
int Seed(ebb::testing::kube::FakeApiServer& server, const std::vector<std::string>& files) {
  ebb::api::Problems problems;
  int seeded = 0;
  for (const ebb::api::Document& doc : ebb::api::LoadDocuments(files, &problems)) {
    const nlohmann::json& v = doc.value;
    for (const auto& rt : server.store().types()) {
      if (v.value("kind", "") != rt.kind || v.value("apiVersion", "") != rt.ApiVersion()) continue;
      nlohmann::json obj = v;
      if (rt.namespaced && !obj["metadata"].contains("namespace")) {
        obj["metadata"]["namespace"] = "default";
      }
      seeded += server.store().Seed(rt, obj).ok() ? 1 : 0;
    }
  }
  for (const auto& p : problems) std::cerr << p.ToString() << "\n";
  return seeded;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return Usage();
  std::string ca_pem;
  if (!flags.dir.empty()) {
    auto ca = ebb::testing::TestCa::Create("ebb fake apiserver CA");
    if (!ca.ok()) return std::fprintf(stderr, "%s\n", ca.status().ToString().c_str()), 1;
    auto cert = ca->IssueServer({"localhost", "kubernetes.default.svc"});
    if (!cert.ok()) return std::fprintf(stderr, "%s\n", cert.status().ToString().c_str()), 1;
    flags.options.tls = *cert;
    ca_pem = ca->cert_pem();
  }
  auto server = ebb::testing::kube::FakeApiServer::Start(flags.options);
  if (!server.ok()) return std::fprintf(stderr, "%s\n", server.status().ToString().c_str()), 1;
  std::string url = (*server)->base_url();
  if (!flags.dir.empty()) {
    std::string ca_path = flags.dir + "/ca.crt";
    if (!WriteFile(ca_path, ca_pem) ||
        !WriteFile(flags.dir + "/kubeconfig", Kubeconfig(url, ca_path, flags.first_token))) {
      std::fprintf(stderr, "cannot write into %s\n", flags.dir.c_str());
      return 1;
    }
  }
  int seeded = Seed(**server, flags.files);
  std::printf("listening on %s (%d objects loaded)\n", url.c_str(), seeded);
  std::fflush(stdout);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (*server)->Stop();
  return 0;
}
