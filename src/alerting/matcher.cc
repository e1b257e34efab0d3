#include "alerting/matcher.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <utility>

namespace platops::alerting {
namespace {

constexpr char32_t kRuneError = 0xfffd;
constexpr std::string_view kRuneErrorUtf8 = "\xef\xbf\xbd";

// Go's regexp `\s`: ASCII whitespace without \v.
bool IsRegexSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

// Go's unicode.IsSpace (the White_Space property), which strings.TrimSpace uses.
bool IsUnicodeSpace(char32_t r) {
  switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200a;
  }
}

// strings.TrimSpace for valid UTF-8.
std::string_view TrimSpace(std::string_view s) {
  size_t begin = s.size(), end = 0;
  for (size_t i = 0; i < s.size();) {
    auto [r, len] = DecodeRune(s, i);
    if (!IsUnicodeSpace(r)) {
      if (begin == s.size()) begin = i;
      end = i + len;
    }
    i += len;
  }
  return begin < end ? s.substr(begin, end - begin) : std::string_view();
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto [r, len] = DecodeRune(s, i);
    if (r == kRuneError && len == 1) return false;
    i += len;
  }
  return true;
}

// Go's regexp/syntax ErrorCode text for an RE2 error code.
std::string_view GoRegexpErrorText(re2::RE2::ErrorCode code) {
  switch (code) {
    case re2::RE2::ErrorBadEscape:
      return "invalid escape sequence";
    case re2::RE2::ErrorBadCharClass:
      return "invalid character class";
    case re2::RE2::ErrorBadCharRange:
      return "invalid character class range";
    case re2::RE2::ErrorMissingBracket:
      return "missing closing ]";
    case re2::RE2::ErrorMissingParen:
      return "missing closing )";
    case re2::RE2::ErrorUnexpectedParen:
      return "unexpected )";
    case re2::RE2::ErrorTrailingBackslash:
      return "trailing backslash at end of expression";
    case re2::RE2::ErrorRepeatArgument:
      return "missing argument to repetition operator";
    case re2::RE2::ErrorRepeatSize:
      return "invalid repeat count";
    case re2::RE2::ErrorRepeatOp:
      return "invalid nested repetition operator";
    case re2::RE2::ErrorBadPerlOp:
      return "invalid or unsupported Perl syntax";
    case re2::RE2::ErrorBadUTF8:
      return "invalid UTF-8";
    case re2::RE2::ErrorBadNamedCapture:
      return "invalid named capture";
    case re2::RE2::ErrorPatternTooLarge:
      return "expression too large";
    default:
      return "regexp/syntax: internal error";
  }
}

// The OpenMetrics escaping Alertmanager applies to values it prints.
std::string OpenMetricsEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string_view MatchTypeString(MatchType type) {
  switch (type) {
    case MatchType::kEqual:
      return "=";
    case MatchType::kNotEqual:
      return "!=";
    case MatchType::kRegex:
      return "=~";
    case MatchType::kNotRegex:
      return "!~";
  }
  return "?";
}

Matcher::Matcher(MatchType type, std::string name, std::string value)
    : type_(type), name_(std::move(name)), value_(std::move(value)) {}

Result<Matcher> Matcher::Create(MatchType type, std::string name, std::string value) {
  Matcher matcher(type, std::move(name), std::move(value));
  if (type == MatchType::kRegex || type == MatchType::kNotRegex) {
    re2::RE2::Options options;
    options.set_log_errors(false);
    const std::string pattern = "^(?:" + matcher.value_ + ")$";
    auto re = std::make_shared<const re2::RE2>(pattern, options);
    if (!re->ok()) {
      const bool too_large = re->error_code() == re2::RE2::ErrorPatternTooLarge;
      return InvalidArgument(fmt::format("matcher {}: error parsing regexp: {}: `{}`",
                                         matcher.String(), GoRegexpErrorText(re->error_code()),
                                         too_large ? pattern : re->error_arg()));
    }
    matcher.re_ = std::move(re);
  }
  return matcher;
}

bool Matcher::Matches(std::string_view label_value) const {
  switch (type_) {
    case MatchType::kEqual:
      return label_value == value_;
    case MatchType::kNotEqual:
      return label_value != value_;
    case MatchType::kRegex:
      return re2::RE2::PartialMatch(label_value, *re_);
    case MatchType::kNotRegex:
      return !re2::RE2::PartialMatch(label_value, *re_);
  }
  return false;
}

std::string Matcher::String() const {
  return fmt::format("{}{}\"{}\"", name_, MatchTypeString(type_), OpenMetricsEscape(value_));
}

bool Matcher::operator==(const Matcher& other) const {
  return type_ == other.type_ && name_ == other.name_ && value_ == other.value_;
}

bool MatchesAll(const std::vector<Matcher>& matchers, const LabelSet& labels) {
  for (const Matcher& m : matchers) {
    if (!m.Matches(labels.Get(m.name()))) return false;
  }
  return true;
}

std::string MatchersString(const std::vector<Matcher>& matchers) {
  std::string out = "{";
  for (size_t i = 0; i < matchers.size(); ++i) {
    if (i > 0) out += ',';
    out += matchers[i].String();
  }
  out += '}';
  return out;
}

Result<Matcher> ParseMatcher(std::string_view input) {
  const auto bad_format = [&] {
    return InvalidArgument(fmt::format("bad matcher format: {}", input));
  };
  const size_t n = input.size();
  size_t i = 0;
  while (i < n && IsRegexSpace(input[i])) ++i;
  if (i == n || !IsNameStart(input[i])) return bad_format();
  const size_t name_begin = i;
  while (i < n && IsNameChar(input[i])) ++i;
  std::string name(input.substr(name_begin, i - name_begin));
  while (i < n && IsRegexSpace(input[i])) ++i;

  // "=~" before "=": the longer operator wins where both fit.
  const std::string_view rest = input.substr(i);
  MatchType type;
  if (rest.starts_with("=~")) {
    type = MatchType::kRegex;
    i += 2;
  } else if (rest.starts_with("=")) {
    type = MatchType::kEqual;
    i += 1;
  } else if (rest.starts_with("!=")) {
    type = MatchType::kNotEqual;
    i += 2;
  } else if (rest.starts_with("!~")) {
    type = MatchType::kNotRegex;
    i += 2;
  } else {
    return bad_format();
  }
  while (i < n && IsRegexSpace(input[i])) ++i;
  size_t end = n;
  while (end > i && IsRegexSpace(input[end - 1])) --end;
  const std::string_view written = input.substr(i, end - i);

  std::string_view raw = written;
  bool expect_trailing_quote = false;
  if (raw.starts_with('"')) {
    raw.remove_prefix(1);
    expect_trailing_quote = true;
  }
  if (!IsValidUtf8(raw)) {
    return InvalidArgument(fmt::format("matcher value not valid UTF-8: {}", written));
  }
  const auto unescaped_quote = [&] {
    return InvalidArgument(
        fmt::format("matcher value contains unescaped double quote: {}", written));
  };
  std::string value;
  value.reserve(raw.size());
  bool escaped = false;
  for (size_t j = 0; j < raw.size(); ++j) {
    const char c = raw[j];  // escapes and quotes are ASCII; other bytes are copied through
    if (escaped) {
      escaped = false;
      switch (c) {
        case 'n':
          value.push_back('\n');
          break;
        case '"':
        case '\\':
          value.push_back(c);
          break;
        default:  // not an escape: the backslash stands for itself
          value.push_back('\\');
          value.push_back(c);
      }
      continue;
    }
    switch (c) {
      case '\\':
        if (j + 1 < raw.size()) {
          escaped = true;
        } else {
          value.push_back('\\');  // a final backslash stands for itself
        }
        break;
      case '"':
        if (!expect_trailing_quote || j + 1 < raw.size()) return unescaped_quote();
        expect_trailing_quote = false;
        break;
      default:
        value.push_back(c);
    }
  }
  if (expect_trailing_quote) return unescaped_quote();
  return Matcher::Create(type, std::move(name), std::move(value));
}

Result<std::vector<Matcher>> ParseMatchers(std::string_view input) {
  std::string_view s = input;
  if (s.starts_with('{')) s.remove_prefix(1);
  if (s.ends_with('}')) s.remove_suffix(1);

  std::vector<std::string> tokens;
  std::string token;
  bool inside_quotes = false;
  bool escaped = false;
  for (size_t i = 0; i < s.size();) {
    const auto [r, len] = DecodeRune(s, i);
    const std::string_view bytes =
        (r == kRuneError && len == 1) ? kRuneErrorUtf8 : s.substr(i, len);
    i += len;
    switch (r) {
      case ',':
        if (!inside_quotes) {
          tokens.push_back(std::move(token));
          token.clear();
          continue;
        }
        break;
      case '"':
        if (!escaped) {
          inside_quotes = !inside_quotes;
        } else {
          escaped = false;
        }
        break;
      case '\\':
        escaped = !escaped;
        break;
      default:
        escaped = false;
    }
    token += bytes;
  }
  if (std::string_view last = TrimSpace(token); !last.empty()) tokens.emplace_back(last);

  std::vector<Matcher> matchers;
  matchers.reserve(tokens.size());
  for (const std::string& t : tokens) {
    PLATOPS_ASSIGN_OR_RETURN(Matcher m, ParseMatcher(t));
    matchers.push_back(std::move(m));
  }
  return matchers;
}

}  // namespace platops::alerting
