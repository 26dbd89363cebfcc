// Informer against the fake API server: list then watch, resume after a
// server-side close, re-list on 410 (ERROR event or compaction), bookmarks,
// dropped connections. WatchDecoder on split chunks.
#include "kube/informer.h"

#include <gtest/gtest.h>

#include "kube/kube_test_util.h"

namespace ebb::kube {
namespace {

using nlohmann::json;

TEST(WatchDecoderTest, EventsSplitAcrossChunks) {
  WatchDecoder d;
  EXPECT_TRUE(d.Feed(R"({"type":"ADDED","object":{"metadata":{"na)").empty());
  auto events = d.Feed("me\":\"a\"}}}\n{\"type\":\"BOOKMARK\",\"object\":{}}\n\n{\"ty");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["object"]["metadata"]["name"], "a");
  EXPECT_EQ(events[1]["type"], "BOOKMARK");
  events = d.Feed("pe\":\"DELETED\",\"object\":{}}\nnot json\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["type"], "DELETED");
  EXPECT_EQ(events[1]["type"], "ERROR");
}

class InformerTest : public KubeTest {
 protected:
  void SetUp() override {
    testing::kube::FakeApiServerOptions o;
    o.workload_delay = std::chrono::milliseconds(-1);
    Start(o);
  }
  void TearDown() override {
    if (informer_) informer_->Stop();
    Shutdown();
  }
  void StartInformer(InformerOptions o = {}) {
    if (o.gvr.resource.empty()) o.gvr = kConfigMaps;
    o.page_size = 2;
    o.backoff.initial = std::chrono::milliseconds(20);
    o.backoff.max = std::chrono::milliseconds(200);
    InformerHandlers h;
    h.on_add = [this](const json& obj) { Log("add " + Name(obj)); };
    h.on_update = [this](const json&, const json& obj) { Log("update " + Name(obj)); };
    h.on_delete = [this](const json& obj) { Log("delete " + Name(obj)); };
    informer_ = std::make_unique<Informer>(*rest_, o, h);
    informer_->Start();
    ASSERT_TRUE(WaitFor([&] { return informer_->HasSynced(); }));
  }
  static std::string Name(const json& obj) { return obj["metadata"]["name"]; }
  void Log(const std::string& line) {
    std::lock_guard lock(mu_);
    log_.push_back(line);
  }
  bool Logged(const std::string& line) {
    std::lock_guard lock(mu_);
    return std::find(log_.begin(), log_.end(), line) != log_.end();
  }
  void Put(const std::string& name, const std::string& value) {
    const auto& cm = Type("", "v1", "configmaps");
    json obj = {{"metadata", {{"name", name}, {"namespace", "ns"}}}, {"data", {{"v", value}}}};
    server_->store().Seed(cm, obj);
  }
  int Watches() {
    int n = 0;
    for (const auto& r : server_->Requests()) n += r.query.find("watch=1") != std::string::npos;
    return n;
  }

  std::unique_ptr<Informer> informer_;
  std::mutex mu_;
  std::vector<std::string> log_;
};

TEST_F(InformerTest, ListsThenWatches) {
  for (int i = 0; i < 5; ++i) Put("c" + std::to_string(i), "1");
  StartInformer();
  EXPECT_EQ(informer_->List().size(), 5u);
  EXPECT_TRUE(Logged("add c4"));
  Put("c1", "2");
  Put("new", "1");
  server_->store().Delete(Type("", "v1", "configmaps"), "ns", "c0");
  ASSERT_TRUE(WaitFor([&] { return Logged("delete c0"); }));
  EXPECT_TRUE(Logged("update c1"));
  EXPECT_TRUE(Logged("add new"));
  EXPECT_EQ((*informer_->Get("ns", "c1"))["data"]["v"], "2");
  EXPECT_FALSE(informer_->Get("ns", "c0").has_value());
  EXPECT_EQ(informer_->ResourceVersion(), std::to_string(server_->store().CurrentRv()));
}

TEST_F(InformerTest, ResumesFromLastResourceVersionWhenTheServerCloses) {
  StartInformer();
  ASSERT_TRUE(WaitFor([&] { return server_->OpenWatches() == 1; }));
  server_->CloseWatches();
  Put("after-close", "1");
  ASSERT_TRUE(WaitFor([&] { return Logged("add after-close"); }));
  InformerStats s = informer_->Stats();
  EXPECT_EQ(s.lists, 1u);  // no re-list: the watch resumed
  EXPECT_GE(s.watches, 2u);
}

TEST_F(InformerTest, RelistsOnExpiredErrorEvent) {
  Put("kept", "1");
  Put("removed", "1");
  StartInformer();
  ASSERT_TRUE(WaitFor([&] { return server_->OpenWatches() == 1; }));
  server_->ExpireWatches();
  ASSERT_TRUE(WaitFor([&] { return informer_->Stats().expired_relists == 1; }));
  ASSERT_TRUE(WaitFor([&] { return informer_->Stats().lists == 2; }));
  server_->store().Delete(Type("", "v1", "configmaps"), "ns", "removed");
  Put("added", "1");
  ASSERT_TRUE(WaitFor([&] { return Logged("add added") && Logged("delete removed"); }));
}

TEST_F(InformerTest, RelistDeliversWhatChangedWhileAway) {
  Put("a", "1");
  Put("b", "1");
  StartInformer();
  ASSERT_TRUE(WaitFor([&] { return server_->OpenWatches() == 1; }));
  // The connection breaks and the server refuses the re-watch for a while;
  // meanwhile objects change and the history is compacted, so the re-watch
  // gets 410 and the new list shows the differences.
  server_->InjectFault({"GET", "/configmaps", 503, 1000000});
  server_->DropWatches();
  ASSERT_TRUE(WaitFor([&] { return informer_->Stats().failures >= 1; }));
  server_->store().Delete(Type("", "v1", "configmaps"), "ns", "a");
  Put("b", "2");
  Put("c", "1");
  server_->store().Compact();
  server_->ClearFaults();
  ASSERT_TRUE(WaitFor([&] { return Logged("delete a") && Logged("update b") && Logged("add c"); }));
  EXPECT_GE(informer_->Stats().expired_relists, 1u);
}

TEST_F(InformerTest, BookmarksAdvanceTheResourceVersion) {
  StartInformer();
  ASSERT_TRUE(WaitFor([&] { return server_->OpenWatches() == 1; }));
  server_->store().Create(Type("", "v1", "secrets"), "ns", {{"metadata", {{"name", "s"}}}});
  std::string target = std::to_string(server_->store().CurrentRv());
  ASSERT_TRUE(WaitFor([&] { return informer_->ResourceVersion() == target; }));
  EXPECT_GE(informer_->Stats().bookmarks, 1u);
  EXPECT_TRUE(informer_->List().empty());
}

TEST_F(InformerTest, ClusterScopedAcrossNamespaces) {
  const auto& cta = Type("keda.sh", "v1alpha1", "clustertriggerauthentications");
  server_->store().Create(cta, "", {{"metadata", {{"name", "global"}}}});
  StartInformer({.gvr = kClusterTriggerAuthentications});
  EXPECT_TRUE(informer_->Get("", "global").has_value());
}

}  // namespace
}  // namespace ebb::kube
