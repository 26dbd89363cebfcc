// KedaCaches against the fake API server: every KEDA resource and the
// Secrets they read, decoded into a ManifestSet; namespace lists.
#include "kube/keda_caches.h"

#include <gtest/gtest.h>

#include <thread>

#include "kube/kube_test_util.h"

namespace ebb::kube {
namespace {

using nlohmann::json;

class KedaCachesTest : public KubeTest {
 protected:
  void TearDown() override {
    if (caches_) caches_->Stop();
    Shutdown();
  }
  void Seed(const std::string& g, const std::string& v, const std::string& r, json obj) {
    server_->store().Seed(Type(g, v, r), std::move(obj));
  }
  void SeedAll(const std::string& ns) {
    Seed("keda.sh", "v1alpha1", "scaledobjects",
         {{"metadata", {{"name", "so"}, {"namespace", ns}}},
          {"spec",
           {{"scaleTargetRef", {{"name", "web"}}},
            {"triggers",
             {{{"type", "prometheus"},
               {"metadata",
                {{"serverAddress", "http://prom:9090"}, {"query", "up"}, {"threshold", "5"}}},
               {"authenticationRef", {{"name", "ta"}}}}}}}}});
    Seed("keda.sh", "v1alpha1", "triggerauthentications",
         {{"metadata", {{"name", "ta"}, {"namespace", ns}}},
          {"spec",
           {{"secretTargetRef",
             {{{"parameter", "bearerToken"}, {"name", "s"}, {"key", "token"}}}}}}});
    Seed("", "v1", "secrets",
         {{"metadata", {{"name", "s"}, {"namespace", ns}}}, {"data", {{"token", "c2VjcmV0"}}}});
    Seed("", "v1", "configmaps",
         {{"metadata", {{"name", "cm"}, {"namespace", ns}}}, {"data", {{"k", "v"}}}});
  }

  std::unique_ptr<KedaCaches> caches_;
};

TEST_F(KedaCachesTest, EveryResourceDecoded) {
  SeedAll("shop");
  Seed("keda.sh", "v1alpha1", "clustertriggerauthentications",
       {{"metadata", {{"name", "cta"}}},
        {"spec", {{"podIdentity", {{"provider", "azure-workload"}}}}}});
  std::atomic<int> changes{0};
  caches_ = std::make_unique<KedaCaches>(*rest_, KedaCacheOptions{}, [&] { ++changes; });
  caches_->Start();
  ASSERT_TRUE(WaitFor([&] { return caches_->HasSynced(); }));
  auto set = caches_->Snapshot();
  EXPECT_TRUE(set->errors.empty()) << set->errors[0].ToString();
  ASSERT_EQ(set->scaled_objects.size(), 1u);
  EXPECT_EQ(set->scaled_objects[0].metadata.Key(), "shop/so");
  ASSERT_NE(set->FindTriggerAuthentication("shop", "ta"), nullptr);
  ASSERT_NE(set->FindClusterTriggerAuthentication("cta"), nullptr);
  ASSERT_NE(set->FindSecret("shop", "s"), nullptr);
  EXPECT_EQ(set->FindSecret("shop", "s")->data.at("token").Reveal(), "secret");
  EXPECT_EQ(set->FindConfigMap("shop", "cm")->data.at("k"), "v");
  EXPECT_EQ(caches_->Snapshot(), set);  // unchanged: the same snapshot
  int before = changes;
  Seed("", "v1", "secrets",
       {{"metadata", {{"name", "s"}, {"namespace", "shop"}}}, {"data", {{"token", "bmV3"}}}});
  ASSERT_TRUE(WaitFor([&] { return changes > before; }));
  EXPECT_EQ(caches_->Snapshot()->FindSecret("shop", "s")->data.at("token").Reveal(), "new");
}

TEST_F(KedaCachesTest, AStatusWriteIsNotAChangeButInvalidateSeesIt) {
  SeedAll("shop");
  std::atomic<int> changes{0};
  caches_ = std::make_unique<KedaCaches>(*rest_, KedaCacheOptions{}, [&] { ++changes; });
  caches_->Start();
  ASSERT_TRUE(WaitFor([&] { return caches_->HasSynced(); }));
  auto set = caches_->Snapshot();
  const auto& so_type = Type("keda.sh", "v1alpha1", "scaledobjects");
  const int before = changes;
  ASSERT_EQ(server_->store()
                .Patch(so_type, "shop", "so", "application/merge-patch+json",
                       R"({"status":{"lastActiveTime":"2026-11-26T10:00:00Z"}})", true)
                .code,
            200);
  ASSERT_EQ(server_->store()
                .Patch(so_type, "shop", "so", "application/merge-patch+json",
                       R"({"spec":{"pollingInterval":7}})", false)
                .code,
            200);
  // Events arrive in order: once the spec change is seen, so was the status write.
  ASSERT_TRUE(WaitFor([&] { return changes > before; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(changes, before + 1) << "a status-only write counted as a change";
  auto next = caches_->Snapshot();
  ASSERT_NE(next, set);
  EXPECT_EQ(next->scaled_objects[0].spec.polling_interval, 7);
  EXPECT_EQ(caches_->Snapshot(), next);
  caches_->Invalidate();
  auto fresh = caches_->Snapshot();
  EXPECT_NE(fresh, next);
  EXPECT_TRUE(fresh->scaled_objects[0].status.last_active_time.has_value());
}

TEST_F(KedaCachesTest, WatchNamespaceList) {
  SeedAll("a");
  SeedAll("b");
  SeedAll("c");
  caches_ = std::make_unique<KedaCaches>(*rest_, KedaCacheOptions{.namespaces = {"a", "c"}});
  caches_->Start();
  ASSERT_TRUE(WaitFor([&] { return caches_->HasSynced(); }));
  auto set = caches_->Snapshot();
  ASSERT_EQ(set->scaled_objects.size(), 2u);
  EXPECT_EQ(set->FindSecret("b", "s"), nullptr);
  EXPECT_NE(set->FindSecret("c", "s"), nullptr);
}

}  // namespace
}  // namespace ebb::kube
