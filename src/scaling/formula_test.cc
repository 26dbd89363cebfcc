#include "scaling/formula.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ebb::scaling {
namespace {

using ::testing::ElementsAre;

struct EvalCase {
  const char* formula;
  double expected;
};

class FormulaEvalTest : public ::testing::TestWithParam<EvalCase> {};

TEST_P(FormulaEvalTest, Evaluates) {
  const EvalCase& c = GetParam();
  Result<Formula> f = ParseFormula(c.formula);
  ASSERT_TRUE(f.ok()) << c.formula << ": " << f.status().ToString();
  Result<double> v = f->Evaluate({{"a", 2}, {"b", 0.5}, {"queue_len", 12}});
  ASSERT_TRUE(v.ok()) << c.formula << ": " << v.status().ToString();
  EXPECT_DOUBLE_EQ(*v, c.expected) << c.formula;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FormulaEvalTest,
    ::testing::Values(EvalCase{"1 + 2 * 3", 7}, EvalCase{"(1 + 2) * 3", 9}, EvalCase{"10 - 4 - 3", 3},
                      EvalCase{"8 / 4 / 2", 1}, EvalCase{"-a + 5", 3}, EvalCase{"--a", 2}, EvalCase{"+a", 2},
                      EvalCase{"a * b + queue_len", 13}, EvalCase{"queue_len / a", 6},
                      EvalCase{"a > 1 ? 10 : 20", 10}, EvalCase{"a > 5 ? 10 : 20", 20},
                      EvalCase{"a > 1 ? b > 1 ? 1 : 2 : 3", 2}, EvalCase{"a > 5 ? 1 : b < 1 ? 4 : 5", 4},
                      EvalCase{"min(a, b, 3)", 0.5}, EvalCase{"max(a, b, queue_len)", 12}, EvalCase{"max(7)", 7},
                      EvalCase{"abs(b - a)", 1.5}, EvalCase{"ceil(1.2)", 2}, EvalCase{"floor(-1.2)", -2},
                      EvalCase{"ceil(queue_len / 5)", 3}, EvalCase{"a >= 2 && b < 1", 1},
                      EvalCase{"a >= 3 && b < 1", 0}, EvalCase{"a == 3 || b == 0.5", 1}, EvalCase{"!0", 1},
                      EvalCase{"!a", 0}, EvalCase{"2 <= 2", 1}, EvalCase{"2 < 2", 0}, EvalCase{"a != 2", 0},
                      EvalCase{"1e3 / 10", 100}, EvalCase{".5 * 4", 2}, EvalCase{"2.5e-1 * 8", 2},
                      EvalCase{"1 + 2 > 2", 1}, EvalCase{"max(a, min(queue_len, 5)) * 2", 10},
                      // Lazy: the branch not taken is not evaluated (no division by zero).
                      EvalCase{"0 && 1 / 0", 0}, EvalCase{"1 || 1 / 0", 1}, EvalCase{"a > 0 ? 1 : 1 / 0", 1}));

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
    Cases, FormulaErrorTest,
    ::testing::Values(ErrorCase{"", "formula is empty"}, ErrorCase{"   ", "formula is empty"},
                      ErrorCase{"a + * b", "position 5: unexpected token \"*\""},
                      ErrorCase{"(a + b", "position 7: expected ')'"},
                      ErrorCase{"a +", "position 4: unexpected end of formula"},
                      ErrorCase{"a # b", "position 3: unexpected character '#'"},
                      ErrorCase{"a b", "position 3: unexpected token \"b\""},
                      ErrorCase{"a ? b", "position 6: expected ':'"},
                      ErrorCase{"a)", "position 2: unexpected token \")\""},
                      ErrorCase{"sqrt(a)", "position 1: unknown function \"sqrt\""},
                      ErrorCase{"abs(a, b)", "position 1: abs() takes exactly 1 argument, got 2"},
                      ErrorCase{"1 + min()", "position 5: min() takes at least 1 argument, got 0"},
                      ErrorCase{"max(a b)", "position 7: expected ','"},
                      ErrorCase{"1.2.3", "position 1: bad number \"1.2.3\""},
                      ErrorCase{"a = 1", "position 3: unexpected character '='"},
                      ErrorCase{"a & b", "position 3: unexpected character '&'"}));

TEST(FormulaTest, VariablesAreSortedUniqueAndExcludeFunctions) {
  Result<Formula> f = ParseFormula("b + a + a * max(a, c) + abs(b)");
  ASSERT_TRUE(f.ok());
  EXPECT_THAT(f->Variables(), ElementsAre("a", "b", "c"));
  EXPECT_EQ(f->text(), "b + a + a * max(a, c) + abs(b)");
}

TEST(FormulaTest, ConstantFormulaHasNoVariables) {
  Result<Formula> f = ParseFormula("3 * 4");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->Variables().empty());
  EXPECT_DOUBLE_EQ(f->Evaluate({}).value(), 12);
}

TEST(FormulaTest, DivisionByZeroNamesTheOperator) {
  Result<Formula> f = ParseFormula("a / b");
  ASSERT_TRUE(f.ok());
  Result<double> v = f->Evaluate({{"a", 1}, {"b", 0}});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "position 3: division by zero");
}

TEST(FormulaTest, UnknownTriggerIsAnError) {
  Result<Formula> f = ParseFormula("a + c");
  ASSERT_TRUE(f.ok());
  Result<double> v = f->Evaluate({{"a", 1}});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "unknown trigger \"c\"");
}

TEST(FormulaTest, NonFiniteResultIsAnError) {
  Result<Formula> f = ParseFormula("a * a");
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->Evaluate({{"a", 1e200}}).ok());
}

TEST(FormulaTest, CopiesEvaluateIndependently) {
  Result<Formula> f = ParseFormula("a * 2");
  ASSERT_TRUE(f.ok());
  Formula copy = *f;
  EXPECT_DOUBLE_EQ(copy.Evaluate({{"a", 4}}).value(), 8);
  EXPECT_DOUBLE_EQ(f->Evaluate({{"a", 5}}).value(), 10);
}

std::string Parenthesized(int depth) {
  return std::string(depth, '(') + "1" + std::string(depth, ')');
}

TEST(FormulaLimits, NestingAtTheLimitParsesOnePastIsRefusedNamingTheLimit) {
  // The formula itself is one level; each parenthesis adds one.
  Result<Formula> at = ParseFormula(Parenthesized(kMaxFormulaNesting - 1));
  ASSERT_TRUE(at.ok()) << at.status().ToString();
  EXPECT_DOUBLE_EQ(at->Evaluate({}).value(), 1);
  Result<Formula> deep = ParseFormula(Parenthesized(kMaxFormulaNesting));
  EXPECT_FALSE(ParseFormula(std::string(kMaxFormulaNesting, '-') + "1").ok());
  EXPECT_TRUE(ParseFormula(std::string(kMaxFormulaNesting - 1, '-') + "1").ok());
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("nested deeper than 64 levels (the limit)"), std::string::npos);
  // What used to overflow the stack.
  EXPECT_FALSE(ParseFormula(Parenthesized(100'000).substr(0, kMaxFormulaLength)).ok());
  EXPECT_FALSE(ParseFormula(std::string(kMaxFormulaLength, '-') ).ok());
}

TEST(FormulaLimits, LengthAtTheLimitParsesOnePastIsRefused) {
  std::string sum = "1";
  while (sum.size() + 2 <= kMaxFormulaLength) sum += "+1";
  sum += std::string(kMaxFormulaLength - sum.size(), ' ');
  ASSERT_EQ(sum.size(), kMaxFormulaLength);
  Result<Formula> at = ParseFormula(sum);
  ASSERT_TRUE(at.ok()) << at.status().ToString();
  EXPECT_DOUBLE_EQ(at->Evaluate({}).value(), 2048);
  Result<Formula> past = ParseFormula(sum + " ");
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.status().message().find("over the limit of 4096"), std::string::npos);
}

}  // namespace
}  // namespace ebb::scaling
