#include "alerting/rule_templates.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "alerting/rule_file.h"
#include "alerting/rule_group.h"
#include "metrics/mem_storage.h"
#include "promql/engine.h"

namespace platops::alerting {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using std::chrono::milliseconds;

const Timestamp kT0 = Timestamp(milliseconds(1'767'225'600'000));  // 2026-01-01T00:00:00Z

TEST(RuleTemplatesTest, BadTemplatesAreRefusedAtLoadInPromtoolsWords) {
  RuleFileOptions options;
  options.check_template = CheckRuleTemplate;
  auto r = ParseRuleFile(R"(groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        labels:
          severity: "{{ if }}"
        annotations:
          summary: "{{ bad }}"
          desc: "{{ $labels.x "
          fine: "{{ $labels.instance }} is {{ $value | humanize }}"
)",
                         "rules.yml", options);
  ASSERT_FALSE(r.ok());
  // What promtool 2.42 prints for the same file (its order follows Go's map iteration).
  EXPECT_EQ(r.status().message(),
            "rules.yml: group \"g\", rule 1, \"A\": label \"severity\": template: __alert_A:1: "
            "missing value for if\n"
            "rules.yml: group \"g\", rule 1, \"A\": annotation \"desc\": template: __alert_A:1: "
            "unclosed action\n"
            "rules.yml: group \"g\", rule 1, \"A\": annotation \"summary\": template: __alert_A:1: "
            "function \"bad\" not defined");
}

TEST(RuleTemplatesTest, AlertsGetPrometheusTemplateDataAndQueries) {
  FakeClock clock(kT0);
  metrics::MemStorage storage;
  storage.Add(metrics::Normalize({{"__name__", "up"}, {"job", "node"}, {"instance", "a"}}),
              {kT0.time_since_epoch().count(), 0});
  storage.Add(metrics::Normalize({{"__name__", "up"}, {"job", "node"}, {"instance", "b"}}),
              {kT0.time_since_epoch().count(), 1});
  promql::Engine engine(promql::EngineOptions{}, storage, clock);
  RuleGroupOptions options;
  options.expand = MakeRuleTemplateExpander(&engine, {{"cluster", "eu-1"}}, "http://platops:9470");
  auto groups = ParseRuleFile(R"yaml(groups:
  - name: g
    rules:
      - alert: InstanceDown
        expr: up == 0
        labels:
          severity: '{{ if eq $labels.instance "a" }}page{{ else }}ticket{{ end }}'
          cluster: '{{ $externalLabels.cluster }}'
        annotations:
          summary: '{{ $labels.instance }} of {{ $labels.job }} down (value {{ $value }})'
          fleet: '{{ query "sum(up)" | first | value | humanize }} of {{ with query "count(up)" }}{{ . | first | value }}{{ end }} up'
          link: '{{ $externalURL }}/alerts'
)yaml",
                              "rules.yml");
  ASSERT_TRUE(groups.ok()) << groups.status().message();
  RuleGroup group((*groups)[0], options, engine, storage);
  auto sent = group.Evaluate(kT0);
  ASSERT_EQ(group.health(0).health, "ok") << group.health(0).last_error;
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_THAT(sent[0].labels,
              ElementsAre(Pair("alertname", "InstanceDown"), Pair("cluster", "eu-1"),
                          Pair("instance", "a"), Pair("job", "node"), Pair("severity", "page")));
  EXPECT_THAT(sent[0].annotations,
              ElementsAre(Pair("fleet", "1 of 2 up"), Pair("link", "http://platops:9470/alerts"),
                          Pair("summary", "a of node down (value 0)")));
}

// The rule file `make run` loads passes promtool's checks here too.
TEST(RuleTemplatesTest, TheShippedExampleRulesLoad) {
  const char* root = std::getenv("PLATOPS_SOURCE_DIR");
  ASSERT_NE(root, nullptr) << "PLATOPS_SOURCE_DIR is set by CTest";
  std::ifstream in(std::string(root) + "/examples/alerting/rules.yml");
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  RuleFileOptions options;
  options.check_template = CheckRuleTemplate;
  auto groups = ParseRuleFile(ss.str(), "examples/alerting/rules.yml", options);
  ASSERT_TRUE(groups.ok()) << groups.status().message();
  EXPECT_EQ(groups->size(), 2u);
}

}  // namespace
}  // namespace platops::alerting
