#include "scaling/formula.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "common/strings.h"

namespace ebb::scaling {
namespace {

enum class TokenKind { kNumber, kName, kOperator, kEnd };

struct Token {
  TokenKind kind;
  std::string text;
  int32_t position;  // 1-based
};

Status ErrorAt(int32_t position, const std::string& message) {
  return InvalidConfig("position " + std::to_string(position) + ": " + message);
}

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || std::isdigit(static_cast<unsigned char>(c)); }
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// Length of the number starting at `i` (digits, one '.', optional exponent).
size_t NumberLength(std::string_view s, size_t i) {
  size_t j = i;
  while (j < s.size() && (IsDigit(s[j]) || s[j] == '.')) ++j;
  if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
    size_t k = j + 1;
    if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
    if (k < s.size() && IsDigit(s[k])) {
      j = k;
      while (j < s.size() && IsDigit(s[j])) ++j;
    }
  }
  return j - i;
}

constexpr std::string_view kTwoCharOperators[] = {"<=", ">=", "==", "!=", "&&", "||"};
constexpr std::string_view kOneCharOperators = "+-*/()<>!?:,";

Result<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    int32_t pos = static_cast<int32_t>(i) + 1;
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (IsDigit(c) || (c == '.' && i + 1 < s.size() && IsDigit(s[i + 1]))) {
      size_t n = NumberLength(s, i);
      tokens.push_back({TokenKind::kNumber, std::string(s.substr(i, n)), pos});
      i += n;
    } else if (IsNameStart(c)) {
      size_t j = i;
      while (j < s.size() && IsNameChar(s[j])) ++j;
      tokens.push_back({TokenKind::kName, std::string(s.substr(i, j - i)), pos});
      i = j;
    } else {
      std::string_view two = s.substr(i, 2);
      bool is_two = std::find(std::begin(kTwoCharOperators), std::end(kTwoCharOperators), two) !=
                    std::end(kTwoCharOperators);
      if (!is_two && kOneCharOperators.find(c) == std::string_view::npos) {
        return ErrorAt(pos, "unexpected character '" + std::string(1, c) + "'");
      }
      size_t n = is_two ? 2 : 1;
      tokens.push_back({TokenKind::kOperator, std::string(s.substr(i, n)), pos});
      i += n;
    }
  }
  tokens.push_back({TokenKind::kEnd, "", static_cast<int32_t>(s.size()) + 1});
  return tokens;
}

// Arity of each function: {min args, max args}; -1 = any number.
struct FunctionArity {
  std::string_view name;
  int min_args;
  int max_args;
};
constexpr FunctionArity kFunctions[] = {
    {"min", 1, -1}, {"max", 1, -1}, {"abs", 1, 1}, {"ceil", 1, 1}, {"floor", 1, 1}};

const FunctionArity* FindFunction(std::string_view name) {
  for (const auto& f : kFunctions) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace

// Recursive-descent parser over the token list; builds Formula::nodes_.
class FormulaParser {
 public:
  FormulaParser(std::vector<Token> tokens, Formula& out) : tokens_(std::move(tokens)), out_(out) {}

  Result<int32_t> Parse() {
    Result<int32_t> root = Ternary();
    if (!root.ok()) return root;
    if (Peek().kind != TokenKind::kEnd) return Unexpected();
    return root;
  }

 private:
  using Node = Formula::Node;
  using Kind = Formula::Kind;

  const Token& Peek() const { return tokens_[next_]; }
  bool PeekOperator(std::string_view op) const {
    return Peek().kind == TokenKind::kOperator && Peek().text == op;
  }
  bool PeekAny(const std::vector<std::string_view>& ops) const {
    for (auto op : ops) {
      if (PeekOperator(op)) return true;
    }
    return false;
  }
  Status Unexpected() const {
    if (Peek().kind == TokenKind::kEnd) return ErrorAt(Peek().position, "unexpected end of formula");
    return ErrorAt(Peek().position, "unexpected token \"" + Peek().text + "\"");
  }
  Status Expect(std::string_view op) {
    if (!PeekOperator(op)) return ErrorAt(Peek().position, "expected '" + std::string(op) + "'");
    ++next_;
    return Status::Ok();
  }

  int32_t Add(Node node) {
    out_.nodes_.push_back(std::move(node));
    return static_cast<int32_t>(out_.nodes_.size()) - 1;
  }

  // Counts the parser's recursion (parentheses, call arguments, ternary
  // branches, unary operators) so that "((((...1" cannot exhaust the stack.
  class Nesting {
   public:
    explicit Nesting(int& depth) : depth_(depth) { ++depth_; }
    ~Nesting() { --depth_; }
    bool TooDeep() const { return depth_ > kMaxFormulaNesting; }

   private:
    int& depth_;
  };
  Status TooDeep() const {
    return ErrorAt(Peek().position, "nested deeper than " + std::to_string(kMaxFormulaNesting) +
                                        " levels (the limit)");
  }

  Result<int32_t> Ternary() {
    Nesting nesting(depth_);
    if (nesting.TooDeep()) return TooDeep();
    Result<int32_t> cond = BinaryLevel(0);
    if (!cond.ok() || !PeekOperator("?")) return cond;
    int32_t pos = Peek().position;
    ++next_;
    Result<int32_t> yes = Ternary();
    if (!yes.ok()) return yes;
    EBB_RETURN_IF_ERROR(Expect(":"));
    Result<int32_t> no = Ternary();
    if (!no.ok()) return no;
    return Add({Kind::kTernary, "?", 0, pos, {*cond, *yes, *no}});
  }

  // Binary operators by level, lowest precedence first; all left-associative.
  Result<int32_t> BinaryLevel(size_t level) {
    static const std::vector<std::vector<std::string_view>> kLevels = {
        {"||"}, {"&&"}, {"<", "<=", ">", ">=", "==", "!="}, {"+", "-"}, {"*", "/"}};
    if (level == kLevels.size()) return Unary();
    Result<int32_t> left = BinaryLevel(level + 1);
    while (left.ok() && PeekAny(kLevels[level])) {
      Token op = Peek();
      ++next_;
      Result<int32_t> right = BinaryLevel(level + 1);
      if (!right.ok()) return right;
      left = Add({Kind::kBinary, op.text, 0, op.position, {*left, *right}});
    }
    return left;
  }

  Result<int32_t> Unary() {
    if (PeekAny({"-", "+", "!"})) {
      Nesting nesting(depth_);
      if (nesting.TooDeep()) return TooDeep();
      Token op = Peek();
      ++next_;
      Result<int32_t> operand = Unary();
      if (!operand.ok()) return operand;
      return Add({Kind::kUnary, op.text, 0, op.position, {*operand}});
    }
    return Primary();
  }

  Result<int32_t> Primary() {
    const Token tok = Peek();
    if (tok.kind == TokenKind::kNumber) {
      std::optional<double> v = ParseDouble(tok.text);
      if (!v) return ErrorAt(tok.position, "bad number \"" + tok.text + "\"");
      ++next_;
      return Add({Kind::kNumber, "", *v, tok.position, {}});
    }
    if (tok.kind == TokenKind::kName) {
      ++next_;
      if (PeekOperator("(")) return Call(tok);
      return Add({Kind::kVariable, tok.text, 0, tok.position, {}});
    }
    if (PeekOperator("(")) {
      ++next_;
      Result<int32_t> inner = Ternary();
      if (!inner.ok()) return inner;
      EBB_RETURN_IF_ERROR(Expect(")"));
      return inner;
    }
    return Unexpected();
  }

  Result<int32_t> Call(const Token& name) {
    const FunctionArity* fn = FindFunction(name.text);
    if (fn == nullptr) return ErrorAt(name.position, "unknown function \"" + name.text + "\"");
    ++next_;  // '('
    std::vector<int32_t> args;
    while (!PeekOperator(")")) {
      if (!args.empty()) EBB_RETURN_IF_ERROR(Expect(","));
      Result<int32_t> arg = Ternary();
      if (!arg.ok()) return arg;
      args.push_back(*arg);
    }
    ++next_;  // ')'
    int n = static_cast<int>(args.size());
    if (n < fn->min_args || (fn->max_args >= 0 && n > fn->max_args)) {
      return ErrorAt(name.position, name.text + "() takes " +
                                        (fn->max_args == 1 ? "exactly 1 argument" : "at least 1 argument") +
                                        ", got " + std::to_string(n));
    }
    return Add({Kind::kCall, name.text, 0, name.position, std::move(args)});
  }

  std::vector<Token> tokens_;
  int depth_ = 0;
  size_t next_ = 0;
  Formula& out_;
};

Result<Formula> ParseFormula(std::string_view text) {
  if (Trim(text).empty()) return InvalidConfig("formula is empty");
  // Evaluation recurses once per operator of a chain ("1+1+...+1"): the
  // length bounds that depth.
  if (text.size() > kMaxFormulaLength) {
    return InvalidConfig("formula is " + std::to_string(text.size()) + " characters, over the limit of " +
                         std::to_string(kMaxFormulaLength));
  }
  Result<std::vector<Token>> tokens = Tokenize(text);
  if (!tokens.ok()) return tokens.status();
  Formula f;
  f.text_ = std::string(text);
  FormulaParser parser(std::move(tokens).value(), f);
  Result<int32_t> root = parser.Parse();
  if (!root.ok()) return root.status();
  f.root_ = *root;
  // A name followed by '(' is a call; only names used as values are variables.
  std::set<std::string> used;
  for (const auto& node : f.nodes_) {
    if (node.kind == Formula::Kind::kVariable) used.insert(node.op);
  }
  f.variables_.assign(used.begin(), used.end());
  return f;
}

Result<double> Formula::Evaluate(const std::map<std::string, double>& values) const {
  Result<double> v = Eval(root_, values);
  if (v.ok() && !std::isfinite(*v)) return InvalidConfig("formula result is not a finite number");
  return v;
}

Result<double> Formula::Eval(int32_t index, const std::map<std::string, double>& values) const {
  const Node& node = nodes_[index];
  switch (node.kind) {
    case Kind::kNumber:
      return node.number;
    case Kind::kVariable: {
      auto it = values.find(node.op);
      if (it == values.end()) return InvalidConfig("unknown trigger \"" + node.op + "\"");
      return it->second;
    }
    case Kind::kUnary: {
      Result<double> v = Eval(node.args[0], values);
      if (!v.ok()) return v;
      if (node.op == "-") return -*v;
      if (node.op == "!") return *v == 0 ? 1.0 : 0.0;
      return *v;
    }
    case Kind::kTernary: {
      Result<double> cond = Eval(node.args[0], values);
      if (!cond.ok()) return cond;
      return Eval(*cond != 0 ? node.args[1] : node.args[2], values);
    }
    case Kind::kBinary:
      return EvalBinary(node, values);
    case Kind::kCall:
      return EvalCall(node, values);
  }
  return Internal("bad formula node");
}

Result<double> Formula::EvalBinary(const Node& node, const std::map<std::string, double>& values) const {
  Result<double> a = Eval(node.args[0], values);
  if (!a.ok()) return a;
  // && and || do not evaluate their right side when the left decides.
  if (node.op == "&&" && *a == 0) return 0.0;
  if (node.op == "||" && *a != 0) return 1.0;
  Result<double> b = Eval(node.args[1], values);
  if (!b.ok()) return b;
  const double x = *a, y = *b;
  const std::string& op = node.op;
  if (op == "+") return x + y;
  if (op == "-") return x - y;
  if (op == "*") return x * y;
  if (op == "/") {
    if (y == 0) return ErrorAt(node.position, "division by zero");
    return x / y;
  }
  bool r = false;
  if (op == "<") r = x < y;
  else if (op == "<=") r = x <= y;
  else if (op == ">") r = x > y;
  else if (op == ">=") r = x >= y;
  else if (op == "==") r = x == y;
  else if (op == "!=") r = x != y;
  else r = y != 0;  // && and || with the left side not deciding
  return r ? 1.0 : 0.0;
}

Result<double> Formula::EvalCall(const Node& node, const std::map<std::string, double>& values) const {
  std::vector<double> args;
  args.reserve(node.args.size());
  for (int32_t a : node.args) {
    Result<double> v = Eval(a, values);
    if (!v.ok()) return v;
    args.push_back(*v);
  }
  if (node.op == "min") return *std::min_element(args.begin(), args.end());
  if (node.op == "max") return *std::max_element(args.begin(), args.end());
  if (node.op == "abs") return std::fabs(args[0]);
  if (node.op == "ceil") return std::ceil(args[0]);
  return std::floor(args[0]);
}

}  // namespace ebb::scaling
