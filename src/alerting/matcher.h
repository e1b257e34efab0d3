#pragma once
// Alertmanager label matchers (pkg/labels of Alertmanager 0.25): the four match types, regular
// expressions anchored at both ends, matching against label sets where an absent label reads as
// "", their printed form, and the classic matcher parser used by amtool, the API's `filter`
// parameters and `matchers:` in the configuration.
// Thread-safety: Matcher is immutable after Create; copies share the compiled expression and are
// safe to use from many threads.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "alerting/label_set.h"
#include "base/status.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace platops::alerting {

enum class MatchType { kEqual, kNotEqual, kRegex, kNotRegex };

// The operator as written in a matcher: "=", "!=", "=~", "!~".
std::string_view MatchTypeString(MatchType type);

class Matcher {
 public:
  // A matcher of `name` against `value`. For kRegex and kNotRegex, `value` is an RE2 expression
  // that must match the whole label value (it is compiled as `^(?:value)$`); one that does not
  // compile is an InvalidArgument naming the matcher and ending in Go's wording of the problem:
  // "matcher foo=~\"a[\": error parsing regexp: missing closing ]: `[)$`". The name is not
  // checked here (the parser and the callers that need it do).
  static Result<Matcher> Create(MatchType type, std::string name, std::string value);

  MatchType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }

  // Whether a label value (use "" for an absent label) satisfies the matcher.
  bool Matches(std::string_view label_value) const;
  // Whether the matcher accepts "", i.e. an absent label.
  bool MatchesEmpty() const { return Matches({}); }

  // The matcher as Alertmanager prints it: `name="value"`, `name=~"regex"`, ..., with `\`, `"`
  // and newline in the value escaped as `\\`, `\"` and `\n`.
  std::string String() const;

  // Same type, name and value.
  bool operator==(const Matcher& other) const;

 private:
  Matcher(MatchType type, std::string name, std::string value);

  MatchType type_;
  std::string name_;
  std::string value_;
  std::shared_ptr<const re2::RE2> re_;  // set for kRegex and kNotRegex only
};

// Whether every matcher accepts its label's value in `labels`, reading an absent label as "":
// `foo!="bar"` and `foo=""` accept a set without foo. An empty list accepts every set.
bool MatchesAll(const std::vector<Matcher>& matchers, const LabelSet& labels);

// A list as Alertmanager prints labels.Matchers: `{foo="bar",job=~"node.*"}`.
std::string MatchersString(const std::vector<Matcher>& matchers);

// Parses one matcher with Alertmanager's classic grammar: optional whitespace, a name
// `[a-zA-Z_:][a-zA-Z0-9_:]*`, whitespace, one of `=~ = != !~`, whitespace, and a value that runs to
// the end of the input less trailing whitespace. A value starting with `"` must end with its
// closing `"`; inside, `\"`, `\\` and `\n` are escapes and any other `\` is literal; an unescaped
// `"` elsewhere is an error. Errors use Alertmanager's wording:
//   bad matcher format: <input>
//   matcher value not valid UTF-8: <value>
//   matcher value contains unescaped double quote: <value>
Result<Matcher> ParseMatcher(std::string_view input);

// Parses a comma-separated list as Alertmanager's classic ParseMatchers: one leading `{` and one
// trailing `}` are dropped; commas inside double quotes (not preceded by an unescaped `\`) do not
// separate; a trailing comma is allowed; "" and "{}" are an empty list. Everything else follows
// ParseMatcher, so `{foo=}` is foo="" and `{foo=bar}}` is foo="bar}". As in Alertmanager, invalid
// UTF-8 bytes become U+FFFD here rather than failing.
Result<std::vector<Matcher>> ParseMatchers(std::string_view input);

}  // namespace platops::alerting
