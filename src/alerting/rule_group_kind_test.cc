#include "alerting/rule_group_kind.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <cctype>

#include "alerting/rule_templates.h"
#include "base/json_reader.h"
#include "base/strings.h"
#include "config/kind_registry.h"
#include "config/yaml_json.h"
#include "events/event_log.h"
#include "testing/apply_yaml.h"
#include "testing/temp_store.h"

namespace platops::alerting {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::vector<store::Migration> AllMigrations() {
  auto m = events::EventLog::Migrations();
  for (auto& x : RuleGroupStore::Migrations()) m.push_back(x);
  return m;
}

json::value Yaml(std::string_view text) {
  auto docs = config::YamlToJson(text);
  EXPECT_TRUE(docs.ok()) << docs.status().ToString();
  EXPECT_EQ(docs->size(), 1u);
  return docs->front();
}

constexpr const char* kPayments = R"(
name: payments
interval: 30s
labels: {team: payments}
rules:
  - alert: PaymentsDown
    expr: up{job="payments"} == 0
    for: 1m
    labels: {severity: critical}
    annotations: {summary: "{{ $labels.instance }} down"}
  - record: job:up:sum
    expr: sum by (job) (up)
)";

constexpr const char* kPaymentsJson =
    R"({"name":"payments","interval":"30s","labels":{"team":"payments"},"rules":[)"
    R"({"alert":"PaymentsDown","expr":"up{job=\"payments\"} == 0","for":"1m",)"
    R"("labels":{"severity":"critical"},"annotations":{"summary":"{{ $labels.instance }} down"}},)"
    R"j({"record":"job:up:sum","expr":"sum by (job) (up)"}]})j";

class RuleGroupKindTest : public ::testing::Test {
 protected:
  RuleGroupKindTest() {
    RegisterRuleGroupKind(kinds_, groups_);
    handler_ = kinds_.Find("RuleGroup");
    groups_.OnChange([this] {
      ++changes_;
      specs_seen_ = groups_.Specs().size();
    });
  }

  Result<json::object> Decode(std::string_view yaml, const std::string& path = "") {
    return handler_->decode(Yaml(yaml), path);
  }

  // The decode error of `yaml`, which must fail.
  Status DecodeError(std::string_view yaml, const std::string& path = "") {
    auto spec = Decode(yaml, path);
    EXPECT_FALSE(spec.ok()) << JsonToString(*spec);
    return spec.ok() ? Status::Ok() : spec.status();
  }

  Status Put(std::string_view yaml, bool create) {
    auto spec = Decode(yaml);
    if (!spec.ok()) return spec.status();
    return db_.store().Write(
        [&](store::Tx& tx) { return handler_->put(tx, "alice", *spec, create); });
  }

  std::map<std::string, std::string> List() {
    std::map<std::string, std::string> out;
    Status st = db_.store().Read([&](store::Tx& tx) -> Status {
      PLATOPS_ASSIGN_OR_RETURN(auto objs, handler_->list(tx));
      for (const auto& [key, spec] : objs) out[key] = JsonToString(spec);
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  // "action subject payload" of each rule_group event, oldest first.
  std::vector<std::string> Events() {
    std::vector<std::string> out;
    Status st = db_.store().Read([&](store::Tx& tx) -> Status {
      events::EventQuery q;
      q.subject_type = "rule_group";
      PLATOPS_ASSIGN_OR_RETURN(auto events, log_.List(tx, q));
      for (const auto& e : events) {
        out.push_back(e.actor + " " + e.action + " " + e.subject_id + " " + e.payload);
      }
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  // version, created_at, updated_at of a stored group.
  std::vector<int64_t> Row(const std::string& name) {
    std::vector<int64_t> out;
    Status st = db_.store().Read([&](store::Tx& tx) -> Status {
      PLATOPS_ASSIGN_OR_RETURN(auto row,
                               tx.QueryOne("SELECT version, created_at, updated_at FROM rule_groups"
                                           " WHERE name = $1",
                                           {name}));
      if (row) out = {row->Int(0), row->Int(1), row->Int(2)};
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  Result<config::ApplyResult> ApplyYaml(const std::string& yaml, bool prune = false) {
    return testing::ApplyYaml(db_.store(), kinds_, yaml, prune, "rules.yaml");
  }
  static std::vector<std::string> Plan(const config::ApplyResult& r) {
    return testing::PlanLines(r);
  }

  static int64_t Ms(Timestamp t) { return t.time_since_epoch().count(); }

  FakeClock clock_;
  testing::TempStore db_{AllMigrations()};
  events::EventLog log_{clock_};
  RuleGroupStore groups_{db_.store(), log_, clock_};
  config::KindRegistry kinds_;
  const config::KindHandler* handler_ = nullptr;
  int changes_ = 0;
  size_t specs_seen_ = 0;
};

// --- decode ---

TEST_F(RuleGroupKindTest, RegistersTheKind) {
  ASSERT_NE(handler_, nullptr);
  EXPECT_EQ(handler_->order, 80);
  EXPECT_EQ(handler_->write_role, 3);
  auto spec = Decode(kPayments);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(handler_->key(*spec), "payments");
  EXPECT_TRUE(handler_->references(*spec).empty());
}

TEST_F(RuleGroupKindTest, DecodeNormalises) {
  auto spec = Decode(kPayments);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(JsonToString(*spec), kPaymentsJson);
}

TEST_F(RuleGroupKindTest, DecodeOrdersFieldsWritesDurationsAsPrometheusAndOmitsDefaults) {
  auto spec = Decode(R"(
rules:
  - expr: up == 0
    keep_firing_for: 90s
    annotations: {b: "2", a: "1"}
    labels: {severity: critical, priority: 1, ratio: 1.5, paged: true}
    for: 60m
    alert: Down
  - record: r
    expr: up
    for: 0s
    labels: {}
limit: 0
query_offset: 0s
labels: {z: last, a: first}
interval: 0s
name: g
version: 7
created_at: "2026-01-01T00:00:00Z"
updated_at: "2026-01-01T00:00:00Z"
)");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(JsonToString(*spec),
            R"({"name":"g","query_offset":"0s","labels":{"a":"first","z":"last"},"rules":[)"
            R"({"alert":"Down","expr":"up == 0","for":"1h","keep_firing_for":"1m30s",)"
            R"("labels":{"paged":"true","priority":"1","ratio":"1.5","severity":"critical"},)"
            R"("annotations":{"a":"1","b":"2"}},{"record":"r","expr":"up"}]})");

  auto minimal = Decode("name: empty\nlimit: 5\ninterval: 2m\n");
  ASSERT_TRUE(minimal.ok()) << minimal.status().ToString();
  EXPECT_EQ(JsonToString(*minimal), R"({"name":"empty","interval":"2m","limit":5,"rules":[]})");
}

TEST_F(RuleGroupKindTest, DecodingANormalisedDocumentGivesItBack) {
  auto spec = Decode(kPayments);
  ASSERT_TRUE(spec.ok());
  auto again = handler_->decode(json::value(*spec), "");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(JsonToString(*again), kPaymentsJson);
}

TEST_F(RuleGroupKindTest, InvalidExpressionHasPromtoolsMessageAndTheField) {
  Status st = DecodeError(R"(
name: payments
rules:
  - record: ok
    expr: up
  - alert: PaymentsDown
    expr: sum(up{job="payments"} == 0
)");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.field(), "rules[1].expr");
  EXPECT_EQ(st.message(),
            "group \"payments\", rule 2, \"PaymentsDown\": could not parse expression: "
            "1:28: parse error: unclosed left parenthesis");
}

TEST_F(RuleGroupKindTest, BadTemplateHasPromtoolsMessageAndTheField) {
  Status st = DecodeError(R"(
name: payments
rules:
  - alert: PaymentsDown
    expr: up == 0
    annotations: {summary: "{{ $labels.instance } down"}
)");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.field(), "rules[0].annotations.summary");
  EXPECT_EQ(st.message(),
            "group \"payments\", rule 1, \"PaymentsDown\": annotation \"summary\": template: "
            "__alert_PaymentsDown:1: unexpected \"}\" in operand");
}

TEST_F(RuleGroupKindTest, MissingNameHasPromtoolsMessage) {
  Status st = DecodeError("interval: 1m\nrules: []\n");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.field(), "name");
  EXPECT_EQ(st.message(), "Groupname must not be empty");
}

TEST_F(RuleGroupKindTest, UnknownFieldsHavePromtoolsMessageAndTheField) {
  Status group = DecodeError("name: g\nevaluation_interval: 1m\n");
  EXPECT_EQ(group.field(), "evaluation_interval");
  EXPECT_EQ(group.message(), "field evaluation_interval not found in type rulefmt.RuleGroup");

  Status rule = DecodeError(R"(
name: g
rules:
  - record: a
    expr: up
  - alert: B
    expr: up == 0
    severity: page
)");
  EXPECT_EQ(rule.field(), "rules[1].severity");
  EXPECT_EQ(rule.message(), "field severity not found in type rulefmt.RuleNode");
}

TEST_F(RuleGroupKindTest, RuleErrorsHavePromtoolsMessages) {
  Status both = DecodeError("name: g\nrules:\n  - {record: r, alert: A, expr: up}\n");
  EXPECT_EQ(both.field(), "rules[0].record");
  EXPECT_EQ(both.message(),
            "group \"g\", rule 1, \"A\": only one of 'record' and 'alert' must be set");

  Status no_expr = DecodeError("name: g\nrules:\n  - {alert: A}\n");
  EXPECT_EQ(no_expr.field(), "rules[0].expr");
  EXPECT_EQ(no_expr.message(), "group \"g\", rule 1, \"A\": field 'expr' must be set in rule");
  Status empty_expr = DecodeError("name: g\nrules:\n  - {alert: A, expr: ''}\n");
  EXPECT_EQ(empty_expr.field(), "rules[0].expr");
  EXPECT_EQ(empty_expr.message(), no_expr.message());

  Status duration = DecodeError("name: g\nrules:\n  - {alert: A, expr: up, for: 5 minutes}\n");
  EXPECT_EQ(duration.field(), "rules[0].for");
  EXPECT_EQ(duration.message(), "not a valid duration string: \"5 minutes\"");

  Status label = DecodeError("name: g\nrules:\n  - {alert: A, expr: up, labels: {__name__: x}}\n");
  EXPECT_EQ(label.field(), "rules[0].labels");
  EXPECT_EQ(label.message(), "group \"g\", rule 1, \"A\": invalid label name: __name__");
}

// promtool does not reject a rule repeated in a group (its duplicate-rules lint only warns), so
// neither does RuleGroup; a group name repeated in one apply is the registry's error.
TEST_F(RuleGroupKindTest, DuplicateRulesAreAcceptedAsByPromtoolDuplicateGroupsAreNot) {
  auto spec = Decode("name: g\nrules:\n  - {record: r, expr: up}\n  - {record: r, expr: up}\n");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->at("rules").get_array().size(), 2u);

  auto result = ApplyYaml("kind: RuleGroup\nname: g\n---\nkind: RuleGroup\nname: g\n");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->errors.size(), 1u);
  EXPECT_EQ(result->errors[0].index, 1);
  EXPECT_EQ(result->errors[0].status.message(),
            "RuleGroup \"g\" is defined twice (also document 0 of rules.yaml)");
  EXPECT_FALSE(result->applied);
  EXPECT_TRUE(List().empty());
}

TEST_F(RuleGroupKindTest, EveryProblemIsReportedAndFieldsTakeThePath) {
  Status st = DecodeError(R"(
name: g
rules:
  - alert: A
    expr: up ==
  - record: r
    expr: up
    for: 1m
)",
                          "documents[3]");
  EXPECT_EQ(st.field(), "documents[3].rules[0].expr");
  EXPECT_EQ(st.message(),
            "group \"g\", rule 1, \"A\": could not parse expression: 1:6: parse error: unexpected "
            "end of input\n"
            "documents[3].rules[1].record: group \"g\", rule 2, \"r\": invalid field 'for' in "
            "recording rule");
}

// The same message ParseRuleFile gives for a real rule file, less its file and position.
TEST_F(RuleGroupKindTest, MessagesAreTheRuleFilesLessFileAndPosition) {
  const std::string group = R"(name: g
rules:
  - alert: A
    expr: rate(x[5m]
    labels: {severity: "{{ .Bad"}
)";
  Status st = DecodeError(group);
  std::string file = "groups:\n";
  for (const auto& line : Split(group, '\n')) {
    if (!line.empty()) file += (file == "groups:\n" ? "  - " : "    ") + line + "\n";
  }
  RuleFileOptions options;
  options.check_template = CheckRuleTemplate;
  auto parsed = ParseRuleFile(file, "rules.yml", options);
  ASSERT_FALSE(parsed.ok());
  std::vector<std::string> expected;
  for (std::string line : Split(parsed.status().message(), '\n')) {
    line = line.substr(line.find(": ") + 2);  // the file
    if (std::isdigit(static_cast<unsigned char>(line[0]))) line = line.substr(line.find(": ") + 2);
    expected.push_back(line);
  }
  ASSERT_EQ(expected.size(), 2u) << parsed.status().message();
  EXPECT_EQ(st.message(), expected[0] + "\nrules[0].labels.severity: " + expected[1]);
}

// --- storage through the kind handler ---

TEST_F(RuleGroupKindTest, PutListRemoveInWriteTransactions) {
  ASSERT_TRUE(Put(kPayments, /*create=*/true).ok());
  EXPECT_EQ(List(), (std::map<std::string, std::string>{{"payments", kPaymentsJson}}));
  EXPECT_EQ(Row("payments"), (std::vector<int64_t>{1, Ms(clock_.Now()), Ms(clock_.Now())}));
  const int64_t created = Ms(clock_.Now());

  clock_.Advance(5s);
  ASSERT_TRUE(Put("name: payments\ninterval: 1m\n", /*create=*/false).ok());
  EXPECT_EQ(List().at("payments"), R"({"name":"payments","interval":"1m","rules":[]})");
  EXPECT_EQ(Row("payments"), (std::vector<int64_t>{2, created, created + 5000}));

  // An identical document writes nothing.
  clock_.Advance(5s);
  ASSERT_TRUE(Put("name: payments\ninterval: 60s\n", /*create=*/false).ok());
  EXPECT_EQ(Row("payments"), (std::vector<int64_t>{2, created, created + 5000}));

  ASSERT_TRUE(db_.store()
                  .Write([&](store::Tx& tx) { return handler_->remove(tx, "alice", "payments"); })
                  .ok());
  EXPECT_TRUE(List().empty());
  EXPECT_TRUE(Row("payments").empty());

  const std::vector<std::string> events = Events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0],
            std::string("alice rule_group.created payments {\"after\":") + kPaymentsJson + "}");
  EXPECT_EQ(events[1],
            "alice rule_group.updated payments {\"changes\":{"
            "\"interval\":{\"from\":\"30s\",\"to\":\"1m\"},"
            "\"rules\":{\"from\":" +
                std::string(json::serialize(json::parse(kPaymentsJson).at("rules"))) +
                ",\"to\":[]},"
                "\"labels\":{\"from\":{\"team\":\"payments\"},\"to\":null}}}");
  EXPECT_EQ(events[2], R"(alice rule_group.deleted payments )"
                       R"({"before":{"name":"payments","interval":"1m","rules":[]}})");
}

TEST_F(RuleGroupKindTest, PutAndRemoveRefuseWhatDoesNotFit) {
  ASSERT_TRUE(Put(kPayments, true).ok());
  Status again = Put(kPayments, true);
  EXPECT_EQ(again.code(), StatusCode::kConflict);
  EXPECT_EQ(again.message(), "rule group \"payments\" already exists");
  Status missing = Put("name: other\n", false);
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  Status gone =
      db_.store().Write([&](store::Tx& tx) { return handler_->remove(tx, "alice", "other"); });
  EXPECT_EQ(gone.code(), StatusCode::kNotFound);
  EXPECT_EQ(gone.message(), "rule group \"other\" not found");
  EXPECT_EQ(Events().size(), 1u);
}

TEST_F(RuleGroupKindTest, SpecsChangeOnlyAfterTheCommit) {
  auto spec = Decode(kPayments);
  ASSERT_TRUE(spec.ok());
  size_t inside = 99;
  ASSERT_TRUE(db_.store()
                  .Write([&](store::Tx& tx) -> Status {
                    PLATOPS_RETURN_IF_ERROR(handler_->put(tx, "alice", *spec, true));
                    inside = groups_.Specs().size();
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(inside, 0u);
  EXPECT_EQ(changes_, 1);
  EXPECT_EQ(specs_seen_, 1u);  // the listener already sees the change

  const std::vector<RuleGroupSpec> specs = groups_.Specs();
  ASSERT_EQ(specs.size(), 1u);
  const RuleGroupSpec& g = specs[0];
  EXPECT_EQ(g.name, "payments");
  EXPECT_EQ(g.file, "RuleGroup/payments");
  EXPECT_EQ(g.interval, 30s);
  EXPECT_FALSE(g.query_offset.has_value());
  EXPECT_EQ(g.labels, (StringPairs{{"team", "payments"}}));
  ASSERT_EQ(g.rules.size(), 2u);
  EXPECT_TRUE(g.rules[0].alerting);
  EXPECT_EQ(g.rules[0].name, "PaymentsDown");
  EXPECT_EQ(g.rules[0].expr, "up{job=\"payments\"} == 0");
  EXPECT_EQ(g.rules[0].for_duration, 1min);
  EXPECT_EQ(g.rules[0].annotations, (StringPairs{{"summary", "{{ $labels.instance }} down"}}));
  EXPECT_EQ(g.rules[0].line, 0);
  EXPECT_FALSE(g.rules[1].alerting);
  EXPECT_EQ(g.rules[1].name, "job:up:sum");

  ASSERT_TRUE(db_.store()
                  .Write([&](store::Tx& tx) -> Status {
                    PLATOPS_RETURN_IF_ERROR(handler_->remove(tx, "alice", "payments"));
                    inside = groups_.Specs().size();
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(inside, 1u);
  EXPECT_EQ(changes_, 2);
  EXPECT_TRUE(groups_.Specs().empty());
}

TEST_F(RuleGroupKindTest, ARolledBackTransactionChangesNothing) {
  auto spec = Decode(kPayments);
  ASSERT_TRUE(spec.ok());
  Status st = db_.store().Write([&](store::Tx& tx) -> Status {
    PLATOPS_RETURN_IF_ERROR(handler_->put(tx, "alice", *spec, true));
    return Internal("boom");
  });
  EXPECT_EQ(st.message(), "boom");
  EXPECT_TRUE(groups_.Specs().empty());
  EXPECT_EQ(changes_, 0);
  EXPECT_TRUE(List().empty());
  EXPECT_TRUE(Events().empty());
}

TEST_F(RuleGroupKindTest, AnUnchangedPutDoesNotCallTheListener) {
  ASSERT_TRUE(Put(kPayments, true).ok());
  ASSERT_TRUE(Put(kPayments, false).ok());
  EXPECT_EQ(changes_, 1);
}

TEST_F(RuleGroupKindTest, LoadAfterARestartReturnsTheStoredGroupsInNameOrder) {
  ASSERT_TRUE(Put(kPayments, true).ok());
  ASSERT_TRUE(Put("name: api\nrules: [{record: r, expr: up}]\n", true).ok());
  db_.Reopen(AllMigrations());
  RuleGroupStore reopened(db_.store(), log_, clock_);
  EXPECT_TRUE(reopened.Specs().empty());
  ASSERT_TRUE(reopened.Load().ok());
  const std::vector<RuleGroupSpec> specs = reopened.Specs();
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].name, "api");
  EXPECT_EQ(specs[0].file, "RuleGroup/api");
  ASSERT_EQ(specs[0].rules.size(), 1u);
  EXPECT_EQ(specs[0].rules[0].name, "r");
  EXPECT_EQ(specs[1].name, "payments");
  EXPECT_EQ(specs[1].interval, 30s);
  EXPECT_EQ(specs[1].rules.size(), 2u);
}

TEST_F(RuleGroupKindTest, AStoredGroupThatNoLongerValidatesListsButDoesNotLoad) {
  ASSERT_TRUE(Put(kPayments, true).ok());
  ASSERT_TRUE(
      db_.store()
          .Write([](store::Tx& tx) {
            return tx
                .Exec(
                    "INSERT INTO rule_groups VALUES ('bad',"
                    " '{\"name\":\"bad\",\"rules\":[{\"alert\":\"A\",\"expr\":\"up ==\"}]}',"
                    " 1, 0, 0)")
                .status();
          })
          .ok());
  ASSERT_TRUE(groups_.Load().ok());
  const std::vector<RuleGroupSpec> specs = groups_.Specs();
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].name, "payments");
  const auto listed = List();
  EXPECT_EQ(listed.size(), 2u);
  EXPECT_TRUE(listed.contains("bad"));
}

// --- through config::Apply ---

TEST_F(RuleGroupKindTest, ApplyCreatesUpdatesPrunesAndExports) {
  const std::string two = std::string("kind: RuleGroup\n") + kPayments +
                          "---\nkind: RuleGroup\nname: api\nrules: [{record: r, expr: up}]\n";
  auto first = ApplyYaml(two);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(first->errors.empty()) << first->errors[0].status.ToString();
  EXPECT_TRUE(first->applied);
  EXPECT_EQ(Plan(*first),
            (std::vector<std::string>{"create RuleGroup payments", "create RuleGroup api"}));
  EXPECT_EQ(groups_.Specs().size(), 2u);
  EXPECT_EQ(changes_, 2);

  auto again = ApplyYaml(two);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Plan(*again),
            (std::vector<std::string>{"unchanged RuleGroup payments", "unchanged RuleGroup api"}));
  EXPECT_EQ(Events().size(), 2u);

  auto update =
      ApplyYaml("kind: RuleGroup\nname: api\ninterval: 10s\nrules: [{record: r, expr: up}]\n",
                /*prune=*/true);
  ASSERT_TRUE(update.ok());
  ASSERT_TRUE(update->errors.empty()) << update->errors[0].status.ToString();
  EXPECT_EQ(Plan(*update),
            (std::vector<std::string>{"update RuleGroup api", "delete RuleGroup payments"}));
  EXPECT_EQ(update->plan[0].changed_fields, (std::vector<std::string>{"interval"}));
  const std::vector<RuleGroupSpec> specs = groups_.Specs();
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].interval, 10s);

  auto exported = config::Export(db_.store(), kinds_);
  ASSERT_TRUE(exported.ok());
  ASSERT_EQ(exported->size(), 1u);
  EXPECT_EQ(
      JsonToString((*exported)[0]),
      R"({"kind":"RuleGroup","name":"api","interval":"10s","rules":[{"record":"r","expr":"up"}]})");
}

TEST_F(RuleGroupKindTest, ApplyReportsADecodeErrorWithFileIndexAndFieldAndChangesNothing) {
  auto result = ApplyYaml(std::string("kind: RuleGroup\n") + kPayments +
                          "---\nkind: RuleGroup\nname: api\nrules: [{alert: A, expr: 'up =='}]\n");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->errors.size(), 1u);
  const config::DocumentError& e = result->errors[0];
  EXPECT_EQ(e.file, "rules.yaml");
  EXPECT_EQ(e.index, 1);
  EXPECT_EQ(e.kind, "RuleGroup");
  EXPECT_EQ(e.status.field(), "rules[0].expr");
  EXPECT_EQ(e.status.message(),
            "group \"api\", rule 1, \"A\": could not parse expression: 1:6: parse error: "
            "unexpected end of input");
  EXPECT_FALSE(result->applied);
  EXPECT_TRUE(List().empty());
  EXPECT_TRUE(groups_.Specs().empty());
}

}  // namespace
}  // namespace platops::alerting
