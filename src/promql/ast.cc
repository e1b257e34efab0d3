#include "promql/ast.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace platops::promql {
namespace {

constexpr ValueType kS = ValueType::kScalar;
constexpr ValueType kV = ValueType::kVector;
constexpr ValueType kM = ValueType::kMatrix;
constexpr ValueType kStr = ValueType::kString;

// Sorted by name for binary search; Prometheus 3.5's function set (experimental ones included).
constexpr FunctionInfo kFunctions[] = {
    {"abs", {kV}, 1, 0, kV},
    {"absent", {kV}, 1, 0, kV},
    {"absent_over_time", {kM}, 1, 0, kV},
    {"acos", {kV}, 1, 0, kV},
    {"acosh", {kV}, 1, 0, kV},
    {"asin", {kV}, 1, 0, kV},
    {"asinh", {kV}, 1, 0, kV},
    {"atan", {kV}, 1, 0, kV},
    {"atanh", {kV}, 1, 0, kV},
    {"avg_over_time", {kM}, 1, 0, kV},
    {"ceil", {kV}, 1, 0, kV},
    {"changes", {kM}, 1, 0, kV},
    {"clamp", {kV, kS, kS}, 3, 0, kV},
    {"clamp_max", {kV, kS}, 2, 0, kV},
    {"clamp_min", {kV, kS}, 2, 0, kV},
    {"cos", {kV}, 1, 0, kV},
    {"cosh", {kV}, 1, 0, kV},
    {"count_over_time", {kM}, 1, 0, kV},
    {"day_of_month", {kV}, 1, 1, kV},
    {"day_of_week", {kV}, 1, 1, kV},
    {"day_of_year", {kV}, 1, 1, kV},
    {"days_in_month", {kV}, 1, 1, kV},
    {"deg", {kV}, 1, 0, kV},
    {"delta", {kM}, 1, 0, kV},
    {"deriv", {kM}, 1, 0, kV},
    {"double_exponential_smoothing", {kM, kS, kS}, 3, 0, kV},
    {"exp", {kV}, 1, 0, kV},
    {"floor", {kV}, 1, 0, kV},
    {"histogram_avg", {kV}, 1, 0, kV},
    {"histogram_count", {kV}, 1, 0, kV},
    {"histogram_fraction", {kS, kS, kV}, 3, 0, kV},
    {"histogram_quantile", {kS, kV}, 2, 0, kV},
    {"histogram_stddev", {kV}, 1, 0, kV},
    {"histogram_stdvar", {kV}, 1, 0, kV},
    {"histogram_sum", {kV}, 1, 0, kV},
    {"hour", {kV}, 1, 1, kV},
    {"idelta", {kM}, 1, 0, kV},
    {"increase", {kM}, 1, 0, kV},
    {"info", {kV, kV}, 2, 1, kV},
    {"irate", {kM}, 1, 0, kV},
    {"label_join", {kV, kStr, kStr, kStr}, 4, -1, kV},
    {"label_replace", {kV, kStr, kStr, kStr, kStr}, 5, 0, kV},
    {"last_over_time", {kM}, 1, 0, kV},
    {"ln", {kV}, 1, 0, kV},
    {"log10", {kV}, 1, 0, kV},
    {"log2", {kV}, 1, 0, kV},
    {"mad_over_time", {kM}, 1, 0, kV},
    {"max_over_time", {kM}, 1, 0, kV},
    {"min_over_time", {kM}, 1, 0, kV},
    {"minute", {kV}, 1, 1, kV},
    {"month", {kV}, 1, 1, kV},
    {"pi", {}, 0, 0, kS},
    {"predict_linear", {kM, kS}, 2, 0, kV},
    {"present_over_time", {kM}, 1, 0, kV},
    {"quantile_over_time", {kS, kM}, 2, 0, kV},
    {"rad", {kV}, 1, 0, kV},
    {"rate", {kM}, 1, 0, kV},
    {"resets", {kM}, 1, 0, kV},
    {"round", {kV, kS}, 2, 1, kV},
    {"scalar", {kV}, 1, 0, kS},
    {"sgn", {kV}, 1, 0, kV},
    {"sin", {kV}, 1, 0, kV},
    {"sinh", {kV}, 1, 0, kV},
    {"sort", {kV}, 1, 0, kV},
    {"sort_by_label", {kV, kStr}, 2, -1, kV},
    {"sort_by_label_desc", {kV, kStr}, 2, -1, kV},
    {"sort_desc", {kV}, 1, 0, kV},
    {"sqrt", {kV}, 1, 0, kV},
    {"stddev_over_time", {kM}, 1, 0, kV},
    {"stdvar_over_time", {kM}, 1, 0, kV},
    {"sum_over_time", {kM}, 1, 0, kV},
    {"tan", {kV}, 1, 0, kV},
    {"tanh", {kV}, 1, 0, kV},
    {"time", {}, 0, 0, kS},
    {"timestamp", {kV}, 1, 0, kV},
    {"ts_of_last_over_time", {kM}, 1, 0, kV},
    {"ts_of_max_over_time", {kM}, 1, 0, kV},
    {"ts_of_min_over_time", {kM}, 1, 0, kV},
    {"vector", {kS}, 1, 0, kV},
    {"year", {kV}, 1, 1, kV},
};

bool IsLegacyName(std::string_view s, bool allow_colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string LabelName(std::string_view name) {
  return IsLegacyName(name, false) ? std::string(name) : QuoteString(name);
}

std::string JoinLabels(const std::vector<std::string>& labels) {
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ", ";
    out += LabelName(labels[i]);
  }
  return out;
}

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, end);
}

std::string Modifiers(const AtModifier& at, std::chrono::milliseconds offset) {
  std::string out;
  switch (at.kind) {
    case AtModifier::Kind::kNone:
      break;
    case AtModifier::Kind::kStart:
      out += " @ start()";
      break;
    case AtModifier::Kind::kEnd:
      out += " @ end()";
      break;
    case AtModifier::Kind::kTimestamp: {
      // Exact "%.3f" of the seconds, without going through a double.
      const int64_t ms = at.timestamp_ms;
      const uint64_t mag = ms < 0 ? 0 - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
      char frac[8];
      std::snprintf(frac, sizeof(frac), "%03u", static_cast<unsigned>(mag % 1000));
      out += " @ ";
      if (ms < 0) out += "-";
      out += std::to_string(mag / 1000) + "." + frac;
      break;
    }
  }
  if (offset.count() > 0) out += " offset " + FormatDuration(offset);
  if (offset.count() < 0) out += " offset -" + FormatDuration(offset);
  return out;
}

std::string SelectorText(const VectorSelector& vs) {
  std::vector<std::string> parts;
  for (const metrics::Matcher& m : vs.matchers) {
    if (m.name == metrics::kMetricName && m.type == metrics::MatchType::kEqual &&
        m.value == vs.name && !m.value.empty()) {
      continue;
    }
    std::string_view op = "=";
    switch (m.type) {
      case metrics::MatchType::kEqual:
        break;
      case metrics::MatchType::kNotEqual:
        op = "!=";
        break;
      case metrics::MatchType::kRegexMatch:
        op = "=~";
        break;
      case metrics::MatchType::kRegexNoMatch:
        op = "!~";
        break;
    }
    parts.push_back(LabelName(m.name) + std::string(op) + QuoteString(m.value));
  }
  if (parts.empty()) return vs.name;
  std::sort(parts.begin(), parts.end());
  std::string out = vs.name + "{";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += ",";
    out += parts[i];
  }
  return out + "}";
}

}  // namespace

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kVector:
      return "instant vector";
    case ValueType::kMatrix:
      return "range vector";
    case ValueType::kString:
      return "string";
  }
  return "unknown";
}

std::string_view BinaryOpName(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kPow:
      return "^";
    case BinaryOp::kAtan2:
      return "atan2";
    case BinaryOp::kEql:
      return "==";
    case BinaryOp::kNeq:
      return "!=";
    case BinaryOp::kGtr:
      return ">";
    case BinaryOp::kLss:
      return "<";
    case BinaryOp::kGte:
      return ">=";
    case BinaryOp::kLte:
      return "<=";
    case BinaryOp::kAnd:
      return "and";
    case BinaryOp::kOr:
      return "or";
    case BinaryOp::kUnless:
      return "unless";
  }
  return "?";
}

bool IsComparison(BinaryOp op) {
  return op == BinaryOp::kEql || op == BinaryOp::kNeq || op == BinaryOp::kGtr ||
         op == BinaryOp::kLss || op == BinaryOp::kGte || op == BinaryOp::kLte;
}

bool IsSetOperator(BinaryOp op) {
  return op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kUnless;
}

std::string_view AggregateOpName(AggregateOp op) {
  switch (op) {
    case AggregateOp::kSum:
      return "sum";
    case AggregateOp::kMin:
      return "min";
    case AggregateOp::kMax:
      return "max";
    case AggregateOp::kAvg:
      return "avg";
    case AggregateOp::kGroup:
      return "group";
    case AggregateOp::kStddev:
      return "stddev";
    case AggregateOp::kStdvar:
      return "stdvar";
    case AggregateOp::kCount:
      return "count";
    case AggregateOp::kCountValues:
      return "count_values";
    case AggregateOp::kBottomk:
      return "bottomk";
    case AggregateOp::kTopk:
      return "topk";
    case AggregateOp::kQuantile:
      return "quantile";
    case AggregateOp::kLimitk:
      return "limitk";
    case AggregateOp::kLimitRatio:
      return "limit_ratio";
  }
  return "?";
}

bool TakesParameter(AggregateOp op) {
  return op == AggregateOp::kCountValues || op == AggregateOp::kBottomk ||
         op == AggregateOp::kTopk || op == AggregateOp::kQuantile || op == AggregateOp::kLimitk ||
         op == AggregateOp::kLimitRatio;
}

const FunctionInfo* LookupFunction(std::string_view name) {
  const auto* it =
      std::lower_bound(std::begin(kFunctions), std::end(kFunctions), name,
                       [](const FunctionInfo& f, std::string_view n) { return f.name < n; });
  if (it == std::end(kFunctions) || it->name != name) return nullptr;
  return it;
}

std::span<const FunctionInfo> Functions() { return kFunctions; }

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  uint64_t v = ms < 0 ? 0 - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  if (v == 0) return "0s";
  struct Unit {
    const char* name;
    uint64_t ms;
  };
  static constexpr Unit kUnits[] = {{"y", 365ULL * 24 * 3600 * 1000},
                                    {"w", 7ULL * 24 * 3600 * 1000},
                                    {"d", 24ULL * 3600 * 1000},
                                    {"h", 3600ULL * 1000},
                                    {"m", 60ULL * 1000},
                                    {"s", 1000},
                                    {"ms", 1}};
  std::string out;
  for (const Unit& u : kUnits) {
    const uint64_t n = v / u.ms;
    v %= u.ms;
    if (n > 0) out += std::to_string(n) + u.name;
  }
  return out;
}

std::string QuoteString(std::string_view s) {
  std::string out = "\"";
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    // Keep a valid multi-byte UTF-8 sequence as is; escape stray bytes.
    if (c >= 0x80) {
      size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
      bool valid = len > 0 && i + len <= s.size();
      uint32_t cp = len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
      for (size_t k = 1; valid && k < len; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        valid = (cc & 0xC0) == 0x80;
        cp = (cp << 6) | (cc & 0x3F);
      }
      if (valid) {
        valid = (len == 2 && cp >= 0x80) ||
                (len == 3 && cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) ||
                (len == 4 && cp >= 0x10000 && cp <= 0x10FFFF);
      }
      if (valid) {
        out.append(s.substr(i, len));
        i += len;
      } else {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\x%02x", c);
        out += buf;
        ++i;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  return out + "\"";
}

std::string String(const Expr& expr) {
  switch (expr.kind) {
    case ExprKind::kNumber: {
      const auto& n = static_cast<const NumberLiteral&>(expr);
      if (n.is_duration) return (n.duration.count() < 0 ? "-" : "") + FormatDuration(n.duration);
      return FormatNumber(n.value);
    }
    case ExprKind::kString:
      return QuoteString(static_cast<const StringLiteral&>(expr).value);
    case ExprKind::kVectorSelector: {
      const auto& vs = static_cast<const VectorSelector&>(expr);
      return SelectorText(vs) + Modifiers(vs.at, vs.offset);
    }
    case ExprKind::kMatrixSelector: {
      const auto& ms = static_cast<const MatrixSelector&>(expr);
      return SelectorText(*ms.selector) + "[" + FormatDuration(ms.range) + "]" +
             Modifiers(ms.selector->at, ms.selector->offset);
    }
    case ExprKind::kSubquery: {
      const auto& sq = static_cast<const SubqueryExpr&>(expr);
      std::string step = sq.step.count() == 0 ? "" : FormatDuration(sq.step);
      return String(*sq.expr) + "[" + FormatDuration(sq.range) + ":" + step + "]" +
             Modifiers(sq.at, sq.offset);
    }
    case ExprKind::kUnary: {
      const auto& u = static_cast<const UnaryExpr&>(expr);
      return (u.negate ? "-" : "+") + String(*u.expr);
    }
    case ExprKind::kBinary: {
      const auto& b = static_cast<const BinaryExpr&>(expr);
      // "+Inf ^ x" would re-parse as +(Inf ^ x): a signed literal cannot lead a power.
      const bool bare_inf = b.op == BinaryOp::kPow && b.lhs->kind == ExprKind::kNumber &&
                            static_cast<const NumberLiteral&>(*b.lhs).value == INFINITY;
      std::string out =
          (bare_inf ? std::string("Inf") : String(*b.lhs)) + " " + std::string(BinaryOpName(b.op));
      if (b.return_bool) out += " bool";
      if (b.matching) {
        const VectorMatching& vm = *b.matching;
        const bool grouped =
            vm.card == Cardinality::kManyToOne || vm.card == Cardinality::kOneToMany;
        if (vm.on || !vm.matching_labels.empty() || grouped) {
          out += vm.on ? " on (" : " ignoring (";
          out += JoinLabels(vm.matching_labels) + ")";
          if (grouped) {
            out += vm.card == Cardinality::kManyToOne ? " group_left (" : " group_right (";
            out += JoinLabels(vm.include) + ")";
          }
        }
      }
      return out + " " + String(*b.rhs);
    }
    case ExprKind::kAggregate: {
      const auto& a = static_cast<const AggregateExpr&>(expr);
      std::string out(AggregateOpName(a.op));
      if (a.without) {
        out += " without (" + JoinLabels(a.grouping) + ") ";
      } else if (!a.grouping.empty()) {
        out += " by (" + JoinLabels(a.grouping) + ") ";
      }
      out += "(";
      if (a.param != nullptr) out += String(*a.param) + ", ";
      return out + String(*a.expr) + ")";
    }
    case ExprKind::kCall: {
      const auto& c = static_cast<const Call&>(expr);
      std::string out = std::string(c.func->name) + "(";
      for (size_t i = 0; i < c.args.size(); ++i) {
        if (i > 0) out += ", ";
        out += String(*c.args[i]);
      }
      return out + ")";
    }
    case ExprKind::kParen:
      return "(" + String(*static_cast<const ParenExpr&>(expr).expr) + ")";
  }
  return "";
}

}  // namespace platops::promql
