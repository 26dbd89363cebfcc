// FakeApiServer over HTTP against facts/kubernetes.md: error bodies,
// authentication and RBAC, pagination, watch streams, faults, TLS.
#include "testing/kube/fake_apiserver.h"

#include <gtest/gtest.h>

#include "common/strings.h"

namespace ebb::testing::kube {
namespace {

using nlohmann::json;

constexpr char kToken[] = "t0k3n";
constexpr char kUser[] = "system:serviceaccount:keda:ebb";

struct Answer {
  int status = 0;
  json body;
  httplib::Headers headers;
};

class FakeApiServerTest : public ::testing::Test {
 protected:
  void StartServer(FakeApiServerOptions o = {}) {
    if (o.tokens.empty()) o.tokens = {{kToken, kUser}};
    server_ = FakeApiServer::Start(std::move(o)).value();
    client_ = std::make_unique<httplib::Client>(server_->base_url());
    client_->set_read_timeout(10, 0);
  }
  void SetUp() override { StartServer(); }

  httplib::Headers Auth(const std::string& token = kToken) {
    return {{"Authorization", "Bearer " + token}};
  }
  Answer Do(const std::string& method, const std::string& path, const std::string& body = "",
            const std::string& type = "application/json", const std::string& token = kToken) {
    httplib::Result r =
        method == "GET"     ? client_->Get(path.c_str(), Auth(token))
        : method == "POST"  ? client_->Post(path.c_str(), Auth(token), body, type.c_str())
        : method == "PUT"   ? client_->Put(path.c_str(), Auth(token), body, type.c_str())
        : method == "PATCH" ? client_->Patch(path.c_str(), Auth(token), body, type.c_str())
                            : client_->Delete(path.c_str(), Auth(token));
    if (!r) return {};
    return {r->status, json::parse(r->body, nullptr, false), r->headers};
  }
  // Reads a watch until the server ends it; returns the event lines.
  std::vector<json> Watch(const std::string& path, bool* complete = nullptr,
                          const std::function<void(const json&)>& on_event = nullptr) {
    std::vector<json> events;
    std::string buffer;
    httplib::Result r = client_->Get(path.c_str(), Auth(), [&](const char* d, size_t n) {
      buffer.append(d, n);
      size_t nl;
      while ((nl = buffer.find('\n')) != std::string::npos) {
        events.push_back(json::parse(buffer.substr(0, nl)));
        buffer.erase(0, nl + 1);
        if (on_event) on_event(events.back());
      }
      return true;
    });
    if (complete) *complete = static_cast<bool>(r) && r->status == 200;
    return events;
  }
  void CreateDeployment(const std::string& ns, const std::string& name, int replicas) {
    json d = {{"metadata", {{"name", name}}},
              {"spec", {{"replicas", replicas}, {"selector", {{"matchLabels", {{"app", name}}}}}}}};
    ASSERT_EQ(Do("POST", "/apis/apps/v1/namespaces/" + ns + "/deployments", d.dump()).status, 201);
  }

  std::unique_ptr<FakeApiServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(FakeApiServerTest, NotFoundBodyIsAMetav1Status) {
  Answer a = Do("GET", "/apis/apps/v1/namespaces/ns/deployments/web");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body["kind"], "Status");
  EXPECT_EQ(a.body["message"], "deployments.apps \"web\" not found");
  EXPECT_EQ(Do("GET", "/apis/nope.io/v1/things").status, 404);
}

TEST_F(FakeApiServerTest, MissingOrWrongTokenIs401) {
  Answer a = Do("GET", "/api/v1/namespaces/ns/secrets", "", "", "wrong");
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.body["reason"], "Unauthorized");
  httplib::Result r = client_->Get("/api/v1/namespaces/ns/secrets");
  EXPECT_EQ(r->status, 401);
}

TEST_F(FakeApiServerTest, TokensRotate) {
  server_->SetToken("new", kUser);
  server_->RevokeToken(kToken);
  EXPECT_EQ(Do("GET", "/api/v1/namespaces/ns/secrets").status, 401);
  EXPECT_EQ(Do("GET", "/api/v1/namespaces/ns/secrets", "", "", "new").status, 200);
}

TEST_F(FakeApiServerTest, RbacForbiddenNamesUserVerbAndResource) {
  CreateDeployment("ns", "web", 1);
  server_->SetRbac(
      std::vector<RbacRule>{{kUser, {"get"}, {"apps"}, {"deployments/scale"}, {"ns"}}});
  EXPECT_EQ(Do("GET", "/apis/apps/v1/namespaces/ns/deployments/web/scale").status, 200);
  Answer a =
      Do("PUT", "/apis/apps/v1/namespaces/ns/deployments/web/scale", R"({"spec":{"replicas":2}})");
  EXPECT_EQ(a.status, 403);
  EXPECT_EQ(a.body["reason"], "Forbidden");
  EXPECT_EQ(a.body["message"],
            "deployments.apps \"web\" is forbidden: User \"system:serviceaccount:keda:ebb\" "
            "cannot update resource \"deployments/scale\" in API group \"apps\" in the "
            "namespace \"ns\"");
  Answer list = Do("GET", "/apis/keda.sh/v1alpha1/scaledobjects");
  EXPECT_EQ(list.body["message"],
            "scaledobjects.keda.sh is forbidden: User \"system:serviceaccount:keda:ebb\" cannot "
            "list resource \"scaledobjects\" in API group \"keda.sh\" at the cluster scope");
}

TEST_F(FakeApiServerTest, ScaleConflictOverHttp) {
  // The simulated rollout writes status on its own thread, which changes the
  // resourceVersion between the GET and the PUT when the machine is busy.
  server_->SetWorkloadDelay(std::chrono::milliseconds(-1));
  CreateDeployment("ns", "web", 1);
  Answer s = Do("GET", "/apis/apps/v1/namespaces/ns/deployments/web/scale");
  json put = s.body;
  put["spec"]["replicas"] = 3;
  EXPECT_EQ(Do("PUT", "/apis/apps/v1/namespaces/ns/deployments/web/scale", put.dump()).status, 200);
  Answer again = Do("PUT", "/apis/apps/v1/namespaces/ns/deployments/web/scale", put.dump());
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.body["reason"], "Conflict");
  Answer patch = Do("PATCH", "/apis/apps/v1/namespaces/ns/deployments/web/scale",
                    R"({"spec":{"replicas":6}})", "application/merge-patch+json");
  EXPECT_EQ(patch.body["spec"]["replicas"], 6);
}

TEST_F(FakeApiServerTest, StatusSubresourceAndGeneration) {
  json so = {{"metadata", {{"name", "so"}}}, {"spec", {{"maxReplicaCount", 3}}}};
  std::string base = "/apis/keda.sh/v1alpha1/namespaces/ns/scaledobjects";
  ASSERT_EQ(Do("POST", base, so.dump()).status, 201);
  Answer st = Do("PATCH", base + "/so/status", R"({"status":{"conditions":[]},"spec":{"x":1}})",
                 "application/merge-patch+json");
  ASSERT_EQ(st.status, 200);
  EXPECT_TRUE(st.body["status"].contains("conditions"));
  EXPECT_FALSE(st.body["spec"].contains("x"));
  EXPECT_EQ(st.body["metadata"]["generation"], 1);
  Answer sp = Do("PATCH", base + "/so", R"({"spec":{"maxReplicaCount":5}})",
                 "application/merge-patch+json");
  EXPECT_EQ(sp.body["metadata"]["generation"], 2);
}

TEST_F(FakeApiServerTest, ListPaginationOverHttp) {
  for (int i = 0; i < 3; ++i) {
    Do("POST", "/api/v1/namespaces/ns/configmaps",
       json{{"metadata", {{"name", "c" + std::to_string(i)}}}}.dump());
  }
  Answer p1 = Do("GET", "/api/v1/namespaces/ns/configmaps?limit=2");
  ASSERT_EQ(p1.body["items"].size(), 2u);
  std::string cont = p1.body["metadata"]["continue"];
  Answer p2 = Do("GET", "/api/v1/namespaces/ns/configmaps?limit=2&continue=" + cont);
  ASSERT_EQ(p2.body["items"].size(), 1u);
  EXPECT_FALSE(p2.body["metadata"].contains("continue"));
}

TEST_F(FakeApiServerTest, WatchStreamsEventsAndEndsAtTimeout) {
  server_->SetWorkloadDelay(std::chrono::milliseconds(-1));  // no status writes
  CreateDeployment("ns", "a", 1);
  int64_t rv = server_->store().CurrentRv();
  CreateDeployment("ns", "b", 1);
  Do("DELETE", "/apis/apps/v1/namespaces/ns/deployments/a");
  bool complete = false;
  auto events = Watch("/apis/apps/v1/namespaces/ns/deployments?watch=1&resourceVersion=" +
                          std::to_string(rv) + "&timeoutSeconds=1",
                      &complete);
  EXPECT_TRUE(complete);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["type"], "ADDED");
  EXPECT_EQ(events[0]["object"]["metadata"]["name"], "b");
  EXPECT_EQ(events[1]["type"], "DELETED");
  EXPECT_EQ(events[1]["object"]["metadata"]["name"], "a");
}

TEST_F(FakeApiServerTest, WatchWithoutVersionStartsWithSyntheticAdds) {
  CreateDeployment("ns", "a", 1);
  auto events = Watch("/apis/apps/v1/deployments?watch=true&timeoutSeconds=1");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["type"], "ADDED");
}

TEST_F(FakeApiServerTest, WatchBookmarksCarryOnlyTheResourceVersion) {
  // No simulated rollout: its status write, on its own thread, could land
  // after rv (settling races with that thread on a loaded machine).
  server_->SetWorkloadDelay(std::chrono::milliseconds(-1));
  CreateDeployment("ns", "a", 1);
  int64_t rv = server_->store().CurrentRv();
  server_->store().Create(*server_->Type("", "v1", "secrets"), "ns",
                          {{"metadata", {{"name", "s"}}}});
  std::atomic<bool> asked{false};
  std::thread bookmarker([&] {
    while (server_->OpenWatches() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server_->SendBookmarks();
    asked = true;
  });
  auto events = Watch(
      "/apis/apps/v1/namespaces/ns/deployments?watch=1&allowWatchBookmarks=true"
      "&timeoutSeconds=3&resourceVersion=" +  // room for a loaded machine
      std::to_string(rv));
  bookmarker.join();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0]["type"], "BOOKMARK");
  EXPECT_EQ(events[0]["object"]["metadata"],
            json({{"resourceVersion", std::to_string(server_->store().CurrentRv())}}));
  EXPECT_EQ(events[0]["object"]["kind"], "Deployment");
}

TEST_F(FakeApiServerTest, WatchFromCompactedVersionIsExpiredErrorEvent) {
  CreateDeployment("ns", "a", 1);
  int64_t rv = server_->store().CurrentRv();
  CreateDeployment("ns", "b", 1);
  server_->store().Compact();
  bool complete = false;
  auto events =
      Watch("/apis/apps/v1/namespaces/ns/deployments?watch=1&resourceVersion=" + std::to_string(rv),
            &complete);
  EXPECT_TRUE(complete);  // HTTP 200, then the stream closes
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["type"], "ERROR");
  EXPECT_EQ(events[0]["object"]["code"], 410);
  EXPECT_EQ(events[0]["object"]["reason"], "Expired");
  EXPECT_TRUE(
      StartsWith(events[0]["object"]["message"].get<std::string>(), "too old resource version"));
}

TEST_F(FakeApiServerTest, ExpireAndCloseOpenWatches) {
  std::thread killer([&] {
    while (server_->OpenWatches() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server_->ExpireWatches();
  });
  auto events = Watch("/apis/apps/v1/deployments?watch=1&resourceVersion=" +
                      std::to_string(server_->store().CurrentRv()));
  killer.join();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["object"]["code"], 410);
  while (server_->OpenWatches() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));

  std::thread closer([&] {
    while (server_->OpenWatches() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server_->CloseWatches();
  });
  bool complete = false;
  events = Watch("/apis/apps/v1/deployments?watch=1&resourceVersion=" +
                     std::to_string(server_->store().CurrentRv()),
                 &complete);
  closer.join();
  EXPECT_TRUE(complete);
  EXPECT_TRUE(events.empty());
}

TEST_F(FakeApiServerTest, DroppedWatchEndsWithoutTerminatingChunk) {
  std::thread dropper([&] {
    while (server_->OpenWatches() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server_->DropWatches();
  });
  bool complete = true;
  Watch("/apis/apps/v1/deployments?watch=1&resourceVersion=" +
            std::to_string(server_->store().CurrentRv()),
        &complete);
  dropper.join();
  EXPECT_FALSE(complete);
}

TEST_F(FakeApiServerTest, InjectedFaults) {
  server_->InjectFault({"GET", "/secrets", 503, 1});
  server_->InjectFault({"", "/configmaps", 429, 1});
  EXPECT_EQ(Do("GET", "/api/v1/namespaces/ns/secrets").body["reason"], "ServiceUnavailable");
  EXPECT_EQ(Do("GET", "/api/v1/namespaces/ns/secrets").status, 200);
  Answer tmr = Do("GET", "/api/v1/namespaces/ns/configmaps");
  EXPECT_EQ(tmr.status, 429);
  EXPECT_EQ(tmr.headers.find("Retry-After")->second, "1");
}

TEST_F(FakeApiServerTest, InjectedLatency) {
  server_->SetLatency(std::chrono::milliseconds(100));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Do("GET", "/api/v1/namespaces/ns/secrets").status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
}

TEST_F(FakeApiServerTest, StatefulSetScale) {
  server_->SetWorkloadDelay(std::chrono::hours(1));  // only SettleWorkloads applies
  json sts = {{"metadata", {{"name", "db"}}},
              {"spec", {{"replicas", 1}, {"selector", {{"matchLabels", {{"app", "db"}}}}}}}};
  ASSERT_EQ(Do("POST", "/apis/apps/v1/namespaces/ns/statefulsets", sts.dump()).status, 201);
  Answer s = Do("GET", "/apis/apps/v1/namespaces/ns/statefulsets/db/scale");
  EXPECT_EQ(s.body["status"]["selector"], "app=db");
  s.body["spec"]["replicas"] = 3;
  EXPECT_EQ(Do("PUT", "/apis/apps/v1/namespaces/ns/statefulsets/db/scale", s.body.dump())
                .body["spec"]["replicas"],
            3);
  Answer conflict = Do("PUT", "/apis/apps/v1/namespaces/ns/statefulsets/db/scale", s.body.dump());
  EXPECT_EQ(conflict.body["message"],
            "Operation cannot be fulfilled on statefulsets.apps \"db\": the object has been "
            "modified; please apply your changes to the latest version and try again");
  server_->SettleWorkloads();
  EXPECT_EQ(
      Do("GET", "/apis/apps/v1/namespaces/ns/statefulsets/db").body["status"]["readyReplicas"], 3);
}

TEST_F(FakeApiServerTest, DiscoveryListsScaleSubresources) {
  Answer apps = Do("GET", "/apis/apps/v1");
  bool found = false;
  for (const json& r : apps.body["resources"]) found |= r["name"] == "deployments/scale";
  EXPECT_TRUE(found);
  Answer groups = Do("GET", "/apis");
  EXPECT_EQ(groups.body["kind"], "APIGroupList");
  EXPECT_EQ(Do("GET", "/apis/example.com/v1").body["resources"][0]["kind"], "Widget");
}

TEST_F(FakeApiServerTest, EventsAndLeases) {
  json event = {{"metadata", {{"name", "so.1700000000"}}},
                {"involvedObject", {{"kind", "ScaledObject"}, {"name", "so"}, {"namespace", "ns"}}},
                {"reason", "KEDAScalerFailed"},
                {"type", "Warning"},
                {"count", 1}};
  EXPECT_EQ(Do("POST", "/api/v1/namespaces/ns/events", event.dump()).status, 201);
  json lease = {{"metadata", {{"name", "operator.keda.sh"}}},
                {"spec", {{"holderIdentity", "a"}, {"leaseDurationSeconds", 15}}}};
  Answer l = Do("POST", "/apis/coordination.k8s.io/v1/namespaces/keda/leases", lease.dump());
  ASSERT_EQ(l.status, 201);
  json stale = l.body;
  l.body["spec"]["holderIdentity"] = "b";
  EXPECT_EQ(Do("PUT", "/apis/coordination.k8s.io/v1/namespaces/keda/leases/operator.keda.sh",
               l.body.dump())
                .status,
            200);
  stale["spec"]["holderIdentity"] = "c";
  EXPECT_EQ(Do("PUT", "/apis/coordination.k8s.io/v1/namespaces/keda/leases/operator.keda.sh",
               stale.dump())
                .status,
            409);
}

TEST_F(FakeApiServerTest, WorkloadFollowsAfterDelay) {
  server_->SetWorkloadDelay(std::chrono::milliseconds(20));
  CreateDeployment("ns", "web", 2);
  json d;
  for (int i = 0; i < 200; ++i) {
    d = Do("GET", "/apis/apps/v1/namespaces/ns/deployments/web").body;
    if (d.contains("status") && d["status"].value("readyReplicas", 0) == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(d["status"]["readyReplicas"], 2);
}

TEST(FakeApiServerTlsTest, ClientCertificateUserAndBasicAuth) {
  TestCa ca = TestCa::Create().value();
  FakeApiServerOptions o;
  o.tls = ca.IssueServer({"localhost"}).value();
  o.client_ca_pem = ca.cert_pem();
  o.basic_users = {{"admin", "secret"}};
  o.rbac = std::vector<RbacRule>{{"admin", {"*"}, {"*"}, {"*"}, {}}};
  auto server = FakeApiServer::Start(o).value();
  IssuedCert client_cert = ca.IssueClient("alice").value();

  httplib::SSLClient basic("127.0.0.1", server->port());
  basic.enable_server_certificate_verification(false);
  basic.set_basic_auth("admin", "secret");
  EXPECT_EQ(basic.Get("/api/v1/namespaces/ns/secrets")->status, 200);

  std::string dir = ::testing::TempDir();
  ASSERT_TRUE(WriteFileAtomically(dir + "/c.crt", client_cert.cert_pem).ok());
  ASSERT_TRUE(WriteFileAtomically(dir + "/c.key", client_cert.key_pem).ok());
  httplib::SSLClient cert("127.0.0.1", server->port(), dir + "/c.crt", dir + "/c.key");
  cert.enable_server_certificate_verification(false);
  httplib::Result r = cert.Get("/api/v1/namespaces/ns/secrets");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);  // authenticated as alice, who has no rule
  EXPECT_NE(r->body.find("User \\\"alice\\\""), std::string::npos);
}

}  // namespace
}  // namespace ebb::testing::kube
