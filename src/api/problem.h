// Problem: one error or warning about a manifest, located as precisely as
// the input allows: file, line, document, object and field path.
//
//   examples/web.yaml:14 (document 1, ScaledObject default/web):
//     spec.triggers[0].metadata.threshold: "abc" is not a number
#pragma once

#include <string>
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

}  // namespace ebb::api
