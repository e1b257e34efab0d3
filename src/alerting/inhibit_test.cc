#include "alerting/inhibit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace platops::alerting {
namespace {

using std::chrono::minutes;

const Timestamp kNow = Timestamp(std::chrono::milliseconds(1767225600000));

std::vector<Matcher> M(std::string_view text) {
  Result<std::vector<Matcher>> matchers = ParseMatchers(text);
  EXPECT_TRUE(matchers.ok()) << matchers.status().ToString();
  return matchers.ok() ? std::move(matchers).value() : std::vector<Matcher>{};
}

InhibitRule Rule(std::string_view source, std::string_view target,
                 std::vector<std::string> equal = {}) {
  return InhibitRule{M(source), M(target), std::move(equal)};
}

InhibitorAlert Firing(LabelSet labels) {
  InhibitorAlert alert;
  alert.fingerprint = Fingerprint(labels);
  alert.labels = std::move(labels);
  alert.starts_at = kNow - minutes(10);
  alert.ends_at = kNow + minutes(5);
  return alert;
}

TEST(InhibitorTest, NoRulesInhibitNothing) {
  Inhibitor inhibitor;
  inhibitor.Update(Firing({{"alertname", "Down"}}));
  EXPECT_EQ(inhibitor.InhibitedBy({{"alertname", "Down"}}, kNow), std::nullopt);
}

TEST(InhibitorTest, SourceInhibitsTargetWithEqualLabels) {
  Inhibitor inhibitor(
      {Rule(R"({severity="critical"})", R"({severity="warning"})", {"cluster", "service"})});
  InhibitorAlert source = Firing(
      {{"alertname", "Down"}, {"severity", "critical"}, {"cluster", "eu"}, {"service", "api"}});
  inhibitor.Update(source);

  struct Case {
    const char* name;
    LabelSet target;
    bool inhibited;
  };
  const std::vector<Case> cases = {
      {"all equal labels agree",
       {{"alertname", "Slow"}, {"severity", "warning"}, {"cluster", "eu"}, {"service", "api"}},
       true},
      {"one equal label differs",
       {{"alertname", "Slow"}, {"severity", "warning"}, {"cluster", "us"}, {"service", "api"}},
       false},
      {"equal label present on the source, absent on the target",
       {{"alertname", "Slow"}, {"severity", "warning"}, {"cluster", "eu"}},
       false},
      {"target matchers do not match",
       {{"alertname", "Slow"}, {"severity", "info"}, {"cluster", "eu"}, {"service", "api"}},
       false},
  };
  for (const Case& c : cases) {
    std::optional<uint64_t> by = inhibitor.InhibitedBy(c.target, kNow);
    if (c.inhibited) {
      EXPECT_EQ(by, source.fingerprint) << c.name;
    } else {
      EXPECT_EQ(by, std::nullopt) << c.name;
    }
  }
}

TEST(InhibitorTest, EqualLabelAbsentOnBothSidesCountsAsEqual) {
  Inhibitor inhibitor({Rule(R"({severity="critical"})", R"({severity="warning"})", {"zone"})});
  InhibitorAlert source = Firing({{"alertname", "Down"}, {"severity", "critical"}});
  inhibitor.Update(source);
  EXPECT_EQ(inhibitor.InhibitedBy({{"alertname", "Slow"}, {"severity", "warning"}}, kNow),
            source.fingerprint);
  // An empty value is the same as an absent label.
  EXPECT_EQ(
      inhibitor.InhibitedBy({{"alertname", "Slow"}, {"severity", "warning"}, {"zone", ""}}, kNow),
      source.fingerprint);
  EXPECT_EQ(
      inhibitor.InhibitedBy({{"alertname", "Slow"}, {"severity", "warning"}, {"zone", "a"}}, kNow),
      std::nullopt);
}

TEST(InhibitorTest, ResolvedSourceNoLongerInhibits) {
  Inhibitor inhibitor({Rule(R"({severity="critical"})", R"({severity="warning"})")});
  InhibitorAlert source = Firing({{"alertname", "Down"}, {"severity", "critical"}});
  source.ends_at = kNow + minutes(1);
  inhibitor.Update(source);
  const LabelSet target = {{"alertname", "Slow"}, {"severity", "warning"}};

  EXPECT_EQ(inhibitor.InhibitedBy(target, kNow), source.fingerprint);
  EXPECT_EQ(inhibitor.InhibitedBy(target, kNow + minutes(1) - std::chrono::milliseconds(1)),
            source.fingerprint);
  // Resolved once its end is reached, without any update.
  EXPECT_EQ(inhibitor.InhibitedBy(target, kNow + minutes(1)), std::nullopt);

  // A source without an end never resolves by time.
  source.ends_at.reset();
  inhibitor.Update(source);
  EXPECT_EQ(inhibitor.InhibitedBy(target, kNow + minutes(600)), source.fingerprint);

  // An update that resolves it ends the inhibition; one that fires again restores it.
  source.ends_at = kNow - minutes(1);
  inhibitor.Update(source);
  EXPECT_EQ(inhibitor.InhibitedBy(target, kNow), std::nullopt);
  source.ends_at = kNow + minutes(5);
  inhibitor.Update(source);
  EXPECT_EQ(inhibitor.InhibitedBy(target, kNow), source.fingerprint);

  inhibitor.Remove(source.fingerprint);
  EXPECT_EQ(inhibitor.size(), 0u);
  EXPECT_EQ(inhibitor.InhibitedBy(target, kNow), std::nullopt);
  inhibitor.Remove(source.fingerprint);  // unknown: ignored
}

TEST(InhibitorTest, FirstApplicableRuleAndSmallestSourceFingerprint) {
  Inhibitor inhibitor({
      Rule(R"({alertname="ClusterDown"})", R"({severity="warning"})", {"cluster"}),
      Rule(R"({alertname="NodeDown"})", R"({alertname=~"Disk.*"})", {"node"}),
  });
  InhibitorAlert cluster_down = Firing({{"alertname", "ClusterDown"}, {"cluster", "eu"}});
  InhibitorAlert node_down_a = Firing({{"alertname", "NodeDown"}, {"node", "n1"}, {"r", "a"}});
  InhibitorAlert node_down_b = Firing({{"alertname", "NodeDown"}, {"node", "n1"}, {"r", "b"}});
  inhibitor.Update(cluster_down);
  inhibitor.Update(node_down_a);
  inhibitor.Update(node_down_b);

  // Only the second rule applies.
  EXPECT_EQ(inhibitor.InhibitedBy({{"alertname", "DiskFull"}, {"node", "n1"}}, kNow),
            std::min(node_down_a.fingerprint, node_down_b.fingerprint));
  // Both rules apply; the first one answers.
  EXPECT_EQ(
      inhibitor.InhibitedBy(
          {{"alertname", "DiskFull"}, {"node", "n1"}, {"severity", "warning"}, {"cluster", "eu"}},
          kNow),
      cluster_down.fingerprint);
  // The first rule's equal label differs: the second rule still inhibits.
  EXPECT_EQ(
      inhibitor.InhibitedBy(
          {{"alertname", "DiskFull"}, {"node", "n1"}, {"severity", "warning"}, {"cluster", "us"}},
          kNow),
      std::min(node_down_a.fingerprint, node_down_b.fingerprint));
  // Neither rule's target side.
  EXPECT_EQ(inhibitor.InhibitedBy({{"alertname", "CpuHigh"}, {"node", "n1"}}, kNow), std::nullopt);
}

// Alerts on both sides of a rule: sources that also match the target side cannot inhibit a
// target that also matches the source side.
TEST(InhibitorTest, TwoSidedMatches) {
  Inhibitor inhibitor({
      Rule(R"({src1="1"})", R"({tgt1="1"})", {"env"}),
      Rule(R"({src2="1"})", R"({tgt2=~"1|2"})", {"env"}),
  });
  // Matches only the source side of rule 1.
  InhibitorAlert source1 = Firing({{"src1", "1"}, {"tgt1", "2"}, {"env", "prod"}});
  // Matches both sides of rule 2.
  InhibitorAlert source2 = Firing({{"src2", "1"}, {"tgt2", "2"}, {"env", "prod"}});
  inhibitor.Update(source1);
  inhibitor.Update(source2);

  struct Case {
    const char* name;
    LabelSet target;
    std::optional<uint64_t> by;
  };
  const std::vector<Case> cases = {
      {"target side of rule 1", {{"tgt1", "1"}, {"env", "prod"}}, source1.fingerprint},
      {"target side of rule 2", {{"tgt2", "1"}, {"env", "prod"}}, source2.fingerprint},
      {"target side of rule 1 with extra labels",
       {{"tgt1", "1"}, {"extra", "x"}, {"env", "prod"}},
       source1.fingerprint},
      {"both sides of rule 1; its source is on the source side only",
       {{"src1", "1"}, {"tgt1", "1"}, {"env", "prod"}},
       source1.fingerprint},
      {"both sides of rule 2; its only source is on both sides",
       {{"src2", "1"}, {"tgt2", "1"}, {"env", "prod"}},
       std::nullopt},
      {"the rule 2 source itself cannot inhibit itself", source2.labels, std::nullopt},
      {"target side of rule 1, equal label differs", {{"tgt1", "1"}, {"env", "dev"}}, std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(inhibitor.InhibitedBy(c.target, kNow), c.by) << c.name;
  }
}

// Only possible sources are held: new rules re-index them, and alerts no rule wanted before are
// fed again by the caller (the service re-feeds its alert store).
TEST(InhibitorTest, SetRulesReindexesTheSourcesItHolds) {
  Inhibitor inhibitor;
  InhibitorAlert source = Firing({{"alertname", "Down"}, {"severity", "critical"}});
  inhibitor.Update(source);
  EXPECT_EQ(inhibitor.size(), 0u);  // No rule: nothing can inhibit, nothing is held.
  const LabelSet target = {{"alertname", "Slow"}, {"severity", "warning"}};
  EXPECT_EQ(inhibitor.InhibitedBy(target, kNow), std::nullopt);

  inhibitor.SetRules({Rule(R"({severity="critical"})", R"({severity="warning"})")});
  inhibitor.Update(source);
  EXPECT_EQ(inhibitor.size(), 1u);
  EXPECT_EQ(inhibitor.InhibitedBy(target, kNow), source.fingerprint);
  inhibitor.SetRules({Rule(R"({severity="critical"})", R"({severity="info"})"),
                      Rule(R"({severity="critical"})", R"({severity="warning"})")});
  EXPECT_EQ(inhibitor.InhibitedBy(target, kNow), source.fingerprint);  // Re-indexed.
  inhibitor.SetRules({Rule(R"({severity="page"})", R"({severity="warning"})")});
  EXPECT_EQ(inhibitor.InhibitedBy(target, kNow), std::nullopt);
  EXPECT_EQ(inhibitor.size(), 0u);  // No longer a possible source: dropped.
  EXPECT_EQ(inhibitor.rules().size(), 1u);
}

TEST(InhibitorTest, EmptySourceMatchersMakeEveryAlertASource) {
  Inhibitor inhibitor({Rule("", R"({severity="warning"})", {"host"})});
  InhibitorAlert any = Firing({{"alertname", "Whatever"}, {"host", "h1"}});
  inhibitor.Update(any);
  EXPECT_EQ(inhibitor.InhibitedBy({{"severity", "warning"}, {"host", "h1"}}, kNow),
            any.fingerprint);
}

TEST(MatchersFromMapsTest, EqualityThenRegexInNameOrder) {
  Result<std::vector<Matcher>> matchers =
      MatchersFromMaps({{"severity", "critical"}, {"alertname", "Down"}}, {{"job", "node|api"}});
  ASSERT_TRUE(matchers.ok()) << matchers.status().ToString();
  EXPECT_EQ(MatchersString(*matchers), R"({alertname="Down",severity="critical",job=~"node|api"})");
  // The regex is anchored like a config Regexp.
  EXPECT_TRUE(
      MatchesAll(*matchers, {{"alertname", "Down"}, {"severity", "critical"}, {"job", "api"}}));
  EXPECT_FALSE(MatchesAll(*matchers,
                          {{"alertname", "Down"}, {"severity", "critical"}, {"job", "apiserver"}}));
}

TEST(MatchersFromMapsTest, DeprecatedMapsDriveARule) {
  Result<std::vector<Matcher>> source = MatchersFromMaps({{"severity", "critical"}}, {});
  Result<std::vector<Matcher>> target = MatchersFromMaps({}, {{"severity", "warn.*"}});
  ASSERT_TRUE(source.ok());
  ASSERT_TRUE(target.ok());
  Inhibitor inhibitor({InhibitRule{*source, *target, {"instance"}}});
  InhibitorAlert critical = Firing({{"severity", "critical"}, {"instance", "i1"}});
  inhibitor.Update(critical);
  EXPECT_EQ(inhibitor.InhibitedBy({{"severity", "warning"}, {"instance", "i1"}}, kNow),
            critical.fingerprint);
  EXPECT_EQ(inhibitor.InhibitedBy({{"severity", "info"}, {"instance", "i1"}}, kNow), std::nullopt);
}

TEST(MatchersFromMapsTest, Errors) {
  Result<std::vector<Matcher>> bad_name = MatchersFromMaps({{"0x", "a"}}, {});
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_name.status().message(), R"(invalid label name "0x")");
  EXPECT_EQ(bad_name.status().field(), "0x");

  Result<std::vector<Matcher>> bad_re_name = MatchersFromMaps({}, {{"a-b", "x"}});
  ASSERT_FALSE(bad_re_name.ok());
  EXPECT_EQ(bad_re_name.status().message(), R"(invalid label name "a-b")");

  Result<std::vector<Matcher>> bad_re = MatchersFromMaps({}, {{"job", "a["}});
  ASSERT_FALSE(bad_re.ok());
  EXPECT_EQ(bad_re.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_re.status().message(), ::testing::HasSubstr("missing closing ]"));
  EXPECT_EQ(bad_re.status().field().rfind("job", 0), 0u);

  Result<std::vector<Matcher>> empty = MatchersFromMaps({}, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace platops::alerting
