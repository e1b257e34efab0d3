#include "promql/test_script.h"

#include <re2/re2.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <variant>

#include "base/clock.h"
#include "base/strings.h"
#include "metrics/mem_storage.h"
#include "promql/engine.h"
#include "promql/parser.h"

namespace platops::promql {

namespace {

// Prometheus's promqltest tolerance: relative difference below 1e-6 (util/almost).
constexpr double kEpsilon = 1e-6;
// Most values one sequence item may expand to (`0+1xN`); guards against typos like x1000000000.
constexpr uint64_t kMaxRepeat = 10'000'000;

// ---------------------------------------------------------------------------------------------
// The parsed script.

// One position of a value sequence: a float, no sample (`_`), or a native histogram (`{{...}}`).
struct SeqValue {
  enum class Kind { kFloat, kOmitted, kHistogram };
  Kind kind = Kind::kFloat;
  double v = 0;
};

struct SeriesDesc {
  metrics::Labels labels;  // Normalized.
  std::vector<SeqValue> values;
  bool has_histogram = false;
};

struct LoadCmd {
  int64_t interval_ms = 0;
  bool with_nhcb = false;  // load_with_nhcb: classic histograms also become native ones.
  std::vector<SeriesDesc> series;
};

struct ClearCmd {};

struct ExpectedSeries {
  metrics::Labels labels;
  std::vector<SeqValue> values;
  int pos = 0;  // 1-based position among the expected series (for ordered results).
};

// A constraint on the error of a query that must fail: exact text, or an RE2 pattern searched
// for anywhere in the error (Go's MatchString).
struct FailCheck {
  std::string text;
  std::shared_ptr<RE2> regex;  // Null: `text` must equal the error.
};

struct EvalCmd {
  int line = 0;
  std::string expr;
  bool is_range = false;
  int64_t start = 0;  // Instant: the evaluation time.
  int64_t end = 0;
  int64_t step = 0;
  bool range_vector = false;  // `expect range vector from .. to .. step ..` on an instant eval.
  bool fail = false;
  std::vector<FailCheck> fail_checks;
  bool ordered = false;
  std::optional<double> scalar;
  std::optional<std::string> string;
  std::vector<ExpectedSeries> series;  // In file order; later duplicates replace earlier ones.
  bool expects_histogram = false;
};

struct Command {
  int line = 0;
  std::variant<LoadCmd, ClearCmd, EvalCmd> cmd;
};

// ---------------------------------------------------------------------------------------------
// Lexical helpers.

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsQuote(char c) { return c == '"' || c == '\'' || c == '`'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string Quoted(std::string_view s) { return QuoteString(s); }


int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<uint64_t> ParseCount(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return n;
}

// A read position in one line; each Read* consumes what it returns and leaves the position alone
// when it finds nothing.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : s_(text) {}

  bool AtEnd() const { return i_ >= s_.size(); }
  char Peek(size_t ahead = 0) const { return i_ + ahead < s_.size() ? s_[i_ + ahead] : '\0'; }
  std::string_view Rest() const { return s_.substr(std::min(i_, s_.size())); }
  void Skip(size_t n = 1) { i_ += n; }
  void SkipSpace() {
    while (!AtEnd() && IsSpace(s_[i_])) ++i_;
  }

  // The next whitespace-separated word ("" at the end); skips the whitespace after it.
  std::string_view ReadWord() {
    SkipSpace();
    const size_t start = i_;
    while (!AtEnd() && !IsSpace(s_[i_])) ++i_;
    const std::string_view word = s_.substr(start, i_ - start);
    SkipSpace();
    return word;
  }

  // [a-zA-Z_][a-zA-Z0-9_]*, plus ':' when `colons` (metric names).
  std::string_view ReadIdentifier(bool colons) {
    const auto ok = [&](char c, bool first) {
      return IsAlpha(c) || (colons && c == ':') || (!first && IsDigit(c));
    };
    const size_t start = i_;
    while (!AtEnd() && ok(s_[i_], i_ == start)) ++i_;
    return s_.substr(start, i_ - start);
  }

  // A Go/PromQL string literal at the cursor: "..." or '...' with Go escapes, `...` raw.
  Result<std::string> ReadQuoted() {
    const char quote = Peek();
    size_t i = i_ + 1;
    if (quote == '`') {
      const size_t close = s_.find('`', i);
      if (close == std::string_view::npos) return InvalidArgument("unterminated raw string");
      i_ = close + 1;
      return std::string(s_.substr(i, close - i));
    }
    static constexpr std::string_view kEscaped = "abfnrtv\\'\"";
    static constexpr std::string_view kUnescaped = "\a\b\f\n\r\t\v\\'\"";
    std::string out;
    while (true) {
      if (i >= s_.size()) return InvalidArgument("unterminated quoted string");
      const char c = s_[i];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        ++i;
        continue;
      }
      if (i + 1 >= s_.size()) return InvalidArgument("unterminated quoted string");
      const char e = s_[i + 1];
      i += 2;
      if (const size_t k = kEscaped.find(e); k != std::string_view::npos) {
        out += kUnescaped[k];
      } else if (e == 'x' || e == 'u' || e == 'U') {
        const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t v = 0;
        for (size_t k = 0; k < n; ++k) {
          const int d = i + k < s_.size() ? HexDigit(s_[i + k]) : -1;
          if (d < 0) return InvalidArgument(std::string("invalid \\") + e + " escape");
          v = v * 16 + static_cast<uint32_t>(d);
        }
        i += n;
        if (e == 'x') {
          out += static_cast<char>(v);
        } else if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
          return InvalidArgument("invalid Unicode code point in \\" + std::string(1, e) +
                                 " escape");
        } else {
          AppendUtf8(out, v);
        }
      } else if (e >= '0' && e <= '7') {
        uint32_t v = static_cast<uint32_t>(e - '0');
        for (size_t k = 0; k < 2; ++k) {
          const char d = i + k < s_.size() ? s_[i + k] : '\0';
          if (d < '0' || d > '7') return InvalidArgument("invalid octal escape");
          v = v * 8 + static_cast<uint32_t>(d - '0');
        }
        if (v > 255) return InvalidArgument("octal escape value > 255");
        i += 2;
        out += static_cast<char>(v);
      } else {
        return InvalidArgument(std::string("unknown escape sequence \\") + e);
      }
    }
    i_ = i + 1;
    return out;
  }

  // A number without sign: digits with optional fraction and exponent, or Inf/NaN in any case.
  std::optional<double> ReadUnsignedNumber() {
    size_t i = i_;
    if (i < s_.size() && IsLetter(s_[i])) {
      while (i < s_.size() && IsLetter(s_[i])) ++i;
      const std::string word = Lower(s_.substr(i_, i - i_));
      if (word != "inf" && word != "nan") return std::nullopt;
      i_ = i;
      return word == "inf" ? std::numeric_limits<double>::infinity()
                           : std::numeric_limits<double>::quiet_NaN();
    }
    size_t digits = 0;
    while (i < s_.size() && IsDigit(s_[i])) ++i, ++digits;
    if (i < s_.size() && s_[i] == '.') {
      ++i;
      while (i < s_.size() && IsDigit(s_[i])) ++i, ++digits;
    }
    if (digits == 0) return std::nullopt;
    if (i < s_.size() && (s_[i] == 'e' || s_[i] == 'E')) {
      size_t j = i + 1;
      if (j < s_.size() && (s_[j] == '+' || s_[j] == '-')) ++j;
      const size_t exp_start = j;
      while (j < s_.size() && IsDigit(s_[j])) ++j;
      if (j > exp_start) i = j;
    }
    const std::string_view text = s_.substr(i_, i - i_);
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc::result_out_of_range) {
      // Overflow is ±Inf and underflow 0, as in Go's ParseFloat; from_chars leaves v unset.
      v = std::strtod(std::string(text).c_str(), nullptr);
    } else if (ec != std::errc() || end != text.data() + text.size()) {
      return std::nullopt;
    }
    i_ = i;
    return v;
  }

  // A number with an optional sign.
  std::optional<double> ReadNumber() {
    const size_t start = i_;
    const bool negative = Peek() == '-';
    if (Peek() == '+' || Peek() == '-') Skip();
    std::optional<double> v = ReadUnsignedNumber();
    if (!v) {
      i_ = start;
      return std::nullopt;
    }
    return negative ? -*v : *v;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

// A whole line that is one number (Go's ParseInt base 0, then ParseFloat): a scalar expectation.
std::optional<double> ParseScalarLine(std::string_view s) {
  const bool negative = StartsWith(s, "-");
  const std::string_view unsigned_part = StartsWith(s, "-") || StartsWith(s, "+") ? s.substr(1) : s;
  if (unsigned_part.size() > 2 && unsigned_part[0] == '0' &&
      (unsigned_part[1] == 'x' || unsigned_part[1] == 'X')) {
    const std::string_view hex = unsigned_part.substr(2);
    uint64_t n = 0;
    const auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), n, 16);
    if (ec != std::errc() || end != hex.data() + hex.size()) return std::nullopt;
    return negative ? -static_cast<double>(n) : static_cast<double>(n);
  }
  if (Lower(unsigned_part) == "infinity") {
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  Cursor c(s);
  std::optional<double> v = c.ReadNumber();
  if (!v || !c.AtEnd()) return std::nullopt;
  return v;
}

double StaleNaN() { return std::bit_cast<double>(metrics::kStaleNanBits); }
bool IsStale(double v) { return std::bit_cast<uint64_t>(v) == metrics::kStaleNanBits; }

// ---------------------------------------------------------------------------------------------
// Series descriptions: `name{label="value",...} <values>`.

// Expands one whitespace-free item of a value sequence (`1`, `_x3`, `stale`, `1+2x3`, ...).
Result<std::vector<SeqValue>> ParseItem(std::string_view item) {
  const auto bad = [&] { return InvalidArgument("invalid value " + Quoted(item)); };
  // "xN" at the end of the item.
  const auto repeat = [&](std::string_view rest) -> Result<uint64_t> {
    if (!StartsWith(rest, "x")) return bad();
    std::optional<uint64_t> n = ParseCount(rest.substr(1));
    if (!n) return bad();
    if (*n > kMaxRepeat) {
      return InvalidArgument("repeat count in " + Quoted(item) + " exceeds " +
                             std::to_string(kMaxRepeat));
    }
    return *n;
  };
  if (item == "_") return std::vector<SeqValue>{{SeqValue::Kind::kOmitted, 0}};
  if (StartsWith(item, "_x")) {
    PLATOPS_ASSIGN_OR_RETURN(uint64_t n, repeat(item.substr(1)));
    return std::vector<SeqValue>(n, SeqValue{SeqValue::Kind::kOmitted, 0});
  }
  if (item == "stale") return std::vector<SeqValue>{{SeqValue::Kind::kFloat, StaleNaN()}};
  Cursor c(item);
  std::optional<double> first = c.ReadNumber();
  if (!first) return bad();
  if (c.AtEnd()) return std::vector<SeqValue>{{SeqValue::Kind::kFloat, *first}};
  double delta = 0;
  if (c.Peek() == '+' || c.Peek() == '-') {
    const bool minus = c.Peek() == '-';
    c.Skip();
    std::optional<double> d = c.ReadUnsignedNumber();
    if (!d) return bad();
    delta = minus ? -*d : *d;
  }
  PLATOPS_ASSIGN_OR_RETURN(uint64_t n, repeat(c.Rest()));
  // Accumulated like Prometheus (v += delta each step), so rounding matches its loads.
  std::vector<SeqValue> out;
  double v = *first;
  for (uint64_t k = 0; k <= n; ++k) {
    out.push_back(SeqValue{SeqValue::Kind::kFloat, v});
    v += delta;
  }
  return out;
}

// Skips a histogram literal "{{...}}" at the cursor.
Status SkipHistogram(Cursor& c) {
  const size_t close = c.Rest().find("}}");
  if (!StartsWith(c.Rest(), "{{") || close == std::string_view::npos) {
    return InvalidArgument("unterminated {{ histogram");
  }
  c.Skip(close + 2);
  return Status::Ok();
}

// Parses the value sequence after the series labels.
Result<std::vector<SeqValue>> ParseValues(std::string_view text) {
  std::vector<SeqValue> out;
  Cursor c(text);
  for (c.SkipSpace(); !c.AtEnd(); c.SkipSpace()) {
    if (!StartsWith(c.Rest(), "{{")) {
      PLATOPS_ASSIGN_OR_RETURN(std::vector<SeqValue> values, ParseItem(c.ReadWord()));
      out.insert(out.end(), values.begin(), values.end());
      continue;
    }
    // Native histogram samples: {{...}}, {{...}}xN, {{...}}+{{...}}xN, {{...}}-{{...}}xN.
    PLATOPS_RETURN_IF_ERROR(SkipHistogram(c));
    uint64_t positions = 1;
    if ((c.Peek() == '+' || c.Peek() == '-') && c.Peek(1) == '{') {
      c.Skip();
      PLATOPS_RETURN_IF_ERROR(SkipHistogram(c));
      if (c.Peek() != 'x') return InvalidArgument("expected xN after a histogram increment");
    }
    if (c.Peek() == 'x') {
      const std::string_view word = c.ReadWord();
      std::optional<uint64_t> n = ParseCount(word.substr(1));
      if (!n || *n > kMaxRepeat) {
        return InvalidArgument("invalid histogram repeat " + Quoted(word));
      }
      positions = *n + 1;
    } else if (!c.AtEnd() && !IsSpace(c.Peek())) {
      return InvalidArgument("unexpected " + Quoted(c.Rest().substr(0, 1)) + " after histogram");
    }
    out.insert(out.end(), positions, SeqValue{SeqValue::Kind::kHistogram, 0});
  }
  return out;
}

// `name{a="b",...} values`, `{__name__="name",...} values` or `{"name", a="b"} values`.
Result<SeriesDesc> ParseSeriesDesc(std::string_view text) {
  Cursor c(text);
  metrics::Labels labels;
  if (const std::string_view name = c.ReadIdentifier(/*colons=*/true); !name.empty()) {
    labels.push_back({std::string(metrics::kMetricName), std::string(name)});
  }
  const bool has_name = !labels.empty();
  if (c.Peek() == '{') {
    c.Skip();
    for (c.SkipSpace(); c.Peek() != '}'; c.SkipSpace()) {
      if (c.AtEnd()) return InvalidArgument("unterminated label set");
      const bool quoted = IsQuote(c.Peek());
      std::string name;
      if (quoted) {
        PLATOPS_ASSIGN_OR_RETURN(name, c.ReadQuoted());
      } else {
        name = std::string(c.ReadIdentifier(/*colons=*/false));
        if (name.empty()) return InvalidArgument("expected a label name at " + Quoted(c.Rest()));
      }
      c.SkipSpace();
      if (c.Peek() == '=') {
        c.Skip();
        if (c.Peek() == '=' || c.Peek() == '~') {
          return InvalidArgument("label " + Quoted(name) + ": only = is allowed in a series");
        }
        c.SkipSpace();
        if (!IsQuote(c.Peek())) {
          return InvalidArgument("label " + Quoted(name) + ": expected a quoted value");
        }
        PLATOPS_ASSIGN_OR_RETURN(std::string value, c.ReadQuoted());
        labels.push_back({std::move(name), std::move(value)});
      } else if (quoted && !has_name) {
        labels.push_back({std::string(metrics::kMetricName), std::move(name)});  // {"a.b"}
      } else {
        return InvalidArgument("label " + Quoted(name) + ": expected =");
      }
      c.SkipSpace();
      if (c.Peek() == ',') {
        c.Skip();
      } else if (c.Peek() != '}') {
        return InvalidArgument("expected , or } in label set");
      }
    }
    c.Skip();  // '}'
  } else if (!has_name) {
    return InvalidArgument("expected a series (name{labels} values) at " + Quoted(text));
  }
  if (!c.AtEnd() && !IsSpace(c.Peek())) {
    return InvalidArgument("unexpected " + Quoted(c.Rest().substr(0, 1)) +
                           " after the series labels");
  }
  SeriesDesc desc;
  desc.labels = metrics::Normalize(std::move(labels));
  PLATOPS_ASSIGN_OR_RETURN(desc.values, ParseValues(c.Rest()));
  desc.has_histogram = std::any_of(desc.values.begin(), desc.values.end(), [](const SeqValue& v) {
    return v.kind == SeqValue::Kind::kHistogram;
  });
  return desc;
}

// ---------------------------------------------------------------------------------------------
// The script parser.

// One `expect ...` line of an eval block.
struct Expectation {
  std::string kind;  // ordered, fail, warn, no_warn, info, no_info.
  std::optional<FailCheck> check;
};

class ScriptParser {
 public:
  ScriptParser(std::string_view name, std::string_view script) : name_(name) {
    size_t start = 0;
    while (start <= script.size()) {
      size_t end = script.find('\n', start);
      if (end == std::string_view::npos) end = script.size();
      std::string_view line = Trim(script.substr(start, end - start));
      if (StartsWith(line, "#")) line = {};
      lines_.push_back(line);
      start = end + 1;
    }
  }

  Result<std::vector<Command>> Parse() {
    std::vector<Command> cmds;
    for (i_ = 0; i_ < lines_.size(); ++i_) {
      if (lines_[i_].empty()) continue;
      Cursor c(lines_[i_]);
      const std::string word = Lower(c.ReadWord());
      if (word == "clear") {
        if (!c.AtEnd()) return Error("clear takes no arguments");
        cmds.push_back({Line(), ClearCmd{}});
      } else if (StartsWith(word, "load")) {
        const int line = Line();
        PLATOPS_ASSIGN_OR_RETURN(LoadCmd load, ParseLoad());
        cmds.push_back({line, std::move(load)});
      } else if (StartsWith(word, "eval")) {
        const int line = Line();
        PLATOPS_ASSIGN_OR_RETURN(EvalCmd eval, ParseEval());
        cmds.push_back({line, std::move(eval)});
      } else {
        return Error("invalid command " + Quoted(lines_[i_]));
      }
    }
    return cmds;
  }

 private:
  int Line() const { return static_cast<int>(i_) + 1; }

  // An error at the current line.
  Status Error(std::string_view reason) const {
    return InvalidArgument(std::string(name_) + ":" + std::to_string(Line()) + ": " +
                           std::string(reason));
  }

  Result<int64_t> Duration(std::string_view what, std::string_view text) const {
    auto d = ParseDuration(text);
    if (!d.ok()) {
      return Error("invalid " + std::string(what) + " " + Quoted(text) + ": " +
                   d.status().message());
    }
    return static_cast<int64_t>(d.value().count());
  }

  // The next line of the current block (blocks end at an empty or comment line); advances i_.
  std::optional<std::string_view> NextBlockLine() {
    if (i_ + 1 >= lines_.size() || lines_[i_ + 1].empty()) return std::nullopt;
    return lines_[++i_];
  }

  Result<LoadCmd> ParseLoad() {
    Cursor c(lines_[i_]);
    const std::string_view word = c.ReadWord();
    LoadCmd load;
    load.with_nhcb = word == "load_with_nhcb";
    if ((word != "load" && !load.with_nhcb) || c.AtEnd()) {
      return Error("invalid load command (load[_with_nhcb] <interval>)");
    }
    PLATOPS_ASSIGN_OR_RETURN(load.interval_ms, Duration("load interval", c.Rest()));
    while (std::optional<std::string_view> def = NextBlockLine()) {
      auto desc = ParseSeriesDesc(*def);
      if (!desc.ok()) return Error(desc.status().message());
      if (desc->labels.empty()) return Error("series has no labels");
      load.series.push_back(std::move(desc).value());
    }
    return load;
  }

  struct TimeRange {
    int64_t start = 0;
    int64_t end = 0;
    int64_t step = 0;
  };

  // `from <start> to <end> step <step>` of a range eval or an `expect range vector` line.
  Result<TimeRange> ParseRange(Cursor& c, std::string_view usage) const {
    if (c.ReadWord() != "from") return Error(usage);
    const std::string_view from = c.ReadWord();
    if (c.ReadWord() != "to") return Error(usage);
    const std::string_view to = c.ReadWord();
    if (c.ReadWord() != "step") return Error(usage);
    const std::string_view step = c.ReadWord();
    if (step.empty()) return Error(usage);
    TimeRange r;
    PLATOPS_ASSIGN_OR_RETURN(r.start, Duration("start time", from));
    PLATOPS_ASSIGN_OR_RETURN(r.end, Duration("end time", to));
    PLATOPS_ASSIGN_OR_RETURN(r.step, Duration("step", step));
    if (r.end < r.start) {
      return Error("end time " + std::string(to) + " is before start time " + std::string(from));
    }
    if (r.step <= 0) return Error("step must be greater than 0");
    return r;
  }

  Result<FailCheck> ParseFailCheck(std::string_view what, std::string_view text, bool regex) const {
    FailCheck check{std::string(text), nullptr};
    if (regex) {
      auto re = std::make_shared<RE2>(check.text, RE2::Quiet);
      if (!re->ok())
        return Error("invalid " + std::string(what) + " " + Quoted(text) + ": " + re->error());
      check.regex = std::move(re);
    }
    return check;
  }

  // `expect <kind> [msg|regex: <text>]`.
  Result<Expectation> ParseExpect(std::string_view l) const {
    Cursor c(l);
    c.ReadWord();  // "expect"
    Expectation e;
    e.kind = std::string(c.ReadWord());
    static constexpr std::string_view kKinds[] = {"ordered", "fail", "warn",
                                                  "no_warn", "info", "no_info"};
    if (std::find(std::begin(kKinds), std::end(kKinds), e.kind) == std::end(kKinds)) {
      return Error("invalid expect statement " + Quoted(l) +
                   " (expect ordered|fail|warn|no_warn|info|no_info [msg|regex: text])");
    }
    if (c.AtEnd()) return e;
    const std::string_view rest = c.Rest();
    const bool is_regex = StartsWith(rest, "regex:");
    if (!StartsWith(rest, "msg:") && !is_regex) {
      return Error("invalid expect statement " + Quoted(l) + ": expected msg: or regex:");
    }
    const std::string_view text = Trim(rest.substr(is_regex ? 6 : 4));
    if (text.empty()) return Error("invalid expect statement " + Quoted(l) + ": empty text");
    PLATOPS_ASSIGN_OR_RETURN(e.check, ParseFailCheck("regex", text, is_regex));
    return e;
  }

  Result<std::string> ParseExpectedString(std::string_view s) const {
    if (!IsQuote(s.empty() ? '\0' : s[0])) {
      return Error("expected a quoted string, got " + Quoted(s));
    }
    Cursor c(s);
    auto str = c.ReadQuoted();
    if (!str.ok()) return Error(str.status().message());
    if (!c.AtEnd()) return Error("unexpected text after the quoted string");
    return str;
  }

  Result<EvalCmd> ParseEval() {
    Cursor c(lines_[i_]);
    const std::string_view word = c.ReadWord();
    EvalCmd cmd;
    cmd.line = Line();
    const std::string_view mod = StartsWith(word, "eval_") ? word.substr(5) : "";
    if (word != "eval" && mod != "fail" && mod != "warn" && mod != "ordered" && mod != "info") {
      return Error("invalid command " + Quoted(word) +
                   " (eval, eval_fail, eval_warn, eval_info or eval_ordered)");
    }
    cmd.fail = mod == "fail";
    cmd.ordered = mod == "ordered";
    const std::string usage =
        "invalid evaluation command: must be 'eval[_fail|_warn|_info|_ordered] instant at <time> "
        "<query>' or 'eval[_fail|_warn|_info] range from <start> to <end> step <step> <query>'";
    const std::string_view kind = c.ReadWord();
    if (kind == "instant") {
      if (c.ReadWord() != "at") return Error(usage);
      PLATOPS_ASSIGN_OR_RETURN(cmd.start, Duration("evaluation time", c.ReadWord()));
      cmd.end = cmd.start;
    } else if (kind == "range") {
      if (cmd.ordered) return Error("eval_ordered is not allowed for range queries");
      PLATOPS_ASSIGN_OR_RETURN(TimeRange r, ParseRange(c, usage));
      cmd.start = r.start;
      cmd.end = r.end;
      cmd.step = r.step;
      cmd.is_range = true;
    } else {
      return Error(usage);
    }
    if (c.AtEnd()) return Error(usage);
    cmd.expr = std::string(c.Rest());

    std::map<std::string, int> expects;  // Count of each `expect` kind.
    int pos = 0;
    while (std::optional<std::string_view> l = NextBlockLine()) {
      if (StartsWith(*l, "expected_fail_message") || StartsWith(*l, "expected_fail_regexp")) {
        const bool regex = StartsWith(*l, "expected_fail_regexp");
        const std::string_view what = regex ? "expected_fail_regexp" : "expected_fail_message";
        if (!cmd.fail) return Error(std::string(what) + " needs eval_fail");
        PLATOPS_ASSIGN_OR_RETURN(FailCheck check,
                                 ParseFailCheck(what, Trim(l->substr(what.size())), regex));
        cmd.fail_checks.push_back(std::move(check));
        break;  // As in Prometheus, this line ends the eval block.
      }
      if (StartsWith(*l, "expect range vector")) {
        Cursor r(l->substr(19));
        const std::string range_usage = "invalid " + Quoted(*l) +
                                        ": expected expect range vector from <start> to <end> "
                                        "step <step>";
        if (cmd.is_range) return Error("expect range vector needs an instant eval");
        PLATOPS_ASSIGN_OR_RETURN(TimeRange range, ParseRange(r, range_usage));
        if (!r.AtEnd()) return Error(range_usage);
        cmd.start = range.start;
        cmd.end = range.end;
        cmd.step = range.step;
        cmd.range_vector = true;
        continue;
      }
      if (StartsWith(*l, "expect string")) {
        PLATOPS_ASSIGN_OR_RETURN(cmd.string, ParseExpectedString(Trim(l->substr(13))));
        continue;
      }
      if (Cursor(*l).ReadWord() == "expect") {
        PLATOPS_ASSIGN_OR_RETURN(Expectation e, ParseExpect(*l));
        const int n = ++expects[e.kind];
        if (expects["info"] > 0 && expects["no_info"] > 0) {
          return Error("expect info and expect no_info cannot be used together");
        }
        if (expects["warn"] > 0 && expects["no_warn"] > 0) {
          return Error("expect warn and expect no_warn cannot be used together");
        }
        if (e.kind == "ordered") {
          cmd.ordered = true;
        } else if (e.kind == "fail") {
          if (n > 1) return Error("only one expect fail line is allowed");
          cmd.fail = true;
          if (e.check) cmd.fail_checks.push_back(std::move(*e.check));
        }
        // Annotations (warn, info and their negations) are accepted and not scored.
        continue;
      }
      if (std::optional<double> v = ParseScalarLine(*l)) {
        cmd.scalar = *v;
        break;  // As in Prometheus, a scalar ends the eval block.
      }
      if (IsQuote((*l)[0])) {
        PLATOPS_ASSIGN_OR_RETURN(cmd.string, ParseExpectedString(*l));
        continue;
      }
      auto desc = ParseSeriesDesc(*l);
      if (!desc.ok()) return Error(desc.status().message());
      if (desc->values.empty()) return Error("expected series has no value");
      if (!cmd.is_range && !cmd.range_vector && desc->values.size() > 1) {
        return Error(
            "an instant evaluation expects one value per series (use 'expect range vector from "
            ".. to .. step ..' for a range-vector result)");
      }
      if (desc->has_histogram) cmd.expects_histogram = true;
      ExpectedSeries exp{std::move(desc->labels), std::move(desc->values), ++pos};
      auto same = std::find_if(cmd.series.begin(), cmd.series.end(),
                               [&](const ExpectedSeries& e) { return e.labels == exp.labels; });
      if (same != cmd.series.end()) {
        *same = std::move(exp);  // As in Prometheus, the later line wins.
      } else {
        cmd.series.push_back(std::move(exp));
      }
    }
    if ((cmd.scalar || cmd.string) && !cmd.series.empty()) {
      return Error("an evaluation cannot expect both series and a scalar or string");
    }
    return cmd;
  }

  std::string_view name_;
  std::vector<std::string_view> lines_;
  size_t i_ = 0;  // The line being parsed (0-based).
};

// ---------------------------------------------------------------------------------------------
// Running and comparing.

// Prometheus's almost.Equal with its test epsilon: NaN equals NaN, else relative tolerance.
bool AlmostEqual(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  constexpr double kMinNormal = std::numeric_limits<double>::min();
  const double abs_sum = std::fabs(a) + std::fabs(b);
  const double diff = std::fabs(a - b);
  if (a == 0 || b == 0 || abs_sum < kMinNormal) return diff < kEpsilon * kMinNormal;
  return diff / std::min(abs_sum, std::numeric_limits<double>::max()) < kEpsilon;
}

std::string FormatValue(double v) {
  if (IsStale(v)) return "stale";
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, ec == std::errc() ? end : buf);
}

std::string FormatTime(int64_t ms) {
  const std::string d = FormatDuration(std::chrono::milliseconds(ms));
  return ms < 0 ? "-" + d : d;
}

std::string FormatPoints(const std::vector<metrics::Sample>& points) {
  std::string out = "[";
  for (size_t i = 0; i < points.size(); ++i) {
    if (i > 0) out += ' ';
    out += FormatValue(points[i].v) + "@" + FormatTime(points[i].t);
  }
  return out + "]";
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::string DescribeValue(const Value& value) {
  if (const auto* s = std::get_if<ScalarValue>(&value)) return "scalar " + FormatValue(s->v);
  if (const auto* s = std::get_if<StringValue>(&value)) return "string " + Quoted(s->v);
  if (const auto* v = std::get_if<Vector>(&value)) {
    std::vector<std::string> parts;
    for (const auto& e : *v) parts.push_back(metrics::ToString(e.metric) + " " + FormatValue(e.v));
    return "vector {" + Join(parts, ", ") + "}";
  }
  const auto& m = std::get<Matrix>(value);
  std::vector<std::string> parts;
  for (const auto& s : m)
    parts.push_back(metrics::ToString(s.metric) + " " + FormatPoints(s.samples));
  return "matrix {" + Join(parts, ", ") + "}";
}

std::string DescribeExpected(const EvalCmd& cmd) {
  if (cmd.scalar) return "scalar " + FormatValue(*cmd.scalar);
  if (cmd.string) return "string " + Quoted(*cmd.string);
  if (cmd.series.empty()) return "an empty result";
  return std::to_string(cmd.series.size()) + " series";
}

class Runner {
 public:
  Runner() : engine_(EngineOptions{}, storage_, clock_) {}

  ScriptReport Run(const std::vector<Command>& cmds) {
    ScriptReport report;
    for (const Command& c : cmds) {
      if (std::holds_alternative<ClearCmd>(c.cmd)) {
        storage_.Clear();
        histograms_.Clear();
      } else if (const auto* load = std::get_if<LoadCmd>(&c.cmd)) {
        Load(*load);
      } else {
        const auto& eval = std::get<EvalCmd>(c.cmd);
        if (eval.expects_histogram) {
          ++report.skipped;
          continue;
        }
        auto expr = Parse(eval.expr);
        if (!expr.ok()) {
          ++report.failed;
          report.failures.push_back(
              {eval.line, eval.expr + ": query does not parse: " + expr.status().message()});
          continue;
        }
        if (SelectsHistograms(*expr.value())) {
          ++report.skipped;
          continue;
        }
        std::vector<std::string> diffs = Evaluate(eval);
        if (diffs.empty()) {
          ++report.passed;
        } else {
          ++report.failed;
          report.failures.push_back({eval.line, eval.expr + ": " + Join(diffs, "; ")});
        }
      }
    }
    return report;
  }

 private:
  void Load(const LoadCmd& load) {
    for (const SeriesDesc& s : load.series) {
      int64_t t = 0;
      for (const SeqValue& v : s.values) {
        if (v.kind == SeqValue::Kind::kFloat) storage_.Add(s.labels, {t, v.v});
        t += load.interval_ms;
      }
      // Only the identity of histogram series matters: evaluations that select them are skipped.
      if (s.has_histogram) histograms_.Add(s.labels, {0, 0});
      if (load.with_nhcb) {
        if (std::optional<metrics::Labels> base = NhcbSeries(s.labels)) {
          histograms_.Add(*base, {0, 0});
        }
      }
    }
  }

  // The native histogram series load_with_nhcb derives from a classic histogram series: the name
  // without _bucket/_count/_sum, without the le label.
  static std::optional<metrics::Labels> NhcbSeries(const metrics::Labels& labels) {
    const std::string_view name = metrics::Get(labels, metrics::kMetricName);
    for (std::string_view suffix : {"_bucket", "_count", "_sum"}) {
      if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) {
        continue;
      }
      if (suffix == "_bucket" && metrics::Get(labels, "le").empty()) return std::nullopt;
      metrics::Labels base;
      for (const metrics::Label& l : labels) {
        if (l.name == metrics::kMetricName) {
          base.push_back({l.name, std::string(name.substr(0, name.size() - suffix.size()))});
        } else if (suffix != "_bucket" || l.name != "le") {
          base.push_back(l);
        }
      }
      return metrics::Normalize(std::move(base));
    }
    return std::nullopt;
  }

  static bool AnySelector(const Expr& e, const std::function<bool(const VectorSelector&)>& pred) {
    switch (e.kind) {
      case ExprKind::kNumber:
      case ExprKind::kString:
        return false;
      case ExprKind::kVectorSelector:
        return pred(static_cast<const VectorSelector&>(e));
      case ExprKind::kMatrixSelector:
        return pred(*static_cast<const MatrixSelector&>(e).selector);
      case ExprKind::kSubquery:
        return AnySelector(*static_cast<const SubqueryExpr&>(e).expr, pred);
      case ExprKind::kUnary:
        return AnySelector(*static_cast<const UnaryExpr&>(e).expr, pred);
      case ExprKind::kParen:
        return AnySelector(*static_cast<const ParenExpr&>(e).expr, pred);
      case ExprKind::kBinary: {
        const auto& b = static_cast<const BinaryExpr&>(e);
        return AnySelector(*b.lhs, pred) || AnySelector(*b.rhs, pred);
      }
      case ExprKind::kAggregate: {
        const auto& a = static_cast<const AggregateExpr&>(e);
        return (a.param && AnySelector(*a.param, pred)) || AnySelector(*a.expr, pred);
      }
      case ExprKind::kCall: {
        const auto& c = static_cast<const Call&>(e);
        return std::any_of(c.args.begin(), c.args.end(),
                           [&](const auto& arg) { return AnySelector(*arg, pred); });
      }
    }
    return false;
  }

  // True when a selector of `expr` matches a series that holds native histogram samples.
  bool SelectsHistograms(const Expr& expr) {
    if (histograms_.num_series() == 0) return false;
    auto querier = histograms_.NewQuerier(std::numeric_limits<int64_t>::min(),
                                          std::numeric_limits<int64_t>::max());
    if (!querier.ok()) return false;
    return AnySelector(expr, [&](const VectorSelector& sel) {
      auto series = querier.value()->Select(sel.matchers);
      return series.ok() && !series.value().empty();
    });
  }

  std::vector<std::string> Evaluate(const EvalCmd& cmd) {
    QueryResult res = cmd.is_range ? engine_.RangeQuery(cmd.expr, cmd.start, cmd.end, cmd.step)
                                   : engine_.InstantQuery(cmd.expr, cmd.end);
    if (!res.ok()) {
      if (!cmd.fail) {
        return {"query failed (" + std::string(ErrorTypeName(res.error)) +
                "): " + res.error_message};
      }
      for (const FailCheck& check : cmd.fail_checks) {
        if (check.regex ? !RE2::PartialMatch(res.error_message, *check.regex)
                        : check.text != res.error_message) {
          return {"expected an error " + std::string(check.regex ? "matching " : "") +
                  Quoted(check.text) + ", got " + Quoted(res.error_message)};
        }
      }
      return {};
    }
    if (cmd.fail) return {"expected the query to fail, got " + DescribeValue(res.value)};
    if (const auto* m = std::get_if<Matrix>(&res.value)) return CompareMatrix(cmd, *m);
    if (const auto* v = std::get_if<Vector>(&res.value)) return CompareVector(cmd, *v);
    if (const auto* s = std::get_if<ScalarValue>(&res.value)) {
      if (!cmd.scalar)
        return {"expected " + DescribeExpected(cmd) + ", got scalar " + FormatValue(s->v)};
      if (!AlmostEqual(*cmd.scalar, s->v)) {
        return {"expected scalar " + FormatValue(*cmd.scalar) + ", got " + FormatValue(s->v)};
      }
      return {};
    }
    const auto& str = std::get<StringValue>(res.value);
    if (!cmd.string) return {"expected " + DescribeExpected(cmd) + ", got string " + Quoted(str.v)};
    if (*cmd.string != str.v) {
      return {"expected string " + Quoted(*cmd.string) + ", got " + Quoted(str.v)};
    }
    return {};
  }

  static const ExpectedSeries* FindExpected(const EvalCmd& cmd, const metrics::Labels& labels) {
    for (const ExpectedSeries& e : cmd.series) {
      if (e.labels == labels) return &e;
    }
    return nullptr;
  }

  static std::vector<std::string> Missing(const EvalCmd& cmd,
                                          const std::vector<const ExpectedSeries*>& seen) {
    std::vector<std::string> diffs;
    for (const ExpectedSeries& e : cmd.series) {
      if (std::find(seen.begin(), seen.end(), &e) != seen.end()) continue;
      std::vector<std::string> vals;
      for (const SeqValue& v : e.values) {
        vals.push_back(v.kind == SeqValue::Kind::kOmitted ? "_" : FormatValue(v.v));
      }
      diffs.push_back("missing " + metrics::ToString(e.labels) + " " + Join(vals, " "));
    }
    return diffs;
  }

  static std::vector<std::string> CompareVector(const EvalCmd& cmd, const Vector& got) {
    if (cmd.scalar || cmd.string) {
      return {"expected " + DescribeExpected(cmd) + ", got " + DescribeValue(Value(got))};
    }
    std::vector<std::string> diffs;
    std::vector<const ExpectedSeries*> seen;
    for (size_t pos = 0; pos < got.size(); ++pos) {
      const VectorElement& el = got[pos];
      const std::string name = metrics::ToString(el.metric);
      const ExpectedSeries* exp = FindExpected(cmd, el.metric);
      if (exp == nullptr) {
        diffs.push_back("unexpected " + name + " " + FormatValue(el.v));
        continue;
      }
      if (std::find(seen.begin(), seen.end(), exp) != seen.end()) {
        diffs.push_back(name + " appears more than once in the result");
        continue;
      }
      seen.push_back(exp);
      if (cmd.ordered && exp->pos != static_cast<int>(pos) + 1) {
        diffs.push_back(name + " at position " + std::to_string(pos + 1) + ", expected at " +
                        std::to_string(exp->pos));
      }
      const SeqValue& want = exp->values[0];
      if (want.kind == SeqValue::Kind::kOmitted) {
        diffs.push_back(name + ": expected no sample (_), got " + FormatValue(el.v));
      } else if (!AlmostEqual(want.v, el.v)) {
        diffs.push_back(name + ": expected " + FormatValue(want.v) + ", got " + FormatValue(el.v));
      }
    }
    std::vector<std::string> missing = Missing(cmd, seen);
    diffs.insert(diffs.end(), missing.begin(), missing.end());
    return diffs;
  }

  static std::vector<std::string> CompareMatrix(const EvalCmd& cmd, const Matrix& got) {
    if (cmd.scalar || cmd.string) {
      return {"expected " + DescribeExpected(cmd) + ", got " + DescribeValue(Value(got))};
    }
    if (cmd.ordered) return {"expected an ordered result, but the query returned a matrix"};
    if (!cmd.is_range && !cmd.range_vector && !cmd.series.empty()) {
      return {"the query returned a range vector " + DescribeValue(Value(got)) +
              "; expected values of a range vector need 'expect range vector from .. to .. step "
              "..'"};
    }
    std::vector<std::string> diffs;
    for (size_t i = 1; i < got.size(); ++i) {
      if (got[i].metric < got[i - 1].metric) {
        diffs.push_back("matrix not sorted by labels: " + metrics::ToString(got[i].metric) +
                        " after " + metrics::ToString(got[i - 1].metric));
        break;
      }
    }
    std::vector<const ExpectedSeries*> seen;
    for (const MatrixSeries& s : got) {
      const std::string name = metrics::ToString(s.metric);
      const ExpectedSeries* exp = FindExpected(cmd, s.metric);
      if (exp == nullptr) {
        diffs.push_back("unexpected " + name + " " + FormatPoints(s.samples));
        continue;
      }
      if (std::find(seen.begin(), seen.end(), exp) != seen.end()) {
        diffs.push_back(name + " appears more than once in the result");
        continue;
      }
      seen.push_back(exp);
      std::vector<metrics::Sample> want;
      bool too_many = false;
      for (size_t k = 0; k < exp->values.size(); ++k) {
        const int64_t t = cmd.start + static_cast<int64_t>(k) * cmd.step;
        if (t > cmd.end) {
          too_many = true;
          break;
        }
        if (exp->values[k].kind != SeqValue::Kind::kOmitted) want.push_back({t, exp->values[k].v});
      }
      if (too_many) {
        diffs.push_back(name + ": " + std::to_string(exp->values.size()) +
                        " values expected, but the time range has only " +
                        std::to_string((cmd.end - cmd.start) / cmd.step + 1) + " steps");
        continue;
      }
      if (want.size() != s.samples.size()) {
        diffs.push_back(name + ": expected " + FormatPoints(want) + ", got " +
                        FormatPoints(s.samples));
        continue;
      }
      for (size_t k = 0; k < want.size(); ++k) {
        if (want[k].t != s.samples[k].t || !AlmostEqual(want[k].v, s.samples[k].v)) {
          diffs.push_back(name + ": expected " + FormatPoints(want) + ", got " +
                          FormatPoints(s.samples));
          break;
        }
      }
    }
    std::vector<std::string> missing = Missing(cmd, seen);
    diffs.insert(diffs.end(), missing.begin(), missing.end());
    return diffs;
  }

  SystemClock clock_;
  metrics::MemStorage storage_;
  metrics::MemStorage histograms_;  // Series with native histogram samples (identity only).
  Engine engine_;
};

}  // namespace

Result<ScriptReport> RunScript(std::string_view name, std::string_view script) {
  PLATOPS_ASSIGN_OR_RETURN(std::vector<Command> cmds, ScriptParser(name, script).Parse());
  Runner runner;
  return runner.Run(cmds);
}

std::string FormatCounts(const ScriptReport& report) {
  return std::to_string(report.passed) + " passed, " + std::to_string(report.failed) + " failed, " +
         std::to_string(report.skipped) + " skipped";
}

}  // namespace platops::promql
