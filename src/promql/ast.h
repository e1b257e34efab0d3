#pragma once
// The PromQL abstract syntax tree, as produced by promql::Parse (parser.h). Node kinds, value types
// and printing follow Prometheus 3.x (promql/parser/ast.go).
// Thread-safety: plain values; an immutable tree may be read from any number of threads.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/labels.h"

namespace platops::promql {

// The type an expression evaluates to.
enum class ValueType { kScalar, kVector, kMatrix, kString };
// Prometheus's documented name: "scalar", "instant vector", "range vector", "string".
std::string_view ValueTypeName(ValueType type);

enum class ExprKind {
  kNumber,
  kString,
  kVectorSelector,
  kMatrixSelector,
  kSubquery,
  kUnary,
  kBinary,
  kAggregate,
  kCall,
  kParen,
};

enum class BinaryOp {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kAtan2,
  kEql,  // ==
  kNeq,  // !=
  kGtr,  // >
  kLss,  // <
  kGte,  // >=
  kLte,  // <=
  kAnd,
  kOr,
  kUnless,
};
// The operator as written: "+", "==", "atan2", "and", ...
std::string_view BinaryOpName(BinaryOp op);
bool IsComparison(BinaryOp op);
bool IsSetOperator(BinaryOp op);

enum class AggregateOp {
  kSum,
  kMin,
  kMax,
  kAvg,
  kGroup,
  kStddev,
  kStdvar,
  kCount,
  kCountValues,
  kBottomk,
  kTopk,
  kQuantile,
  kLimitk,
  kLimitRatio,
};
// Lower-case name: "sum", "count_values", "limit_ratio", ...
std::string_view AggregateOpName(AggregateOp op);
// True for the aggregations with a leading parameter (topk, bottomk, quantile, count_values,
// limitk, limit_ratio).
bool TakesParameter(AggregateOp op);

// The `@` modifier of a selector or subquery.
struct AtModifier {
  enum class Kind { kNone, kTimestamp, kStart, kEnd };
  Kind kind = Kind::kNone;
  int64_t timestamp_ms = 0;  // Milliseconds since the epoch; only for kTimestamp.
  bool operator==(const AtModifier&) const = default;
};

struct Expr {
  virtual ~Expr() = default;
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;

  const ExprKind kind;
  ValueType type;  // The result type, fixed at parse time.
  size_t pos = 0;  // Byte offset of the first character in the parsed input.

 protected:
  Expr(ExprKind k, ValueType t, size_t p) : kind(k), type(t), pos(p) {}
};

// A number; `-1` and `+Inf` are folded into literals as in Prometheus.
struct NumberLiteral : Expr {
  NumberLiteral(double v, size_t p) : Expr(ExprKind::kNumber, ValueType::kScalar, p), value(v) {}
  double value;
  // Written as a duration (`5m`): value is in seconds and prints back as a duration.
  bool is_duration = false;
  std::chrono::milliseconds duration{0};  // The exact duration when is_duration.
};

struct StringLiteral : Expr {
  StringLiteral(std::string v, size_t p)
      : Expr(ExprKind::kString, ValueType::kString, p), value(std::move(v)) {}
  std::string value;  // Unquoted.
};

// `name{label="v",...} @ t offset d`. When `name` is set, matchers[0] is `__name__="name"`.
// Regex matchers are not compiled here: the store compiles (and rejects bad) regexes.
struct VectorSelector : Expr {
  explicit VectorSelector(size_t p) : Expr(ExprKind::kVectorSelector, ValueType::kVector, p) {}
  std::string name;
  std::vector<metrics::Matcher> matchers;
  std::chrono::milliseconds offset{0};  // May be negative.
  AtModifier at;
};

// `selector[range]`; offset and @ live in the inner selector.
struct MatrixSelector : Expr {
  MatrixSelector(std::unique_ptr<VectorSelector> s, std::chrono::milliseconds r, size_t p)
      : Expr(ExprKind::kMatrixSelector, ValueType::kMatrix, p), selector(std::move(s)), range(r) {}
  std::unique_ptr<VectorSelector> selector;
  std::chrono::milliseconds range;
};

// `expr[range:step] @ t offset d`; step 0 means the evaluation's default step.
struct SubqueryExpr : Expr {
  SubqueryExpr(std::unique_ptr<Expr> e, std::chrono::milliseconds r, std::chrono::milliseconds s,
               size_t p)
      : Expr(ExprKind::kSubquery, ValueType::kMatrix, p), expr(std::move(e)), range(r), step(s) {}
  std::unique_ptr<Expr> expr;
  std::chrono::milliseconds range;
  std::chrono::milliseconds step;
  std::chrono::milliseconds offset{0};
  AtModifier at;
};

struct UnaryExpr : Expr {
  UnaryExpr(bool neg, std::unique_ptr<Expr> e, size_t p)
      : Expr(ExprKind::kUnary, e->type, p), negate(neg), expr(std::move(e)) {}
  bool negate;  // `-expr`; false for `+expr`.
  std::unique_ptr<Expr> expr;
};

enum class Cardinality { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

// How the series of two vector operands are paired.
struct VectorMatching {
  Cardinality card = Cardinality::kOneToOne;
  std::vector<std::string> matching_labels;  // The on()/ignoring() list.
  bool on = false;                           // on(...) rather than ignoring(...).
  std::vector<std::string> include;          // group_left/group_right extra labels.
};

struct BinaryExpr : Expr {
  BinaryExpr(BinaryOp o, std::unique_ptr<Expr> l, std::unique_ptr<Expr> r, ValueType t, size_t p)
      : Expr(ExprKind::kBinary, t, p), op(o), lhs(std::move(l)), rhs(std::move(r)) {}
  BinaryOp op;
  std::unique_ptr<Expr> lhs;
  std::unique_ptr<Expr> rhs;
  bool return_bool = false;  // The `bool` modifier of a comparison.
  // Present exactly when both operands are instant vectors (set operators: many-to-many).
  std::optional<VectorMatching> matching;
};

struct AggregateExpr : Expr {
  AggregateExpr(AggregateOp o, size_t p)
      : Expr(ExprKind::kAggregate, ValueType::kVector, p), op(o) {}
  AggregateOp op;
  std::unique_ptr<Expr> expr;
  std::unique_ptr<Expr> param;  // Only when TakesParameter(op).
  std::vector<std::string> grouping;
  bool without = false;  // `without (...)` rather than `by (...)`.
};

// A PromQL function's signature (promql/parser/functions.go).
struct FunctionInfo {
  std::string_view name;
  std::array<ValueType, 5> arg_types;  // The first num_arg_types are meaningful.
  int num_arg_types;
  // 0: exactly num_arg_types arguments; n > 0: up to n trailing arguments may be omitted
  // (num_arg_types - 1 .. num_arg_types - 1 + n); -1: the last type repeats without limit.
  int variadic;
  ValueType return_type;
};
// The function named `name` (case-sensitive, as in Prometheus), or nullptr.
const FunctionInfo* LookupFunction(std::string_view name);
// Every known function.
std::span<const FunctionInfo> Functions();

struct Call : Expr {
  Call(const FunctionInfo& f, size_t p) : Expr(ExprKind::kCall, f.return_type, p), func(&f) {}
  const FunctionInfo* func;
  std::vector<std::unique_ptr<Expr>> args;
};

struct ParenExpr : Expr {
  ParenExpr(std::unique_ptr<Expr> e, size_t p)
      : Expr(ExprKind::kParen, e->type, p), expr(std::move(e)) {}
  std::unique_ptr<Expr> expr;
};

// Canonical PromQL text of `expr` (Prometheus's String()); parsing it yields the same tree.
std::string String(const Expr& expr);
// Prometheus duration text: "1h30m", "5m", "1s500ms", "0s" (magnitude of negative values).
std::string FormatDuration(std::chrono::milliseconds d);
// A Go-style double-quoted string literal ("a\"b\n").
std::string QuoteString(std::string_view s);

}  // namespace platops::promql
