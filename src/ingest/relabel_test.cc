#include "ingest/relabel.h"

#include <boost/json.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ingest/file_sd.h"

namespace platops::ingest {
namespace {

using metrics::Labels;
using ::testing::HasSubstr;

Labels L(std::vector<std::pair<std::string, std::string>> pairs) {
  Labels out;
  for (auto& [n, v] : pairs) out.push_back({n, v});
  return metrics::Normalize(std::move(out));
}

class RelabelTest : public ::testing::Test {
 protected:
  // Parses a YAML list of relabel_config the way prometheus.yml spells them.
  static Result<std::vector<RelabelConfig>> Parse(std::string_view yaml,
                                                  std::string_view path = "rules") {
    auto doc = PromYamlToJson(yaml);
    if (!doc.ok()) return doc.status();
    return ParseRelabelConfigs(doc.value(), path);
  }

  static std::vector<RelabelConfig> Rules(std::string_view yaml) {
    auto rules = Parse(yaml);
    EXPECT_TRUE(rules.ok()) << rules.status().ToString();
    return rules.ok() ? rules.value() : std::vector<RelabelConfig>{};
  }

  // The relabeled set, or nullopt when dropped.
  static std::optional<Labels> Apply(std::string_view yaml, Labels labels) {
    auto rules = Rules(yaml);
    if (!Relabel(rules, labels)) return std::nullopt;
    return labels;
  }

  static Status ParseError(std::string_view yaml) {
    auto rules = Parse(yaml);
    EXPECT_FALSE(rules.ok()) << "expected an error for:\n" << yaml;
    return rules.ok() ? Status::Ok() : rules.status();
  }
};

// --- replace ---

TEST_F(RelabelTest, ReplaceExpandsGroupsIntoReplacement) {
  auto out = Apply(R"(
- source_labels: [a]
  regex: f(.*)
  target_label: d
  replacement: ch${1}-ch$1
)",
                   L({{"a", "foo"}, {"b", "bar"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, L({{"a", "foo"}, {"b", "bar"}, {"d", "choo-choo"}}));
}

TEST_F(RelabelTest, ReplaceJoinsSourcesWithSeparatorAndChains) {
  auto out = Apply(R"(
- source_labels: [a, b]
  regex: f(.*);(.*)r
  target_label: a
  replacement: b${1}${2}m
- source_labels: [c, a]
  regex: (b).*b(.*)ba(.*)
  target_label: d
  replacement: $1$2$2$3
)",
                   L({{"a", "foo"}, {"b", "bar"}, {"c", "baz"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, L({{"a", "boobam"}, {"b", "bar"}, {"c", "baz"}, {"d", "boooom"}}));
}

TEST_F(RelabelTest, ReplaceWithoutMatchChangesNothing) {
  auto out = Apply(R"(
- source_labels: [a]
  regex: f
  target_label: b
  replacement: bar
)",
                   L({{"a", "boo"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, L({{"a", "boo"}}));
}

TEST_F(RelabelTest, ReplaceDefaultsCopySourceToTarget) {
  auto out = Apply("- {source_labels: [__address__], target_label: instance}",
                   L({{"__address__", "10.0.0.1:9100"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(metrics::Get(*out, "instance"), "10.0.0.1:9100");
}

TEST_F(RelabelTest, ReplaceStaticValueWithoutSourceLabels) {
  auto out = Apply("- {target_label: env, replacement: prod}", L({{"a", "1"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, L({{"a", "1"}, {"env", "prod"}}));
}

TEST_F(RelabelTest, ReplaceWithEmptyResultRemovesTarget) {
  // An absent source label reads as "": (.*) matches it and $1 is empty, so `b` goes away.
  auto out = Apply("- {source_labels: [missing], target_label: b}", L({{"a", "x"}, {"b", "y"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, L({{"a", "x"}}));
}

TEST_F(RelabelTest, ReplaceTargetLabelTemplate) {
  auto out = Apply(R"(
- source_labels: [a]
  regex: some-([^-]+)-([^,]+)
  target_label: ${1}
  replacement: ${2}
)",
                   L({{"a", "some-name-value"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, L({{"a", "some-name-value"}, {"name", "value"}}));
}

TEST_F(RelabelTest, ReplaceSkipsWhenExpandedTargetIsNotALabelName) {
  // "${3}" names no group (empty name); "${1}" expands to "0abc", which starts with a digit.
  auto out = Apply(R"(
- {source_labels: [a], regex: 'some-([^-]+)-([^,]+)', target_label: '${3}', replacement: '${1}'}
- {source_labels: [b], regex: '(.*)', target_label: '${1}', replacement: x}
)",
                   L({{"a", "some-name-value"}, {"b", "0abc"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, L({{"a", "some-name-value"}, {"b", "0abc"}}));
}

TEST_F(RelabelTest, ReplacementFollowsGoExpandRules) {
  struct Case {
    std::string replacement;
    std::string want;
  };
  // Source "abc" against (?P<first>a)(b)(c)?(x)?
  const Case cases[] = {
      {"$1-$2-$3", "a-b-c"},
      {"${1}x", "ax"},
      {"$1x", ""},            // The name is "1x": no such group, nothing.
      {"$$1", "$1"},          // "$$" is a literal dollar.
      {"cost$", "cost$"},     // A trailing '$' stays.
      {"$-1", "$-1"},         // '$' not followed by a name stays.
      {"${1", "${1"},         // No closing brace: the '$' stays.
      {"$01", ""},            // Leading zero: a name, not a number.
      {"$first$2", "ab"},     // Named group.
      {"${first}_$4", "a_"},  // Group 4 did not participate.
      {"$9", ""},             // Beyond the groups.
  };
  for (const auto& c : cases) {
    RelabelConfig rule;
    rule.source_labels = {"src"};
    rule.regex = "(?P<first>a)(b)(c)?(x)?";
    rule.target_label = "out";
    rule.replacement = c.replacement;
    ASSERT_TRUE(rule.Compile().ok()) << c.replacement;
    Labels labels = L({{"src", "abc"}});
    ASSERT_TRUE(Relabel(std::span(&rule, 1), labels));
    EXPECT_EQ(metrics::Get(labels, "out"), c.want) << "replacement " << c.replacement;
  }
}

TEST_F(RelabelTest, RegexIsFullyAnchoredAndDotMatchesNewline) {
  EXPECT_FALSE(Apply("- {source_labels: [a], regex: o, action: keep}", L({{"a", "foo"}})));
  EXPECT_TRUE(Apply("- {source_labels: [a], regex: 'f|o', action: drop}", L({{"a", "foo"}})));
  EXPECT_TRUE(
      Apply("- {source_labels: [a], regex: 'foo.bar', action: keep}", L({{"a", "foo\nbar"}})));
}

// --- keep / drop / keepequal / dropequal ---

TEST_F(RelabelTest, KeepAndDrop) {
  EXPECT_TRUE(Apply("- {source_labels: [a], regex: 'f.*', action: keep}", L({{"a", "foo"}})));
  EXPECT_FALSE(Apply("- {source_labels: [a], regex: no-match, action: keep}", L({{"a", "foo"}})));
  EXPECT_FALSE(Apply("- {source_labels: [a], regex: '.*o.*', action: drop}", L({{"a", "foo"}})));
  EXPECT_TRUE(Apply("- {source_labels: [a], regex: no-match, action: drop}", L({{"a", "foo"}})));
}

TEST_F(RelabelTest, EmptySourceMatchesEmptyRegex) {
  // The classic "drop series without a label": an absent label is the empty string.
  const char* rule = "- {source_labels: [team], regex: '', action: drop}";
  EXPECT_FALSE(Apply(rule, L({{"__name__", "up"}})));
  EXPECT_TRUE(Apply(rule, L({{"__name__", "up"}, {"team", "db"}})));
}

TEST_F(RelabelTest, DropStopsTheChain) {
  auto rules = Rules(R"(
- {source_labels: [a], regex: '.*o.*', action: drop}
- {source_labels: [a], regex: 'f(.*)', target_label: d, replacement: 'ch$1'}
)");
  Labels labels = L({{"a", "foo"}});
  EXPECT_FALSE(Relabel(rules, labels));
}

TEST_F(RelabelTest, KeepEqualAndDropEqual) {
  Labels in = L({{"__tmp_port", "1234"}, {"__port1", "1234"}, {"__port2", "5678"}});
  EXPECT_TRUE(
      Apply("- {source_labels: [__tmp_port], target_label: __port1, action: keepequal}", in));
  EXPECT_FALSE(
      Apply("- {source_labels: [__tmp_port], target_label: __port2, action: keepequal}", in));
  EXPECT_FALSE(
      Apply("- {source_labels: [__tmp_port], target_label: __port1, action: dropequal}", in));
  auto kept =
      Apply("- {source_labels: [__tmp_port], target_label: __port2, action: dropequal}", in);
  ASSERT_TRUE(kept);
  EXPECT_EQ(*kept, in);
}

// --- hashmod ---

TEST_F(RelabelTest, HashModMatchesPrometheus) {
  // Values from Prometheus's own relabel tests (md5, last 8 bytes big-endian, mod 1000).
  auto out = Apply("- {source_labels: [c], target_label: d, modulus: 1000, action: hashmod}",
                   L({{"a", "foo"}, {"c", "baz"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(metrics::Get(*out, "d"), "976");
  out = Apply("- {source_labels: [a], target_label: b, modulus: 1000, action: hashmod}",
              L({{"a", "foo\nbar"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(metrics::Get(*out, "b"), "734");
}

TEST_F(RelabelTest, HashModAcrossMd5BlockBoundaries) {
  // Expected values computed with Python's hashlib the way Prometheus reduces the digest.
  struct Case {
    std::string value;
    uint64_t modulus;
    std::string want;
  };
  const Case cases[] = {
      {std::string(55, 'x'), 1000003, "103167"},  // Padding fits in the block.
      {std::string(56, 'y'), 1000003, "347644"},  // Padding spills into a second block.
      {std::string(64, 'z'), 1000003, "975156"},  // Exactly one block of data.
      {"node-exporter-" + std::string(116, 'a'), 1000003, "958686"},
      {"", 7, "1"},
      {"10.0.0.1:9100", 9223372036854775809ull, "5548061184049187645"},
  };
  for (const auto& c : cases) {
    RelabelConfig rule;
    rule.source_labels = {"v"};
    rule.target_label = "shard";
    rule.modulus = c.modulus;
    rule.action = RelabelAction::kHashMod;
    ASSERT_TRUE(rule.Compile().ok());
    Labels labels = L({{"v", c.value}});
    ASSERT_TRUE(Relabel(std::span(&rule, 1), labels));
    EXPECT_EQ(metrics::Get(labels, "shard"), c.want) << "value of length " << c.value.size();
  }
}

TEST_F(RelabelTest, HashModShardsOnJoinedSources) {
  auto out = Apply(R"(
- {source_labels: [__address__, job], target_label: __tmp_hash, modulus: 4, action: hashmod}
- {source_labels: [__tmp_hash], regex: '0', action: keep}
)",
                   L({{"__address__", "10.0.0.1:9100"}, {"job", "node"}}));
  // md5("10.0.0.1:9100;node") reduces to 0 mod 4, so this shard keeps the target.
  ASSERT_TRUE(out);
  EXPECT_EQ(metrics::Get(*out, "__tmp_hash"), "0");
}

// --- labelmap / labeldrop / labelkeep ---

TEST_F(RelabelTest, LabelMapCopiesMatchingLabels) {
  auto out = Apply("- {regex: '(b.*)', replacement: 'bar_${1}', action: labelmap}",
                   L({{"a", "foo"}, {"b1", "bar"}, {"b2", "baz"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out,
            L({{"a", "foo"}, {"b1", "bar"}, {"b2", "baz"}, {"bar_b1", "bar"}, {"bar_b2", "baz"}}));
}

TEST_F(RelabelTest, LabelMapPromotesMetaLabels) {
  auto out = Apply("- {regex: '__meta_(my.*)', action: labelmap}",
                   L({{"a", "foo"}, {"__meta_my_bar", "aaa"}, {"__meta_other", "ccc"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(
      *out,
      L({{"a", "foo"}, {"__meta_my_bar", "aaa"}, {"__meta_other", "ccc"}, {"my_bar", "aaa"}}));
}

TEST_F(RelabelTest, LabelDropAndLabelKeep) {
  Labels in = L({{"a", "foo"}, {"b1", "bar"}, {"b2", "baz"}});
  auto dropped = Apply("- {regex: 'b.*', action: labeldrop}", in);
  ASSERT_TRUE(dropped);
  EXPECT_EQ(*dropped, L({{"a", "foo"}}));
  auto kept = Apply("- {regex: 'b.*', action: labelkeep}", in);
  ASSERT_TRUE(kept);
  EXPECT_EQ(*kept, L({{"b1", "bar"}, {"b2", "baz"}}));
}

// --- lowercase / uppercase ---

TEST_F(RelabelTest, LowercaseAndUppercase) {
  auto out = Apply(R"(
- {source_labels: [foo], target_label: foo_uppercase, action: uppercase}
- {source_labels: [foo], target_label: foo_lowercase, action: lowercase}
)",
                   L({{"foo", "bAr123Foo"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(
      *out,
      L({{"foo", "bAr123Foo"}, {"foo_lowercase", "bar123foo"}, {"foo_uppercase", "BAR123FOO"}}));
}

TEST_F(RelabelTest, CaseMappingIsUnicodeAware) {
  // Like Go's strings.ToUpper: simple case mapping, so "ß" stays as it is.
  auto out = Apply(R"(
- {source_labels: [v], target_label: up, action: uppercase}
- {source_labels: [v], target_label: down, action: lowercase}
)",
                   L({{"v", "Grüße σΣ İ"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(metrics::Get(*out, "up"), "GRÜßE ΣΣ İ");
  EXPECT_EQ(metrics::Get(*out, "down"), "grüße σσ i");
}

// --- output contract ---

TEST_F(RelabelTest, OutputIsNormalizedEvenForUnsortedInput) {
  Labels labels = {{"z", "1"}, {"a", "2"}, {"m", ""}};
  auto rules = Rules("- {target_label: b, replacement: x}");
  ASSERT_TRUE(Relabel(rules, labels));
  EXPECT_EQ(labels, L({{"a", "2"}, {"b", "x"}, {"z", "1"}}));
}

TEST_F(RelabelTest, UncompiledConfigIsAProgrammerError) {
  RelabelConfig rule;
  rule.target_label = "x";
  Labels labels = L({{"a", "1"}});
  EXPECT_THROW(Relabel(std::span(&rule, 1), labels), std::logic_error);
}

// --- parsing and validation ---

TEST_F(RelabelTest, ParsesDefaultsAndCaseInsensitiveActions) {
  auto rules = Rules(R"(
- target_label: t
- {action: LabelDrop, regex: tmp_.*}
- {action: HashMod, source_labels: [a], target_label: s, modulus: '8'}
)");
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].action, RelabelAction::kReplace);
  EXPECT_EQ(rules[0].separator, ";");
  EXPECT_EQ(rules[0].regex, "(.*)");
  EXPECT_EQ(rules[0].replacement, "$1");
  EXPECT_EQ(rules[1].action, RelabelAction::kLabelDrop);
  EXPECT_EQ(rules[2].modulus, 8u);
}

TEST_F(RelabelTest, NullRegexMatchesOnlyTheEmptyString) {
  // As in Prometheus (its conf.good.yml): `regex:` with no value is the empty regex.
  auto rules = Rules("- {regex: null, target_label: abc, replacement: static, source_labels: [x]}");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].regex, "");
  Labels with_x = L({{"x", "1"}});
  ASSERT_TRUE(Relabel(rules, with_x));
  EXPECT_EQ(metrics::Get(with_x, "abc"), "");
  Labels without_x = L({{"y", "1"}});
  ASSERT_TRUE(Relabel(rules, without_x));
  EXPECT_EQ(metrics::Get(without_x, "abc"), "static");
}

TEST_F(RelabelTest, ErrorsNameThePath) {
  auto rules = Parse(R"(
- {target_label: a}
- {target_label: b}
- {action: foo}
)",
                     "scrape_configs[0].metric_relabel_configs");
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rules.status().field(), "scrape_configs[0].metric_relabel_configs[2].action");
  EXPECT_EQ(rules.status().message(), "unknown action \"foo\"");
}

TEST_F(RelabelTest, ValidationMatchesPrometheus) {
  struct Case {
    std::string yaml;
    std::string field;
    std::string message;
  };
  const Case cases[] = {
      {"- {source_labels: [a]}", "rules[0].target_label",
       "relabel configuration for replace action requires 'target_label' value"},
      {"- {target_label: -foo}", "rules[0].target_label",
       "\"-foo\" is invalid 'target_label' for replace action"},
      {"- {target_label: 'foo${'}", "rules[0].target_label",
       "\"foo${\" is invalid 'target_label' for replace action"},
      {"- {action: hashmod, source_labels: [a], target_label: s}", "rules[0].modulus",
       "relabel configuration for hashmod requires non-zero modulus"},
      {"- {action: lowercase, source_labels: [a], target_label: '${1}'}", "rules[0].target_label",
       "\"${1}\" is invalid 'target_label' for lowercase action"},
      {"- {action: uppercase, source_labels: [a], target_label: b, replacement: x}",
       "rules[0].replacement", "'replacement' can not be set for uppercase action"},
      {"- {action: keepequal, source_labels: [a], target_label: b, regex: '(.*)'}",
       "rules[0].regex",
       "keepequal action requires only 'source_labels' and 'target_label', and no other fields"},
      {"- {action: dropequal, source_labels: [a], target_label: b, separator: ','}",
       "rules[0].separator",
       "dropequal action requires only 'source_labels' and 'target_label', and no other fields"},
      {"- {action: labeldrop, regex: a, source_labels: []}", "rules[0].source_labels",
       "labeldrop action requires only 'regex', and no other fields"},
      {"- {action: labelkeep, regex: a, target_label: b}", "rules[0].target_label",
       "labelkeep action requires only 'regex', and no other fields"},
      {"- {action: labelmap, regex: '(.*)', replacement: '-x'}", "rules[0].replacement",
       "\"-x\" is invalid 'replacement' for labelmap action"},
      {"- {source_labels: [a-b], target_label: c}", "rules[0].source_labels[0]",
       "\"a-b\" is not a valid label name"},
      {"- {sourcelabels: [a], target_label: c}", "rules[0].sourcelabels",
       "unknown field \"sourcelabels\" in relabel_config"},
      {"- {action: hashmod, source_labels: [a], target_label: s, modulus: -1}", "rules[0].modulus",
       "must be a non-negative integer"},
      {"- {action: null, target_label: a}", "rules[0].action", "relabel action cannot be empty"},
      {"- null", "rules[0]", "empty or null relabeling rule"},
      {"{target_label: a}", "rules", "must be a list of relabel_config"},
  };
  for (const auto& c : cases) {
    Status st = ParseError(c.yaml);
    EXPECT_EQ(st.field(), c.field) << c.yaml;
    EXPECT_EQ(st.message(), c.message) << c.yaml;
  }
}

TEST_F(RelabelTest, InvalidRegexIsReported) {
  Status st = ParseError("- {source_labels: [a], regex: 'a(b', action: keep}");
  EXPECT_EQ(st.field(), "rules[0].regex");
  EXPECT_THAT(st.message(), HasSubstr("invalid regular expression \"a(b\""));
}

TEST_F(RelabelTest, CompileValidatesProgrammaticRules) {
  RelabelConfig rule;
  rule.action = RelabelAction::kKeepEqual;
  rule.source_labels = {"a"};
  rule.target_label = "b";
  EXPECT_TRUE(rule.Compile().ok());
  rule.modulus = 3;
  Status st = rule.Compile();
  EXPECT_EQ(st.field(), "modulus");
  EXPECT_FALSE(rule.compiled);
}

TEST_F(RelabelTest, ActionNamesRoundTrip) {
  for (auto a : {RelabelAction::kReplace, RelabelAction::kKeep, RelabelAction::kDrop,
                 RelabelAction::kKeepEqual, RelabelAction::kDropEqual, RelabelAction::kHashMod,
                 RelabelAction::kLabelMap, RelabelAction::kLabelDrop, RelabelAction::kLabelKeep,
                 RelabelAction::kLowercase, RelabelAction::kUppercase}) {
    EXPECT_EQ(ParseRelabelAction(RelabelActionName(a)), a);
  }
  EXPECT_FALSE(ParseRelabelAction("replaces"));
}

TEST_F(RelabelTest, LabelNameValidity) {
  EXPECT_TRUE(IsValidLabelName("_a1"));
  EXPECT_TRUE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName(""));
  EXPECT_FALSE(IsValidLabelName("1a"));
  EXPECT_FALSE(IsValidLabelName("a-b"));
  EXPECT_FALSE(IsValidLabelName("ä"));
}

TEST_F(RelabelTest, ScalarTextOfJsonValues) {
  EXPECT_EQ(ScalarText(boost::json::value("x")), "x");
  EXPECT_EQ(ScalarText(boost::json::value(42)), "42");
  EXPECT_EQ(ScalarText(boost::json::value(true)), "true");
  EXPECT_EQ(ScalarText(boost::json::value(1.5)), "1.5");
  EXPECT_EQ(ScalarText(boost::json::value(nullptr)), "");
  EXPECT_FALSE(ScalarText(boost::json::value(boost::json::array{1})));
}

}  // namespace
}  // namespace platops::ingest
