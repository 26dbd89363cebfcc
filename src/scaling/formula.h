// Formula: the small expression language of KEDA's
// `advanced.scalingModifiers.formula`, which combines trigger values by
// trigger name into one composite metric.
//
//   Result<Formula> f = ParseFormula("queue > 10 ? max(queue, lag) : 0");
//   if (!f.ok()) return f.status();      // "position 9: expected ')'"
//   Result<double> v = f->Evaluate({{"queue", 12}, {"lag", 30}});  // 30
//
// Grammar (usual precedence, lowest first):
//   ternary  := or ('?' ternary ':' ternary)?
//   or       := and ('||' and)*          and := compare ('&&' compare)*
//   compare  := sum (('<'|'<='|'>'|'>='|'=='|'!=') sum)*
//   sum      := product (('+'|'-') product)*
//   product  := unary (('*'|'/') unary)*
//   unary    := ('-'|'+'|'!') unary | primary
//   primary  := number | name | name '(' args ')' | '(' ternary ')'
// Functions: min(a, ...), max(a, ...), abs(x), ceil(x), floor(x).
// Comparisons and logic give 1 (true) or 0 (false); a condition is true
// when it is not 0. Names are [A-Za-z_][A-Za-z0-9_]*. Positions in errors
// are 1-based character columns of the formula text.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ebb::scaling {

class Formula;
Result<Formula> ParseFormula(std::string_view text);

// Limits (docs/reliability.md): a formula longer than this, or with
// parentheses, calls, ternaries and unary operators nested deeper, is
// kInvalidConfig naming the limit. KEDA's formulas are a line long.
inline constexpr size_t kMaxFormulaLength = 4096;
inline constexpr int kMaxFormulaNesting = 64;

// A parsed formula. Immutable after parsing: a value type, copyable, safe to
// evaluate from any number of threads at once.
class Formula {
 public:
  // Trigger names the formula reads, sorted, each once.
  const std::vector<std::string>& Variables() const { return variables_; }
  const std::string& text() const { return text_; }

  // The value for the given trigger values. kInvalidConfig when a name has
  // no value ("unknown trigger \"x\"") or on division by zero
  // ("position 5: division by zero"); the result is always finite.
  Result<double> Evaluate(const std::map<std::string, double>& values) const;

 private:
  friend class FormulaParser;
  friend Result<Formula> ParseFormula(std::string_view text);
  enum class Kind : uint8_t { kNumber, kVariable, kUnary, kBinary, kTernary, kCall };
  struct Node {
    Kind kind;
    std::string op;             // operator, function or variable name
    double number = 0;
    int32_t position = 0;       // 1-based column, for evaluation errors
    std::vector<int32_t> args;  // indexes into nodes_
  };
  Result<double> Eval(int32_t index, const std::map<std::string, double>& values) const;
  Result<double> EvalBinary(const Node& node, const std::map<std::string, double>& values) const;
  Result<double> EvalCall(const Node& node, const std::map<std::string, double>& values) const;

  std::string text_;
  std::vector<Node> nodes_;
  int32_t root_ = 0;
  std::vector<std::string> variables_;
};

// Parses a formula. kInvalidConfig naming the position on bad input:
// "position 5: unexpected token \"*\"", "position 9: expected ')'",
// "position 1: unknown function \"sqrt\"", "formula is empty".
Result<Formula> ParseFormula(std::string_view text);

}  // namespace ebb::scaling
