// Hostile manifest input: each limit of document.h at the limit and just
// past it, and the inputs that used to crash (deep nesting, huge scalars,
// alias bombs, non-strings where strings belong).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "api/document.h"
#include "api/manifest_set.h"

namespace ebb::api {
namespace {

using ::testing::HasSubstr;

// `depth` nested flow lists around a 1, in a typed field of a manifest.
std::string NestedYaml(int depth) {
  return "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: web}\nspec:\n"
         "  minReplicaCount: " + std::string(depth, '[') + "1" + std::string(depth, ']') + "\n";
}

std::string NestedJson(int depth) {
  return std::string(depth, '[') + "1" + std::string(depth, ']');
}

TEST(DocumentLimits, YamlNestingAtTheLimitParsesOnePastIsRefusedNamingTheLimit) {
  // The document map and `spec` are two levels: 62 lists make 64.
  auto at = ParseDocuments(NestedYaml(kMaxNestingDepth - 2), "deep.yaml");
  ASSERT_TRUE(at.ok()) << at.status().ToString();
  auto past = ParseDocuments(NestedYaml(kMaxNestingDepth - 1), "deep.yaml");
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.status().code(), StatusCode::kInvalidConfig);
  EXPECT_THAT(past.status().message(), HasSubstr("deep.yaml: document 1: spec.minReplicaCount"));
  EXPECT_THAT(past.status().message(), HasSubstr("nested deeper than 64 levels (the limit)"));
}

TEST(DocumentLimits, SeventyThousandDeepYamlIsAnErrorNotACrash) {
  auto r = ParseDocuments(NestedYaml(70'000), "deep.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);
}

TEST(DocumentLimits, JsonNestingAtTheLimitParsesOnePastIsRefused) {
  EXPECT_TRUE(ParseDocuments(NestedJson(kMaxNestingDepth), "deep.json").ok());
  auto past = ParseDocuments(NestedJson(kMaxNestingDepth + 1), "deep.json");
  ASSERT_FALSE(past.ok());
  EXPECT_THAT(past.status().message(), HasSubstr("nested deeper than 64 levels (the limit)"));
  auto huge = ParseDocuments(NestedJson(70'000), "deep.json");
  EXPECT_FALSE(huge.ok());
}

TEST(DocumentLimits, BracketsInsideJsonStringsDoNotCount) {
  std::string text = "{\"a\": \"" + std::string(100, '[') + "\\\"" + std::string(100, '{') + "\"}";
  auto r = ParseDocuments(text, "s.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].value["a"].get<std::string>().size(), 201u);
}

TEST(DocumentLimits, FiftyThousandDigitScalarIsTextNotACrash) {
  std::string digits(50'000, '7');
  auto r = ParseDocuments("a: " + digits + "\nb: " + digits + ".5\nc: -" + digits + "\n", "n.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& v = (*r)[0].value;
  EXPECT_EQ(v["a"], digits);  // out of int64 range: kept as text
  EXPECT_TRUE(v["b"].is_string());  // out of double range
  EXPECT_TRUE(v["c"].is_string());
}

TEST(DocumentLimits, PlainScalarsStillResolveAsTheCoreSchemaSays) {
  auto r = ParseDocuments("a: -12\nb: +3\nc: .5\nd: 1.\ne: 1e3\nf: 2.5E-2\ng: 1e\nh: .\ni: 1.2.3\n"
                          "j: +\nk: e5\nl: .inf\n", "s.yaml");
  ASSERT_TRUE(r.ok());
  const auto& v = (*r)[0].value;
  EXPECT_EQ(v["a"], -12);
  EXPECT_EQ(v["b"], 3);
  EXPECT_DOUBLE_EQ(v["c"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(v["d"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(v["e"].get<double>(), 1000.0);
  EXPECT_DOUBLE_EQ(v["f"].get<double>(), 0.025);
  for (const char* text : {"g", "h", "i", "j", "k", "l"}) {
    EXPECT_TRUE(v[text].is_string()) << text;
  }
}

// The 752-byte bomb of the issue: nine levels of nine aliases.
std::string AliasBomb() {
  std::string text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i <= 8; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 9; ++k) text += (k ? ", " : "") + prev;
    text += "]\n";
  }
  return text;
}

TEST(DocumentLimits, AliasBombIsRefusedNamingTheLimit) {
  std::string bomb = AliasBomb();
  EXPECT_LT(bomb.size(), 800u);
  auto r = ParseDocuments(bomb, "bomb.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("expands to more than 100000 nodes with its aliases (the limit per document)"));
}

// A document of exactly `nodes` nodes: the root map, the list, its items.
std::string DocumentOfNodes(size_t nodes) {
  std::string text = "items: [";
  for (size_t i = 0; i + 2 < nodes; ++i) text += i ? ",1" : "1";
  return text + "]\n";
}

TEST(DocumentLimits, NodeCountAtTheLimitParsesOnePastIsRefused) {
  EXPECT_TRUE(ParseDocuments(DocumentOfNodes(kMaxDocumentNodes), "n.yaml").ok());
  auto past = ParseDocuments(DocumentOfNodes(kMaxDocumentNodes + 1), "n.yaml");
  ASSERT_FALSE(past.ok());
  EXPECT_THAT(past.status().message(), HasSubstr("100000 nodes"));
}

TEST(DocumentLimits, InputThatMadeYamlCppLoopForeverIsAnError) {
  // yaml-cpp 0.7's LoadAll looped forever, allocating, on a line starting
  // with ", " (found by scripts/fuzz in manifest_fuzz).
  for (std::string text : {", c\n", "# x\n, c\nd: e\n", "a: b\n---\n, c\n"}) {
    auto r = ParseDocuments(text, "loop.yaml");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_THAT(r.status().message(), HasSubstr("not valid YAML")) << text;
  }
}

TEST(DocumentLimits, DocumentsSplitAtMarkersKeepTheirIndexesAndLines) {
  auto r = ParseDocuments("# head\n---\nkind: A\n...\n---\n---\nkind: B\nspec:\n  x: 1\n--- {kind: C}\n",
                          "s.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].index, 1);
  EXPECT_EQ((*r)[1].value["kind"], "B");
  EXPECT_EQ((*r)[1].index, 3);
  EXPECT_EQ((*r)[1].LineOf("spec.x"), 9);
  EXPECT_EQ((*r)[2].value["kind"], "C");
  EXPECT_EQ((*r)[2].index, 4);
  auto bad = ParseDocuments("kind: A\n---\nkind: B\nspec: [x\n", "e.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("e.yaml:5:"));
}

TEST(DocumentLimits, ModestAliasesStillWork) {
  auto r = ParseDocuments("base: &b {x: 1}\nuse: *b\n", "a.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].value["use"]["x"], 1);
}

TEST(DocumentLimits, TextAtTheSizeLimitIsReadOnePastIsRefused) {
  std::string at = "# " + std::string(kMaxManifestBytes - 3, 'x') + "\n";
  ASSERT_EQ(at.size(), kMaxManifestBytes);
  EXPECT_TRUE(ParseDocuments(at, "big.yaml").ok());
  auto past = ParseDocuments(at + "\n", "big.yaml");
  ASSERT_FALSE(past.ok());
  EXPECT_THAT(past.status().message(),
              HasSubstr("big.yaml: 4194305 bytes, over the limit of 4194304 bytes per manifest file"));
}

TEST(DocumentLimits, OversizedFileIsRefusedWithoutReadingIt) {
  auto dir = std::filesystem::temp_directory_path() / ("ebb-big-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::path file = dir / "big.yaml";
  std::filesystem::path good = dir / "good.yaml";
  std::ofstream(file) << "# " << std::string(kMaxManifestBytes, 'x') << "\n";
  std::ofstream(good) << "kind: A\n";
  Problems problems;
  std::vector<Document> docs = LoadDocuments({dir.string()}, &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].message, HasSubstr("over the limit of 4194304 bytes"));
  ASSERT_EQ(docs.size(), 1u);  // the other file is still read
  EXPECT_EQ(docs[0].value["kind"], "A");
  std::filesystem::remove_all(dir);
}

// Non-strings where strings belong: an error naming the field, for YAML and
// JSON alike, and the other documents are still decoded.
struct TypeCase {
  std::string text;
  std::string field;
};

TEST(ManifestTypes, NonStringApiVersionKindAndNameAreLocatedErrors) {
  const std::string so_tail = "\nspec: {scaleTargetRef: {name: w}, triggers: []}\n";
  std::vector<TypeCase> cases = {
      {"apiVersion: 1\nkind: ScaledObject\nmetadata: {name: a}" + so_tail, "apiVersion"},
      {"apiVersion: keda.sh/v1alpha1\nkind: [ScaledObject]\nmetadata: {name: a}" + so_tail, "kind"},
      {"apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: {x: 1}}" + so_tail,
       "metadata.name"},
      {"apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: a, namespace: [1]}" +
           so_tail, "metadata.namespace"},
      {R"({"apiVersion": 1, "kind": "ScaledObject", "metadata": {"name": "a"}})", "apiVersion"},
      {R"({"apiVersion": "v1", "kind": {"a": 1}, "items": []})", "kind"},
      {R"({"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": true, "kind": "Secret"}]})",
       "apiVersion"},
      {R"({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": [1]}})", "metadata.name"},
  };
  for (const TypeCase& c : cases) {
    auto docs = ParseDocuments(c.text, "t.yaml");
    ASSERT_TRUE(docs.ok()) << c.text;
    ManifestSet set = BuildManifestSet(std::move(*docs), {});
    bool named = false;
    for (const Problem& p : set.errors) named = named || p.field == c.field;
    EXPECT_TRUE(named) << c.text << "\n" << (set.errors.empty() ? "" : set.errors[0].ToString());
  }
}

TEST(ManifestTypes, ErrorsAreLocatedAtTheLine) {
  auto docs = ParseDocuments("kind: ScaledObject\napiVersion: 1\n", "t.yaml");
  ASSERT_TRUE(docs.ok());
  ManifestSet set = BuildManifestSet(std::move(*docs), {});
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].ToString(),
            "t.yaml:2 (document 1): apiVersion: must be a string, not a number");
}

TEST(ManifestTypes, HugeIntegersAreRangeErrorsNotCasts) {
  for (std::string v : {"1e300", "18446744073709551615", "-1e300", "9223372036854775808"}) {
    auto docs = ParseDocuments(
        R"({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "a"},
            "spec": {"scaleTargetRef": {"name": "w"}, "pollingInterval": )" + v +
            R"(, "triggers": []}})", "t.json");
    ASSERT_TRUE(docs.ok());
    ManifestSet set = BuildManifestSet(std::move(*docs), {});
    bool named = false;
    for (const Problem& p : set.errors) named = named || p.field == "spec.pollingInterval";
    EXPECT_TRUE(named) << v;
  }
}

}  // namespace
}  // namespace ebb::api
