// CheckResult and Report: what `ebb doctor` found, step by step, and its two
// renderings (text for people, JSON for tools).
//
//   Report report;
//   report.Add({.id = "manifest.parse", .title = "Manifests parse and validate",
//               .status = CheckResult::kPass, .scope = "ScaledObject default/web"});
//   report.RenderText(std::cout, {.color = false});
//   report.RenderJson(std::cout);
//   return report.HasFailure() ? 1 : 0;
//
// Text: one line per check with a mark (✓ pass, ! warn, ✗ fail, - skip),
// grouped under a line per scope (ScaledObject and trigger), and under each
// warning or failure its cause and fix. JSON:
//   {"checks":[{"id","status","title","detail","fix","scope"}],
//    "summary":{"pass":N,"warn":N,"fail":N,"skip":N}}
// Nothing here redacts: checks must never put a secret into a result.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace ebb::doctor {

// The outcome of one check. Value type.
struct CheckResult {
  enum Status { kPass, kWarn, kFail, kSkip };

  std::string id;     // stable: "identity.token-claims" (docs/doctor.md)
  std::string title;  // "Service-account token claims"
  Status status = kPass;
  std::string detail;  // what was seen, or the cause of a warning or failure
  std::string fix;     // what to change ("" for pass and skip)
  // What the check is about: "" (the files), "ScaledObject ns/name", or
  // "ScaledObject ns/name, trigger 0 (prometheus)".
  std::string scope;
};

// "pass" | "warn" | "fail" | "skip".
std::string_view StatusName(CheckResult::Status status);

// Splits a message of the form "cause. Fix: what to do" (the shape of
// ebb's error messages) into detail and fix; without " Fix: " the whole
// message is the detail and `fallback_fix` the fix.
void SetCauseAndFix(CheckResult& result, std::string_view message, std::string fallback_fix = "");

struct Summary {
  int pass = 0;
  int warn = 0;
  int fail = 0;
  int skip = 0;
};

struct TextOptions {
  // ANSI colours on the marks. Default true (--no-color turns them off).
  bool color = true;
};

// The ordered list of results. Not thread-safe (built by one thread).
class Report {
 public:
  void Add(CheckResult result) { checks_.push_back(std::move(result)); }
  const std::vector<CheckResult>& checks() const { return checks_; }
  // The first result with this id and scope, or nullptr.
  const CheckResult* Find(std::string_view id, std::string_view scope_prefix = "") const;
  Summary Totals() const;
  bool HasFailure() const { return Totals().fail > 0; }

  void RenderText(std::ostream& out, const TextOptions& options) const;
  void RenderJson(std::ostream& out) const;

 private:
  std::vector<CheckResult> checks_;
};

}  // namespace ebb::doctor
