#include "doctor/check.h"

#include <nlohmann/json.hpp>
#include <ostream>

namespace ebb::doctor {

namespace {

constexpr char kFixMarker[] = " Fix: ";

const char* Mark(CheckResult::Status s) {
  switch (s) {
    case CheckResult::kPass:
      return "\xE2\x9C\x93";  // ✓
    case CheckResult::kWarn:
      return "!";
    case CheckResult::kFail:
      return "\xE2\x9C\x97";  // ✗
    case CheckResult::kSkip:
      return "-";
  }
  return "?";
}

const char* Color(CheckResult::Status s) {
  switch (s) {
    case CheckResult::kPass:
      return "\x1b[32m";
    case CheckResult::kWarn:
      return "\x1b[33m";
    case CheckResult::kFail:
      return "\x1b[31m";
    case CheckResult::kSkip:
      return "\x1b[90m";
  }
  return "";
}

void RenderOne(std::ostream& out, const CheckResult& c, const TextOptions& options) {
  const char* indent = c.scope.empty() ? "" : "  ";
  out << indent;
  if (options.color) out << Color(c.status);
  out << Mark(c.status) << " " << StatusName(c.status);
  if (options.color) out << "\x1b[0m";
  out << "  " << c.id << ": " << c.title;
  bool explain = c.status == CheckResult::kFail || c.status == CheckResult::kWarn;
  if (!explain) {
    if (!c.detail.empty()) out << " -- " << c.detail;
    out << "\n";
    return;
  }
  out << "\n";
  if (!c.detail.empty()) out << indent << "      cause: " << c.detail << "\n";
  if (!c.fix.empty()) out << indent << "      fix:   " << c.fix << "\n";
}

}  // namespace

std::string_view StatusName(CheckResult::Status status) {
  switch (status) {
    case CheckResult::kPass:
      return "pass";
    case CheckResult::kWarn:
      return "warn";
    case CheckResult::kFail:
      return "fail";
    case CheckResult::kSkip:
      return "skip";
  }
  return "fail";
}

void SetCauseAndFix(CheckResult& result, std::string_view message, std::string fallback_fix) {
  size_t at = message.find(kFixMarker);
  if (at == std::string_view::npos) {
    result.detail = std::string(message);
    result.fix = std::move(fallback_fix);
    return;
  }
  result.detail = std::string(message.substr(0, at));
  std::string_view rest = message.substr(at + sizeof(kFixMarker) - 1);
  result.fix = std::string(rest);
}

const CheckResult* Report::Find(std::string_view id, std::string_view scope_prefix) const {
  for (const CheckResult& c : checks_) {
    if (c.id == id && c.scope.compare(0, scope_prefix.size(), scope_prefix) == 0) return &c;
  }
  return nullptr;
}

Summary Report::Totals() const {
  Summary s;
  for (const CheckResult& c : checks_) {
    switch (c.status) {
      case CheckResult::kPass:
        ++s.pass;
        break;
      case CheckResult::kWarn:
        ++s.warn;
        break;
      case CheckResult::kFail:
        ++s.fail;
        break;
      case CheckResult::kSkip:
        ++s.skip;
        break;
    }
  }
  return s;
}

void Report::RenderText(std::ostream& out, const TextOptions& options) const {
  std::string scope = "\x01";  // never a real scope: the first one always prints
  for (const CheckResult& c : checks_) {
    if (c.scope != scope) {
      scope = c.scope;
      if (!scope.empty()) out << scope << "\n";
    }
    RenderOne(out, c, options);
  }
  Summary s = Totals();
  out << "summary: " << s.pass << " pass, " << s.warn << " warn, " << s.fail << " fail, " << s.skip
      << " skip\n";
}

void Report::RenderJson(std::ostream& out) const {
  nlohmann::ordered_json checks = nlohmann::ordered_json::array();
  for (const CheckResult& c : checks_) {
    checks.push_back({{"id", c.id},
                      {"status", std::string(StatusName(c.status))},
                      {"title", c.title},
                      {"detail", c.detail},
                      {"fix", c.fix},
                      {"scope", c.scope}});
  }
  Summary s = Totals();
  nlohmann::ordered_json summary = {
      {"pass", s.pass}, {"warn", s.warn}, {"fail", s.fail}, {"skip", s.skip}};
  out << nlohmann::ordered_json{{"checks", checks}, {"summary", summary}}.dump(
             -1, ' ', false, nlohmann::json::error_handler_t::replace)
      << "\n";
}

}  // namespace ebb::doctor
