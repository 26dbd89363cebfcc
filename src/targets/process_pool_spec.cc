#include "targets/process_pool_spec.h"

#include <set>

#include "api/decoder.h"

namespace ebb::targets {
namespace {

using json = nlohmann::json;

// A list item that should be a string. Numbers and booleans are accepted
// with a warning, as Kubernetes users often forget to quote `args: [8080]`.
bool ItemString(api::Decoder& d, const json& item, const std::string& path, std::string* out) {
  if (item.is_string()) {
    *out = item.get<std::string>();
    return true;
  }
  if (item.is_number() || item.is_boolean()) {
    d.Warn(path, "should be a string; quote the value");
    *out = item.dump();
    return true;
  }
  d.Error(path, "must be a string");
  return false;
}

// command: a string, or (the Kubernetes container habit) a list whose first
// item is the program and whose other items come before `args`.
void DecodeCommand(api::Decoder& d, const json& spec, ProcessPoolSpec* out,
                   std::vector<std::string>* leading_args) {
  auto it = spec.find("command");
  if (it != spec.end() && it->is_array()) {
    for (size_t i = 0; i < it->size(); ++i) {
      std::string s;
      if (!ItemString(d, (*it)[i], api::Decoder::Index("spec.command", i), &s)) continue;
      if (i == 0)
        out->command = s;
      else
        leading_args->push_back(s);
    }
  } else {
    d.String(spec, "command", "spec", &out->command);
  }
  if (out->command.empty()) {
    d.Error("spec.command", "is required: the program each copy runs (a path or a name in PATH)");
  }
}

void DecodeArgs(api::Decoder& d, const json& spec, std::vector<std::string>* out) {
  const json* args = d.Array(spec, "args", "spec");
  if (!args) return;
  for (size_t i = 0; i < args->size(); ++i) {
    std::string s;
    if (ItemString(d, (*args)[i], api::Decoder::Index("spec.args", i), &s)) out->push_back(s);
  }
}

void DecodeEnvVar(api::Decoder& d, const json& item, const std::string& path,
                  std::set<std::string>* seen, ProcessPoolSpec* out) {
  if (!item.is_object()) {
    d.Error(path, "must be a map with name and value");
    return;
  }
  std::string name, value;
  if (!d.String(item, "name", path, &name) || name.empty()) {
    d.Error(path + ".name", "is required");
    return;
  }
  if (name.find('=') != std::string::npos) {
    d.Error(path + ".name", "\"" + name + "\" must not contain '='");
    return;
  }
  if (item.contains("valueFrom")) {
    d.Error(path + ".valueFrom", "is not supported by ProcessPool; write value");
    return;
  }
  d.String(item, "value", path, &value);
  d.WarnUnknown(item, path, {"name", "value"});
  if (!seen->insert(name).second) {
    d.Warn(path + ".name", "\"" + name + "\" is set twice; the last value wins");
  }
  out->env.emplace_back(std::move(name), std::move(value));
}

void DecodeEnv(api::Decoder& d, const json& spec, ProcessPoolSpec* out) {
  auto it = spec.find("env");
  if (it == spec.end() || it->is_null()) return;
  if (!it->is_array()) {
    d.Error("spec.env", "must be a list of {name, value} maps");
    return;
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < it->size(); ++i) {
    DecodeEnvVar(d, (*it)[i], api::Decoder::Index("spec.env", i), &seen, out);
  }
}

void DecodeSpec(api::Decoder& d, const json& spec, ProcessPoolSpec* out) {
  std::vector<std::string> leading_args;
  DecodeCommand(d, spec, out, &leading_args);
  DecodeArgs(d, spec, &out->args);
  out->args.insert(out->args.begin(), leading_args.begin(), leading_args.end());
  DecodeEnv(d, spec, out);
  d.String(spec, "workingDir", "spec", &out->working_dir);
  if (d.Int32(spec, "gracePeriodSeconds", "spec", &out->grace_period_seconds) &&
      out->grace_period_seconds < 0) {
    d.Error("spec.gracePeriodSeconds",
            std::to_string(out->grace_period_seconds) + " must be 0 or more");
  }
  d.WarnUnknown(spec, "spec", {"command", "args", "env", "workingDir", "gracePeriodSeconds"});
}

// A top-level string member, "" when absent or not a string (value() would
// throw on another type, and a bad kind is not ours to report).
std::string TopString(const json& root, const char* key) {
  auto it = root.find(key);
  return it != root.end() && it->is_string() ? it->get<std::string>() : "";
}

api::Problem DocumentProblem(const api::Document& doc, std::string object, std::string field,
                             std::string message) {
  return api::Problem{doc.file,          doc.LineOf(field), doc.index,         kProcessPoolKind,
                      std::move(object), std::move(field),  std::move(message)};
}

}  // namespace

bool SameProcesses(const ProcessPoolSpec& a, const ProcessPoolSpec& b) {
  return a.metadata.Key() == b.metadata.Key() && a.command == b.command && a.args == b.args &&
         a.env == b.env && a.working_dir == b.working_dir &&
         a.grace_period_seconds == b.grace_period_seconds;
}

std::optional<ProcessPoolSpec> DecodeProcessPool(const api::Document& doc, api::Problems* errors,
                                                 api::Problems* warnings) {
  api::Decoder d(doc, kProcessPoolKind, "", errors, warnings);
  ProcessPoolSpec out;
  out.metadata = api::DecodeObjectMeta(d, doc.value, /*namespaced=*/true);
  const json* spec = d.Object(doc.value, "spec", "");
  if (spec) {
    DecodeSpec(d, *spec, &out);
  } else {
    d.Error("spec", "is required: a ProcessPool needs at least spec.command");
  }
  d.WarnUnknown(doc.value, "", {"apiVersion", "kind", "metadata", "spec", "status"});
  if (!d.ok()) return std::nullopt;
  return out;
}

std::vector<ProcessPoolSpec> DecodeProcessPools(const api::ManifestSet& set, api::Problems* errors,
                                                api::Problems* warnings) {
  std::vector<ProcessPoolSpec> pools;
  std::set<std::string> keys;
  for (const api::Document& doc : set.other_documents) {
    if (!doc.value.is_object() || TopString(doc.value, "kind") != kProcessPoolKind) continue;
    std::string api_version = TopString(doc.value, "apiVersion");
    if (api_version != kProcessPoolApiVersion) {
      errors->push_back(DocumentProblem(
          doc, "", "apiVersion",
          "\"" + api_version + "\" is not a ProcessPool version; use " + kProcessPoolApiVersion));
      continue;
    }
    std::optional<ProcessPoolSpec> pool = DecodeProcessPool(doc, errors, warnings);
    if (!pool) continue;
    if (!keys.insert(pool->metadata.Key()).second) {
      errors->push_back(DocumentProblem(
          doc, pool->metadata.Key(), "metadata.name",
          "another ProcessPool has the same namespace and name; this one is ignored"));
      continue;
    }
    pools.push_back(std::move(*pool));
  }
  return pools;
}

}  // namespace ebb::targets
