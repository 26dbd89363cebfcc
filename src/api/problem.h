// Problem: one error or warning about a manifest, located as precisely as
// the input allows: file, line, document, object and field path.
//
//   examples/web.yaml:14 (document 1, ScaledObject default/web):
//     spec.triggers[0].metadata.threshold: "abc" is not a number
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace ebb::api {

struct Problem {
  std::string file;        // "" when not from a file (e.g. the API server)
  int line = 0;            // 1-based; 0 when unknown
  int document = 0;        // 1-based index in a multi-document file; 0 when unknown
  std::string kind;        // "ScaledObject", ... ("" when unknown)
  std::string object;      // "namespace/name" ("" when unknown)
  std::string field;       // "spec.triggers[0].metadata.threshold" ("" for the whole object)
  std::string message;     // what is wrong and, where useful, the fix

  // One line: "file:line (document N, Kind ns/name): field: message".
  std::string ToString() const;
};

using Problems = std::vector<Problem>;

// Where an object came from, so that problems found after decoding (trigger
// metadata, formulas) can still name the file and line. Empty for objects
// from the API server. Cheap to copy (the line table is shared).
struct SourceLocation {
  std::string file;
  int document = 0;
  std::shared_ptr<const std::unordered_map<std::string, int>> lines;

  int LineOf(const std::string& path) const {
    if (!lines) return 0;
    auto it = lines->find(path);
    return it == lines->end() ? 0 : it->second;
  }
  // A Problem at `field` of this object.
  Problem At(std::string kind, std::string object, std::string field, std::string message) const {
    int line = LineOf(field);
    return Problem{file, line, document, std::move(kind), std::move(object), std::move(field),
                   std::move(message)};
  }
};

}  // namespace ebb::api
