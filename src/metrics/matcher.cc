#include "metrics/matcher.h"

#include <re2/re2.h>

#include <algorithm>

namespace platops::metrics {
namespace {

bool IsMeta(char c) {
  switch (c) {
    case '\\': case '.': case '+': case '*': case '?': case '(': case ')': case '|':
    case '[': case ']': case '{': case '}': case '^': case '$':
      return true;
    default:
      return false;
  }
}

bool IsLiteral(std::string_view s) { return std::none_of(s.begin(), s.end(), IsMeta); }

// Splits `a|b|c` into literals; false when any part is not a plain literal.
bool SplitLiteralAlternation(std::string_view re, std::vector<std::string>& out) {
  size_t start = 0;
  while (true) {
    size_t bar = re.find('|', start);
    std::string_view part = re.substr(start, bar == std::string_view::npos ? re.npos : bar - start);
    if (!IsLiteral(part)) return false;
    out.emplace_back(part);
    if (bar == std::string_view::npos) return true;
    start = bar + 1;
  }
}

}  // namespace

CompiledMatcher::CompiledMatcher(CompiledMatcher&&) noexcept = default;
CompiledMatcher& CompiledMatcher::operator=(CompiledMatcher&&) noexcept = default;
CompiledMatcher::~CompiledMatcher() = default;

Result<CompiledMatcher> CompiledMatcher::Compile(const Matcher& matcher) {
  CompiledMatcher m;
  m.matcher_ = matcher;
  const std::string& v = matcher.value;
  if (matcher.type == MatchType::kEqual || matcher.type == MatchType::kNotEqual) {
    m.is_set_ = true;
    m.set_values_ = {v};
  } else {
    RE2::Options options;
    options.set_log_errors(false);
    options.set_dot_nl(true);
    m.re_ = std::make_unique<RE2>("^(?:" + v + ")$", options);
    if (!m.re_->ok()) {
      return InvalidArgument("invalid regular expression \"" + v + "\": " + m.re_->error(),
                             matcher.name);
    }
    std::vector<std::string> parts;
    if (SplitLiteralAlternation(v, parts)) {
      std::sort(parts.begin(), parts.end());
      parts.erase(std::unique(parts.begin(), parts.end()), parts.end());
      m.is_set_ = true;
      m.set_values_ = std::move(parts);
    } else if (v.size() >= 2 && (v.ends_with(".*") || v.ends_with(".+")) &&
               IsLiteral(std::string_view(v).substr(0, v.size() - 2))) {
      m.prefix_ = v.substr(0, v.size() - 2);
      m.prefix_any_ = v.back() == '*';
      m.prefix_plus_ = v.back() == '+';
    }
  }
  bool positive_empty = m.MatchesPositive("");
  bool negated = matcher.type == MatchType::kNotEqual || matcher.type == MatchType::kRegexNoMatch;
  m.matches_empty_ = negated ? !positive_empty : positive_empty;
  m.negated_ = negated;
  return m;
}

bool CompiledMatcher::MatchesPositive(std::string_view value) const {
  if (is_set_) {
    if (set_values_.size() == 1) return value == set_values_[0];
    return std::binary_search(set_values_.begin(), set_values_.end(), value);
  }
  if (prefix_any_) return value.starts_with(prefix_);
  if (prefix_plus_) return value.size() > prefix_.size() && value.starts_with(prefix_);
  if (!prefix_.empty() && !value.starts_with(prefix_)) return false;
  return RE2::FullMatch(value, *re_);
}

bool CompiledMatcher::Matches(std::string_view value) const {
  return MatchesPositive(value) != negated_;
}

Result<std::vector<CompiledMatcher>> CompileMatchers(std::span<const Matcher> matchers) {
  std::vector<CompiledMatcher> out;
  out.reserve(matchers.size());
  for (const auto& m : matchers) {
    PLATOPS_ASSIGN_OR_RETURN(auto c, CompiledMatcher::Compile(m));
    out.push_back(std::move(c));
  }
  return out;
}

bool MatchesAll(std::span<const CompiledMatcher> matchers, const Labels& labels) {
  for (const auto& m : matchers) {
    if (!m.Matches(Get(labels, m.name()))) return false;
  }
  return true;
}

}  // namespace platops::metrics
