#include "scaling/formula.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ebb::scaling {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct EvalCase {
  const char* formula;
  double expected;
};

class FormulaEvalTest : public ::testing::TestWithParam<EvalCase> {};

TEST_P(FormulaEvalTest, Evaluates) {
  const EvalCase& c = GetParam();
  Result<Formula> f = ParseFormula(c.formula);
  ASSERT_TRUE(f.ok()) << c.formula << ": " << f.status().ToString();
  Result<double> v = f->Evaluate({{"a", 2}, {"b", 0.5}, {"queue_len", 12}, {"trig_one", 1}, {"trig_two", 3},
                                  {"trig_three", 0}});
  ASSERT_TRUE(v.ok()) << c.formula << ": " << v.status().ToString();
  EXPECT_DOUBLE_EQ(*v, c.expected) << c.formula;
}

INSTANTIATE_TEST_SUITE_P(
    Arithmetic, FormulaEvalTest,
    ::testing::Values(EvalCase{"1 + 2 * 3", 7}, EvalCase{"(1 + 2) * 3", 9}, EvalCase{"10 - 4 - 3", 3},
                      EvalCase{"8 / 4 / 2", 1}, EvalCase{"7 / 2", 3.5}, EvalCase{"-a + 5", 3}, EvalCase{"--a", 2},
                      EvalCase{"+a", 2}, EvalCase{"a * b + queue_len", 13}, EvalCase{"queue_len / a", 6},
                      EvalCase{"7 % 3", 1}, EvalCase{"-7 % 3", -1}, EvalCase{"int(queue_len) % 5", 2},
                      EvalCase{"2 ** 3", 8}, EvalCase{"2 ^ 3", 8}, EvalCase{"2 ** 3 ** 2", 512},
                      EvalCase{"-2 ** 2", -4}, EvalCase{"(-2) ** 2", 4}, EvalCase{"a ** 0.5 * a ** 0.5", 2},
                      EvalCase{"1e3 / 10", 100}, EvalCase{".5 * 4", 2}, EvalCase{"2.5e-1 * 8", 2}));

INSTANTIATE_TEST_SUITE_P(
    Logic, FormulaEvalTest,
    ::testing::Values(EvalCase{"a > 1 ? 10 : 20", 10}, EvalCase{"a > 5 ? 10 : 20", 20},
                      EvalCase{"a > 1 ? b > 1 ? 1 : 2 : 3", 2}, EvalCase{"a > 5 ? 1 : b < 1 ? 4 : 5", 4},
                      EvalCase{"a >= 2 && b < 1 ? 1 : 0", 1}, EvalCase{"a >= 3 && b < 1 ? 1 : 0", 0},
                      EvalCase{"a == 3 || b == 0.5 ? 1 : 0", 1}, EvalCase{"a >= 2 and b < 1 ? 1 : 0", 1},
                      EvalCase{"a > 5 or b > 5 ? 1 : 0", 0}, EvalCase{"not (a > 5) ? 1 : 0", 1},
                      EvalCase{"!(a > 5) ? 1 : 0", 1}, EvalCase{"not false ? 1 : 0", 1},
                      EvalCase{"true ? 1 : 0", 1}, EvalCase{"2 <= 2 ? 1 : 0", 1}, EvalCase{"2 < 2 ? 1 : 0", 0},
                      EvalCase{"a != 2 ? 1 : 0", 0}, EvalCase{"a == 2.0 ? 1 : 0", 1}, EvalCase{"1 + 2 > 2 ? 1 : 0", 1},
                      // Lazy: the side not taken is not evaluated (no division by zero).
                      EvalCase{"false && 1 / 0 > 1 ? 1 : 0", 0}, EvalCase{"true || 1 / 0 > 1 ? 1 : 0", 1},
                      EvalCase{"a > 0 ? 1 : 1 / 0", 1}));

INSTANTIATE_TEST_SUITE_P(
    Functions, FormulaEvalTest,
    ::testing::Values(EvalCase{"min(a, b, 3)", 0.5}, EvalCase{"max(a, b, queue_len)", 12}, EvalCase{"max(7)", 7},
                      EvalCase{"max([a, b, queue_len])", 12}, EvalCase{"min([a, b])", 0.5},
                      EvalCase{"abs(b - a)", 1.5}, EvalCase{"ceil(1.2)", 2}, EvalCase{"floor(-1.2)", -2},
                      EvalCase{"round(2.5)", 3}, EvalCase{"round(-2.5)", -3}, EvalCase{"int(2.9)", 2},
                      EvalCase{"int(-2.9)", -2}, EvalCase{"float(7) / 2", 3.5}, EvalCase{"ceil(queue_len / 5)", 3},
                      EvalCase{"max(a, min(queue_len, 5)) * 2", 10}, EvalCase{"sum([a, b, queue_len])", 14.5},
                      EvalCase{"sum([])", 0}));

INSTANTIATE_TEST_SUITE_P(
    Arrays, FormulaEvalTest,
    ::testing::Values(EvalCase{"count([a, b, queue_len], # > 1)", 2}, EvalCase{"count([a, b, queue_len], {# > 1})", 2},
                      EvalCase{"count([a > 1, b > 1])", 1}, EvalCase{"all([a, queue_len], # > 1) ? 1 : 0", 1},
                      EvalCase{"any([a, b], # > 10) ? 1 : 0", 0}, EvalCase{"none([a, b], # > 10) ? 1 : 0", 1},
                      EvalCase{"sum(filter([a, b, queue_len], # >= 2))", 14},
                      EvalCase{"sum(map([a, b], # * 10))", 25}, EvalCase{"max(map([a, b], # * 10))", 20},
                      EvalCase{"count(map([a, b], # > 1))", 1},
                      EvalCase{"count(filter([a, b, queue_len], # > 1), # > 5)", 1}, EvalCase{"sum([a, b,])", 2.5}));

// Formulas from KEDA's docs, tests and e2e tests (kedacore/keda at 8b4f083).
INSTANTIATE_TEST_SUITE_P(
    Keda, FormulaEvalTest,
    ::testing::Values(EvalCase{"trig_one + trig_two", 4}, EvalCase{"(trig_one + trig_two) / 2", 2},
                      EvalCase{"count([trig_one,trig_two],{#>1}) > 1 ? 5 : 0", 0},
                      EvalCase{"count([trig_one,trig_two,trig_three],{#>0}) > 1 ? 5 : 0", 5},
                      EvalCase{"float(trig_one < 2 ? trig_one+trig_two >= 2 ? 5 : 10 : 0)", 5},
                      EvalCase{"float(float(trig_two < 5 ? trig_one + trig_two : 5))", 4},
                      EvalCase{"trig_one > 2 ? trig_one + trig_two : 1", 1}, EvalCase{"trig_one ?? trig_two ?? 5", 1}));

struct ErrorCase {
  const char* formula;
  const char* message;
};

class FormulaErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(FormulaErrorTest, NamesThePosition) {
  const ErrorCase& c = GetParam();
  Result<Formula> f = ParseFormula(c.formula);
  ASSERT_FALSE(f.ok()) << c.formula;
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidConfig);
  EXPECT_EQ(f.status().message(), c.message) << c.formula;
}

INSTANTIATE_TEST_SUITE_P(
    Syntax, FormulaErrorTest,
    ::testing::Values(ErrorCase{"", "formula is empty"}, ErrorCase{"   ", "formula is empty"},
                      ErrorCase{"a + * b", "position 5: unexpected token \"*\""},
                      ErrorCase{"(a + b", "position 7: expected ')'"},
                      ErrorCase{"a +", "position 4: unexpected end of formula"},
                      ErrorCase{"a # b", "position 3: unexpected token \"#\""},
                      ErrorCase{"# + 1", "position 1: # is only defined inside a predicate such as filter(array, # > 1)"},
                      ErrorCase{"a b", "position 3: unexpected token \"b\""},
                      ErrorCase{"a > 1 ? b", "position 10: expected ':'"},
                      ErrorCase{"a)", "position 2: unexpected token \")\""},
                      ErrorCase{"sqrt(a)", "position 1: unknown function \"sqrt\""},
                      ErrorCase{"abs(a, b)", "position 1: abs() takes exactly 1 argument, got 2"},
                      ErrorCase{"1 + min()", "position 5: min() takes at least 1 argument, got 0"},
                      ErrorCase{"filter([a])", "position 1: filter() takes exactly 2 arguments, got 1"},
                      ErrorCase{"max(a b)", "position 7: expected ','"},
                      ErrorCase{"1.2.3", "position 1: bad number \"1.2.3\""},
                      ErrorCase{"a = 1", "position 3: unexpected character '='"},
                      ErrorCase{"a & b", "position 3: unexpected character '&'"},
                      ErrorCase{"a and", "position 6: unexpected end of formula"},
                      ErrorCase{"'x' + 1", "position 1: unexpected character '''"},
                      ErrorCase{"a in [1, 2] ? 1 : 0", "position 3: unexpected token \"in\""}));

// Type errors expr-lang reports when KEDA compiles the formula.
INSTANTIATE_TEST_SUITE_P(
    Types, FormulaErrorTest,
    ::testing::Values(ErrorCase{"a && b ? 1 : 0", "position 3: && needs bools, got float"},
                      ErrorCase{"a ? 1 : 0", "position 3: the condition of ?: must be a bool, got float"},
                      ErrorCase{"!a ? 1 : 0", "position 1: ! needs a bool, got float"},
                      ErrorCase{"-(a > 1) ? 1 : 0", "position 1: - needs a number, got bool"},
                      ErrorCase{"(a > 1) + 1", "position 9: + needs numbers, got bool"},
                      ErrorCase{"a % 2", "position 3: % needs integers, got float and int (trigger values are floats: use int(x) % n)"},
                      ErrorCase{"a > 1", "the formula gives a bool; it must give a number (e.g. cond ? 1 : 0)"},
                      ErrorCase{"[a, b]", "the formula gives a non-number; it must give a number (e.g. cond ? 1 : 0)"},
                      ErrorCase{"count([a, b], # * 2)", "position 17: the predicate of count() must be a bool, got float"},
                      ErrorCase{"count([a, b])", "position 1: count() without a predicate needs an array of bools"},
                      ErrorCase{"sum(a)", "position 1: sum() needs an array, got float"},
                      ErrorCase{"filter(a, # > 1)", "position 1: filter() needs an array first, got float"},
                      ErrorCase{"max([a > 1])", "position 1: max() needs numbers, got an array of bool"},
                      ErrorCase{"ceil(a > 1)", "position 1: ceil() needs a number, got bool"}));

TEST(FormulaTest, VariablesAreSortedUniqueAndExcludeFunctionsAndKeywords) {
  Result<Formula> f = ParseFormula("b + a + a * max(a, c) + abs(b) + (true and not false ? 1 : 0) + (d ?? 1)");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_THAT(f->Variables(), ElementsAre("a", "b", "c", "d"));
}

TEST(FormulaTest, ConstantFormulaHasNoVariables) {
  Result<Formula> f = ParseFormula("3 * 4");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->Variables().empty());
  EXPECT_DOUBLE_EQ(f->Evaluate({}).value(), 12);
}

TEST(FormulaTest, DivisionAndModuloByZeroNameTheOperator) {
  Result<Formula> f = ParseFormula("a / b");
  ASSERT_TRUE(f.ok());
  Result<double> v = f->Evaluate({{"a", 1}, {"b", 0}});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "position 3: division by zero");
  EXPECT_EQ(ParseFormula("int(a) % int(b)")->Evaluate({{"a", 1}, {"b", 0}}).status().message(),
            "position 8: modulo by zero");
}

TEST(FormulaTest, UnknownTriggerIsAnErrorUnlessCoalesced) {
  Result<Formula> f = ParseFormula("a + c");
  ASSERT_TRUE(f.ok());
  Result<double> v = f->Evaluate({{"a", 1}});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "unknown trigger \"c\"");
  // KEDA's fallback with scalingModifiers: a failed trigger is nil.
  Result<Formula> coalesced = ParseFormula("primary ?? secondary ?? 8");
  ASSERT_TRUE(coalesced.ok());
  EXPECT_DOUBLE_EQ(coalesced->Evaluate({{"primary", 3}, {"secondary", 5}}).value(), 3);
  EXPECT_DOUBLE_EQ(coalesced->Evaluate({{"secondary", 5}}).value(), 5);
  EXPECT_DOUBLE_EQ(coalesced->Evaluate({}).value(), 8);
  EXPECT_FALSE(ParseFormula("primary ?? secondary")->Evaluate({}).ok());
}

TEST(FormulaTest, NonFiniteResultIsAnError) {
  Result<Formula> f = ParseFormula("a * a");
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->Evaluate({{"a", 1e200}}).ok());
  EXPECT_FALSE(ParseFormula("(0 - a) ** 0.5")->Evaluate({{"a", 4}}).ok());
  EXPECT_FALSE(ParseFormula("int(a)")->Evaluate({{"a", 1e300}}).ok());
}

TEST(FormulaTest, LengthAndDepthAreBounded) {
  std::string deep(kMaxFormulaDepth + 1, '(');
  deep += "1" + std::string(kMaxFormulaDepth + 1, ')');
  EXPECT_THAT(ParseFormula(deep).status().message(), HasSubstr("nests deeper than 64 levels"));
  std::string ok_depth(kMaxFormulaDepth / 2, '(');
  ok_depth += "1" + std::string(kMaxFormulaDepth / 2, ')');
  EXPECT_TRUE(ParseFormula(ok_depth).ok()) << ParseFormula(ok_depth).status().ToString();
  EXPECT_THAT(ParseFormula(std::string(100000, '-') + "1").status().message(), HasSubstr("the limit is 4096"));
  std::string unary(200, '-');
  EXPECT_THAT(ParseFormula(unary + "1").status().message(), HasSubstr("nests deeper"));
  std::string at_limit = "1" + std::string(kMaxFormulaLength - 1, ' ');
  EXPECT_TRUE(ParseFormula(at_limit).ok());
  EXPECT_FALSE(ParseFormula(at_limit + " ").ok());
  std::string long_sum = "a";
  while (long_sum.size() + 4 < kMaxFormulaLength) long_sum += " + a";
  Result<Formula> sum = ParseFormula(long_sum);
  ASSERT_TRUE(sum.ok());
  EXPECT_GT(sum->Evaluate({{"a", 1}}).value(), 1000);
}

TEST(FormulaTest, CopiesEvaluateIndependently) {
  Result<Formula> f = ParseFormula("a * 2");
  ASSERT_TRUE(f.ok());
  Formula copy = *f;
  EXPECT_DOUBLE_EQ(copy.Evaluate({{"a", 4}}).value(), 8);
  EXPECT_DOUBLE_EQ(f->Evaluate({{"a", 5}}).value(), 10);
}

}  // namespace
}  // namespace ebb::scaling
