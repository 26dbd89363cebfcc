#include "api/document.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace ebb::api {
namespace {

TEST(Documents, YamlPlainScalarsAreTypedQuotedOnesAreStrings) {
  auto docs = ParseDocuments("a: 5\nb: \"5\"\nc: true\nd: 'true'\ne: 1.5\nf: ~\ng: web\nh: 08\n", "x.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 1u);
  const auto& v = (*docs)[0].value;
  EXPECT_TRUE(v["a"].is_number_integer());
  EXPECT_TRUE(v["b"].is_string());
  EXPECT_TRUE(v["c"].is_boolean());
  EXPECT_TRUE(v["d"].is_string());
  EXPECT_DOUBLE_EQ(v["e"].get<double>(), 1.5);
  EXPECT_TRUE(v["f"].is_null());
  EXPECT_EQ(v["g"], "web");
}

TEST(Documents, MultiDocumentYamlKeepsIndexAndLines) {
  auto docs = ParseDocuments("kind: A\n---\n# comment\n---\nkind: B\nspec:\n  x: 1\n", "m.yaml");
  ASSERT_TRUE(docs.ok());
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0].index, 1);
  EXPECT_EQ((*docs)[1].index, 3);
  EXPECT_EQ((*docs)[1].LineOf("spec.x"), 7);
}

TEST(Documents, ListKindIsExpanded) {
  auto docs = ParseDocuments(
      "apiVersion: v1\nkind: List\nitems:\n- kind: A\n  metadata: {name: a}\n- kind: B\n", "l.yaml");
  ASSERT_TRUE(docs.ok());
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0].value["kind"], "A");
  EXPECT_EQ((*docs)[0].LineOf("metadata"), 5);
  EXPECT_EQ((*docs)[1].value["kind"], "B");
}

TEST(Documents, JsonObjectArrayAndList) {
  auto one = ParseDocuments(R"({"kind":"A"})", "a.json");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  auto list = ParseDocuments(R"({"kind":"ScaledObjectList","items":[{"kind":"X"},{"kind":"Y"}]})", "b.json");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
}

TEST(Documents, SyntaxErrorsNameFileAndLine) {
  auto bad = ParseDocuments("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(bad.status().message().find("bad.yaml:"), std::string::npos) << bad.status().message();
  auto json = ParseDocuments("{\"a\": }", "bad.json");
  ASSERT_FALSE(json.ok());
  EXPECT_NE(json.status().message().find("bad.json: not valid JSON"), std::string::npos);
}

TEST(Documents, DirectoriesAreReadRecursivelyInNameOrder) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("ebb-doc-test-" + std::to_string(::getpid()));
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "b.yaml") << "kind: B\n";
  std::ofstream(dir / "a.yml") << "kind: A\n";
  std::ofstream(dir / "sub" / "c.json") << "{\"kind\":\"C\"}";
  std::ofstream(dir / "notes.txt") << "kind: ignored\n";
  Problems problems;
  auto docs = LoadDocuments({dir.string(), (dir / "missing.yaml").string()}, &problems);
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].value["kind"], "A");
  EXPECT_EQ(docs[1].value["kind"], "B");
  EXPECT_EQ(docs[2].value["kind"], "C");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].ToString().find("missing.yaml: no such file"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ebb::api

namespace ebb::api {
namespace {

// Found by fuzz/manifest_fuzz: a JSON number too large for a double threw
// out of nlohmann's non-throwing parse and aborted ebb.
TEST(DocumentsFuzzRegression, HugeJsonNumberIsAnErrorNotAnAbort) {
  auto docs = ParseDocuments("{\"a\": 6666666666666666666666666666666666666e6666666666}", "x.json");
  ASSERT_FALSE(docs.ok());
  EXPECT_NE(docs.status().message().find("x.json: not valid JSON"), std::string::npos) << docs.status().ToString();
}

}  // namespace
}  // namespace ebb::api
