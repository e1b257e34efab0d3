#include "promql/parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace platops::promql {
namespace {

using std::chrono::milliseconds;

class ParserTest : public ::testing::Test {
 protected:
  // Parses `input`, failing the test on error; returns the canonical text.
  static std::string Canon(std::string_view input) {
    auto r = Parse(input);
    if (!r.ok()) {
      ADD_FAILURE() << input << ": " << r.status().message();
      return "";
    }
    return String(*r.value());
  }
  static std::unique_ptr<Expr> MustParse(std::string_view input) {
    auto r = Parse(input);
    EXPECT_TRUE(r.ok()) << input << ": " << r.status().message();
    if (!r.ok()) return nullptr;
    return std::move(r).value();
  }
  static std::string ErrorOf(std::string_view input) {
    auto r = Parse(input);
    EXPECT_FALSE(r.ok()) << input << " parsed as " << String(*r.value());
    if (r.ok()) return "";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    return r.status().message();
  }
};

TEST_F(ParserTest, PrecedenceAndAssociativity) {
  auto e = MustParse("1 + 2 * 3 ^ 2 ^ 2");
  ASSERT_EQ(e->kind, ExprKind::kBinary);
  const auto& add = static_cast<const BinaryExpr&>(*e);
  EXPECT_EQ(add.op, BinaryOp::kAdd);
  ASSERT_EQ(add.rhs->kind, ExprKind::kBinary);
  const auto& mul = static_cast<const BinaryExpr&>(*add.rhs);
  EXPECT_EQ(mul.op, BinaryOp::kMul);
  const auto& pow1 = static_cast<const BinaryExpr&>(*mul.rhs);
  EXPECT_EQ(pow1.op, BinaryOp::kPow);
  EXPECT_EQ(pow1.lhs->kind, ExprKind::kNumber);  // 3 ^ (2 ^ 2): right-associative.
  ASSERT_EQ(pow1.rhs->kind, ExprKind::kBinary);
  EXPECT_EQ(static_cast<const BinaryExpr&>(*pow1.rhs).op, BinaryOp::kPow);
  EXPECT_EQ(e->type, ValueType::kScalar);

  // -2 ^ 2 is -(2 ^ 2).
  auto neg = MustParse("-2 ^ 2");
  ASSERT_EQ(neg->kind, ExprKind::kUnary);
  EXPECT_TRUE(static_cast<const UnaryExpr&>(*neg).negate);
  EXPECT_EQ(static_cast<const UnaryExpr&>(*neg).expr->kind, ExprKind::kBinary);

  // Left associativity of - and /; unary minus binds tighter than *.
  auto sub = MustParse("a - b - c");
  EXPECT_EQ(static_cast<const BinaryExpr&>(*sub).lhs->kind, ExprKind::kBinary);
  auto mulneg = MustParse("-a * b");
  ASSERT_EQ(mulneg->kind, ExprKind::kBinary);
  EXPECT_EQ(static_cast<const BinaryExpr&>(*mulneg).lhs->kind, ExprKind::kUnary);

  // or < and/unless < comparisons < +- < * / % atan2 < ^.
  auto set = MustParse("a or b and c unless d");
  ASSERT_EQ(set->kind, ExprKind::kBinary);
  EXPECT_EQ(static_cast<const BinaryExpr&>(*set).op, BinaryOp::kOr);
  auto cmp = MustParse("a + 1 > b * 2 atan2 c");
  EXPECT_EQ(static_cast<const BinaryExpr&>(*cmp).op, BinaryOp::kGtr);
  EXPECT_EQ(static_cast<const BinaryExpr&>(*static_cast<const BinaryExpr&>(*cmp).rhs).op,
            BinaryOp::kAtan2);

  EXPECT_EQ(Canon("2 ^ -1 * 3"), "2 ^ -1 * 3");
  auto e2 = MustParse("2 ^ -1 * 3");
  EXPECT_EQ(static_cast<const BinaryExpr&>(*e2).op, BinaryOp::kMul);
  EXPECT_EQ(Canon("- - - 1"), "-1");
  EXPECT_EQ(Canon("-2^---1*3"), "-2 ^ -1 * 3");
}

TEST_F(ParserTest, NumberLiterals) {
  auto value = [](std::string_view s) {
    auto r = Parse(s);
    EXPECT_TRUE(r.ok()) << s << ": " << r.status().message();
    if (!r.ok() || r.value()->kind != ExprKind::kNumber) return -12345.0;
    return static_cast<const NumberLiteral&>(*r.value()).value;
  };
  EXPECT_EQ(value("1"), 1);
  EXPECT_EQ(value("0x1f"), 31);
  EXPECT_EQ(value("0X1F"), 31);
  EXPECT_EQ(value("010"), 8);  // Go's ParseInt base 0, as Prometheus.
  EXPECT_EQ(value("1e3"), 1000);
  EXPECT_DOUBLE_EQ(value("12.34e-6"), 12.34e-6);
  EXPECT_EQ(value(".2"), 0.2);
  EXPECT_EQ(value("2."), 2);
  EXPECT_EQ(value("-0.2e-6"), -0.2e-6);
  EXPECT_EQ(value("+Inf"), INFINITY);
  EXPECT_EQ(value("-inf"), -INFINITY);
  EXPECT_TRUE(std::isnan(value("nAn")));
  EXPECT_EQ(value("5m"), 300);
  EXPECT_EQ(value("1h30m"), 5400);
  EXPECT_EQ(Canon("1h30m"), "1h30m");
  EXPECT_EQ(Canon("-5m"), "-5m");
  EXPECT_EQ(Canon("1.5"), "1.5");
  EXPECT_EQ(Canon("Inf"), "+Inf");
  EXPECT_EQ(Canon("1e21"), "1000000000000000000000");
}

TEST_F(ParserTest, Durations) {
  EXPECT_EQ(ParseDuration("1h30m").value(), milliseconds(5'400'000));
  EXPECT_EQ(ParseDuration("1y").value(), milliseconds(365LL * 86'400'000));
  EXPECT_EQ(ParseDuration("1w2d").value(), milliseconds(9LL * 86'400'000));
  EXPECT_EQ(ParseDuration("1s500ms").value(), milliseconds(1500));
  EXPECT_EQ(ParseDuration("0").value(), milliseconds(0));
  EXPECT_FALSE(ParseDuration("5m1h").ok());  // Out of order.
  EXPECT_FALSE(ParseDuration("1m1m").ok());
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("99999999999999999999y").ok());
  EXPECT_EQ(FormatDuration(milliseconds(5'400'000)), "1h30m");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1s500ms");
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
}

TEST_F(ParserTest, StringLiterals) {
  auto str = [](std::string_view s) {
    auto r = Parse(s);
    EXPECT_TRUE(r.ok()) << s << ": " << r.status().message();
    if (!r.ok() || r.value()->kind != ExprKind::kString) return std::string("<error>");
    EXPECT_EQ(r.value()->type, ValueType::kString);
    return static_cast<const StringLiteral&>(*r.value()).value;
  };
  EXPECT_EQ(str(R"("a\"b\n\t\\")"), "a\"b\n\t\\");
  EXPECT_EQ(str(R"('it\'s')"), "it's");
  EXPECT_EQ(str("`raw \\n \"x\"`"), "raw \\n \"x\"");
  EXPECT_EQ(str(R"("\x41\101\u00e9\U0001F600")"), "AA\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(str(R"("a\xc5z")"), "a\xc5z");
  EXPECT_EQ(Canon(R"('a"b')"), R"("a\"b")");
  EXPECT_EQ(Canon(R"("a\xffb")"), R"("a\xffb")");
  EXPECT_NE(ErrorOf(R"("\q")").find("unknown escape sequence"), std::string::npos);
  EXPECT_NE(ErrorOf("\"abc").find("unterminated quoted string"), std::string::npos);
  EXPECT_NE(ErrorOf("\"a\nb\"").find("unterminated quoted string"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("\u12")").find("escape sequence not terminated"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("\ud800")").find("invalid Unicode code point"), std::string::npos);
}

TEST_F(ParserTest, Comments) {
  EXPECT_EQ(Canon("# leading comment\nfoo # trailing\n + 1"), "foo + 1");
  EXPECT_EQ(ErrorOf("# only a comment"), "1:1: parse error: no expression found in input");
}

TEST_F(ParserTest, VectorSelectors) {
  auto e = MustParse(R"(http_requests_total{job="api", code!="500", path=~"/a.*", x!~'y'})");
  ASSERT_EQ(e->kind, ExprKind::kVectorSelector);
  const auto& vs = static_cast<const VectorSelector&>(*e);
  EXPECT_EQ(vs.name, "http_requests_total");
  ASSERT_EQ(vs.matchers.size(), 5u);
  EXPECT_EQ(vs.matchers[0],
            (metrics::Matcher{metrics::MatchType::kEqual, "__name__", "http_requests_total"}));
  EXPECT_EQ(vs.matchers[2], (metrics::Matcher{metrics::MatchType::kNotEqual, "code", "500"}));
  EXPECT_EQ(vs.matchers[3], (metrics::Matcher{metrics::MatchType::kRegexMatch, "path", "/a.*"}));
  EXPECT_EQ(vs.matchers[4], (metrics::Matcher{metrics::MatchType::kRegexNoMatch, "x", "y"}));
  EXPECT_EQ(e->type, ValueType::kVector);
  // Printing sorts the matchers, as Prometheus.
  EXPECT_EQ(String(*e), R"(http_requests_total{code!="500",job="api",path=~"/a.*",x!~"y"})");
  EXPECT_EQ(Canon(R"({__name__=~"a|b",})"), R"({__name__=~"a|b"})");
  EXPECT_EQ(Canon(R"({"my.metric", "a.b"="c"})"), R"({"a.b"="c",__name__="my.metric"})");
  EXPECT_EQ(Canon("node_namespace_pod:kube_pod_info:"), "node_namespace_pod:kube_pod_info:");
  EXPECT_EQ(Canon("sum"), "sum");  // Keywords may name metrics.
  EXPECT_EQ(Canon("foo offset 5m"), "foo offset 5m");
  EXPECT_EQ(Canon("foo offset -1h30m"), "foo offset -1h30m");
  EXPECT_EQ(Canon("metric @ 0 offset -50"), "metric @ 0.000 offset -50s");
  EXPECT_EQ(Canon("metric offset 50s @ 100"), "metric @ 100.000 offset 50s");
  EXPECT_EQ(Canon("metric @ 1m40s"), "metric @ 100.000");
  EXPECT_EQ(Canon("metric_ms @ 1.234"), "metric_ms @ 1.234");
  EXPECT_EQ(Canon("metric @ -2.5"), "metric @ -2.500");
  EXPECT_EQ(Canon("foo @ start()"), "foo @ start()");
  EXPECT_EQ(Canon("foo @ END()"), "foo @ end()");
  auto at = MustParse("foo @ 1.5 offset 1m");
  const auto& avs = static_cast<const VectorSelector&>(*at);
  EXPECT_EQ(avs.at.kind, AtModifier::Kind::kTimestamp);
  EXPECT_EQ(avs.at.timestamp_ms, 1500);
  EXPECT_EQ(avs.offset, milliseconds(60'000));
}

TEST_F(ParserTest, MatrixSelectorsAndSubqueries) {
  auto m = MustParse("rate(x[5m] offset 1m)");
  const auto& call = static_cast<const Call&>(*m);
  ASSERT_EQ(call.args[0]->kind, ExprKind::kMatrixSelector);
  const auto& ms = static_cast<const MatrixSelector&>(*call.args[0]);
  EXPECT_EQ(ms.range, milliseconds(300'000));
  EXPECT_EQ(ms.selector->offset, milliseconds(60'000));
  EXPECT_EQ(ms.type, ValueType::kMatrix);
  EXPECT_EQ(Canon("foo[600]"), "foo[10m]");  // Plain numbers are seconds.
  EXPECT_EQ(Canon("foo[1.5]"), "foo[1s500ms]");
  EXPECT_EQ(Canon("foo[5m] @ 100 offset 3m"), "foo[5m] @ 100.000 offset 3m");

  auto s = MustParse("max_over_time(rate(x[1m])[30m:1m] @ end() offset 5m)");
  const auto& sq = static_cast<const SubqueryExpr&>(*static_cast<const Call&>(*s).args[0]);
  EXPECT_EQ(sq.kind, ExprKind::kSubquery);
  EXPECT_EQ(sq.range, milliseconds(1'800'000));
  EXPECT_EQ(sq.step, milliseconds(60'000));
  EXPECT_EQ(sq.offset, milliseconds(300'000));
  EXPECT_EQ(sq.at.kind, AtModifier::Kind::kEnd);
  EXPECT_EQ(sq.type, ValueType::kMatrix);
  EXPECT_EQ(Canon("rate(x[5m])[5m:]"), "rate(x[5m])[5m:]");
  EXPECT_EQ(Canon("(m)[30:10] offset 3"), "(m)[30s:10s] offset 3s");
  EXPECT_EQ(Canon("min_over_time((topk(1, foo))[1m:5m])"), "min_over_time((topk(1, foo))[1m:5m])");
}

TEST_F(ParserTest, UnaryAndParen) {
  auto u = MustParse("-foo");
  ASSERT_EQ(u->kind, ExprKind::kUnary);
  EXPECT_EQ(u->type, ValueType::kVector);
  EXPECT_EQ(Canon("+foo"), "+foo");
  EXPECT_EQ(Canon("-(1 + 2)"), "-(1 + 2)");
  auto p = MustParse("((foo))");
  ASSERT_EQ(p->kind, ExprKind::kParen);
  EXPECT_EQ(p->type, ValueType::kVector);
  EXPECT_EQ(String(*p), "((foo))");
  EXPECT_EQ(Canon("---metric @ 100"), "---metric @ 100.000");
}

TEST_F(ParserTest, BinaryExpressionsAndVectorMatching) {
  auto b = MustParse("a == bool b");
  const auto& eq = static_cast<const BinaryExpr&>(*b);
  EXPECT_TRUE(eq.return_bool);
  ASSERT_TRUE(eq.matching.has_value());
  EXPECT_EQ(eq.matching->card, Cardinality::kOneToOne);
  EXPECT_EQ(Canon("1 == bool 2"), "1 == bool 2");
  EXPECT_EQ(MustParse("1 < bool 2")->type, ValueType::kScalar);
  EXPECT_EQ(MustParse("foo * 2")->type, ValueType::kVector);
  EXPECT_FALSE(static_cast<const BinaryExpr&>(*MustParse("foo * 2")).matching.has_value());

  auto g = MustParse("a * on (instance, job) group_left (role) b");
  const auto& gl = static_cast<const BinaryExpr&>(*g);
  ASSERT_TRUE(gl.matching.has_value());
  EXPECT_TRUE(gl.matching->on);
  EXPECT_EQ(gl.matching->card, Cardinality::kManyToOne);
  EXPECT_EQ(gl.matching->matching_labels, (std::vector<std::string>{"instance", "job"}));
  EXPECT_EQ(gl.matching->include, (std::vector<std::string>{"role"}));
  EXPECT_EQ(String(*g), "a * on (instance, job) group_left (role) b");

  auto gr = MustParse("a / ignoring(mode) group_right b");
  const auto& r = static_cast<const BinaryExpr&>(*gr);
  EXPECT_FALSE(r.matching->on);
  EXPECT_EQ(r.matching->card, Cardinality::kOneToMany);
  EXPECT_TRUE(r.matching->include.empty());
  EXPECT_EQ(String(*gr), "a / ignoring (mode) group_right () b");

  auto set = MustParse("a AND ON (dummy) b");
  const auto& s = static_cast<const BinaryExpr&>(*set);
  EXPECT_EQ(s.op, BinaryOp::kAnd);
  EXPECT_EQ(s.matching->card, Cardinality::kManyToMany);
  EXPECT_EQ(String(*set), "a and on (dummy) b");
  EXPECT_EQ(Canon("a unless ignoring(x) b"), "a unless ignoring (x) b");
  EXPECT_EQ(Canon("10 atan2 20"), "10 atan2 20");
  EXPECT_EQ(Canon("a + on() b"), "a + on () b");
}

TEST_F(ParserTest, Aggregations) {
  auto a = MustParse("sum by (job) (x)");
  const auto& s = static_cast<const AggregateExpr&>(*a);
  EXPECT_EQ(s.op, AggregateOp::kSum);
  EXPECT_EQ(s.grouping, (std::vector<std::string>{"job"}));
  EXPECT_FALSE(s.without);
  EXPECT_EQ(a->type, ValueType::kVector);
  EXPECT_EQ(Canon("sum(x) by (job)"), "sum by (job) (x)");
  EXPECT_EQ(Canon("SUM(x) BY (job, group)"), "sum by (job, group) (x)");
  EXPECT_EQ(Canon("avg without (a) (x)"), "avg without (a) (x)");
  EXPECT_EQ(Canon("sum by () (x)"), "sum(x)");
  EXPECT_EQ(Canon("sum without () (x)"), "sum without () (x)");
  auto t = MustParse("topk(3, x)");
  const auto& tk = static_cast<const AggregateExpr&>(*t);
  EXPECT_EQ(tk.op, AggregateOp::kTopk);
  ASSERT_NE(tk.param, nullptr);
  EXPECT_EQ(tk.param->kind, ExprKind::kNumber);
  EXPECT_EQ(Canon("count_values without (instance)(\"job\", version)"),
            "count_values without (instance) (\"job\", version)");
  EXPECT_EQ(Canon("quantile(0.9, x)"), "quantile(0.9, x)");
  EXPECT_EQ(Canon("limitk by (g) (2, x)"), "limitk by (g) (2, x)");
  EXPECT_EQ(Canon("limit_ratio(0.5, x)"), "limit_ratio(0.5, x)");
  for (const char* op : {"min", "max", "group", "stddev", "stdvar", "count", "bottomk"}) {
    const bool param = std::string(op) == "bottomk";
    const std::string q = std::string(op) + "(" + (param ? "1, " : "") + "x)";
    EXPECT_EQ(Canon(q), q);
  }
  EXPECT_EQ(Canon("sum by (on, bool) (x)"), "sum by (on, bool) (x)");
}

TEST_F(ParserTest, FunctionCalls) {
  auto c = MustParse("histogram_quantile(0.9, rate(x[5m]))");
  const auto& call = static_cast<const Call&>(*c);
  EXPECT_EQ(call.func->name, "histogram_quantile");
  EXPECT_EQ(call.args.size(), 2u);
  EXPECT_EQ(c->type, ValueType::kVector);
  EXPECT_EQ(MustParse("time()")->type, ValueType::kScalar);
  EXPECT_EQ(MustParse("scalar(x)")->type, ValueType::kScalar);
  EXPECT_EQ(Canon("round(x)"), "round(x)");
  EXPECT_EQ(Canon("round(x, 5)"), "round(x, 5)");
  EXPECT_EQ(Canon("hour()"), "hour()");
  EXPECT_EQ(Canon("label_join(x, \"d\", \",\", \"a\", \"b\", \"c\")"),
            "label_join(x, \"d\", \",\", \"a\", \"b\", \"c\")");
  EXPECT_EQ(Canon("sort_by_label(x)"), "sort_by_label(x)");
  EXPECT_EQ(Canon("predict_linear(x[1h], 50m)"), "predict_linear(x[1h], 50m)");
  EXPECT_EQ(Canon("info(x, {k=\"v\"})"), "info(x, {k=\"v\"})");
  // These fail only at evaluation (bad regex, invalid UTF-8 label name).
  EXPECT_EQ(Canon(R"(label_replace(m, "dst", "v-$1", "src", "(.*"))"),
            R"(label_replace(m, "dst", "v-$1", "src", "(.*"))");
  EXPECT_EQ(Canon(R"(count_values("a\xc5z", version))"), R"(count_values("a\xc5z", version))");
  EXPECT_NE(LookupFunction("rate"), nullptr);
  EXPECT_EQ(LookupFunction("nope"), nullptr);
  for (const FunctionInfo& f : Functions()) EXPECT_EQ(LookupFunction(f.name), &f) << f.name;
}

TEST_F(ParserTest, Errors) {
  // Unexpected tokens, with line:col.
  EXPECT_EQ(ErrorOf("foo + * bar"), "1:7: parse error: unexpected <op:*>");
  EXPECT_EQ(ErrorOf("foo\n  bar"), "2:3: parse error: unexpected identifier \"bar\"");
  EXPECT_EQ(ErrorOf("1 +"), "1:4: parse error: unexpected end of input");
  EXPECT_NE(ErrorOf("foo{a=1}").find("unexpected number \"1\" in label matching"),
            std::string::npos);
  EXPECT_NE(ErrorOf("foo{a}").find("expected label matching operator"), std::string::npos);
  EXPECT_NE(ErrorOf("foo $ 1").find("unexpected character: \"$\""), std::string::npos);
  // Unbalanced delimiters.
  EXPECT_EQ(ErrorOf("sum(foo"), "1:8: parse error: unclosed left parenthesis");
  EXPECT_EQ(ErrorOf("foo)"), "1:4: parse error: unexpected right parenthesis ')'");
  EXPECT_EQ(ErrorOf("foo{a=\"b\""), "1:10: parse error: unexpected end of input inside braces");
  EXPECT_NE(ErrorOf("foo[5m").find("unclosed left bracket"), std::string::npos);
  // Durations and numbers.
  EXPECT_NE(ErrorOf("foo[5x]").find("bad number or duration syntax: \"5x\""), std::string::npos);
  EXPECT_NE(ErrorOf("foo[5m1h]").find("not a valid duration string"), std::string::npos);
  EXPECT_NE(ErrorOf("foo[0s]").find("duration must be greater than 0"), std::string::npos);
  EXPECT_NE(ErrorOf("1e").find("bad number or duration syntax"), std::string::npos);
  EXPECT_NE(ErrorOf("foo offset 1s offset 2s").find("offset may not be set multiple times"),
            std::string::npos);
  EXPECT_NE(ErrorOf("foo @ 1 @ 2").find("may not be set multiple times"), std::string::npos);
  EXPECT_NE(ErrorOf("foo @ Inf").find("timestamp out of bounds"), std::string::npos);
  EXPECT_NE(ErrorOf("sum(foo) offset 5m").find("offset modifier must be preceded"),
            std::string::npos);
  EXPECT_NE(ErrorOf("foo offset 5m [5m]").find("no offset modifiers allowed before range"),
            std::string::npos);
  EXPECT_NE(ErrorOf("foo @ 1 [5m]").find("no @ modifiers allowed before range"), std::string::npos);
  EXPECT_NE(ErrorOf("info(x, y)").find("expected label selectors only"), std::string::npos);
  EXPECT_NE(ErrorOf("(foo)[5m]").find("ranges only allowed for vector selectors"),
            std::string::npos);
  EXPECT_NE(ErrorOf("foo[5m][10m:]").find("subquery is only allowed on instant vector"),
            std::string::npos);
  // Functions.
  EXPECT_EQ(ErrorOf("foo_bar(x)"), "1:1: parse error: unknown function with name \"foo_bar\"");
  EXPECT_EQ(ErrorOf("rate(x)"),
            "1:6: parse error: expected type range vector in call to function \"rate\", got "
            "instant vector");
  EXPECT_EQ(ErrorOf("abs(x, y)"),
            "1:1: parse error: expected 1 argument(s) in call to \"abs\", got 2");
  EXPECT_NE(ErrorOf("round(x, 1, 2)").find("expected at most 2 argument(s)"), std::string::npos);
  EXPECT_NE(ErrorOf("label_join(x, \"a\")").find("expected at least 3 argument(s)"),
            std::string::npos);
  EXPECT_NE(ErrorOf("label_replace(x, 1, \"\", \"\", \"\")").find("expected type string"),
            std::string::npos);
  EXPECT_NE(ErrorOf("rate(x[5m],)").find("trailing commas"), std::string::npos);
  // Aggregations.
  EXPECT_NE(ErrorOf("sum()").find("no arguments for aggregate expression"), std::string::npos);
  EXPECT_NE(ErrorOf("topk(x)").find("expected 2, got 1"), std::string::npos);
  EXPECT_NE(ErrorOf("sum(x[5m])").find("expected type instant vector in aggregation expression"),
            std::string::npos);
  EXPECT_NE(ErrorOf("count_values(1, x)").find("expected type string in aggregation parameter"),
            std::string::npos);
  EXPECT_NE(ErrorOf("topk(\"a\", x)").find("expected type scalar in aggregation parameter"),
            std::string::npos);
  EXPECT_NE(ErrorOf("sum by (a) (x) by (b)").find("unexpected <by>"), std::string::npos);
  // Binary operators.
  EXPECT_NE(ErrorOf("a + bool b").find("bool modifier can only be used on comparison operators"),
            std::string::npos);
  EXPECT_NE(ErrorOf("1 > 2").find("comparisons between scalars must use BOOL modifier"),
            std::string::npos);
  EXPECT_NE(ErrorOf("1 and foo").find("set operator \"and\" not allowed in binary scalar"),
            std::string::npos);
  EXPECT_NE(ErrorOf("a and on(x) group_left b").find("no grouping allowed for \"and\""),
            std::string::npos);
  EXPECT_NE(ErrorOf("a * group_left b").find("unexpected identifier \"b\""), std::string::npos);
  EXPECT_NE(ErrorOf("a * on(x) group_left(x) b").find("must not occur in ON and GROUP clause"),
            std::string::npos);
  EXPECT_NE(ErrorOf("1 + on(x) foo").find("vector matching only allowed between instant vectors"),
            std::string::npos);
  EXPECT_NE(ErrorOf("foo[5m] + 1").find("binary expression must contain only scalar and instant"),
            std::string::npos);
  EXPECT_NE(ErrorOf("-foo[5m]").find("unary expression only allowed"), std::string::npos);
  // Selectors.
  EXPECT_NE(ErrorOf("{}").find("at least one non-empty matcher"), std::string::npos);
  EXPECT_NE(ErrorOf("{a=\"\"}").find("at least one non-empty matcher"), std::string::npos);
  EXPECT_NE(ErrorOf("{a=~\".*\"}").find("at least one non-empty matcher"), std::string::npos);
  EXPECT_NE(ErrorOf("foo{__name__=\"bar\"}").find("metric name must not be set twice"),
            std::string::npos);
  EXPECT_EQ(ErrorOf(""), "1:1: parse error: no expression found in input");
}

TEST_F(ParserTest, DeepNestingIsRejectedNotCrashing) {
  std::string deep(5000, '(');
  deep += "1" + std::string(5000, ')');
  EXPECT_NE(ErrorOf(deep).find("nested too deeply"), std::string::npos);
  std::string chain = "1";
  for (int i = 0; i < 3000; ++i) chain += " + 1";
  EXPECT_NE(ErrorOf(chain).find("nested too deeply"), std::string::npos);
}

// Every expression of the Prometheus conformance scripts must parse, and print back to text that
// parses to the same text.
TEST_F(ParserTest, ParsesEveryConformanceExpression) {
  const char* root = std::getenv("PLATOPS_SOURCE_DIR");
  const char* override_dir = std::getenv("PLATOPS_PROMQL_CONFORMANCE_DIR");
  const std::filesystem::path dir =
      override_dir != nullptr ? std::filesystem::path(override_dir)
                              : std::filesystem::path(root != nullptr ? root : ".") / ".." /
                                    "shared" / "conformance" / "promql";
  ASSERT_TRUE(std::filesystem::is_directory(dir))
      << "no conformance scripts at " << dir << " (set PLATOPS_PROMQL_CONFORMANCE_DIR)";
  const std::regex eval_re(
      R"(^eval(_ordered|_warn|_info)?\s+)"
      R"((instant\s+at\s+\S+|range\s+from\s+\S+\s+to\s+\S+\s+step\s+\S+)\s+(.*)$)");
  int parsed = 0;
  int files = 0;
  std::vector<std::string> failures;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".test") continue;
    ++files;
    std::ifstream in(entry.path());
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      std::smatch m;
      if (!std::regex_match(line, m, eval_re)) continue;
      const std::string expr = m[3].str();
      auto r = Parse(expr);
      const std::string where = entry.path().filename().string() + ":" + std::to_string(line_no);
      if (!r.ok()) {
        failures.push_back(where + ": " + expr + " -> " + r.status().message());
        continue;
      }
      const std::string printed = String(*r.value());
      auto again = Parse(printed);
      if (!again.ok() || String(*again.value()) != printed) {
        failures.push_back(where + ": round trip of " + printed + " failed");
        continue;
      }
      ++parsed;
    }
  }
  for (const std::string& f : failures) ADD_FAILURE() << f;
  EXPECT_GT(files, 10);
  EXPECT_GT(parsed, 1000);
}

}  // namespace
}  // namespace platops::promql
