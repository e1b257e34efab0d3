#include "promql/parser.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "base/strings.h"

namespace platops::promql {
namespace {

using std::chrono::milliseconds;

// Bounds the nesting (and so the recursion of String() and of the destructors).
constexpr int kMaxDepth = 1000;

enum class Tok {
  kEof,
  kIdent,  // Identifiers and keywords; keywords are recognised by the parser in context.
  kNumber,
  kDuration,
  kString,
  kLParen,
  kRParen,
  kLBrace,
  kRBrace,
  kLBracket,
  kRBracket,
  kComma,
  kColon,
  kAt,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kEqlc,      // ==
  kNeq,       // !=
  kLss,       // <
  kLte,       // <=
  kGtr,       // >
  kGte,       // >=
  kAssign,    // =
  kEqlRegex,  // =~
  kNeqRegex,  // !~
};

struct Token {
  Tok type = Tok::kEof;
  std::string_view text;
  size_t pos = 0;
  std::string value;  // The unquoted value of a string token.
};

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

std::string Quote(std::string_view s) { return QuoteString(s); }

std::string PositionPrefix(std::string_view input, size_t pos) {
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < pos && i < input.size(); ++i) {
    if (input[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return std::to_string(line) + ":" + std::to_string(pos - line_start + 1);
}

Status ParseError(std::string_view input, size_t pos, std::string_view msg) {
  return InvalidArgument(PositionPrefix(input, pos) + ": parse error: " + std::string(msg));
}


class Lexer {
 public:
  explicit Lexer(std::string_view input) : in_(input) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> out;
    while (true) {
      while (i_ < in_.size()) {
        const char c = in_[i_];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
          ++i_;
        } else if (c == '#') {
          while (i_ < in_.size() && in_[i_] != '\n') ++i_;
        } else {
          break;
        }
      }
      if (i_ >= in_.size()) {
        if (brace_open_) return Err(i_, "unexpected end of input inside braces");
        if (bracket_open_) return Err(i_, "unclosed left bracket");
        if (paren_depth_ > 0) return Err(i_, "unclosed left parenthesis");
        out.push_back(Token{Tok::kEof, in_.substr(in_.size()), in_.size(), {}});
        return out;
      }
      PLATOPS_ASSIGN_OR_RETURN(Token t, Next());
      out.push_back(std::move(t));
    }
  }

 private:
  Status Err(size_t pos, std::string_view msg) const { return ParseError(in_, pos, msg); }

  Token Make(Tok type, size_t start) const {
    return Token{type, in_.substr(start, i_ - start), start, {}};
  }

  Result<Token> Next() {
    const size_t start = i_;
    const char c = in_[i_];
    const char n = i_ + 1 < in_.size() ? in_[i_ + 1] : '\0';
    ++i_;
    switch (c) {
      case ',':
        return Make(Tok::kComma, start);
      case '(':
        ++paren_depth_;
        return Make(Tok::kLParen, start);
      case ')':
        if (paren_depth_ == 0) return Err(start, "unexpected right parenthesis ')'");
        --paren_depth_;
        return Make(Tok::kRParen, start);
      case '{':
        if (brace_open_) return Err(start, "unexpected left brace '{'");
        brace_open_ = true;
        return Make(Tok::kLBrace, start);
      case '}':
        if (!brace_open_) return Err(start, "unexpected right brace '}'");
        brace_open_ = false;
        return Make(Tok::kRBrace, start);
      case '[':
        if (bracket_open_) return Err(start, "unexpected left bracket '['");
        bracket_open_ = true;
        return Make(Tok::kLBracket, start);
      case ']':
        if (!bracket_open_) return Err(start, "unexpected right bracket ']'");
        bracket_open_ = false;
        return Make(Tok::kRBracket, start);
      case '@':
        return Make(Tok::kAt, start);
      case '+':
        return Make(Tok::kAdd, start);
      case '-':
        return Make(Tok::kSub, start);
      case '*':
        return Make(Tok::kMul, start);
      case '/':
        return Make(Tok::kDiv, start);
      case '%':
        return Make(Tok::kMod, start);
      case '^':
        return Make(Tok::kPow, start);
      case '=':
        if (n == '=') return ++i_, Make(Tok::kEqlc, start);
        if (n == '~') return ++i_, Make(Tok::kEqlRegex, start);
        return Make(Tok::kAssign, start);
      case '!':
        if (n == '=') return ++i_, Make(Tok::kNeq, start);
        if (n == '~') return ++i_, Make(Tok::kNeqRegex, start);
        return Err(start, "unexpected character after '!': " + Quote(in_.substr(i_, 1)));
      case '<':
        if (n == '=') return ++i_, Make(Tok::kLte, start);
        return Make(Tok::kLss, start);
      case '>':
        if (n == '=') return ++i_, Make(Tok::kGte, start);
        return Make(Tok::kGtr, start);
      case '"':
      case '\'':
        return LexString(c, start);
      case '`':
        return LexRawString(start);
      default:
        break;
    }
    if (c == ':' && bracket_open_) return Make(Tok::kColon, start);
    if (IsDigit(c) || (c == '.' && IsDigit(n))) {
      i_ = start;
      return LexNumberOrDuration();
    }
    const bool colon_ok = !brace_open_ && !bracket_open_;
    if (IsAlpha(c) || (c == ':' && colon_ok)) {
      while (i_ < in_.size() && (IsAlnum(in_[i_]) || (in_[i_] == ':' && colon_ok))) ++i_;
      return Make(Tok::kIdent, start);
    }
    return Err(start, "unexpected character: " + Quote(in_.substr(start, 1)));
  }

  Result<Token> LexNumberOrDuration() {
    const size_t start = i_;
    auto bad = [&]() {
      while (i_ < in_.size() && (IsAlnum(in_[i_]) || in_[i_] == '.')) ++i_;
      return Err(start, "bad number or duration syntax: " + Quote(in_.substr(start, i_ - start)));
    };
    if (in_[i_] == '0' && i_ + 1 < in_.size() && (in_[i_ + 1] == 'x' || in_[i_ + 1] == 'X')) {
      i_ += 2;
      const size_t digits = i_;
      while (i_ < in_.size() && IsHex(in_[i_])) ++i_;
      if (i_ == digits || (i_ < in_.size() && (IsAlnum(in_[i_]) || in_[i_] == '.'))) return bad();
      return Make(Tok::kNumber, start);
    }
    size_t j = i_;
    while (j < in_.size() && IsDigit(in_[j])) ++j;
    if (j > i_ && j < in_.size() && std::string_view("ywdhms").find(in_[j]) != std::string::npos) {
      // A duration: (digits unit)+.
      i_ = j;
      while (true) {
        if (in_.substr(i_, 2) == "ms") {
          i_ += 2;
        } else if (i_ < in_.size() &&
                   std::string_view("ywdhms").find(in_[i_]) != std::string::npos) {
          ++i_;
        } else {
          return bad();
        }
        if (i_ < in_.size() && IsDigit(in_[i_])) {
          while (i_ < in_.size() && IsDigit(in_[i_])) ++i_;
          continue;
        }
        break;
      }
      if (i_ < in_.size() && (IsAlnum(in_[i_]) || in_[i_] == '.')) return bad();
      return Make(Tok::kDuration, start);
    }
    i_ = j;
    if (i_ < in_.size() && in_[i_] == '.') {
      ++i_;
      while (i_ < in_.size() && IsDigit(in_[i_])) ++i_;
    }
    if (i_ < in_.size() && (in_[i_] == 'e' || in_[i_] == 'E')) {
      ++i_;
      if (i_ < in_.size() && (in_[i_] == '+' || in_[i_] == '-')) ++i_;
      const size_t exp = i_;
      while (i_ < in_.size() && IsDigit(in_[i_])) ++i_;
      if (i_ == exp) return bad();
    }
    if (i_ < in_.size() && (IsAlnum(in_[i_]) || in_[i_] == '.')) return bad();
    return Make(Tok::kNumber, start);
  }

  Result<Token> LexString(char quote, size_t start) {
    std::string value;
    while (true) {
      if (i_ >= in_.size() || in_[i_] == '\n') {
        return Err(start, "unterminated quoted string");
      }
      const char c = in_[i_++];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (i_ >= in_.size()) return Err(start, "unterminated quoted string");
      const size_t esc = i_ - 1;
      const char e = in_[i_++];
      switch (e) {
        case 'a':
          value += '\a';
          continue;
        case 'b':
          value += '\b';
          continue;
        case 'f':
          value += '\f';
          continue;
        case 'n':
          value += '\n';
          continue;
        case 'r':
          value += '\r';
          continue;
        case 't':
          value += '\t';
          continue;
        case 'v':
          value += '\v';
          continue;
        case '\\':
          value += '\\';
          continue;
        default:
          break;
      }
      if (e == quote) {
        value += e;
        continue;
      }
      int digits = 0;
      int base = 16;
      if (e >= '0' && e <= '7') {
        digits = 3;
        base = 8;
        --i_;
      } else if (e == 'x') {
        digits = 2;
      } else if (e == 'u') {
        digits = 4;
      } else if (e == 'U') {
        digits = 8;
      } else {
        return Err(esc, "unknown escape sequence " + Quote(in_.substr(esc, 2)));
      }
      uint32_t v = 0;
      for (int k = 0; k < digits; ++k) {
        if (i_ >= in_.size()) return Err(start, "unterminated quoted string");
        const char d = in_[i_];
        const bool ok = base == 8 ? (d >= '0' && d <= '7') : IsHex(d);
        if (!ok) return Err(esc, "escape sequence not terminated");
        v = v * static_cast<uint32_t>(base) + static_cast<uint32_t>(HexValue(d));
        ++i_;
      }
      if (base == 8 || e == 'x') {
        if (v > 255) return Err(esc, "octal escape value > 255");
        value += static_cast<char>(v);
      } else {
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
          return Err(esc, "escape sequence is an invalid Unicode code point");
        }
        AppendUtf8(value, v);
      }
    }
    Token t = Make(Tok::kString, start);
    t.value = std::move(value);
    return t;
  }

  Result<Token> LexRawString(size_t start) {
    std::string value;
    while (true) {
      if (i_ >= in_.size()) return Err(start, "unterminated raw string");
      const char c = in_[i_++];
      if (c == '`') break;
      if (c != '\r') value += c;  // As Go, carriage returns are dropped from raw strings.
    }
    Token t = Make(Tok::kString, start);
    t.value = std::move(value);
    return t;
  }

  std::string_view in_;
  size_t i_ = 0;
  int paren_depth_ = 0;
  bool brace_open_ = false;
  bool bracket_open_ = false;
};

// Go's strconv.ParseInt(s, 0, 64) then ParseFloat, as Prometheus reads number literals.
Result<double> NumberValue(std::string_view text) {
  if (EqualsIgnoreCase(text, "inf")) return std::numeric_limits<double>::infinity();
  if (EqualsIgnoreCase(text, "nan")) return std::numeric_limits<double>::quiet_NaN();
  const std::string s(text);
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    errno = 0;
    const long long v = std::strtoll(s.c_str() + 2, nullptr, 16);
    if (errno == ERANGE) return InvalidArgument("number out of range: " + s);
    return static_cast<double>(v);
  }
  bool all_digits = true;
  bool octal = s.size() > 1 && s[0] == '0';
  for (char c : s) {
    all_digits = all_digits && IsDigit(c);
    octal = octal && c >= '0' && c <= '7';
  }
  if (all_digits && octal) {
    errno = 0;
    const long long v = std::strtoll(s.c_str(), nullptr, 8);
    if (errno != ERANGE) return static_cast<double>(v);
  }
  return std::strtod(s.c_str(), nullptr);
}

class Parser {
 public:
  Parser(std::string_view input, std::vector<Token> tokens)
      : in_(input), toks_(std::move(tokens)) {}

  Result<std::unique_ptr<Expr>> ParseTop() {
    if (Peek().type == Tok::kEof) return Err(0, "no expression found in input");
    PLATOPS_ASSIGN_OR_RETURN(std::unique_ptr<Expr> e, ParseExpr(0));
    if (Peek().type != Tok::kEof) return Unexpected(Peek());
    return e;
  }

 private:
  using ExprPtr = std::unique_ptr<Expr>;

  const Token& Peek(size_t k = 0) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  const Token& Advance() {
    const Token& t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  bool PeekKeyword(std::string_view kw, size_t k = 0) const {
    return Peek(k).type == Tok::kIdent && EqualsIgnoreCase(Peek(k).text, kw);
  }

  Status Err(size_t pos, std::string_view msg) const { return ParseError(in_, pos, msg); }

  static std::string Describe(const Token& t) {
    switch (t.type) {
      case Tok::kEof:
        return "end of input";
      case Tok::kIdent: {
        for (std::string_view kw :
             {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
              "bottomk", "topk", "quantile", "limitk", "limit_ratio"}) {
          if (EqualsIgnoreCase(t.text, kw)) return "<aggr:" + std::string(t.text) + ">";
        }
        for (std::string_view kw : {"and", "or", "unless", "atan2"}) {
          if (EqualsIgnoreCase(t.text, kw)) return "<op:" + std::string(t.text) + ">";
        }
        for (std::string_view kw : {"offset", "by", "without", "on", "ignoring", "group_left",
                                    "group_right", "bool", "start", "end"}) {
          if (EqualsIgnoreCase(t.text, kw)) return "<" + std::string(t.text) + ">";
        }
        const bool metric = t.text.find(':') != std::string_view::npos;
        return std::string(metric ? "metric identifier " : "identifier ") + Quote(t.text);
      }
      case Tok::kNumber:
        return "number " + Quote(t.text);
      case Tok::kDuration:
        return "duration " + Quote(t.text);
      case Tok::kString:
        return "string " + Quote(t.text);
      case Tok::kLParen:
        return "left parenthesis \"(\"";
      case Tok::kRParen:
        return "right parenthesis \")\"";
      case Tok::kLBrace:
        return "left brace \"{\"";
      case Tok::kRBrace:
        return "right brace \"}\"";
      case Tok::kLBracket:
        return "left bracket \"[\"";
      case Tok::kRBracket:
        return "right bracket \"]\"";
      case Tok::kComma:
        return "comma \",\"";
      case Tok::kColon:
        return "colon \":\"";
      case Tok::kAt:
        return "<@>";
      case Tok::kAssign:
        return "\"=\"";
      default:
        return "<op:" + std::string(t.text) + ">";
    }
  }

  Status Unexpected(const Token& t, std::string_view context = {}) const {
    std::string msg = "unexpected " + Describe(t);
    if (!context.empty()) msg += " " + std::string(context);
    return Err(t.pos, msg);
  }

  Status Expect(Tok type, std::string_view context) {
    if (Peek().type != type) return Unexpected(Peek(), context);
    Advance();
    return Status::Ok();
  }

  Status ExpectType(const Expr& e, ValueType want, std::string_view context) const {
    if (e.type == want) return Status::Ok();
    return Err(e.pos, "expected type " + std::string(ValueTypeName(want)) + " in " +
                          std::string(context) + ", got " + std::string(ValueTypeName(e.type)));
  }

  // The binary operator at the cursor and its precedence (1 lowest), or precedence 0.
  std::pair<BinaryOp, int> PeekBinaryOp() const {
    const Token& t = Peek();
    switch (t.type) {
      case Tok::kAdd:
        return {BinaryOp::kAdd, 4};
      case Tok::kSub:
        return {BinaryOp::kSub, 4};
      case Tok::kMul:
        return {BinaryOp::kMul, 5};
      case Tok::kDiv:
        return {BinaryOp::kDiv, 5};
      case Tok::kMod:
        return {BinaryOp::kMod, 5};
      case Tok::kPow:
        return {BinaryOp::kPow, 6};
      case Tok::kEqlc:
        return {BinaryOp::kEql, 3};
      case Tok::kNeq:
        return {BinaryOp::kNeq, 3};
      case Tok::kGtr:
        return {BinaryOp::kGtr, 3};
      case Tok::kLss:
        return {BinaryOp::kLss, 3};
      case Tok::kGte:
        return {BinaryOp::kGte, 3};
      case Tok::kLte:
        return {BinaryOp::kLte, 3};
      case Tok::kIdent:
        if (EqualsIgnoreCase(t.text, "atan2")) return {BinaryOp::kAtan2, 5};
        if (EqualsIgnoreCase(t.text, "and")) return {BinaryOp::kAnd, 2};
        if (EqualsIgnoreCase(t.text, "unless")) return {BinaryOp::kUnless, 2};
        if (EqualsIgnoreCase(t.text, "or")) return {BinaryOp::kOr, 1};
        return {BinaryOp::kAdd, 0};
      default:
        return {BinaryOp::kAdd, 0};
    }
  }

  Result<ExprPtr> ParseExpr(int min_prec) {
    if (++depth_ > kMaxDepth) return Err(Peek().pos, "expression nested too deeply");
    const int saved_depth = depth_;
    PLATOPS_ASSIGN_OR_RETURN(ExprPtr lhs, ParseUnary());
    while (true) {
      const auto [op, prec] = PeekBinaryOp();
      if (prec == 0 || prec < min_prec) break;
      if (++depth_ > kMaxDepth) return Err(Peek().pos, "expression nested too deeply");
      const Token& op_tok = Advance();
      const size_t op_pos = op_tok.pos;
      bool return_bool = false;
      if (PeekKeyword("bool")) {
        Advance();
        return_bool = true;
      }
      VectorMatching vm;
      if (PeekKeyword("on") || PeekKeyword("ignoring")) {
        vm.on = PeekKeyword("on");
        Advance();
        PLATOPS_ASSIGN_OR_RETURN(vm.matching_labels, ParseLabelList());
        if (PeekKeyword("group_left") || PeekKeyword("group_right")) {
          vm.card = PeekKeyword("group_left") ? Cardinality::kManyToOne : Cardinality::kOneToMany;
          Advance();
          if (Peek().type == Tok::kLParen) {
            PLATOPS_ASSIGN_OR_RETURN(vm.include, ParseLabelList());
          }
        }
      }
      // ^ is right-associative; everything else left-associative.
      PLATOPS_ASSIGN_OR_RETURN(ExprPtr rhs, ParseExpr(op == BinaryOp::kPow ? prec : prec + 1));
      PLATOPS_ASSIGN_OR_RETURN(
          lhs, MakeBinary(op, op_pos, std::move(lhs), std::move(rhs), return_bool, std::move(vm)));
    }
    depth_ = saved_depth - 1;
    return lhs;
  }

  Result<ExprPtr> MakeBinary(BinaryOp op, size_t op_pos, ExprPtr lhs, ExprPtr rhs, bool return_bool,
                             VectorMatching vm) {
    const std::string op_name(BinaryOpName(op));
    if (return_bool && !IsComparison(op)) {
      return Err(op_pos, "bool modifier can only be used on comparison operators");
    }
    const ValueType lt = lhs->type;
    const ValueType rt = rhs->type;
    if (IsComparison(op) && !return_bool && lt == ValueType::kScalar && rt == ValueType::kScalar) {
      return Err(op_pos, "comparisons between scalars must use BOOL modifier");
    }
    if (IsSetOperator(op) && vm.card == Cardinality::kOneToOne) {
      vm.card = Cardinality::kManyToMany;
    }
    if (vm.on) {
      for (const std::string& l : vm.matching_labels) {
        for (const std::string& inc : vm.include) {
          if (l == inc) {
            return Err(op_pos,
                       "label " + Quote(l) + " must not occur in ON and GROUP clause at once");
          }
        }
      }
    }
    if ((lt != ValueType::kScalar && lt != ValueType::kVector) ||
        (rt != ValueType::kScalar && rt != ValueType::kVector)) {
      return Err(lhs->pos, "binary expression must contain only scalar and instant vector types");
    }
    const bool vectors = lt == ValueType::kVector && rt == ValueType::kVector;
    if (!vectors && !vm.matching_labels.empty()) {
      return Err(lhs->pos, "vector matching only allowed between instant vectors");
    }
    if (vectors && IsSetOperator(op)) {
      if (vm.card == Cardinality::kOneToMany || vm.card == Cardinality::kManyToOne) {
        return Err(lhs->pos, "no grouping allowed for \"" + op_name + "\" operation");
      }
    }
    if ((lt == ValueType::kScalar || rt == ValueType::kScalar) && IsSetOperator(op)) {
      return Err(lhs->pos,
                 "set operator \"" + op_name + "\" not allowed in binary scalar expression");
    }
    const ValueType type = lt == ValueType::kScalar && rt == ValueType::kScalar
                               ? ValueType::kScalar
                               : ValueType::kVector;
    const size_t pos = lhs->pos;
    auto b = std::make_unique<BinaryExpr>(op, std::move(lhs), std::move(rhs), type, pos);
    b->return_bool = return_bool;
    if (vectors) b->matching = std::move(vm);
    return ExprPtr(std::move(b));
  }

  // Unary +/- binds tighter than * but looser than ^ (Prometheus: %prec MUL).
  Result<ExprPtr> ParseUnary() {
    const Token& t = Peek();
    if (t.type != Tok::kAdd && t.type != Tok::kSub) return ParsePostfix();
    const bool negate = t.type == Tok::kSub;
    const size_t pos = t.pos;
    Advance();
    PLATOPS_ASSIGN_OR_RETURN(ExprPtr operand, ParseExpr(6));
    if (operand->kind == ExprKind::kNumber) {
      auto& n = static_cast<NumberLiteral&>(*operand);
      if (negate) {
        n.value = -n.value;
        n.duration = -n.duration;
      }
      n.pos = pos;
      return operand;
    }
    if (operand->type != ValueType::kScalar && operand->type != ValueType::kVector) {
      return Err(pos,
                 "unary expression only allowed on expressions of type scalar or instant "
                 "vector, got \"" +
                     std::string(ValueTypeName(operand->type)) + "\"");
    }
    return ExprPtr(std::make_unique<UnaryExpr>(negate, std::move(operand), pos));
  }

  Result<double> NumberAt(const Token& t) const {
    auto v = NumberValue(t.text);
    if (!v.ok()) return Err(t.pos, v.status().message());
    return v.value();
  }

  // A number token, or Inf/NaN (lexed as identifiers).
  static bool IsNumberToken(const Token& t) {
    return t.type == Tok::kNumber || (t.type == Tok::kIdent && (EqualsIgnoreCase(t.text, "inf") ||
                                                                EqualsIgnoreCase(t.text, "nan")));
  }

  // A number or duration token as a duration; `what` names the use in errors.
  Result<milliseconds> DurationToken(const Token& t) {
    if (t.type == Tok::kDuration) {
      auto d = ParseDuration(t.text);
      if (!d.ok()) return Err(t.pos, d.status().message());
      if (d.value().count() == 0) return Err(t.pos, "duration must be greater than 0");
      return d.value();
    }
    if (IsNumberToken(t)) {
      PLATOPS_ASSIGN_OR_RETURN(double v, NumberAt(t));
      const double ms = std::round(v * 1000.0);
      if (!std::isfinite(ms) || std::fabs(ms) >= 9.2e18) {
        return Err(t.pos, "duration out of range: " + Quote(t.text));
      }
      return milliseconds(static_cast<int64_t>(ms));
    }
    return Unexpected(t, "in duration, expected number or duration");
  }

  Result<ExprPtr> ParsePostfix() {
    PLATOPS_ASSIGN_OR_RETURN(ExprPtr e, ParsePrimary());
    while (true) {
      const Token& t = Peek();
      if (t.type == Tok::kLBracket) {
        Advance();
        PLATOPS_ASSIGN_OR_RETURN(milliseconds range, DurationToken(Advance()));
        if (Peek().type == Tok::kColon) {
          Advance();
          milliseconds step{0};
          if (Peek().type != Tok::kRBracket) {
            PLATOPS_ASSIGN_OR_RETURN(step, DurationToken(Advance()));
          }
          PLATOPS_RETURN_IF_ERROR(Expect(Tok::kRBracket, "in subquery selector"));
          if (e->type != ValueType::kVector) {
            return Err(e->pos, "subquery is only allowed on instant vector, got " +
                                   std::string(ValueTypeName(e->type)) + " instead");
          }
          const size_t pos = e->pos;
          e = std::make_unique<SubqueryExpr>(std::move(e), range, step, pos);
          continue;
        }
        PLATOPS_RETURN_IF_ERROR(Expect(Tok::kRBracket, "in range selector, expected \"]\""));
        if (e->kind != ExprKind::kVectorSelector) {
          return Err(e->pos, "ranges only allowed for vector selectors");
        }
        auto* vs = static_cast<VectorSelector*>(e.get());
        if (vs->offset.count() != 0) return Err(e->pos, "no offset modifiers allowed before range");
        if (vs->at.kind != AtModifier::Kind::kNone) {
          return Err(e->pos, "no @ modifiers allowed before range");
        }
        const size_t pos = e->pos;
        std::unique_ptr<VectorSelector> sel(static_cast<VectorSelector*>(e.release()));
        e = std::make_unique<MatrixSelector>(std::move(sel), range, pos);
      } else if (PeekKeyword("offset")) {
        Advance();
        bool negative = false;
        if (Peek().type == Tok::kSub) {
          Advance();
          negative = true;
        }
        PLATOPS_ASSIGN_OR_RETURN(milliseconds off, DurationToken(Advance()));
        if (negative) off = -off;
        milliseconds* target = OffsetTarget(*e);
        if (target == nullptr) {
          return Err(t.pos,
                     "offset modifier must be preceded by an instant vector selector or "
                     "range vector selector or a subquery");
        }
        if (target->count() != 0) return Err(t.pos, "offset may not be set multiple times");
        *target = off;
      } else if (t.type == Tok::kAt) {
        const size_t at_pos = t.pos;
        Advance();
        PLATOPS_ASSIGN_OR_RETURN(AtModifier at, ParseAt());
        AtModifier* target = AtTarget(*e);
        if (target == nullptr) {
          return Err(at_pos,
                     "@ modifier must be preceded by an instant vector selector or range "
                     "vector selector or a subquery");
        }
        if (target->kind != AtModifier::Kind::kNone) {
          return Err(at_pos, "@ <timestamp> may not be set multiple times");
        }
        *target = at;
      } else {
        return e;
      }
    }
  }

  static milliseconds* OffsetTarget(Expr& e) {
    switch (e.kind) {
      case ExprKind::kVectorSelector:
        return &static_cast<VectorSelector&>(e).offset;
      case ExprKind::kMatrixSelector:
        return &static_cast<MatrixSelector&>(e).selector->offset;
      case ExprKind::kSubquery:
        return &static_cast<SubqueryExpr&>(e).offset;
      default:
        return nullptr;
    }
  }

  static AtModifier* AtTarget(Expr& e) {
    switch (e.kind) {
      case ExprKind::kVectorSelector:
        return &static_cast<VectorSelector&>(e).at;
      case ExprKind::kMatrixSelector:
        return &static_cast<MatrixSelector&>(e).selector->at;
      case ExprKind::kSubquery:
        return &static_cast<SubqueryExpr&>(e).at;
      default:
        return nullptr;
    }
  }

  Result<AtModifier> ParseAt() {
    AtModifier at;
    if (PeekKeyword("start") || PeekKeyword("end")) {
      at.kind = PeekKeyword("start") ? AtModifier::Kind::kStart : AtModifier::Kind::kEnd;
      Advance();
      PLATOPS_RETURN_IF_ERROR(Expect(Tok::kLParen, "in @ modifier, expected \"(\""));
      PLATOPS_RETURN_IF_ERROR(Expect(Tok::kRParen, "in @ modifier, expected \")\""));
      return at;
    }
    bool negative = false;
    if (Peek().type == Tok::kAdd || Peek().type == Tok::kSub) {
      negative = Peek().type == Tok::kSub;
      Advance();
    }
    const Token& t = Advance();
    int64_t ms = 0;
    if (t.type == Tok::kDuration) {
      PLATOPS_ASSIGN_OR_RETURN(milliseconds d, DurationToken(t));
      ms = d.count();
    } else if (IsNumberToken(t)) {
      PLATOPS_ASSIGN_OR_RETURN(double v, NumberAt(t));
      if (!std::isfinite(v) || std::fabs(v) >= 9.2e15) {
        return Err(t.pos, "timestamp out of bounds for @ modifier: " + std::string(t.text));
      }
      ms = ExactMillis(t.text).value_or(static_cast<int64_t>(std::round(v * 1000.0)));
    } else {
      return Unexpected(t, "in @ modifier, expected timestamp");
    }
    at.kind = AtModifier::Kind::kTimestamp;
    at.timestamp_ms = negative ? -ms : ms;
    return at;
  }

  // Milliseconds of a plain decimal "123.456" read without rounding through a double.
  static std::optional<int64_t> ExactMillis(std::string_view text) {
    int64_t whole = 0;
    size_t i = 0;
    for (; i < text.size() && IsDigit(text[i]); ++i) whole = whole * 10 + (text[i] - '0');
    if (i > 16) return std::nullopt;
    if (i < text.size() && text[i] != '.') return std::nullopt;
    int64_t frac = 0;
    int frac_digits = 0;
    int round_digit = 0;
    for (size_t k = i + (i < text.size() ? 1 : 0); k < text.size(); ++k) {
      if (!IsDigit(text[k])) return std::nullopt;
      if (frac_digits < 3) {
        frac = frac * 10 + (text[k] - '0');
        ++frac_digits;
      } else if (frac_digits == 3) {
        round_digit = text[k] - '0';
        ++frac_digits;
      }
    }
    for (; frac_digits < 3; ++frac_digits) frac *= 10;
    const size_t first_digit = 0;
    if (text.size() > 1 && text[first_digit] == '0' && i > 1) return std::nullopt;  // Octal.
    return whole * 1000 + frac + (round_digit >= 5 ? 1 : 0);
  }

  Result<ExprPtr> ParsePrimary() {
    if (++depth_ > kMaxDepth) return Err(Peek().pos, "expression nested too deeply");
    const Token& t = Peek();
    switch (t.type) {
      case Tok::kNumber: {
        Advance();
        PLATOPS_ASSIGN_OR_RETURN(double v, NumberAt(t));
        --depth_;
        return ExprPtr(std::make_unique<NumberLiteral>(v, t.pos));
      }
      case Tok::kDuration: {
        Advance();
        PLATOPS_ASSIGN_OR_RETURN(milliseconds d, DurationToken(t));
        auto n = std::make_unique<NumberLiteral>(static_cast<double>(d.count()) / 1000.0, t.pos);
        n->is_duration = true;
        n->duration = d;
        --depth_;
        return ExprPtr(std::move(n));
      }
      case Tok::kString: {
        Advance();
        --depth_;
        return ExprPtr(std::make_unique<StringLiteral>(t.value, t.pos));
      }
      case Tok::kLParen: {
        Advance();
        PLATOPS_ASSIGN_OR_RETURN(ExprPtr inner, ParseExpr(0));
        PLATOPS_RETURN_IF_ERROR(Expect(Tok::kRParen, "in paren expression, expected \")\""));
        --depth_;
        return ExprPtr(std::make_unique<ParenExpr>(std::move(inner), t.pos));
      }
      case Tok::kLBrace: {
        auto vs = std::make_unique<VectorSelector>(t.pos);
        PLATOPS_RETURN_IF_ERROR(ParseMatchers(*vs));
        PLATOPS_RETURN_IF_ERROR(CheckSelector(*vs));
        --depth_;
        return ExprPtr(std::move(vs));
      }
      case Tok::kIdent:
        break;
      default:
        return Unexpected(t);
    }
    if (EqualsIgnoreCase(t.text, "inf") || EqualsIgnoreCase(t.text, "nan")) {
      Advance();
      PLATOPS_ASSIGN_OR_RETURN(double v, NumberAt(t));
      --depth_;
      return ExprPtr(std::make_unique<NumberLiteral>(v, t.pos));
    }
    const Tok next = Peek(1).type;
    if (std::optional<AggregateOp> op = AggregateOpFor(t.text);
        op && (next == Tok::kLParen || PeekKeyword("by", 1) || PeekKeyword("without", 1))) {
      Advance();
      PLATOPS_ASSIGN_OR_RETURN(ExprPtr agg, ParseAggregate(*op, t.pos));
      --depth_;
      return agg;
    }
    if (next == Tok::kLParen) {
      const FunctionInfo* f = LookupFunction(t.text);
      if (f == nullptr) return Err(t.pos, "unknown function with name " + Quote(t.text));
      Advance();
      PLATOPS_ASSIGN_OR_RETURN(ExprPtr call, ParseCall(*f, t.pos));
      --depth_;
      return call;
    }
    Advance();
    auto vs = std::make_unique<VectorSelector>(t.pos);
    vs->name = std::string(t.text);
    if (Peek().type == Tok::kLBrace) PLATOPS_RETURN_IF_ERROR(ParseMatchers(*vs));
    vs->matchers.insert(
        vs->matchers.begin(),
        metrics::Matcher{metrics::MatchType::kEqual, std::string(metrics::kMetricName), vs->name});
    PLATOPS_RETURN_IF_ERROR(CheckSelector(*vs));
    --depth_;
    return ExprPtr(std::move(vs));
  }

  static std::optional<AggregateOp> AggregateOpFor(std::string_view name) {
    static constexpr std::pair<std::string_view, AggregateOp> kOps[] = {
        {"sum", AggregateOp::kSum},
        {"min", AggregateOp::kMin},
        {"max", AggregateOp::kMax},
        {"avg", AggregateOp::kAvg},
        {"group", AggregateOp::kGroup},
        {"stddev", AggregateOp::kStddev},
        {"stdvar", AggregateOp::kStdvar},
        {"count", AggregateOp::kCount},
        {"count_values", AggregateOp::kCountValues},
        {"bottomk", AggregateOp::kBottomk},
        {"topk", AggregateOp::kTopk},
        {"quantile", AggregateOp::kQuantile},
        {"limitk", AggregateOp::kLimitk},
        {"limit_ratio", AggregateOp::kLimitRatio},
    };
    for (const auto& [n, op] : kOps) {
      if (EqualsIgnoreCase(name, n)) return op;
    }
    return std::nullopt;
  }

  // `{` matchers `}` appended to vs.matchers.
  Status ParseMatchers(VectorSelector& vs) {
    Advance();  // {
    while (Peek().type != Tok::kRBrace) {
      const Token& name = Advance();
      if (name.type != Tok::kIdent && name.type != Tok::kString) {
        return Unexpected(name, "in label matching, expected label");
      }
      std::string label = name.type == Tok::kString ? name.value : std::string(name.text);
      const Token& op = Peek();
      metrics::MatchType type = metrics::MatchType::kEqual;
      switch (op.type) {
        case Tok::kAssign:
          type = metrics::MatchType::kEqual;
          break;
        case Tok::kNeq:
          type = metrics::MatchType::kNotEqual;
          break;
        case Tok::kEqlRegex:
          type = metrics::MatchType::kRegexMatch;
          break;
        case Tok::kNeqRegex:
          type = metrics::MatchType::kRegexNoMatch;
          break;
        default:
          if (name.type == Tok::kString && (op.type == Tok::kComma || op.type == Tok::kRBrace)) {
            // A quoted metric name: {"metric.name"}.
            vs.matchers.push_back(
                {metrics::MatchType::kEqual, std::string(metrics::kMetricName), label});
            if (op.type == Tok::kComma) Advance();
            continue;
          }
          return Unexpected(op, "in label matching, expected label matching operator");
      }
      Advance();
      const Token& value = Advance();
      if (value.type != Tok::kString) {
        return Unexpected(value, "in label matching, expected string");
      }
      vs.matchers.push_back({type, std::move(label), value.value});
      if (Peek().type == Tok::kComma) {
        Advance();
      } else if (Peek().type != Tok::kRBrace) {
        return Unexpected(Peek(), "in label matching, expected \",\" or \"}\"");
      }
    }
    Advance();  // }
    return Status::Ok();
  }

  // Whether `m` matches the empty value; regexes are judged only for the obvious forms.
  static bool MatchesEmpty(const metrics::Matcher& m) {
    switch (m.type) {
      case metrics::MatchType::kEqual:
        return m.value.empty();
      case metrics::MatchType::kNotEqual:
        return !m.value.empty();
      case metrics::MatchType::kRegexMatch:
        return m.value.empty() || m.value == ".*" || m.value == "^.*$" || m.value == ".*?";
      case metrics::MatchType::kRegexNoMatch:
        return m.value == ".+" || m.value == "^.+$" || m.value == ".+?";
    }
    return false;
  }

  Status CheckSelector(const VectorSelector& vs) const {
    if (!vs.name.empty()) {
      for (size_t i = 1; i < vs.matchers.size(); ++i) {
        if (vs.matchers[i].name == metrics::kMetricName) {
          return Err(vs.pos, "metric name must not be set twice: " + Quote(vs.name) + " or " +
                                 Quote(vs.matchers[i].value));
        }
      }
    }
    for (const metrics::Matcher& m : vs.matchers) {
      if (!MatchesEmpty(m)) return Status::Ok();
    }
    return Err(vs.pos, "vector selector must contain at least one non-empty matcher");
  }

  // `(` label, ... `)` for by/without/on/ignoring/group_*.
  Result<std::vector<std::string>> ParseLabelList() {
    PLATOPS_RETURN_IF_ERROR(Expect(Tok::kLParen, "in grouping opts, expected \"(\""));
    std::vector<std::string> labels;
    while (Peek().type != Tok::kRParen) {
      const Token& t = Advance();
      if (t.type == Tok::kString) {
        labels.push_back(t.value);
      } else if (t.type == Tok::kIdent && t.text.find(':') == std::string_view::npos) {
        labels.emplace_back(t.text);
      } else {
        return Unexpected(t, "in grouping opts, expected label");
      }
      if (Peek().type == Tok::kComma) {
        Advance();
      } else if (Peek().type != Tok::kRParen) {
        return Unexpected(Peek(), "in grouping opts, expected \",\" or \")\"");
      }
    }
    Advance();
    return labels;
  }

  Result<std::vector<ExprPtr>> ParseArgs(std::string_view what) {
    PLATOPS_RETURN_IF_ERROR(Expect(Tok::kLParen, what));
    std::vector<ExprPtr> args;
    if (Peek().type == Tok::kRParen) {
      Advance();
      return args;
    }
    while (true) {
      PLATOPS_ASSIGN_OR_RETURN(ExprPtr arg, ParseExpr(0));
      args.push_back(std::move(arg));
      if (Peek().type == Tok::kComma) {
        const Token& comma = Advance();
        if (Peek().type == Tok::kRParen) {
          return Err(comma.pos, "trailing commas not allowed in function call args");
        }
        continue;
      }
      if (Peek().type == Tok::kRParen) {
        Advance();
        return args;
      }
      return Unexpected(Peek(), what);
    }
  }

  Status ParseGrouping(AggregateExpr& agg) {
    agg.without = PeekKeyword("without");
    Advance();
    PLATOPS_ASSIGN_OR_RETURN(agg.grouping, ParseLabelList());
    return Status::Ok();
  }

  Result<ExprPtr> ParseAggregate(AggregateOp op, size_t pos) {
    auto agg = std::make_unique<AggregateExpr>(op, pos);
    bool grouped = false;
    if (PeekKeyword("by") || PeekKeyword("without")) {
      PLATOPS_RETURN_IF_ERROR(ParseGrouping(*agg));
      grouped = true;
    }
    PLATOPS_ASSIGN_OR_RETURN(std::vector<ExprPtr> args,
                             ParseArgs("in aggregation, expected \",\" or \")\""));
    if (!grouped && (PeekKeyword("by") || PeekKeyword("without"))) {
      PLATOPS_RETURN_IF_ERROR(ParseGrouping(*agg));
    }
    const size_t want = TakesParameter(op) ? 2 : 1;
    if (args.empty()) return Err(pos, "no arguments for aggregate expression provided");
    if (args.size() != want) {
      return Err(pos, "wrong number of arguments for aggregate expression provided, expected " +
                          std::to_string(want) + ", got " + std::to_string(args.size()));
    }
    if (want == 2) agg->param = std::move(args[0]);
    agg->expr = std::move(args.back());
    PLATOPS_RETURN_IF_ERROR(ExpectType(*agg->expr, ValueType::kVector, "aggregation expression"));
    if (agg->param != nullptr) {
      const ValueType pt =
          op == AggregateOp::kCountValues ? ValueType::kString : ValueType::kScalar;
      PLATOPS_RETURN_IF_ERROR(ExpectType(*agg->param, pt, "aggregation parameter"));
    }
    return ExprPtr(std::move(agg));
  }

  Result<ExprPtr> ParseCall(const FunctionInfo& f, size_t pos) {
    auto call = std::make_unique<Call>(f, pos);
    PLATOPS_ASSIGN_OR_RETURN(call->args,
                             ParseArgs("in function call args, expected \",\" or \")\""));
    const int nargs = f.num_arg_types;
    const int got = static_cast<int>(call->args.size());
    const std::string name = Quote(f.name);
    if (f.variadic == 0) {
      if (got != nargs) {
        return Err(pos, "expected " + std::to_string(nargs) + " argument(s) in call to " + name +
                            ", got " + std::to_string(got));
      }
    } else {
      const int min_args = nargs - 1;
      if (got < min_args) {
        return Err(pos, "expected at least " + std::to_string(min_args) +
                            " argument(s) in call to " + name + ", got " + std::to_string(got));
      }
      if (f.variadic > 0 && got > min_args + f.variadic) {
        return Err(pos, "expected at most " + std::to_string(min_args + f.variadic) +
                            " argument(s) in call to " + name + ", got " + std::to_string(got));
      }
    }
    if (f.name == "info" && got > 1) {
      // The second argument of info() is a label selector without a metric name.
      const Expr& sel = *call->args[1];
      if (sel.kind != ExprKind::kVectorSelector) {
        return Err(sel.pos, "expected label selectors only");
      }
      if (!static_cast<const VectorSelector&>(sel).name.empty()) {
        return Err(sel.pos, "expected label selectors only, got vector selector instead");
      }
    }
    for (int i = 0; i < got; ++i) {
      const int ti = std::min(i, nargs - 1);
      PLATOPS_RETURN_IF_ERROR(ExpectType(*call->args[static_cast<size_t>(i)],
                                         f.arg_types[static_cast<size_t>(ti)],
                                         "call to function " + name));
    }
    return ExprPtr(std::move(call));
  }

  std::string_view in_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<milliseconds> ParseDuration(std::string_view text) {
  if (text == "0") return milliseconds(0);
  if (text.empty()) return InvalidArgument("empty duration string");
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {{"y", 365LL * 24 * 3600 * 1000},
                                                                    {"w", 7LL * 24 * 3600 * 1000},
                                                                    {"d", 24LL * 3600 * 1000},
                                                                    {"h", 3600LL * 1000},
                                                                    {"m", 60LL * 1000},
                                                                    {"s", 1000},
                                                                    {"ms", 1}};
  const std::string bad = "not a valid duration string: " + Quote(text);
  size_t i = 0;
  size_t next_unit = 0;  // Units must appear in order, each at most once.
  int64_t total = 0;
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    if (i == start) return InvalidArgument(bad);
    const std::string_view digits = text.substr(start, i - start);
    size_t u = next_unit;
    const std::string_view rest = text.substr(i);
    while (u < std::size(kUnits)) {
      const std::string_view name = kUnits[u].first;
      // "m" must not swallow the "m" of "ms".
      if (rest.substr(0, name.size()) == name && !(name == "m" && rest.substr(0, 2) == "ms")) {
        break;
      }
      ++u;
    }
    if (u == std::size(kUnits)) return InvalidArgument(bad);
    i += kUnits[u].first.size();
    next_unit = u + 1;
    int64_t n = 0;
    for (char c : digits) {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) {
        return InvalidArgument("duration out of range: " + Quote(text));
      }
      n = n * 10 + (c - '0');
    }
    if (n > std::numeric_limits<int64_t>::max() / kUnits[u].second ||
        total > std::numeric_limits<int64_t>::max() - n * kUnits[u].second) {
      return InvalidArgument("duration out of range: " + Quote(text));
    }
    total += n * kUnits[u].second;
  }
  return milliseconds(total);
}

Result<std::unique_ptr<Expr>> Parse(std::string_view input) {
  Lexer lexer(input);
  PLATOPS_ASSIGN_OR_RETURN(std::vector<Token> tokens, lexer.Run());
  Parser parser(input, std::move(tokens));
  return parser.ParseTop();
}

}  // namespace platops::promql
