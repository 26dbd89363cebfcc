#include "api/document.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/strings.h"

namespace ebb::api {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// YAML 1.2 core schema resolution of a plain scalar.
json PlainScalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (std::regex_match(s, kInt)) {
    if (auto v = ParseInt(s)) return *v;
    return s;  // out of range: keep the text
  }
  if (std::regex_match(s, kFloat)) {
    if (auto v = ParseDouble(s)) return *v;
  }
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf") return s;  // kept as text
  return s;
}

std::string ChildPath(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

json Convert(const YAML::Node& node, const std::string& path, Document* doc) {
  if (node.Mark().line >= 0) doc->lines.emplace(path, node.Mark().line + 1);
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // "!" marks a quoted (non-plain) scalar; explicit tags other than the
      // core ones are read as strings.
      if (node.Tag() == "?") return PlainScalar(node.Scalar());
      if (node.Tag() == "tag:yaml.org,2002:int" || node.Tag() == "tag:yaml.org,2002:float") {
        return PlainScalar(node.Scalar());
      }
      return node.Scalar();
    case YAML::NodeType::Sequence: {
      json arr = json::array();
      for (size_t i = 0; i < node.size(); ++i) {
        arr.push_back(Convert(node[i], path + "[" + std::to_string(i) + "]", doc));
      }
      return arr;
    }
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (const auto& kv : node) {
        std::string key = kv.first.Scalar();
        obj[key] = Convert(kv.second, ChildPath(path, key), doc);
      }
      return obj;
    }
  }
  return nullptr;
}

// Expands `kind: List` / `*List` documents into their items.
void Append(Document doc, std::vector<Document>* out) {
  const json& v = doc.value;
  bool is_list = v.is_object() && v.contains("items") && v["items"].is_array() &&
                 v.value("kind", "").size() >= 4 && EndsWith(v.value("kind", ""), "List");
  if (!is_list) {
    out->push_back(std::move(doc));
    return;
  }
  for (size_t i = 0; i < v["items"].size(); ++i) {
    Document item;
    item.file = doc.file;
    item.index = doc.index;
    item.value = v["items"][i];
    std::string prefix = "items[" + std::to_string(i) + "]";
    for (const auto& [p, line] : doc.lines) {
      if (StartsWith(p, prefix + ".")) item.lines.emplace(p.substr(prefix.size() + 1), line);
      if (p == prefix) item.lines.emplace("", line);
    }
    out->push_back(std::move(item));
  }
}

bool LooksLikeJson(const std::string& text) {
  std::string_view t = Trim(text);
  return !t.empty() && (t.front() == '{' || t.front() == '[');
}

Result<std::vector<Document>> ParseJson(const std::string& text, const std::string& file) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    // Re-parse with exceptions only to learn where it broke.
    try {
      json ignored = json::parse(text);
    } catch (const json::parse_error& e) {
      return InvalidConfig(file + ": not valid JSON: " + e.what());
    }
    return InvalidConfig(file + ": not valid JSON");
  }
  std::vector<Document> out;
  if (value.is_array()) {
    int i = 0;
    for (auto& item : value) Append(Document{file, ++i, std::move(item), {}}, &out);
  } else {
    Append(Document{file, 1, std::move(value), {}}, &out);
  }
  return out;
}

}  // namespace

Result<std::vector<Document>> ParseDocuments(const std::string& text, const std::string& file) {
  if (LooksLikeJson(text)) return ParseJson(text, file);
  std::vector<YAML::Node> nodes;
  try {
    nodes = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    return InvalidConfig(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                         std::to_string(e.mark.column + 1) + ": not valid YAML: " + e.msg);
  }
  std::vector<Document> out;
  int index = 0;
  for (const YAML::Node& node : nodes) {
    ++index;
    if (node.IsNull()) continue;  // empty document between "---" separators
    Document doc{file, index, nullptr, {}};
    try {
      doc.value = Convert(node, "", &doc);
    } catch (const YAML::Exception& e) {
      return InvalidConfig(file + ": document " + std::to_string(index) + ": " + e.msg);
    }
    Append(std::move(doc), &out);
  }
  return out;
}

std::vector<std::string> ListManifestFiles(const std::vector<std::string>& paths,
                                           Problems* problems) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(path, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::string ext = it->path().extension().string();
        if (it->is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
          found.push_back(it->path().string());
        }
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(path, ec)) {
      files.push_back(path);
    } else {
      problems->push_back({path, 0, 0, "", "", "", "no such file or directory"});
    }
  }
  return files;
}

std::vector<Document> LoadDocuments(const std::vector<std::string>& paths, Problems* problems) {
  std::vector<Document> docs;
  for (const std::string& file : ListManifestFiles(paths, problems)) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      problems->push_back({file, 0, 0, "", "", "", "cannot be read (check its permissions)"});
      continue;
    }
    std::stringstream buf;
    buf << in.rdbuf();
    Result<std::vector<Document>> parsed = ParseDocuments(buf.str(), file);
    if (!parsed.ok()) {
      problems->push_back({"", 0, 0, "", "", "", parsed.status().message()});
      continue;
    }
    for (Document& d : *parsed) docs.push_back(std::move(d));
  }
  return docs;
}

}  // namespace ebb::api
