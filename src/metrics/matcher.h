#pragma once
// CompiledMatcher: a label matcher ready to test values, with the usual shortcuts for regexes
// that are really literals, prefixes or sets of literals (`a|b|c`), as in Prometheus.
// Thread-safety: immutable after Compile; Matches may be called from any number of threads.

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "metrics/labels.h"

namespace re2 {
class RE2;
}

namespace platops::metrics {

class CompiledMatcher {
 public:
  // InvalidArgument ("invalid regular expression ...: <reason>") for a regex RE2 rejects.
  static Result<CompiledMatcher> Compile(const Matcher& matcher);

  CompiledMatcher(CompiledMatcher&&) noexcept;
  CompiledMatcher& operator=(CompiledMatcher&&) noexcept;
  ~CompiledMatcher();

  const Matcher& matcher() const { return matcher_; }
  const std::string& name() const { return matcher_.name; }
  // Whether a label value satisfies the matcher; an absent label has the value "".
  bool Matches(std::string_view value) const;
  // True when the matcher accepts the empty value (so it also selects series without the label).
  bool MatchesEmpty() const { return matches_empty_; }
  // For `=` and for regexes that are an alternation of literals (`a|b`): the exact values that
  // match (sorted, unique), so an index can look them up instead of scanning. For `!=` and `!~`
  // the values that do NOT match. Empty when the matcher is not a set.
  const std::vector<std::string>& set_values() const { return set_values_; }
  bool is_set() const { return is_set_; }
  // `!=` or `!~`.
  bool negated() const { return negated_; }
  // For regexes of the form `literal.*` or `literal.+`: the literal prefix; every match starts
  // with it. Empty otherwise.
  const std::string& prefix() const { return prefix_; }

 private:
  CompiledMatcher() = default;
  bool MatchesPositive(std::string_view value) const;

  Matcher matcher_;
  std::unique_ptr<re2::RE2> re_;
  std::vector<std::string> set_values_;
  bool is_set_ = false;       // The positive match is exactly set membership.
  std::string prefix_;
  bool prefix_any_ = false;   // `prefix.*`: every value with the prefix matches.
  bool prefix_plus_ = false;  // `prefix.+`: needs at least one more character.
  bool matches_empty_ = false;
  bool negated_ = false;
};

// Compiles every matcher; the first error is returned.
Result<std::vector<CompiledMatcher>> CompileMatchers(std::span<const Matcher> matchers);
// Whether a label set satisfies every matcher.
bool MatchesAll(std::span<const CompiledMatcher> matchers, const Labels& labels);

}  // namespace platops::metrics
