// `kind: AlertmanagerConfig`: validation, sealed secrets, apply of a plain Alertmanager file.

#include "alerting/am_config_kind.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "base/json_reader.h"
#include "config/yaml_json.h"
#include "testing/apply_yaml.h"
#include "testing/temp_store.h"

namespace platops::alerting {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<store::Migration> AllMigrations() {
  auto m = events::EventLog::Migrations();
  for (auto& x : AlertmanagerConfigStore::Migrations()) m.push_back(x);
  return m;
}

constexpr const char* kConfig = R"(route:
  receiver: team
  group_by: [alertname]
receivers:
  - name: team
    slack_configs:
      - api_url: https://hooks.slack.example/services/T0/B0/s3cr3t
        channel: '#ops'
    email_configs:
      - to: oncall@example.org
        from: platops@example.org
        smarthost: mail.example.org:587
        auth_username: platops
        auth_password: hunter2
)";

class AmConfigKindTest : public ::testing::Test {
 protected:
  AmConfigKindTest() {
    RegisterAlertmanagerConfigKind(kinds_, store_);
    store_.OnChange([this] { ++changes_; });
  }

  Result<config::ApplyResult> ApplyYaml(const std::string& yaml, bool prune = false) {
    return testing::ApplyYaml(db_.store(), kinds_, yaml, prune, "alertmanager.yml");
  }
  static std::vector<std::string> Plan(const config::ApplyResult& r) {
    return testing::PlanLines(r);
  }

  std::string StoredText() {
    std::string text;
    EXPECT_TRUE(db_.store()
                    .Read([&](store::Tx& tx) -> Status {
                      auto rows = tx.Query("SELECT doc FROM alertmanager_config");
                      for (const auto& r : *rows) text += r.Text(0);
                      auto events = tx.Query("SELECT payload FROM events");
                      for (const auto& r : *events) text += r.Text(0);
                      return Status::Ok();
                    })
                    .ok());
    return text;
  }

  FakeClock clock_;
  testing::TempStore db_{AllMigrations()};
  events::EventLog log_{clock_};
  SecretBox box_ = *SecretBox::FromKey(std::string(SecretBox::kKeyBytes, 'k'));
  AlertmanagerConfigStore store_{db_.store(), log_, clock_, box_};
  config::KindRegistry kinds_;
  int changes_ = 0;
};

TEST_F(AmConfigKindTest, APlainAlertmanagerFileAppliesWithItsSecretsSealed) {
  auto r = ApplyYaml(kConfig);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->errors.empty()) << r->errors[0].status.ToString();
  EXPECT_THAT(Plan(*r), ElementsAre("create AlertmanagerConfig alertmanager"));
  EXPECT_EQ(changes_, 1);
  // In effect with its secrets...
  auto current = store_.Current();
  ASSERT_TRUE(current.has_value());
  EXPECT_THAT(*current, HasSubstr("s3cr3t"));
  EXPECT_THAT(*current, HasSubstr("hunter2"));
  // ... which the store and the event log never hold in clear.
  const std::string stored = StoredText();
  EXPECT_THAT(stored, Not(HasSubstr("s3cr3t")));
  EXPECT_THAT(stored, Not(HasSubstr("hunter2")));
  EXPECT_THAT(stored, HasSubstr("sbx1:"));

  // Applying the same file again changes nothing; so does applying the export (sealed values).
  auto again = ApplyYaml(kConfig);
  ASSERT_TRUE(again.ok());
  EXPECT_THAT(Plan(*again), ElementsAre("unchanged AlertmanagerConfig alertmanager"));
  auto exported = config::Export(db_.store(), kinds_);
  ASSERT_TRUE(exported.ok());
  ASSERT_EQ(exported->size(), 1u);
  EXPECT_EQ((*exported)[0].at("kind").as_string(), "AlertmanagerConfig");
  EXPECT_THAT(JsonToString((*exported)[0]), Not(HasSubstr("hunter2")));
  auto reapplied = ApplyYaml(JsonToString((*exported)[0]));
  ASSERT_TRUE(reapplied.ok());
  ASSERT_TRUE(reapplied->errors.empty()) << reapplied->errors[0].status.ToString();
  EXPECT_THAT(Plan(*reapplied), ElementsAre("unchanged AlertmanagerConfig alertmanager"));
  EXPECT_EQ(changes_, 1);

  // A changed password is an update.
  std::string changed = kConfig;
  changed.replace(changed.find("hunter2"), 7, "hunter3");
  auto updated = ApplyYaml(changed);
  ASSERT_TRUE(updated.ok());
  EXPECT_THAT(Plan(*updated), ElementsAre("update AlertmanagerConfig alertmanager"));
  EXPECT_THAT(*store_.Current(), HasSubstr("hunter3"));
  EXPECT_EQ(changes_, 2);
}

TEST_F(AmConfigKindTest, ABadConfigurationIsRefusedWithAlertmanagersWordsAndChangesNothing) {
  auto r = ApplyYaml("route:\n  receiver: nobody\nreceivers:\n  - name: team\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_THAT(std::string(r->errors[0].status.message()), HasSubstr("nobody"));
  EXPECT_FALSE(store_.Current().has_value());

  auto templates = ApplyYaml(std::string(kConfig) + "templates: ['/etc/*.tmpl']\n");
  ASSERT_TRUE(templates.ok());
  ASSERT_EQ(templates->errors.size(), 1u);
  EXPECT_EQ(templates->errors[0].status.field(), "templates");

  auto file = ApplyYaml(
      "route: {receiver: a}\nreceivers:\n  - name: a\n    webhook_configs:\n"
      "      - url_file: /etc/passwd\n");
  ASSERT_TRUE(file.ok());
  ASSERT_EQ(file->errors.size(), 1u);
  EXPECT_THAT(file->errors[0].status.field(), HasSubstr("url_file"));
  EXPECT_EQ(changes_, 0);
}

TEST_F(AmConfigKindTest, ASecretSealedByAnotherKeyIsRefused) {
  SecretBox other = *SecretBox::FromKey(std::string(SecretBox::kKeyBytes, 'o'));
  std::string doc = kConfig;
  doc.replace(doc.find("hunter2"), 7, other.Seal("hunter2"));
  auto r = ApplyYaml(doc);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_THAT(std::string(r->errors[0].status.message()), HasSubstr("does not open"));
}

TEST_F(AmConfigKindTest, PruningTheConfigurationGoesBackAndARestartReadsItBack) {
  ASSERT_TRUE(ApplyYaml(kConfig).ok());
  AlertmanagerConfigStore reopened(db_.store(), log_, clock_, box_);
  ASSERT_TRUE(reopened.Load().ok());
  ASSERT_TRUE(reopened.Current().has_value());
  EXPECT_THAT(*reopened.Current(), HasSubstr("hunter2"));
  // An apply with prune and no AlertmanagerConfig of... the kind present elsewhere: delete it
  // through the handler.
  ASSERT_TRUE(db_.store()
                  .Write([&](store::Tx& tx) {
                    return kinds_.Find("AlertmanagerConfig")->remove(tx, "admin", "alertmanager");
                  })
                  .ok());
  EXPECT_FALSE(store_.Current().has_value());
  EXPECT_EQ(changes_, 2);
}

TEST_F(AmConfigKindTest, OnlyDocumentsWithARouteOrReceiversAreRecognised) {
  EXPECT_EQ(kinds_.KindOf(json::parse(R"({"route":{}})").as_object()), "AlertmanagerConfig");
  EXPECT_EQ(kinds_.KindOf(json::parse(R"({"receivers":[]})").as_object()), "AlertmanagerConfig");
  EXPECT_EQ(kinds_.KindOf(json::parse(R"({"name":"x"})").as_object()), "");
  EXPECT_EQ(kinds_.KindOf(json::parse(R"({"kind":"Team","route":{}})").as_object()), "Team");
}

}  // namespace
}  // namespace platops::alerting
