// Documents: manifests read from YAML or JSON files into one generic tree
// (nlohmann::json), with the source line of every field where known, so
// that decoding errors can point at the line a user must edit.
//
//   Result<std::vector<Document>> docs = LoadDocuments({"deploy/", "extra.yaml"});
//
// YAML plain scalars are typed as YAML 1.2's core schema says (42 is a
// number, true a boolean, ~ null); quoted scalars are strings. `kind: List`
// documents (kubectl get -o yaml) are expanded into their items.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/problem.h"
#include "common/status.h"

namespace ebb::api {

// Limits on manifest input (docs/reliability.md). A manifest directory may be
// written by someone other than the operator of ebb (a CI job, a mounted
// ConfigMap), so what one file can cost is bounded:
// - a file (or in-memory text) larger than this is refused unread;
inline constexpr size_t kMaxManifestBytes = 4 * 1024 * 1024;
// - maps and lists nested deeper than this are refused (a KEDA manifest
//   needs about 8 levels; `kubectl get -o yaml` output with managedFields
//   about 20); the decoders and JSON writers recurse, so depth is stack;
inline constexpr int kMaxNestingDepth = 64;
// - a YAML document whose tree, with every alias expanded, has more nodes
//   than this is refused (a few hundred bytes of nested aliases expand to
//   billions of nodes: the "billion laughs").
inline constexpr size_t kMaxDocumentNodes = 100'000;

struct Document {
  std::string file;   // path as given, or "" for in-memory input
  int index = 0;      // 1-based position in its file
  nlohmann::json value;
  // Line of each field path ("spec.triggers[0].metadata.threshold"); YAML only.
  std::unordered_map<std::string, int> lines;

  int LineOf(const std::string& path) const {
    auto it = lines.find(path);
    return it == lines.end() ? 0 : it->second;
  }
};

// Parses YAML (one or more documents) or JSON text. `file` names the source
// in errors. Syntax errors are kInvalidConfig with file:line:column; so is
// input past one of the limits above (the message names the limit).
Result<std::vector<Document>> ParseDocuments(const std::string& text, const std::string& file);

// Reads files and directories (recursively: *.yaml, *.yml, *.json, in
// name order). kInvalidConfig for a path that does not exist or a file
// with a syntax error (the other files are still read: see `problems`).
std::vector<Document> LoadDocuments(const std::vector<std::string>& paths, Problems* problems);

// Lists the manifest files under the given paths (what LoadDocuments reads).
std::vector<std::string> ListManifestFiles(const std::vector<std::string>& paths, Problems* problems);

}  // namespace ebb::api
