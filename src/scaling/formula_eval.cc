// Types and evaluation of the formula language (formula.h), following
// expr-lang's rules for the operators and functions KEDA users write.
#include <algorithm>
#include <cmath>

#include "scaling/formula.h"

namespace ebb::scaling::formula_internal {
namespace {

using Node = Formula::Node;
using Kind = Formula::Kind;
using Type = Formula::Type;

Status ErrorAt(int32_t position, const std::string& message) {
  return InvalidConfig("position " + std::to_string(position) + ": " + message);
}

std::string TypeName(Type t) {
  switch (t) {
    case Type::kInt: return "int";
    case Type::kFloat: return "float";
    case Type::kBool: return "bool";
    case Type::kArray: return "array";
    case Type::kNil: return "nil";
    case Type::kAny: return "any";
  }
  return "?";
}

bool IsNumber(Type t) { return t == Type::kInt || t == Type::kFloat || t == Type::kAny; }
bool IsBool(Type t) { return t == Type::kBool || t == Type::kAny; }
bool IsArray(Type t) { return t == Type::kArray || t == Type::kAny; }

// int with int stays int; anything with float is float.
Type Arithmetic(Type a, Type b) {
  if (a == Type::kAny || b == Type::kAny) return Type::kAny;
  return a == Type::kInt && b == Type::kInt ? Type::kInt : Type::kFloat;
}

// The one type of two branches (ternary, array items), else kAny.
Type Join(Type a, Type b) {
  if (a == b) return a;
  if (IsNumber(a) && IsNumber(b) && a != Type::kAny && b != Type::kAny) return Type::kFloat;
  return Type::kAny;
}

bool IsComparison(const std::string& op) { return op == "<" || op == "<=" || op == ">" || op == ">="; }

// ---- static types ----

// Walks the tree once; `element_` is the type of # in the innermost
// predicate (arrays carry no element type here, so # is kAny unless the
// array is a literal of one type).
class TypeChecker {
 public:
  explicit TypeChecker(const std::vector<Node>& nodes) : nodes_(nodes) {}

  Result<Type> Check(int32_t index) {
    const Node& n = nodes_[index];
    switch (n.kind) {
      case Kind::kNumber: return n.integer ? Type::kInt : Type::kFloat;
      case Kind::kBool: return Type::kBool;
      case Kind::kNil: return Type::kNil;
      case Kind::kVariable: return Type::kFloat;  // trigger values are float64 in KEDA
      case Kind::kElement: return element_.empty() ? Type::kAny : element_.back();
      case Kind::kArray: return CheckArray(n);
      case Kind::kUnary: return CheckUnary(n);
      case Kind::kBinary: return CheckBinary(n);
      case Kind::kTernary: return CheckTernary(n);
      case Kind::kCall: return CheckCall(n);
    }
    return Internal("bad formula node");
  }

 private:
  Status Want(const Node& n, const char* what, Type got) const {
    return ErrorAt(n.position, n.op + " needs " + what + ", got " + TypeName(got));
  }

  Result<Type> CheckArray(const Node& n) {
    Type elem = Type::kNil;
    for (size_t i = 0; i < n.args.size(); ++i) {
      Result<Type> t = Check(n.args[i]);
      if (!t.ok()) return t;
      elem = i == 0 ? *t : Join(elem, *t);
    }
    array_elements_[&n] = elem;
    return Type::kArray;
  }

  Result<Type> CheckUnary(const Node& n) {
    Result<Type> t = Check(n.args[0]);
    if (!t.ok()) return t;
    if (n.op == "!") return IsBool(*t) ? Result<Type>(Type::kBool) : Want(n, "a bool", *t);
    if (!IsNumber(*t)) return Want(n, "a number", *t);
    return *t;
  }

  Result<Type> CheckBinary(const Node& n) {
    Result<Type> a = Check(n.args[0]);
    if (!a.ok()) return a;
    Result<Type> b = Check(n.args[1]);
    if (!b.ok()) return b;
    const std::string& op = n.op;
    if (op == "??") return *a == Type::kNil ? *b : *a;
    if (op == "==" || op == "!=") return Type::kBool;
    if (op == "&&" || op == "||") {
      if (!IsBool(*a)) return Want(n, "bools", *a);
      return IsBool(*b) ? Result<Type>(Type::kBool) : Want(n, "bools", *b);
    }
    if (!IsNumber(*a)) return Want(n, "numbers", *a);
    if (!IsNumber(*b)) return Want(n, "numbers", *b);
    if (IsComparison(op)) return Type::kBool;
    if (op == "/" || op == "**") return Type::kFloat;
    if (op == "%" && (*a == Type::kFloat || *b == Type::kFloat)) {
      return ErrorAt(n.position, "% needs integers, got " + TypeName(*a) + " and " + TypeName(*b) +
                                     " (trigger values are floats: use int(x) % n)");
    }
    return Arithmetic(*a, *b);
  }

  Result<Type> CheckTernary(const Node& n) {
    Result<Type> c = Check(n.args[0]);
    if (!c.ok()) return c;
    if (!IsBool(*c)) return ErrorAt(n.position, "the condition of ?: must be a bool, got " + TypeName(*c));
    Result<Type> yes = Check(n.args[1]);
    if (!yes.ok()) return yes;
    Result<Type> no = Check(n.args[2]);
    if (!no.ok()) return no;
    return Join(*yes, *no);
  }

  // The element type of an array argument (kAny when unknown).
  Type ElementOf(int32_t index) const {
    auto it = array_elements_.find(&nodes_[index]);
    return it == array_elements_.end() ? Type::kAny : it->second;
  }

  Result<Type> CheckPredicateCall(const Node& n) {
    Result<Type> arr = Check(n.args[0]);
    if (!arr.ok()) return arr;
    if (!IsArray(*arr)) return ErrorAt(n.position, n.op + "() needs an array first, got " + TypeName(*arr));
    const Type elem = ElementOf(n.args[0]);
    if (n.args.size() == 1) {  // count(array): counts the true elements
      if (!IsBool(elem)) return ErrorAt(n.position, "count() without a predicate needs an array of bools");
      return Type::kInt;
    }
    element_.push_back(elem);
    Result<Type> body = Check(n.args[1]);
    element_.pop_back();
    if (!body.ok()) return body;
    if (n.op == "map") {
      array_elements_[&n] = *body;
      return Type::kArray;
    }
    if (!IsBool(*body)) return ErrorAt(nodes_[n.args[1]].position, "the predicate of " + n.op + "() must be a bool, got " + TypeName(*body));
    if (n.op == "filter") {
      array_elements_[&n] = elem;
      return Type::kArray;
    }
    return n.op == "count" ? Type::kInt : Type::kBool;
  }

  Result<Type> CheckCall(const Node& n) {
    const std::string& fn = n.op;
    if (fn == "count" || fn == "all" || fn == "any" || fn == "none" || fn == "filter" || fn == "map") {
      return CheckPredicateCall(n);
    }
    std::vector<Type> args;
    for (int32_t a : n.args) {
      Result<Type> t = Check(a);
      if (!t.ok()) return t;
      args.push_back(*t);
    }
    if (fn == "min" || fn == "max" || fn == "sum") return CheckAggregate(n, args);
    if (!IsNumber(args[0])) return ErrorAt(n.position, fn + "() needs a number, got " + TypeName(args[0]));
    if (fn == "int") return Type::kInt;
    if (fn == "abs") return args[0];
    return Type::kFloat;  // float, ceil, floor, round
  }

  // min/max over numbers or one array of numbers; sum over one array.
  Result<Type> CheckAggregate(const Node& n, const std::vector<Type>& args) {
    if (args.size() == 1 && IsArray(args[0]) && args[0] != Type::kAny) {
      const Type elem = ElementOf(n.args[0]);
      if (!IsNumber(elem) && elem != Type::kNil) return ErrorAt(n.position, n.op + "() needs numbers, got an array of " + TypeName(elem));
      return elem == Type::kNil ? Type::kAny : elem;
    }
    if (n.op == "sum") return ErrorAt(n.position, "sum() needs an array, got " + TypeName(args[0]));
    Type out = args[0];
    for (Type t : args) {
      if (!IsNumber(t)) return ErrorAt(n.position, n.op + "() needs numbers, got " + TypeName(t));
      out = Arithmetic(out, t);
    }
    return out;
  }

  const std::vector<Node>& nodes_;
  std::vector<Type> element_;
  std::map<const Node*, Type> array_elements_;
};

// ---- evaluation ----

struct Value {
  Type type = Type::kNil;
  double number = 0;  // numbers; bools as 1/0
  std::vector<Value> items;

  static Value Number(double v, Type t) { return {t, v, {}}; }
  static Value Bool(bool b) { return {Type::kBool, b ? 1.0 : 0.0, {}}; }
  bool truth() const { return number != 0; }
};

class Evaluator {
 public:
  Evaluator(const std::vector<Node>& nodes, const std::map<std::string, double>& values)
      : nodes_(nodes), values_(values) {}

  Result<Value> Eval(int32_t index) {
    const Node& n = nodes_[index];
    switch (n.kind) {
      case Kind::kNumber: return Value::Number(n.number, n.integer ? Type::kInt : Type::kFloat);
      case Kind::kBool: return Value::Bool(n.number != 0);
      case Kind::kNil: return Value{};
      case Kind::kVariable: return Variable(n);
      case Kind::kElement: return element_.back();
      case Kind::kArray: return Array(n);
      case Kind::kUnary: return Unary(n);
      case Kind::kBinary: return Binary(n);
      case Kind::kTernary: return Ternary(n);
      case Kind::kCall: return Call(n);
    }
    return Internal("bad formula node");
  }

 private:
  Status Want(const Node& n, const char* what, const Value& got) const {
    return ErrorAt(n.position, n.op + " needs " + what + ", got " + TypeName(got.type));
  }
  static bool Numeric(const Value& v) { return v.type == Type::kInt || v.type == Type::kFloat; }

  Result<Value> Variable(const Node& n) {
    auto it = values_.find(n.op);
    if (it == values_.end() && n.nullable) return Value{};
    if (it == values_.end()) return InvalidConfig("unknown trigger \"" + n.op + "\"");
    return Value::Number(it->second, Type::kFloat);
  }

  Result<Value> Array(const Node& n) {
    Value out{Type::kArray, 0, {}};
    for (int32_t a : n.args) {
      Result<Value> v = Eval(a);
      if (!v.ok()) return v;
      out.items.push_back(std::move(*v));
    }
    return out;
  }

  Result<Value> Unary(const Node& n) {
    Result<Value> v = Eval(n.args[0]);
    if (!v.ok()) return v;
    if (n.op == "!") return v->type == Type::kBool ? Value::Bool(!v->truth()) : Result<Value>(Want(n, "a bool", *v));
    if (!Numeric(*v)) return Want(n, "a number", *v);
    return Value::Number(n.op == "-" ? -v->number : v->number, v->type);
  }

  Result<Value> Ternary(const Node& n) {
    Result<Value> c = Eval(n.args[0]);
    if (!c.ok()) return c;
    if (c->type != Type::kBool) return ErrorAt(n.position, "the condition of ?: must be a bool");
    return Eval(c->truth() ? n.args[1] : n.args[2]);
  }

  Result<Value> Binary(const Node& n) {
    Result<Value> a = Eval(n.args[0]);
    if (!a.ok()) return a;
    const std::string& op = n.op;
    if (op == "??" && a->type != Type::kNil) return a;
    if (op == "&&" || op == "||") {
      if (a->type != Type::kBool) return Want(n, "bools", *a);
      // The right side is not evaluated when the left decides.
      if (a->truth() == (op == "||")) return *a;
    }
    Result<Value> b = Eval(n.args[1]);
    if (!b.ok() || op == "??") return b;
    if (op == "&&" || op == "||") return b->type == Type::kBool ? *b : Result<Value>(Want(n, "bools", *b));
    if (op == "==" || op == "!=") return Value::Bool(Equal(*a, *b) == (op == "=="));
    if (!Numeric(*a)) return Want(n, "numbers", *a);
    if (!Numeric(*b)) return Want(n, "numbers", *b);
    return Arith(n, *a, *b);
  }

  static bool Equal(const Value& a, const Value& b) {
    if (Numeric(a) && Numeric(b)) return a.number == b.number;
    if (a.type != b.type || a.items.size() != b.items.size()) return false;
    for (size_t i = 0; i < a.items.size(); ++i) {
      if (!Equal(a.items[i], b.items[i])) return false;
    }
    return a.number == b.number;
  }

  Result<Value> Arith(const Node& n, const Value& a, const Value& b) {
    const std::string& op = n.op;
    const double x = a.number, y = b.number;
    const Type t = Arithmetic(a.type, b.type);
    if (op == "<") return Value::Bool(x < y);
    if (op == "<=") return Value::Bool(x <= y);
    if (op == ">") return Value::Bool(x > y);
    if (op == ">=") return Value::Bool(x >= y);
    if (op == "+") return Value::Number(x + y, t);
    if (op == "-") return Value::Number(x - y, t);
    if (op == "*") return Value::Number(x * y, t);
    if (op == "**") return Value::Number(std::pow(x, y), Type::kFloat);
    if (y == 0) return ErrorAt(n.position, op == "%" ? "modulo by zero" : "division by zero");
    if (op == "/") return Value::Number(x / y, Type::kFloat);
    if (t != Type::kInt) return ErrorAt(n.position, "% needs integers");
    return Value::Number(std::fmod(x, y), Type::kInt);  // Go's % truncates toward zero, as fmod
  }

  Result<Value> Call(const Node& n) {
    const std::string& fn = n.op;
    if (fn == "count" || fn == "all" || fn == "any" || fn == "none" || fn == "filter" || fn == "map") {
      return PredicateCall(n);
    }
    std::vector<Value> args;
    for (int32_t a : n.args) {
      Result<Value> v = Eval(a);
      if (!v.ok()) return v;
      args.push_back(std::move(*v));
    }
    if (fn == "min" || fn == "max" || fn == "sum") return Aggregate(n, args);
    const Value& x = args[0];
    if (!Numeric(x)) return ErrorAt(n.position, fn + "() needs a number, got " + TypeName(x.type));
    if (fn == "abs") return Value::Number(std::fabs(x.number), x.type);
    if (fn == "float") return Value::Number(x.number, Type::kFloat);
    if (fn == "ceil") return Value::Number(std::ceil(x.number), Type::kFloat);
    if (fn == "floor") return Value::Number(std::floor(x.number), Type::kFloat);
    if (fn == "round") return Value::Number(std::round(x.number), Type::kFloat);
    // int(): truncation toward zero, as Go's conversion; refused out of range.
    if (!(std::fabs(x.number) < 9.2e18)) return ErrorAt(n.position, "int() of a value outside the int range");
    return Value::Number(std::trunc(x.number), Type::kInt);
  }

  Result<Value> Aggregate(const Node& n, const std::vector<Value>& args) {
    const std::vector<Value>& items = args.size() == 1 && args[0].type == Type::kArray ? args[0].items : args;
    if (n.op == "sum" && !(args.size() == 1 && args[0].type == Type::kArray)) {
      return ErrorAt(n.position, "sum() needs an array");
    }
    if (items.empty()) {
      if (n.op == "sum") return Value::Number(0, Type::kInt);
      return ErrorAt(n.position, n.op + "() of an empty array");
    }
    Value out = items[0];
    if (n.op == "sum") out = Value::Number(0, Type::kInt);
    for (const Value& v : items) {
      if (!Numeric(v)) return ErrorAt(n.position, n.op + "() needs numbers, got " + TypeName(v.type));
      const Type t = Arithmetic(out.type, v.type);
      if (n.op == "sum") out = Value::Number(out.number + v.number, t);
      else if ((n.op == "min") == (v.number < out.number)) out = Value::Number(v.number, t);
      else out.type = t;
    }
    return out;
  }

  Result<Value> PredicateCall(const Node& n) {
    Result<Value> arr = Eval(n.args[0]);
    if (!arr.ok()) return arr;
    if (arr->type != Type::kArray) return ErrorAt(n.position, n.op + "() needs an array first");
    Value mapped{Type::kArray, 0, {}};
    int64_t matches = 0;
    for (const Value& item : arr->items) {
      Result<Value> r = n.args.size() == 1 ? Result<Value>(item) : ApplyTo(n.args[1], item);
      if (!r.ok()) return r;
      if (n.op == "map") {
        mapped.items.push_back(std::move(*r));
        continue;
      }
      if (r->type != Type::kBool) return ErrorAt(n.position, "the predicate of " + n.op + "() must give a bool");
      if (r->truth()) {
        ++matches;
        if (n.op == "filter") mapped.items.push_back(item);
      }
    }
    const size_t size = arr->items.size();
    if (n.op == "map" || n.op == "filter") return mapped;
    if (n.op == "count") return Value::Number(static_cast<double>(matches), Type::kInt);
    if (n.op == "all") return Value::Bool(static_cast<size_t>(matches) == size);
    if (n.op == "any") return Value::Bool(matches > 0);
    return Value::Bool(matches == 0);  // none
  }

  Result<Value> ApplyTo(int32_t body, const Value& item) {
    element_.push_back(item);
    Result<Value> r = Eval(body);
    element_.pop_back();
    return r;
  }

  const std::vector<Node>& nodes_;
  const std::map<std::string, double>& values_;
  std::vector<Value> element_;
};

}  // namespace

Result<Type> CheckTypes(const std::vector<Node>& nodes, int32_t index) {
  return TypeChecker(nodes).Check(index);
}

Result<double> Evaluate(const std::vector<Node>& nodes, int32_t root, const std::map<std::string, double>& values) {
  Result<Value> v = Evaluator(nodes, values).Eval(root);
  if (!v.ok()) return v.status();
  if (v->type != Type::kInt && v->type != Type::kFloat) {
    return InvalidConfig("the formula gave a " + TypeName(v->type) + ", not a number");
  }
  if (!std::isfinite(v->number)) return InvalidConfig("formula result is not a finite number");
  return v->number;
}

}  // namespace ebb::scaling::formula_internal
