// ObjectStore against facts/kubernetes.md: resourceVersion, generation,
// conflicts, subresources, pagination, watch history.
#include "testing/kube/object_store.h"

#include <gtest/gtest.h>

#include "testing/kube/workloads.h"

namespace ebb::testing::kube {
namespace {

using nlohmann::json;

json Deployment(const std::string& name, int replicas) {
  return {{"metadata", {{"name", name}, {"labels", {{"app", name}}}}},
          {"spec", {{"replicas", replicas}, {"selector", {{"matchLabels", {{"app", name}}}}}}}};
}

std::string Rv(const json& obj) { return obj["metadata"]["resourceVersion"].get<std::string>(); }

class ObjectStoreTest : public ::testing::Test {
 protected:
  SimulatedClock clock_;
  ObjectStore store_{DefaultResourceTypes(), clock_};
  const ResourceType& deploy_ = *store_.Find("apps", "v1", "deployments");
  const ResourceType& secrets_ = *store_.Find("", "v1", "secrets");
  const ResourceType& widgets_ = *store_.Find("example.com", "v1", "widgets");
  const ResourceType& cta_ = *store_.Find("keda.sh", "v1alpha1", "clustertriggerauthentications");
};

TEST_F(ObjectStoreTest, CreateFillsMetadata) {
  Reply r = store_.Create(deploy_, "ns", Deployment("web", 2));
  ASSERT_EQ(r.code, 201);
  const json& m = r.body["metadata"];
  EXPECT_EQ(m["namespace"], "ns");
  EXPECT_EQ(m["generation"], 1);
  EXPECT_FALSE(m["uid"].get<std::string>().empty());
  EXPECT_EQ(m["creationTimestamp"], FormatRfc3339(clock_.Now()));
  EXPECT_EQ(r.body["kind"], "Deployment");
  EXPECT_EQ(r.body["apiVersion"], "apps/v1");
  EXPECT_EQ(Rv(r.body), std::to_string(store_.CurrentRv()));
}

TEST_F(ObjectStoreTest, ResourceVersionIsOneGlobalCounter) {
  int64_t a = std::stoll(Rv(store_.Create(deploy_, "ns", Deployment("a", 1)).body));
  int64_t b = std::stoll(Rv(store_.Create(secrets_, "ns", {{"metadata", {{"name", "s"}}}}).body));
  EXPECT_EQ(b, a + 1);
}

TEST_F(ObjectStoreTest, CreateTwiceIsAlreadyExists) {
  ASSERT_TRUE(store_.Create(deploy_, "ns", Deployment("web", 1)).ok());
  Reply r = store_.Create(deploy_, "ns", Deployment("web", 1));
  EXPECT_EQ(r.code, 409);
  EXPECT_EQ(r.body["reason"], "AlreadyExists");
  EXPECT_EQ(r.body["message"], "deployments.apps \"web\" already exists");
}

TEST_F(ObjectStoreTest, NotFoundIsWordedAsTheRealServer) {
  Reply r = store_.Get(deploy_, "ns", "web");
  EXPECT_EQ(r.code, 404);
  EXPECT_EQ(r.body, json::parse(R"({"kind":"Status","apiVersion":"v1","metadata":{},
    "status":"Failure","message":"deployments.apps \"web\" not found","reason":"NotFound",
    "details":{"name":"web","group":"apps","kind":"deployments"},"code":404})"));
  EXPECT_EQ(store_.Get(secrets_, "ns", "x").body["message"], "secrets \"x\" not found");
}

TEST_F(ObjectStoreTest, StaleUpdateIsConflictEmptyIsUnconditional) {
  json created = store_.Create(deploy_, "ns", Deployment("web", 1)).body;
  json v1 = created;
  v1["spec"]["replicas"] = 2;
  ASSERT_TRUE(store_.Update(deploy_, "ns", "web", v1).ok());
  json stale = created;  // still carries the first resourceVersion
  stale["spec"]["replicas"] = 5;
  Reply conflict = store_.Update(deploy_, "ns", "web", stale);
  EXPECT_EQ(conflict.code, 409);
  EXPECT_EQ(conflict.body["reason"], "Conflict");
  EXPECT_EQ(conflict.body["message"],
            "Operation cannot be fulfilled on deployments.apps \"web\": the object has been "
            "modified; please apply your changes to the latest version and try again");
  EXPECT_EQ(conflict.body["details"],
            json::parse(R"({"name":"web","group":"apps","kind":"deployments"})"));
  stale["metadata"].erase("resourceVersion");
  EXPECT_EQ(store_.Update(deploy_, "ns", "web", stale).code, 200);
}

TEST_F(ObjectStoreTest, GenerationCountsSpecChangesOnly) {
  json obj = store_.Create(deploy_, "ns", Deployment("web", 1)).body;
  obj["metadata"]["labels"]["x"] = "y";
  obj = store_.Update(deploy_, "ns", "web", obj).body;
  EXPECT_EQ(obj["metadata"]["generation"], 1);
  obj["spec"]["replicas"] = 4;
  obj = store_.Update(deploy_, "ns", "web", obj).body;
  EXPECT_EQ(obj["metadata"]["generation"], 2);
  obj["status"] = {{"replicas", 4}};
  obj = store_.UpdateStatus(deploy_, "ns", "web", obj).body;
  EXPECT_EQ(obj["metadata"]["generation"], 2);
  EXPECT_EQ(obj["status"]["replicas"], 4);
}

TEST_F(ObjectStoreTest, MainWritesIgnoreStatusAndStatusWritesIgnoreSpec) {
  json obj = store_.Create(deploy_, "ns", Deployment("web", 1)).body;
  obj["status"] = {{"replicas", 9}};
  obj = store_.Update(deploy_, "ns", "web", obj).body;
  EXPECT_FALSE(obj.contains("status"));
  obj["spec"]["replicas"] = 7;
  obj["status"] = {{"replicas", 3}};
  obj = store_.UpdateStatus(deploy_, "ns", "web", obj).body;
  EXPECT_EQ(obj["spec"]["replicas"], 1);
  EXPECT_EQ(obj["status"]["replicas"], 3);
}

TEST_F(ObjectStoreTest, UnchangedWriteKeepsResourceVersion) {
  json obj = store_.Create(deploy_, "ns", Deployment("web", 1)).body;
  int64_t before = store_.CurrentRv();
  json again = store_.Update(deploy_, "ns", "web", obj).body;
  EXPECT_EQ(Rv(again), Rv(obj));
  EXPECT_EQ(store_.CurrentRv(), before);
}

TEST_F(ObjectStoreTest, MergePatchAndStrategicOnCustomResource) {
  store_.Create(deploy_, "ns", Deployment("web", 1));
  Reply r = store_.Patch(deploy_, "ns", "web", "application/merge-patch+json",
                         R"({"spec":{"replicas":3}})", false);
  ASSERT_EQ(r.code, 200);
  EXPECT_EQ(r.body["spec"]["replicas"], 3);
  EXPECT_EQ(r.body["metadata"]["generation"], 2);
  store_.Create(widgets_, "ns", {{"metadata", {{"name", "w"}}}, {"spec", {{"replicas", 1}}}});
  Reply bad = store_.Patch(widgets_, "ns", "w", "application/strategic-merge-patch+json",
                           R"({"spec":{"replicas":3}})", false);
  EXPECT_EQ(bad.code, 415);
  EXPECT_EQ(bad.body["reason"], "UnsupportedMediaType");
}

TEST_F(ObjectStoreTest, DeleteWithFinalizersMarksUntilTheLastIsRemoved) {
  json web = Deployment("web", 1);
  web["metadata"]["finalizers"] = {"a.example.com", "b.example.com"};
  store_.Create(deploy_, "ns", web);
  Reply marked = store_.Delete(deploy_, "ns", "web");
  ASSERT_EQ(marked.code, 200);
  EXPECT_EQ(marked.body["metadata"]["deletionTimestamp"], FormatRfc3339(clock_.Now()));
  ASSERT_EQ(store_.Get(deploy_, "ns", "web").code, 200) << "deleted despite finalizers";
  // Writes cannot clear the mark.
  json edit = store_.Get(deploy_, "ns", "web").body;
  edit["metadata"].erase("deletionTimestamp");
  edit["metadata"]["finalizers"] = {"b.example.com"};
  Reply one_left = store_.Update(deploy_, "ns", "web", edit);
  ASSERT_EQ(one_left.code, 200);
  EXPECT_TRUE(one_left.body["metadata"].contains("deletionTimestamp"));
  EXPECT_EQ(store_.Delete(deploy_, "ns", "web").body["metadata"]["resourceVersion"],
            one_left.body["metadata"]["resourceVersion"]) << "a second delete changes nothing";
  Reply last = store_.Patch(deploy_, "ns", "web", "application/merge-patch+json",
                            R"({"metadata":{"finalizers":[]}})", false);
  ASSERT_EQ(last.code, 200);
  EXPECT_EQ(store_.Get(deploy_, "ns", "web").code, 404);
}

TEST_F(ObjectStoreTest, ScaleSharesTheWorkloadsResourceVersion) {
  json d = store_.Create(deploy_, "ns", Deployment("web", 2)).body;
  Reply s = store_.GetScale(deploy_, "ns", "web");
  ASSERT_EQ(s.code, 200);
  EXPECT_EQ(s.body["kind"], "Scale");
  EXPECT_EQ(s.body["apiVersion"], "autoscaling/v1");
  EXPECT_EQ(s.body["spec"]["replicas"], 2);
  EXPECT_EQ(s.body["status"]["selector"], "app=web");
  EXPECT_EQ(Rv(s.body), Rv(d));

  json put = s.body;
  put["spec"]["replicas"] = 5;
  Reply ok = store_.UpdateScale(deploy_, "ns", "web", put);
  ASSERT_EQ(ok.code, 200);
  EXPECT_EQ(ok.body["spec"]["replicas"], 5);
  EXPECT_EQ(store_.Get(deploy_, "ns", "web").body["spec"]["replicas"], 5);
  EXPECT_EQ(store_.Get(deploy_, "ns", "web").body["metadata"]["generation"], 2);

  put["spec"]["replicas"] = 6;  // stale resourceVersion
  Reply conflict = store_.UpdateScale(deploy_, "ns", "web", put);
  EXPECT_EQ(conflict.code, 409);
  EXPECT_EQ(conflict.body["details"]["kind"], "deployments");
  put["metadata"]["resourceVersion"] = "";
  EXPECT_EQ(store_.UpdateScale(deploy_, "ns", "web", put).code, 200);
}

TEST_F(ObjectStoreTest, ScalePatchAndCustomResourceScale) {
  store_.Create(deploy_, "ns", Deployment("web", 2));
  Reply p = store_.PatchScale(deploy_, "ns", "web", "application/merge-patch+json",
                              R"({"spec":{"replicas":4}})");
  EXPECT_EQ(p.body["spec"]["replicas"], 4);
  store_.Seed(widgets_, {{"metadata", {{"name", "w"}, {"namespace", "ns"}}},
                         {"spec", {{"replicas", 1}}},
                         {"status", {{"replicas", 1}, {"selector", "app=w"}}}});
  Reply w = store_.GetScale(widgets_, "ns", "w");
  EXPECT_EQ(w.body["status"]["selector"], "app=w");
  EXPECT_EQ(store_
                .PatchScale(widgets_, "ns", "w", "application/strategic-merge-patch+json",
                            R"({"spec":{"replicas":4}})")
                .code,
            415);
  EXPECT_EQ(store_.GetScale(secrets_, "ns", "x").code, 404);
  EXPECT_EQ(store_.GetScale(deploy_, "ns", "missing").body["message"],
            "deployments.apps \"missing\" not found");
}

TEST_F(ObjectStoreTest, ListPagesWithContinue) {
  for (int i = 0; i < 5; ++i)
    store_.Create(secrets_, "a", {{"metadata", {{"name", "s" + std::to_string(i)}}}});
  store_.Create(secrets_, "b", {{"metadata", {{"name", "other"}}}});
  std::vector<std::string> names;
  ListOptions o;
  o.limit = 2;
  std::string list_rv;
  do {
    Reply page = store_.List(secrets_, "a", o);
    ASSERT_EQ(page.code, 200);
    EXPECT_EQ(page.body["kind"], "SecretList");
    if (list_rv.empty()) list_rv = page.body["metadata"]["resourceVersion"];
    EXPECT_EQ(page.body["metadata"]["resourceVersion"], list_rv);
    for (const json& item : page.body["items"]) names.push_back(item["metadata"]["name"]);
    o.continue_token = page.body["metadata"].value("continue", "");
  } while (!o.continue_token.empty());
  EXPECT_EQ(names, (std::vector<std::string>{"s0", "s1", "s2", "s3", "s4"}));
  EXPECT_EQ(store_.List(secrets_, "", {}).body["items"].size(), 6u);
}

TEST_F(ObjectStoreTest, ContinueTokenExpiresAfterCompaction) {
  for (int i = 0; i < 3; ++i)
    store_.Create(secrets_, "a", {{"metadata", {{"name", "s" + std::to_string(i)}}}});
  ListOptions o;
  o.limit = 1;
  o.continue_token = store_.List(secrets_, "a", o).body["metadata"]["continue"];
  store_.Create(secrets_, "a", {{"metadata", {{"name", "late"}}}});
  store_.Compact();
  Reply r = store_.List(secrets_, "a", o);
  EXPECT_EQ(r.code, 410);
  EXPECT_EQ(r.body["reason"], "Expired");
}

TEST_F(ObjectStoreTest, ClusterScopedObjectsHaveNoNamespace) {
  Reply r = store_.Create(cta_, "", {{"metadata", {{"name", "c"}, {"namespace", ""}}}});
  ASSERT_EQ(r.code, 201);
  EXPECT_FALSE(r.body["metadata"].contains("namespace"));
  EXPECT_EQ(store_.Get(cta_, "anything", "c").code, 200);
}

TEST_F(ObjectStoreTest, SelectorsFilterLists) {
  store_.Create(deploy_, "ns", Deployment("web", 1));
  store_.Create(deploy_, "ns", Deployment("api", 1));
  EXPECT_EQ(store_.List(deploy_, "ns", {"app=web", "", 0, ""}).body["items"].size(), 1u);
  EXPECT_EQ(store_.List(deploy_, "ns", {"app!=web", "", 0, ""}).body["items"].size(), 1u);
  EXPECT_EQ(store_.List(deploy_, "", {"", "metadata.name=api", 0, ""}).body["items"].size(), 1u);
}

TEST_F(ObjectStoreTest, WaitEventsReplaysHistoryAndExpires) {
  int64_t start = store_.CurrentRv();
  store_.Create(deploy_, "ns", Deployment("web", 1));
  store_.Delete(deploy_, "ns", "web");
  bool expired = false;
  int64_t scanned = 0;
  auto events = store_.WaitEvents(
      deploy_, "", {}, start, std::chrono::steady_clock::now(), [] { return false; }, &expired,
      &scanned);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "ADDED");
  EXPECT_EQ(events[1].type, "DELETED");
  EXPECT_EQ(scanned, store_.CurrentRv());
  store_.Compact();
  events = store_.WaitEvents(
      deploy_, "", {}, start, std::chrono::steady_clock::now(), [] { return false; }, &expired,
      &scanned);
  EXPECT_TRUE(expired);
}

TEST_F(ObjectStoreTest, HistoryLimitExpiresOldVersions) {
  ObjectStore small(DefaultResourceTypes(), clock_, 2);
  const ResourceType& s = *small.Find("", "v1", "secrets");
  int64_t start = small.CurrentRv();
  for (int i = 0; i < 4; ++i) small.Create(s, "a", {{"metadata", {{"name", std::to_string(i)}}}});
  EXPECT_GT(small.OldestRv(), start);
}

TEST_F(ObjectStoreTest, WorkloadStatusFollowsSpec) {
  WorkloadSimulator sim(store_, std::chrono::hours(1));  // only Settle() applies
  store_.Create(deploy_, "ns", Deployment("web", 3));
  EXPECT_FALSE(store_.Get(deploy_, "ns", "web").body.contains("status"));
  EXPECT_EQ(sim.Settle(), 1);
  json d = store_.Get(deploy_, "ns", "web").body;
  EXPECT_EQ(d["status"]["replicas"], 3);
  EXPECT_EQ(d["status"]["readyReplicas"], 3);
  EXPECT_EQ(d["status"]["observedGeneration"], 1);
  EXPECT_EQ(sim.Settle(), 0);  // converged: nothing more
}

}  // namespace
}  // namespace ebb::testing::kube
