// Formula: KEDA's `advanced.scalingModifiers.formula`, which combines
// trigger values by trigger name into one composite metric. KEDA evaluates
// it with expr-lang; ebb implements the part of expr-lang that KEDA's docs
// and users write, with expr-lang's types and precedence, and refuses
// anything else with its position.
//
//   Result<Formula> f = ParseFormula("queue > 10 ? max(queue, lag) : 0");
//   if (!f.ok()) return f.status();      // "position 9: expected ')'"
//   Result<double> v = f->Evaluate({{"queue", 12}, {"lag", 30}});  // 30
//
// Supported (expr-lang precedence, lowest first; all binary operators
// left-associative except ** and ^):
//   c ? a : b                   ternary; c must be a bool
//   or ||    and &&             bools only
//   == != < <= > >=             comparisons give bools
//   + -     * / %               / always gives a float; % needs integers
//   not ! (unary)   - + (unary)
//   ** ^                        power (float)
//   ??                          nil coalescing, right-associative: a trigger
//                               without a value is nil on its left
//                               (`primary ?? secondary ?? 8`)
//   literals: 12, 1.5, 1e3, true, false, nil, [a, b, c]
//   functions: float int abs ceil floor round min max sum
//              count all any none filter map  -- the last six take an array
//              and a predicate over `#`, the element: count([a, b], # > 1),
//              braces optional: filter([a, b], {# > 0})
// Types follow expr-lang: trigger values are floats, integer literals ints;
// int op int stays int for + - * %. An int result is used as a number
// (KEDA fails such a formula at every poll with "non-float result int";
// docs/keda-differences.md). A type error (`queue && lag`, a ternary
// on a number, `queue % 2`) is refused when the formula is parsed, as
// expr-lang refuses it when KEDA compiles it. The result must be a number.
// Division (and %) by zero is an error instead of expr-lang's +Inf/panic: a
// composite metric of +Inf would scale to the maximum.
//
// Limits: a formula of at most 4096 characters nesting at most 64 levels;
// past either, an error naming the limit. Positions in errors are 1-based
// character columns of the formula text.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ebb::scaling {

inline constexpr size_t kMaxFormulaLength = 4096;
inline constexpr int kMaxFormulaDepth = 64;

class Formula;
Result<Formula> ParseFormula(std::string_view text);

// A parsed, type-checked formula. Immutable after parsing: a value type,
// copyable, safe to evaluate from any number of threads at once.
class Formula {
 public:
  // Trigger names the formula reads, sorted, each once.
  const std::vector<std::string>& Variables() const { return variables_; }
  const std::string& text() const { return text_; }

  // The value for the given trigger values. kInvalidConfig when a name has
  // no value ("unknown trigger \"x\""), on division by zero ("position 5:
  // division by zero"), or when the result is not a finite number.
  Result<double> Evaluate(const std::map<std::string, double>& values) const;

  // The value types of expr-lang that formulas use. kAny: not known before
  // evaluation (an element of a mixed array); checked at run time.
  enum class Type : uint8_t { kInt, kFloat, kBool, kArray, kNil, kAny };
  enum class Kind : uint8_t { kNumber, kBool, kNil, kVariable, kElement, kUnary, kBinary, kTernary, kCall, kArray };
  struct Node {
    Kind kind;
    std::string op;             // operator, function or variable name
    double number = 0;          // kNumber; kBool: 1 or 0
    bool integer = false;       // kNumber: an integer literal
    int32_t position = 0;       // 1-based column, for errors
    std::vector<int32_t> args;  // indexes into nodes
    bool nullable = false;      // kVariable left of ??: a missing value is nil, not an error
  };

 private:
  friend Result<Formula> ParseFormula(std::string_view text);

  std::string text_;
  std::vector<Node> nodes_;
  int32_t root_ = 0;
  std::vector<std::string> variables_;
};

// Parses and type-checks a formula. kInvalidConfig naming the position on
// bad input: "position 5: unexpected token \"*\"", "position 9: expected
// ')'", "position 1: unknown function \"sqrt\"", "position 7: && needs bools,
// got float", "formula is empty".
Result<Formula> ParseFormula(std::string_view text);

namespace formula_internal {
// The static type of node `index` (formula_eval.cc); kInvalidConfig with the
// position on a type error.
Result<Formula::Type> CheckTypes(const std::vector<Formula::Node>& nodes, int32_t index);
// Evaluates a checked formula (formula_eval.cc).
Result<double> Evaluate(const std::vector<Formula::Node>& nodes, int32_t root,
                        const std::map<std::string, double>& values);
}  // namespace formula_internal

}  // namespace ebb::scaling
