// Decoder: typed reads from a Document's generic tree, with every error and
// warning located (file, line, document, object, field path). Used by the
// decoders of each kind; one bad field is reported and decoding goes on, so
// a user sees every problem of a manifest at once.
//
//   Decoder d(doc, "ScaledObject", "default/web", &errors, &warnings);
//   d.Int32(spec, "pollingInterval", "spec", &out.polling_interval);
//   if (!d.ok()) ...  // errors were recorded
//
// Not thread-safe; one Decoder per document.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/document.h"
#include "api/problem.h"
#include "api/object_meta.h"
#include "common/clock.h"
#include "common/secret.h"

namespace ebb::api {

class Decoder {
 public:
  using json = nlohmann::json;

  // `errors` and `warnings` must outlive the Decoder.
  Decoder(const Document& doc, std::string kind, std::string object, Problems* errors,
          Problems* warnings);

  void Error(const std::string& path, std::string message);
  void Warn(const std::string& path, std::string message);
  bool ok() const { return error_count_ == 0; }
  void SetObject(std::string object) { object_ = std::move(object); }

  // Each reader: returns true when the field is present, well-typed and
  // stored in *out; false (with *out untouched) when absent; records an
  // error (and returns false) when present with the wrong type.
  bool String(const json& parent, const std::string& key, const std::string& path, std::string* out);
  bool Int32(const json& parent, const std::string& key, const std::string& path, int32_t* out);
  bool Int64(const json& parent, const std::string& key, const std::string& path, int64_t* out);
  bool Bool(const json& parent, const std::string& key, const std::string& path, bool* out);
  // A number, or a string holding a number or a Kubernetes quantity
  // ("0.05", "50m", "2k").
  bool Number(const json& parent, const std::string& key, const std::string& path, double* out);
  // A map of strings. Scalars that are not strings are converted to their
  // text with a warning (Kubernetes would reject them: quote them).
  bool StringMap(const json& parent, const std::string& key, const std::string& path,
                 std::map<std::string, std::string>* out);
  // RFC 3339 timestamp.
  bool Timestamp(const json& parent, const std::string& key, const std::string& path, Time* out);
  // The member if present and an object (error if present with another type).
  const json* Object(const json& parent, const std::string& key, const std::string& path);
  const json* Array(const json& parent, const std::string& key, const std::string& path);

  // Warns about each member of `obj` not in `known` ("unknown field; ignored").
  void WarnUnknown(const json& obj, const std::string& path,
                   std::initializer_list<std::string_view> known);

  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  static std::string Index(const std::string& path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

 private:
  Problem Make(const std::string& path, std::string message) const;
  const json* Member(const json& parent, const std::string& key) const;

  const Document& doc_;
  std::string kind_;
  std::string object_;
  Problems* errors_;
  Problems* warnings_;
  int error_count_ = 0;
};

// "a string", "a map", ... for error messages.
std::string JsonTypeName(const nlohmann::json& v);
// Compact JSON text of `v`; invalid UTF-8 in strings becomes U+FFFD instead
// of throwing (names and values come from users and API servers).
std::string DumpJson(const nlohmann::json& v);

// Parses a Kubernetes quantity or plain decimal ("0.05", "50m", "1.5k",
// "2Mi"); nullopt when it is neither.
std::optional<double> ParseQuantity(std::string_view text);

// Reads the ObjectMeta of a manifest. `namespaced` false: namespace is "".
ObjectMeta DecodeObjectMeta(Decoder& d, const nlohmann::json& root, bool namespaced);

}  // namespace ebb::api
