#include "api/decoder.h"

#include <cmath>

#include "common/strings.h"

namespace ebb::api {

std::string JsonTypeName(const nlohmann::json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "a list";
  return "a map";
}

std::string DumpJson(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

std::string TypeName(const nlohmann::json& v) { return JsonTypeName(v); }

std::string Quote(const nlohmann::json& v) {
  return v.is_string() ? "\"" + v.get<std::string>() + "\"" : DumpJson(v);
}

// An integral double fits in int64_t: [-2^63, 2^63). Casting one outside
// is undefined behaviour.
bool FitsInt64(double d) { return d >= -9223372036854775808.0 && d < 9223372036854775808.0; }

}  // namespace

Decoder::Decoder(const Document& doc, std::string kind, std::string object, Problems* errors,
                 Problems* warnings)
    : doc_(doc), kind_(std::move(kind)), object_(std::move(object)), errors_(errors),
      warnings_(warnings) {}

Problem Decoder::Make(const std::string& path, std::string message) const {
  return Problem{doc_.file, doc_.LineOf(path), doc_.index, kind_, object_, path, std::move(message)};
}

void Decoder::Error(const std::string& path, std::string message) {
  ++error_count_;
  errors_->push_back(Make(path, std::move(message)));
}

void Decoder::Warn(const std::string& path, std::string message) {
  warnings_->push_back(Make(path, std::move(message)));
}

const nlohmann::json* Decoder::Member(const json& parent, const std::string& key) const {
  if (!parent.is_object()) return nullptr;
  auto it = parent.find(key);
  if (it == parent.end() || it->is_null()) return nullptr;
  return &*it;
}

bool Decoder::String(const json& parent, const std::string& key, const std::string& path,
                     std::string* out) {
  const json* v = Member(parent, key);
  if (!v) return false;
  std::string p = Join(path, key);
  if (v->is_string()) {
    *out = v->get<std::string>();
    return true;
  }
  if (v->is_number() || v->is_boolean()) {
    // The value is not echoed: this reader also serves Secret data.
    Warn(p, "should be a string in Kubernetes; quote the value");
    *out = DumpJson(*v);
    return true;
  }
  Error(p, "must be a string, not " + TypeName(*v));
  return false;
}

bool Decoder::Int64(const json& parent, const std::string& key, const std::string& path,
                    int64_t* out) {
  const json* v = Member(parent, key);
  if (!v) return false;
  std::string p = Join(path, key);
  if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t{INT64_MAX}) {
    Error(p, DumpJson(*v) + " is out of range for a 64-bit integer");
    return false;
  }
  if (v->is_number_integer()) {
    *out = v->get<int64_t>();
    return true;
  }
  if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
      FitsInt64(v->get<double>())) {
    *out = static_cast<int64_t>(v->get<double>());
    return true;
  }
  if (v->is_string() && ParseInt(v->get<std::string>())) {
    Error(p, Quote(*v) + " must be an integer, not a string: write " + key + ": " +
                 v->get<std::string>());
    return false;
  }
  Error(p, Quote(*v) + " is not an integer");
  return false;
}

bool Decoder::Int32(const json& parent, const std::string& key, const std::string& path,
                    int32_t* out) {
  int64_t v = 0;
  if (!Int64(parent, key, path, &v)) return false;
  if (v < INT32_MIN || v > INT32_MAX) {
    Error(Join(path, key), std::to_string(v) + " is out of range for a 32-bit integer");
    return false;
  }
  *out = static_cast<int32_t>(v);
  return true;
}

bool Decoder::Bool(const json& parent, const std::string& key, const std::string& path,
                   bool* out) {
  const json* v = Member(parent, key);
  if (!v) return false;
  if (v->is_boolean()) {
    *out = v->get<bool>();
    return true;
  }
  Error(Join(path, key), Quote(*v) + " is not a boolean (true or false)");
  return false;
}

bool Decoder::Number(const json& parent, const std::string& key, const std::string& path,
                     double* out) {
  const json* v = Member(parent, key);
  if (!v) return false;
  if (v->is_number()) {
    *out = v->get<double>();
    return true;
  }
  if (v->is_string()) {
    if (auto q = ParseQuantity(v->get<std::string>())) {
      *out = *q;
      return true;
    }
  }
  Error(Join(path, key), Quote(*v) + " is not a number");
  return false;
}

bool Decoder::StringMap(const json& parent, const std::string& key, const std::string& path,
                        std::map<std::string, std::string>* out) {
  const json* v = Object(parent, key, path);
  if (!v) return false;
  std::string p = Join(path, key);
  for (auto it = v->begin(); it != v->end(); ++it) {
    std::string value;
    if (it->is_null()) {
      (*out)[it.key()] = "";
    } else if (String(*v, it.key(), p, &value)) {
      (*out)[it.key()] = value;
    }
  }
  return true;
}

bool Decoder::Timestamp(const json& parent, const std::string& key, const std::string& path,
                        Time* out) {
  std::string text;
  if (!String(parent, key, path, &text)) return false;
  if (!ParseRfc3339(text, out)) {
    Error(Join(path, key), "\"" + text + "\" is not an RFC 3339 timestamp");
    return false;
  }
  return true;
}

const nlohmann::json* Decoder::Object(const json& parent, const std::string& key,
                                      const std::string& path) {
  const json* v = Member(parent, key);
  if (!v) return nullptr;
  if (!v->is_object()) {
    Error(Join(path, key), "must be a map, not " + TypeName(*v));
    return nullptr;
  }
  return v;
}

const nlohmann::json* Decoder::Array(const json& parent, const std::string& key,
                                     const std::string& path) {
  const json* v = Member(parent, key);
  if (!v) return nullptr;
  if (!v->is_array()) {
    Error(Join(path, key), "must be a list, not " + TypeName(*v));
    return nullptr;
  }
  return v;
}

void Decoder::WarnUnknown(const json& obj, const std::string& path,
                          std::initializer_list<std::string_view> known) {
  if (!obj.is_object()) return;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool found = false;
    for (std::string_view k : known) found = found || k == it.key();
    if (!found) Warn(Join(path, it.key()), "unknown field; ignored");
  }
}

std::optional<double> ParseQuantity(std::string_view text) {
  std::string_view t = Trim(text);
  static constexpr std::pair<std::string_view, double> kSuffixes[] = {
      {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"m", 1e-3},
      {"k", 1e3},     {"M", 1e6},        {"G", 1e9},           {"T", 1e12}};
  for (const auto& [suffix, factor] : kSuffixes) {
    if (t.size() > suffix.size() && EndsWith(t, suffix)) {
      auto v = ParseDouble(t.substr(0, t.size() - suffix.size()));
      if (v) return *v * factor;
      return std::nullopt;
    }
  }
  return ParseDouble(t);
}

ObjectMeta DecodeObjectMeta(Decoder& d, const nlohmann::json& root, bool namespaced) {
  ObjectMeta m;
  const nlohmann::json* md = d.Object(root, "metadata", "");
  if (!namespaced) m.namespace_name = "";
  if (!md) {
    d.Error("metadata", "is missing; every manifest needs metadata.name");
    return m;
  }
  if (!d.String(*md, "name", "metadata", &m.name) || m.name.empty()) {
    d.Error("metadata.name", "is required");
  }
  if (namespaced) d.String(*md, "namespace", "metadata", &m.namespace_name);
  if (m.namespace_name.empty() && namespaced) m.namespace_name = "default";
  d.String(*md, "uid", "metadata", &m.uid);
  d.String(*md, "resourceVersion", "metadata", &m.resource_version);
  d.Int64(*md, "generation", "metadata", &m.generation);
  Time t;
  if (d.Timestamp(*md, "creationTimestamp", "metadata", &t)) m.creation_timestamp = t;
  if (d.Timestamp(*md, "deletionTimestamp", "metadata", &t)) m.deletion_timestamp = t;
  d.StringMap(*md, "labels", "metadata", &m.labels);
  d.StringMap(*md, "annotations", "metadata", &m.annotations);
  if (const nlohmann::json* f = d.Array(*md, "finalizers", "metadata")) {
    for (const auto& item : *f) {
      if (item.is_string()) m.finalizers.push_back(item.get<std::string>());
    }
  }
  d.SetObject(m.Key());
  return m;
}

}  // namespace ebb::api
