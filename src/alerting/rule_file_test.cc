#include "alerting/rule_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "base/strings.h"
#include "testing/temp_store.h"

namespace platops::alerting {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using std::chrono::milliseconds;
using std::chrono::minutes;

std::string ErrorOf(std::string_view content, const RuleFileOptions& options = {}) {
  auto r = ParseRuleFile(content, "rules.yml", options);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

TEST(RuleFileTest, ReadsGroupsWithAlertingAndRecordingRules) {
  auto r = ParseRuleFile(R"(
groups:
  - name: api
    interval: 30s
    query_offset: 1m
    limit: 10
    labels:
      team: payments
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
        labels:
          source: recorded
      - alert: HighErrorRate
        expr: job:http_errors:ratio5m > 0.05
        for: 10m
        keep_firing_for: 5m
        labels:
          severity: page
          priority: 1
        annotations:
          summary: "{{ $labels.job }} errors at {{ $value | humanizePercentage }}"
  - name: empty
)",
                         "rules.yml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  const RuleGroupSpec& g = (*r)[0];
  EXPECT_EQ(g.name, "api");
  EXPECT_EQ(g.file, "rules.yml");
  EXPECT_EQ(g.interval, milliseconds(30'000));
  EXPECT_EQ(g.query_offset, milliseconds(minutes(1)));
  EXPECT_EQ(g.limit, 10);
  EXPECT_THAT(g.labels, ElementsAre(Pair("team", "payments")));
  ASSERT_EQ(g.rules.size(), 2u);
  EXPECT_FALSE(g.rules[0].alerting);
  EXPECT_EQ(g.rules[0].name, "job:http_requests:rate5m");
  EXPECT_EQ(g.rules[0].expr, "sum by (job) (rate(http_requests_total[5m]))");
  EXPECT_EQ(g.rules[0].line, 10);
  const RuleSpec& a = g.rules[1];
  EXPECT_TRUE(a.alerting);
  EXPECT_EQ(a.name, "HighErrorRate");
  EXPECT_EQ(a.for_duration, milliseconds(minutes(10)));
  EXPECT_EQ(a.keep_firing_for, milliseconds(minutes(5)));
  // Numbers are taken as written, as a Go string field takes them; labels are sorted.
  EXPECT_THAT(a.labels, ElementsAre(Pair("priority", "1"), Pair("severity", "page")));
  EXPECT_THAT(a.annotations,
              ElementsAre(Pair("summary", "{{ $labels.job }} errors at {{ $value | "
                                          "humanizePercentage }}")));
  EXPECT_EQ((*r)[1].name, "empty");
  EXPECT_TRUE((*r)[1].rules.empty());
  EXPECT_FALSE((*r)[1].query_offset.has_value());
  EXPECT_EQ((*r)[1].interval, milliseconds(0));
}

TEST(RuleFileTest, AnEmptyFileHoldsNoGroups) {
  for (std::string_view content : {"", "\n", "# only a comment\n", "groups:\n", "groups: []\n"}) {
    auto r = ParseRuleFile(content, "x.yml");
    ASSERT_TRUE(r.ok()) << content << ": " << r.status().message();
    EXPECT_TRUE(r->empty());
  }
}

TEST(RuleFileTest, RuleErrorsUsePrometheusWordsAndPositions) {
  EXPECT_EQ(ErrorOf(R"(groups:
  - name: g
    rules:
      - alert: Broken
        expr: sum(rate(x[5m])
)"),
            "rules.yml: 5:15: group \"g\", rule 1, \"Broken\": could not parse expression: "
            "1:16: parse error: unclosed left parenthesis");
  EXPECT_EQ(ErrorOf(R"(groups:
  - name: g
    rules:
      - alert: NoExpr
)"),
            "rules.yml: 4:9: group \"g\", rule 1, \"NoExpr\": field 'expr' must be set in rule");
  EXPECT_EQ(ErrorOf(R"(groups:
  - name: g
    rules:
      - expr: up
)"),
            "rules.yml: 4:9: group \"g\", rule 1, \"\": one of 'record' or 'alert' must be set");
  EXPECT_EQ(ErrorOf(R"(groups:
  - name: g
    rules:
      - record: a
        alert: b
        expr: up
)"),
            "rules.yml: 4:17: 5:16: group \"g\", rule 1, \"b\": only one of 'record' and "
            "'alert' must be set");
}

TEST(RuleFileTest, RecordingRulesRefuseAlertingFieldsAndBadNames) {
  const std::string error = ErrorOf(R"(groups:
  - name: g
    rules:
      - record: "job:up{bad}"
        expr: up
        for: 5m
        keep_firing_for: 1m
        annotations:
          summary: no
        labels:
          __name__: x
)");
  EXPECT_THAT(error, HasSubstr("rules.yml: 4:17: group \"g\", rule 1, \"job:up{bad}\": invalid "
                               "field 'annotations' in recording rule"));
  EXPECT_THAT(error, HasSubstr("invalid field 'for' in recording rule"));
  EXPECT_THAT(error, HasSubstr("invalid field 'keep_firing_for' in recording rule"));
  EXPECT_THAT(error, HasSubstr("braces present in the recording rule name; should it be in "
                               "expr?: job:up{bad}"));
  EXPECT_THAT(error, HasSubstr("rules.yml: group \"g\", rule 1, \"job:up{bad}\": invalid label "
                               "name: __name__"));
  // One line per problem.
  EXPECT_EQ(std::count(error.begin(), error.end(), '\n'), 4);
}

TEST(RuleFileTest, GroupErrors) {
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n  - name: a\n"),
            "rules.yml: 3:5: groupname: \"a\" is repeated in the same file");
  EXPECT_EQ(ErrorOf("groups:\n  - rules: []\n"), "rules.yml: 2:5: Groupname must not be empty");
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    interval: 5x\n"),
            "rules.yml: 3:15: not a valid duration string: \"5x\"");
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    limit: many\n"),
            "rules.yml: yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `many` into int");
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    labels:\n      __name__: x\n"),
            "rules.yml: invalid label name: __name__");
}

TEST(RuleFileTest, UnknownFieldsAreRefusedAsPrometheusDoes) {
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n"
                    "        severity: page\n"),
            "rules.yml: yaml: unmarshal errors:\n  line 6: field severity not found in type "
            "rulefmt.RuleNode");
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    evaluation_interval: 1m\n"),
            "rules.yml: yaml: unmarshal errors:\n  line 3: field evaluation_interval not found in "
            "type rulefmt.RuleGroup");
  EXPECT_EQ(ErrorOf("group:\n  - name: a\n"),
            "rules.yml: yaml: unmarshal errors:\n  line 1: field group not found in type "
            "rulefmt.RuleGroups");
}

TEST(RuleFileTest, MalformedYamlAndWrongShapes) {
  EXPECT_THAT(ErrorOf("groups:\n  - name: [unclosed\n"), HasSubstr("rules.yml: yaml: line"));
  EXPECT_THAT(ErrorOf("- a\n- b\n"), HasSubstr("cannot unmarshal into rulefmt.RuleGroups"));
  EXPECT_THAT(ErrorOf("groups: {name: a}\n"), HasSubstr("`groups` is a list"));
  EXPECT_THAT(ErrorOf("groups:\n  - name: a\n    rules: {alert: A}\n"),
              HasSubstr("`rules` is a list"));
  EXPECT_THAT(ErrorOf("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n"
                      "        labels: [a, b]\n"),
              HasSubstr("line 6: cannot unmarshal !!seq into map[string]string"));
}

TEST(RuleFileTest, TemplatesOfAlertingRulesAreChecked) {
  RuleFileOptions options;
  std::vector<std::string> seen;
  options.check_template = [&](std::string_view name, std::string_view text) -> Status {
    seen.push_back(std::string(name) + "|" + std::string(text));
    if (text.find("{{ bad") != std::string_view::npos) {
      return InvalidArgument("template: " + std::string(name) + ":1: function \"bad\" not defined");
    }
    return Status::Ok();
  };
  EXPECT_EQ(ErrorOf(R"(groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        labels:
          severity: "{{ bad }}"
        annotations:
          summary: fine
)",
                    options),
            "rules.yml: group \"g\", rule 1, \"A\": label \"severity\": template: __alert_A:1: "
            "function \"bad\" not defined");
  EXPECT_THAT(seen, ElementsAre("__alert_A|{{ bad }}", "__alert_A|fine"));
  // Recording rules' labels are not templates.
  seen.clear();
  auto r = ParseRuleFile("groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n"
                         "        labels: {x: '{{ bad }}'}\n",
                         "rules.yml", options);
  EXPECT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(seen.empty());
}

// Runs `promtool check rules` (Prometheus 2.42 from Debian) on `path`: its verdict and its error
// lines with the file name removed.
std::pair<bool, std::vector<std::string>> Promtool(const std::string& path) {
  const std::string cmd = "promtool check rules " + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int rc = pclose(p);
  std::vector<std::string> errors;
  std::istringstream in(out);
  std::string line;
  const std::string prefix = path + ": ";
  while (std::getline(in, line)) {
    if (line.starts_with(prefix)) errors.push_back(line.substr(prefix.size()));
  }
  return {rc == 0, errors};
}

std::vector<std::string> OurErrors(const Result<std::vector<RuleGroupSpec>>& r,
                                   const std::string& path) {
  std::vector<std::string> errors;
  if (r.ok()) return errors;
  std::istringstream in(r.status().message());
  std::string line;
  const std::string prefix = path + ": ";
  while (std::getline(in, line)) {
    if (line.starts_with(prefix)) errors.push_back(line.substr(prefix.size()));
  }
  return errors;
}

// "Any file that `promtool check rules` accepts loads the same": the verdicts agree, and so do
// the error lines where Prometheus 2.42 and 3 word them alike.
TEST(RuleFileTest, AcceptsAndRefusesWhatPromtoolDoes) {
  ASSERT_EQ(std::system("promtool --version >/dev/null 2>&1"), 0)
      << "promtool (Debian package prometheus, installed by scripts/install-deps) is needed";
  struct Case {
    const char* content;
    bool same_words;
  };
  const Case cases[] = {
      {"", true},
      {"groups:\n", true},
      {R"(groups:
  - name: api
    interval: 30s
    limit: 10
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
        labels:
          source: recorded
      - alert: HighErrorRate
        expr: job:http_errors:ratio5m > 0.05
        for: 10m
        keep_firing_for: 5m
        labels:
          severity: page
          priority: 1
        annotations:
          summary: "{{ $labels.job }} errors at {{ $value }}"
)",
       true},
      {"groups:\n  - name: g\n    rules:\n      - alert: Broken\n        expr: sum(rate(x[5m])\n",
       true},
      // A missing field has no position in promtool ("0:0:"); platops gives the rule's.
      {"groups:\n  - name: g\n    rules:\n      - alert: NoExpr\n        for: 1m\n", false},
      {"groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n        for: 5m\n",
       true},
      {"groups:\n  - name: g\n    rules:\n      - record: r\n        alert: a\n        expr: up\n",
       true},
      {"groups:\n  - name: a\n  - name: a\n", true},
      {"groups:\n  - rules: []\n", true},
      {"groups:\n  - name: a\n    evaluation_interval: 1m\n", true},
      {"groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n        severity: x\n",
       true},
      {"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n"
       "        labels:\n          __name__: x\n",
       true},
      // Prometheus 3 words a bad recording rule name differently (UTF-8 names are valid there).
      {"groups:\n  - name: g\n    rules:\n      - record: 'a{b}'\n        expr: up\n", false},
  };
  platops::testing::TempDir dir;
  int i = 0;
  for (const Case& c : cases) {
    const std::string path = (dir.path() / ("case" + std::to_string(i++) + ".yml")).string();
    std::ofstream(path) << c.content;
    const auto [promtool_ok, promtool_errors] = Promtool(path);
    const auto ours = ParseRuleFile(c.content, path);
    EXPECT_EQ(ours.ok(), promtool_ok) << c.content << "\n" << Join(promtool_errors, "\n");
    if (c.same_words) {
      EXPECT_EQ(OurErrors(ours, path), promtool_errors) << c.content;
    }
  }
}

}  // namespace
}  // namespace platops::alerting
