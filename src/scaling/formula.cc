// Lexer and precedence-climbing parser of the formula language
// (formula.h); types and evaluation are in formula_eval.cc.
#include "scaling/formula.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/strings.h"

namespace ebb::scaling {
namespace {

using Node = Formula::Node;
using Kind = Formula::Kind;

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

// Length of the number starting at `i` (digits, '.', optional exponent).
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

constexpr std::string_view kTwoCharOperators[] = {"<=", ">=", "==", "!=", "&&", "||", "**", "??"};
constexpr std::string_view kOneCharOperators = "+-*/%^()[]{}<>!?:,#";

size_t OperatorLength(std::string_view s, size_t i) {
  std::string_view two = s.substr(i, 2);
  if (std::find(std::begin(kTwoCharOperators), std::end(kTwoCharOperators), two) != std::end(kTwoCharOperators)) {
    return 2;
  }
  return kOneCharOperators.find(s[i]) == std::string_view::npos ? 0 : 1;
}

Result<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    const int32_t pos = static_cast<int32_t>(i) + 1;
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
    } else if (size_t n = OperatorLength(s, i); n > 0) {
      tokens.push_back({TokenKind::kOperator, std::string(s.substr(i, n)), pos});
      i += n;
    } else {
      return ErrorAt(pos, "unexpected character '" + std::string(1, c) + "'");
    }
  }
  tokens.push_back({TokenKind::kEnd, "", static_cast<int32_t>(s.size()) + 1});
  return tokens;
}

// Binary operators with expr-lang's precedence; ** and ^ are right-associative.
struct BinaryOperator {
  std::string_view token;  // as written
  std::string_view op;     // canonical ("and" -> "&&")
  int precedence;
};
constexpr BinaryOperator kBinary[] = {
    {"||", "||", 10}, {"or", "||", 10},  {"&&", "&&", 15}, {"and", "&&", 15}, {"==", "==", 20},
    {"!=", "!=", 20}, {"<", "<", 20},    {">", ">", 20},   {"<=", "<=", 20},  {">=", ">=", 20},
    {"+", "+", 30},   {"-", "-", 30},    {"*", "*", 60},   {"/", "/", 60},    {"%", "%", 60},
    {"**", "**", 100}, {"^", "**", 100}, {"??", "??", 500}};
constexpr int kNotPrecedence = 50;
constexpr int kNegatePrecedence = 90;

bool IsRightAssociative(std::string_view op) { return op == "**" || op == "??"; }

// Names expr-lang reserves for operators, which are not variables.
bool IsWordOperator(std::string_view name) { return name == "and" || name == "or" || name == "not"; }

struct FunctionArity {
  std::string_view name;
  int min_args;
  int max_args;  // -1: any number
};
constexpr FunctionArity kFunctions[] = {
    {"float", 1, 1}, {"int", 1, 1},   {"abs", 1, 1},    {"ceil", 1, 1},  {"floor", 1, 1},
    {"round", 1, 1}, {"min", 1, -1},  {"max", 1, -1},   {"sum", 1, 1},   {"count", 1, 2},
    {"all", 2, 2},   {"any", 2, 2},   {"none", 2, 2},   {"filter", 2, 2}, {"map", 2, 2}};

const FunctionArity* FindFunction(std::string_view name) {
  for (const auto& f : kFunctions) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool TakesPredicate(std::string_view fn) {
  return fn == "count" || fn == "all" || fn == "any" || fn == "none" || fn == "filter" || fn == "map";
}

std::string ArityText(const FunctionArity& fn) {
  if (fn.min_args == fn.max_args) return "exactly " + std::to_string(fn.min_args) + " argument" + (fn.min_args == 1 ? "" : "s");
  if (fn.max_args < 0) return "at least " + std::to_string(fn.min_args) + " argument";
  return std::to_string(fn.min_args) + " or " + std::to_string(fn.max_args) + " arguments";
}

// Recursive descent over the token list; builds the node vector. Depth is
// bounded (kMaxFormulaDepth) so hostile input cannot exhaust the stack.
class Parser {
 public:
  Parser(std::vector<Token> tokens, std::vector<Node>& nodes) : tokens_(std::move(tokens)), nodes_(nodes) {}

  Result<int32_t> Parse() {
    Result<int32_t> root = Ternary();
    if (!root.ok()) return root;
    if (Peek().kind != TokenKind::kEnd) return Unexpected();
    return root;
  }

 private:
  // Counts nesting while a rule is on the stack.
  class DepthGuard {
   public:
    explicit DepthGuard(int& depth) : depth_(depth) { ++depth_; }
    ~DepthGuard() { --depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    int& depth_;
  };

  const Token& Peek() const { return tokens_[next_]; }
  bool PeekOperator(std::string_view op) const { return Peek().kind == TokenKind::kOperator && Peek().text == op; }
  Status Unexpected() const {
    if (Peek().kind == TokenKind::kEnd) return ErrorAt(Peek().position, "unexpected end of formula");
    return ErrorAt(Peek().position, "unexpected token \"" + Peek().text + "\"");
  }
  Status Expect(std::string_view op) {
    if (!PeekOperator(op)) return ErrorAt(Peek().position, "expected '" + std::string(op) + "'");
    ++next_;
    return Status::Ok();
  }
  Status TooDeep() const {
    return ErrorAt(Peek().position, "formula nests deeper than " + std::to_string(kMaxFormulaDepth) + " levels");
  }

  int32_t Add(Node node) {
    nodes_.push_back(std::move(node));
    return static_cast<int32_t>(nodes_.size()) - 1;
  }

  // The binary operator at the cursor, if any.
  const BinaryOperator* PeekBinary() const {
    const Token& t = Peek();
    if (t.kind != TokenKind::kOperator && t.kind != TokenKind::kName) return nullptr;
    for (const auto& b : kBinary) {
      if (b.token == t.text) return &b;
    }
    return nullptr;
  }

  Result<int32_t> Ternary() {
    DepthGuard guard(depth_);
    if (depth_ > kMaxFormulaDepth) return TooDeep();
    Result<int32_t> cond = Binary(0);
    if (!cond.ok() || !PeekOperator("?")) return cond;
    const int32_t pos = Peek().position;
    ++next_;
    Result<int32_t> yes = Ternary();
    if (!yes.ok()) return yes;
    EBB_RETURN_IF_ERROR(Expect(":"));
    Result<int32_t> no = Ternary();
    if (!no.ok()) return no;
    return Add({Kind::kTernary, "?", 0, false, pos, {*cond, *yes, *no}});
  }

  // Precedence climbing: operators binding tighter than `min_precedence`.
  Result<int32_t> Binary(int min_precedence) {
    Result<int32_t> left = Unary();
    while (left.ok()) {
      const BinaryOperator* op = PeekBinary();
      if (op == nullptr || op->precedence < min_precedence) break;
      const int32_t pos = Peek().position;
      ++next_;
      int next_min = IsRightAssociative(op->op) ? op->precedence : op->precedence + 1;
      Result<int32_t> right = Binary(next_min);
      if (!right.ok()) return right;
      if (op->op == "??" && nodes_[*left].kind == Kind::kVariable) nodes_[*left].nullable = true;
      left = Add({Kind::kBinary, std::string(op->op), 0, false, pos, {*left, *right}});
    }
    return left;
  }

  Result<int32_t> Unary() {
    const Token tok = Peek();
    const bool is_not = PeekOperator("!") || (tok.kind == TokenKind::kName && tok.text == "not");
    if (is_not || PeekOperator("-") || PeekOperator("+")) {
      DepthGuard guard(depth_);
      if (depth_ > kMaxFormulaDepth) return TooDeep();
      ++next_;
      Result<int32_t> operand = Binary(is_not ? kNotPrecedence : kNegatePrecedence);
      if (!operand.ok()) return operand;
      return Add({Kind::kUnary, is_not ? "!" : tok.text, 0, false, tok.position, {*operand}});
    }
    return Primary();
  }

  Result<int32_t> Primary() {
    const Token tok = Peek();
    if (tok.kind == TokenKind::kNumber) return Number(tok);
    if (tok.kind == TokenKind::kName) return Name(tok);
    if (PeekOperator("#")) {
      ++next_;
      if (predicate_depth_ == 0) return ErrorAt(tok.position, "# is only defined inside a predicate such as filter(array, # > 1)");
      return Add({Kind::kElement, "#", 0, false, tok.position, {}});
    }
    if (PeekOperator("[")) return Array();
    if (PeekOperator("(")) {
      ++next_;
      Result<int32_t> inner = Ternary();
      if (!inner.ok()) return inner;
      EBB_RETURN_IF_ERROR(Expect(")"));
      return inner;
    }
    return Unexpected();
  }

  Result<int32_t> Number(const Token& tok) {
    std::optional<double> v = ParseDouble(tok.text);
    if (!v || std::count(tok.text.begin(), tok.text.end(), '.') > 1) {
      return ErrorAt(tok.position, "bad number \"" + tok.text + "\"");
    }
    ++next_;
    const bool integer = tok.text.find_first_of(".eE") == std::string::npos;
    return Add({Kind::kNumber, "", *v, integer, tok.position, {}});
  }

  Result<int32_t> Name(const Token& tok) {
    if (IsWordOperator(tok.text)) return Unexpected();
    ++next_;
    if (tok.text == "true" || tok.text == "false") {
      return Add({Kind::kBool, tok.text, tok.text == "true" ? 1.0 : 0.0, false, tok.position, {}});
    }
    if (tok.text == "nil") return Add({Kind::kNil, "nil", 0, false, tok.position, {}});
    if (PeekOperator("(")) return Call(tok);
    return Add({Kind::kVariable, tok.text, 0, false, tok.position, {}});
  }

  Result<int32_t> Array() {
    const int32_t pos = Peek().position;
    ++next_;  // '['
    std::vector<int32_t> items;
    while (!PeekOperator("]")) {
      if (!items.empty()) EBB_RETURN_IF_ERROR(Expect(","));
      if (PeekOperator("]")) break;  // expr-lang allows a trailing comma
      Result<int32_t> item = Ternary();
      if (!item.ok()) return item;
      items.push_back(*item);
    }
    ++next_;  // ']'
    return Add({Kind::kArray, "[]", 0, false, pos, std::move(items)});
  }

  // A predicate argument: `# > 1` or `{# > 1}`, with # defined inside.
  Result<int32_t> Predicate() {
    ++predicate_depth_;
    const bool braced = PeekOperator("{");
    if (braced) ++next_;
    Result<int32_t> body = Ternary();
    if (body.ok() && braced) {
      if (Status s = Expect("}"); !s.ok()) body = s;
    }
    --predicate_depth_;
    return body;
  }

  Result<int32_t> Call(const Token& name) {
    const FunctionArity* fn = FindFunction(name.text);
    if (fn == nullptr) return ErrorAt(name.position, "unknown function \"" + name.text + "\"");
    ++next_;  // '('
    std::vector<int32_t> args;
    while (!PeekOperator(")")) {
      if (!args.empty()) EBB_RETURN_IF_ERROR(Expect(","));
      Result<int32_t> arg = (args.size() == 1 && TakesPredicate(fn->name)) ? Predicate() : Ternary();
      if (!arg.ok()) return arg;
      args.push_back(*arg);
    }
    ++next_;  // ')'
    const int n = static_cast<int>(args.size());
    if (n < fn->min_args || (fn->max_args >= 0 && n > fn->max_args)) {
      return ErrorAt(name.position, name.text + "() takes " + ArityText(*fn) + ", got " + std::to_string(n));
    }
    return Add({Kind::kCall, name.text, 0, false, name.position, std::move(args)});
  }

  std::vector<Token> tokens_;
  size_t next_ = 0;
  int depth_ = 0;
  int predicate_depth_ = 0;
  std::vector<Node>& nodes_;
};

}  // namespace

Result<Formula> ParseFormula(std::string_view text) {
  if (Trim(text).empty()) return InvalidConfig("formula is empty");
  if (text.size() > kMaxFormulaLength) {
    return InvalidConfig("formula is " + std::to_string(text.size()) + " characters long; the limit is " +
                         std::to_string(kMaxFormulaLength));
  }
  Result<std::vector<Token>> tokens = Tokenize(text);
  if (!tokens.ok()) return tokens.status();
  Formula f;
  f.text_ = std::string(text);
  Parser parser(std::move(tokens).value(), f.nodes_);
  Result<int32_t> root = parser.Parse();
  if (!root.ok()) return root.status();
  f.root_ = *root;
  Result<Formula::Type> type = formula_internal::CheckTypes(f.nodes_, f.root_);
  if (!type.ok()) return type.status();
  if (*type != Formula::Type::kInt && *type != Formula::Type::kFloat && *type != Formula::Type::kAny) {
    return InvalidConfig("the formula gives a " + std::string(*type == Formula::Type::kBool ? "bool" : "non-number") +
                         "; it must give a number (e.g. cond ? 1 : 0)");
  }
  std::set<std::string> used;
  for (const auto& node : f.nodes_) {
    if (node.kind == Formula::Kind::kVariable) used.insert(node.op);
  }
  f.variables_.assign(used.begin(), used.end());
  return f;
}

Result<double> Formula::Evaluate(const std::map<std::string, double>& values) const {
  return formula_internal::Evaluate(nodes_, root_, values);
}

}  // namespace ebb::scaling
