#include "api/problem.h"

namespace ebb::api {

std::string Problem::ToString() const {
  // Objects from the API server have no file, and their document number
  // is only the order of a cache listing: name the object alone.
  if (file.empty() && (!kind.empty() || !object.empty())) {
    std::string out = kind;
    if (!object.empty()) out += (kind.empty() ? "" : " ") + object;
    out += ": ";
    if (!field.empty()) out += field + ": ";
    return out + message;
  }
  std::string out = file;
  if (!file.empty() && line > 0) out += ":" + std::to_string(line);
  std::string where;
  if (document > 0) where = "document " + std::to_string(document);
  if (!kind.empty() || !object.empty()) {
    if (!where.empty()) where += ", ";
    where += kind;
    if (!object.empty()) where += (kind.empty() ? "" : " ") + object;
  }
  if (!where.empty()) out += (out.empty() ? "(" : " (") + where + ")";
  if (!out.empty()) out += ": ";
  if (!field.empty()) out += field + ": ";
  return out + message;
}

}  // namespace ebb::api
