#include "api/document.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/strings.h"

namespace ebb::api {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Hand-written scanners instead of std::regex: libstdc++'s regex recurses
// once per character matched, so a 50,000-digit scalar overflowed the stack.
size_t SkipDigits(std::string_view s, size_t i) {
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  return i;
}

size_t SkipSign(std::string_view s) { return !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0; }

// [-+]?[0-9]+
bool IsCoreInt(std::string_view s) {
  size_t start = SkipSign(s);
  size_t end = SkipDigits(s, start);
  return end > start && end == s.size();
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool IsCoreFloat(std::string_view s) {
  size_t i = SkipSign(s);
  size_t int_end = SkipDigits(s, i);
  bool has_int = int_end > i;
  i = int_end;
  if (i < s.size() && s[i] == '.') {
    size_t frac_end = SkipDigits(s, i + 1);
    if (!has_int && frac_end == i + 1) return false;
    i = frac_end;
  } else if (!has_int) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t exp_start = i + 1 + SkipSign(s.substr(i + 1));
    size_t exp_end = SkipDigits(s, exp_start);
    if (exp_end == exp_start) return false;
    i = exp_end;
  }
  return i == s.size();
}

// YAML 1.2 core schema resolution of a plain scalar.
json PlainScalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (IsCoreInt(s)) {
    if (auto v = ParseInt(s)) return *v;
    return s;  // out of range: keep the text
  }
  if (IsCoreFloat(s)) {
    if (auto v = ParseDouble(s)) return *v;
  }
  return s;  // .inf, .nan and everything else are kept as text
}

std::string ChildPath(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

// State of one document's conversion: the limits are checked as nodes are
// visited, so an alias bomb is refused after kMaxDocumentNodes nodes, not
// after it has filled the memory.
struct Conversion {
  Document* doc;
  int line_offset = 0;  // of the document's first line in its file
  size_t nodes = 0;
  std::string failure;  // set once a limit is passed; conversion stops
};

json Convert(const YAML::Node& node, const std::string& path, int depth, Conversion* c) {
  if (!c->failure.empty()) return nullptr;
  if (++c->nodes > kMaxDocumentNodes) {
    c->failure = "expands to more than " + std::to_string(kMaxDocumentNodes) +
                 " nodes with its aliases (the limit per document)";
    return nullptr;
  }
  // `depth` counts the maps and lists around this node (as JSON brackets).
  if ((node.IsMap() || node.IsSequence()) && depth >= kMaxNestingDepth) {
    c->failure = path + ": nested deeper than " + std::to_string(kMaxNestingDepth) +
                 " levels (the limit)";
    return nullptr;
  }
  if (node.Mark().line >= 0) c->doc->lines.emplace(path, node.Mark().line + 1 + c->line_offset);
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
      for (size_t i = 0; i < node.size() && c->failure.empty(); ++i) {
        arr.push_back(Convert(node[i], path + "[" + std::to_string(i) + "]", depth + 1, c));
      }
      return arr;
    }
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (const auto& kv : node) {
        if (!c->failure.empty()) break;
        // A key that is itself a map or list has no text; yaml-cpp gives "".
        std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
        obj[key] = Convert(kv.second, ChildPath(path, key), depth + 1, c);
      }
      return obj;
    }
  }
  return nullptr;
}

// The deepest nesting of '[' and '{' in JSON text, outside strings. Checked
// before parsing: nlohmann's parser is iterative, but copying, dumping and
// decoding the tree recurse.
int JsonDepth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (in_string) {
      if (ch == '\\') ++i;
      else if (ch == '"') in_string = false;
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (ch == ']' || ch == '}') {
      --depth;
    }
  }
  return deepest;
}

// Expands `kind: List` / `*List` documents into their items.
void Append(Document doc, std::vector<Document>* out) {
  const json& v = doc.value;
  // A kind that is not a string is reported by the decoder that routes it.
  auto kind = v.is_object() ? v.find("kind") : v.end();
  bool is_list = v.is_object() && v.contains("items") && v["items"].is_array() &&
                 kind != v.end() && kind->is_string() &&
                 kind->get<std::string>().size() >= 4 && EndsWith(kind->get<std::string>(), "List");
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
  if (JsonDepth(text) > kMaxNestingDepth) {
    return InvalidConfig(file + ": nested deeper than " + std::to_string(kMaxNestingDepth) +
                         " levels (the limit)");
  }
  json value;
  try {
    // nlohmann throws out_of_range (406, a number too large for a double)
    // even with allow_exceptions=false (found by fuzz/manifest_fuzz).
    value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  } catch (const json::exception& e) {
    return InvalidConfig(file + ": not valid JSON: " + e.what());
  }
  if (value.is_discarded()) {
    // Re-parse with exceptions only to learn where it broke.
    try {
      json ignored = json::parse(text);
    } catch (const json::exception& e) {
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

// One YAML document of a stream, and where it starts in the file.
struct YamlChunk {
  std::string text;
  int first_line = 0;  // 0-based
  bool starts_with_marker = false;
};

bool IsDocumentStart(std::string_view line) {
  return StartsWith(line, "---") &&
         (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r' || line[3] == '\n');
}

// Splits a YAML stream at its "---" lines and parses each document with
// YAML::Load: yaml-cpp 0.7's LoadAll loops forever, allocating, on some
// invalid input such as a line starting with ", " (found by scripts/fuzz;
// jbeder/yaml-cpp#1319, fixed after 0.7). A document marker at column 0
// cannot be content in YAML, so the split is exact.
std::vector<YamlChunk> SplitYamlDocuments(std::string_view text) {
  std::vector<YamlChunk> chunks(1);
  int line_no = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end == std::string_view::npos ? text.size() : end + 1);
    if (IsDocumentStart(line) && (line_no > 0 || !chunks.back().text.empty())) {
      chunks.push_back(YamlChunk{"", line_no, true});
    } else if (IsDocumentStart(line)) {
      chunks.back().starts_with_marker = true;
    }
    chunks.back().text.append(line);
    text.remove_prefix(line.size());
    ++line_no;
    // "..." ends a document; what follows may be a bare document.
    if (Trim(line) == "..." && line.front() == '.') chunks.push_back(YamlChunk{"", line_no, false});
  }
  return chunks;
}

// True when a document has something besides markers, comments, blank
// lines and an explicit null.
bool HasContent(std::string_view chunk) {
  for (const std::string& raw : Split(chunk, '\n')) {
    std::string_view line = Trim(raw);
    if (IsDocumentStart(line)) line = Trim(line.substr(3));
    if (line.empty() || line.front() == '#' || line == "..." || line == "~" || line == "null" ||
        line == "Null" || line == "NULL") {
      continue;
    }
    return true;
  }
  return false;
}

Status TooLarge(const std::string& file, uintmax_t size) {
  return InvalidConfig(file + ": " + std::to_string(size) + " bytes, over the limit of " +
                       std::to_string(kMaxManifestBytes) + " bytes per manifest file");
}

}  // namespace

Result<std::vector<Document>> ParseDocuments(const std::string& text, const std::string& file) {
  if (text.size() > kMaxManifestBytes) return TooLarge(file, text.size());
  if (LooksLikeJson(text)) return ParseJson(text, file);
  std::vector<Document> out;
  int index = 0;
  for (const YamlChunk& chunk : SplitYamlDocuments(text)) {
    YAML::Node node;
    try {
      node = YAML::Load(chunk.text);
    } catch (const YAML::Exception& e) {
      return InvalidConfig(file + ":" + std::to_string(e.mark.line + 1 + chunk.first_line) + ":" +
                           std::to_string(e.mark.column + 1) + ": not valid YAML: " + e.msg);
    }
    if (!chunk.starts_with_marker && node.IsNull() && !HasContent(chunk.text)) {
      continue;  // comments before the first "---" or after a "...": no document
    }
    ++index;
    if (node.IsNull()) {
      // yaml-cpp reads some garbage (", c") as an empty document.
      if (HasContent(chunk.text)) {
        return InvalidConfig(file + ":" + std::to_string(chunk.first_line + 1) +
                             ": not valid YAML: document " + std::to_string(index) +
                             " could not be read");
      }
      continue;  // empty document between "---" separators
    }
    Document doc{file, index, nullptr, {}};
    Conversion conversion{&doc, chunk.first_line};
    try {
      doc.value = Convert(node, "", 0, &conversion);
    } catch (const YAML::Exception& e) {
      return InvalidConfig(file + ": document " + std::to_string(index) + ": " + e.msg);
    }
    if (!conversion.failure.empty()) {
      return InvalidConfig(file + ": document " + std::to_string(index) + ": " +
                           conversion.failure);
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
    std::error_code ec;
    uintmax_t size = fs::file_size(file, ec);
    if (!ec && size > kMaxManifestBytes) {
      problems->push_back({"", 0, 0, "", "", "", TooLarge(file, size).message()});
      continue;
    }
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
