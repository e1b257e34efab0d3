// `kind: Route`: the routing tree as a document, checked against the receivers in effect.

#include "alerting/route_kind.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "alerting/am_config.h"
#include "alerting/am_config_kind.h"
#include "base/json_reader.h"
#include "testing/apply_yaml.h"
#include "testing/temp_store.h"

namespace platops::alerting {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<store::Migration> AllMigrations() {
  auto m = events::EventLog::Migrations();
  for (auto& x : AlertmanagerConfigStore::Migrations()) m.push_back(x);
  for (auto& x : RouteStore::Migrations()) m.push_back(x);
  return m;
}

constexpr const char* kDefault = "route: {receiver: default}\nreceivers: [{name: default}]\n";

constexpr const char* kTwoReceivers = R"(route: {receiver: team}
receivers: [{name: team}, {name: db-oncall}]
)";

constexpr const char* kRoute = R"(kind: Route
receiver: team
group_by: [alertname, service]
group_wait: 10s
routes:
  - matchers: ['service=~"db.*"']
    receiver: db-oncall
    continue: true
)";

class RouteKindTest : public ::testing::Test {
 protected:
  RouteKindTest() {
    RegisterAlertmanagerConfigKind(kinds_, am_);
    RegisterRouteKind(kinds_, routes_);
    // What the server checks: the route fits the configuration as the apply leaves it.
    auto check = [this](store::Tx& tx) -> Status {
      PLATOPS_ASSIGN_OR_RETURN(auto route, RouteStore::In(tx));
      if (!route) return Status::Ok();
      PLATOPS_ASSIGN_OR_RETURN(auto applied, am_.In(tx));
      AmConfigOptions options;
      options.route = std::move(route);
      return ParseAlertmanagerConfig(applied ? *applied : kDefault, options).status();
    };
    am_.SetCheck(check);
    routes_.SetCheck(check);
    routes_.OnChange([this] { ++changes_; });
  }

  Result<config::ApplyResult> Apply(const std::string& yaml, bool prune = false) {
    return testing::ApplyYaml(db_.store(), kinds_, yaml, prune, "route.yaml");
  }

  std::vector<std::string> Actions() {
    std::vector<std::string> out;
    EXPECT_TRUE(db_.store()
                    .Read([&](store::Tx& tx) -> Status {
                      auto rows = tx.Query("SELECT action FROM events ORDER BY seq");
                      for (const auto& r : *rows) out.push_back(r.Text(0));
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }

  FakeClock clock_;
  testing::TempStore db_{AllMigrations()};
  events::EventLog log_{clock_};
  SecretBox box_ = *SecretBox::FromKey(std::string(SecretBox::kKeyBytes, 'k'));
  AlertmanagerConfigStore am_{db_.store(), log_, clock_, box_};
  RouteStore routes_{db_.store(), log_, clock_};
  config::KindRegistry kinds_;
  int changes_ = 0;
};

TEST_F(RouteKindTest, ARouteAppliedWithItsReceiversIsStoredAndAnnounced) {
  // The configuration and the route in one apply: the route is checked against the new
  // receivers, after both are written.
  auto r = Apply(std::string("kind: AlertmanagerConfig\n") + kTwoReceivers + "---\n" + kRoute);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->errors.empty()) << r->errors[0].status.ToString();
  EXPECT_THAT(testing::PlanLines(*r), ElementsAre("create AlertmanagerConfig alertmanager",
                                                  "create Route root"));
  EXPECT_EQ(changes_, 1);
  auto current = routes_.Current();
  ASSERT_TRUE(current.has_value());
  EXPECT_EQ(current->at("receiver").as_string(), "team");
  EXPECT_FALSE(current->contains("kind"));
  EXPECT_THAT(Actions(), ElementsAre("alertmanager_config.created", "route.created"));

  auto again = Apply(kRoute);
  ASSERT_TRUE(again.ok());
  EXPECT_THAT(testing::PlanLines(*again), ElementsAre("unchanged Route root"));
  EXPECT_EQ(changes_, 1);

  auto exported = config::Export(db_.store(), kinds_);
  ASSERT_TRUE(exported.ok());
  ASSERT_EQ(exported->size(), 2u);
  EXPECT_EQ((*exported)[1].at("kind").as_string(), "Route");
  EXPECT_EQ((*exported)[1].at("routes").as_array()[0].at("receiver").as_string(), "db-oncall");
}

TEST_F(RouteKindTest, AnUnknownReceiverIsRefusedAndNothingChanges) {
  auto r = Apply(kRoute);  // the default configuration has only "default"
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("Route: "));
  EXPECT_THAT(r.status().message(), HasSubstr("undefined receiver"));
  EXPECT_FALSE(routes_.Current().has_value());
  EXPECT_EQ(changes_, 0);
  EXPECT_TRUE(Actions().empty());
}

TEST_F(RouteKindTest, AConfigurationThatDropsARoutedReceiverIsRefused) {
  auto first = Apply(std::string("kind: AlertmanagerConfig\n") + kTwoReceivers + "---\n" + kRoute);
  ASSERT_TRUE(first.ok() && first->errors.empty());
  auto drop = Apply("kind: AlertmanagerConfig\nroute: {receiver: team}\nreceivers: [{name: team}]\n");
  ASSERT_FALSE(drop.ok());
  EXPECT_THAT(drop.status().message(), HasSubstr("AlertmanagerConfig: "));
  EXPECT_THAT(drop.status().message(), HasSubstr("db-oncall"));
  auto still = am_.Current();
  ASSERT_TRUE(still.has_value());
  EXPECT_THAT(*still, HasSubstr("db-oncall"));
}

TEST_F(RouteKindTest, SyntaxErrorsNameTheFieldInTheDocument) {
  struct Case {
    std::string yaml;
    std::string field;
    std::string message;
  };
  const Case cases[] = {
      {"kind: Route\nreceiver: team\nroutes:\n  - matchers: ['service=~\"(\"']\n",
       "routes[0].matchers[0]", ""},
      {"kind: Route\nreceiver: team\ngroup_wait: soon\n", "group_wait", ""},
      {"kind: Route\nroutes: [{receiver: team}]\n", "receiver",
       "root route must specify a default receiver"},
      {"kind: Route\nreceiver: team\nname: mine\n", "name", ""},
  };
  for (const Case& c : cases) {
    auto r = Apply(c.yaml);
    ASSERT_TRUE(r.ok()) << c.yaml << r.status().ToString();
    ASSERT_EQ(r->errors.size(), 1u) << c.yaml;
    EXPECT_EQ(r->errors[0].status.field(), c.field) << c.yaml << r->errors[0].status.ToString();
    EXPECT_THAT(std::string(r->errors[0].status.message()), HasSubstr(c.message)) << c.yaml;
  }
  EXPECT_FALSE(routes_.Current().has_value());
}

TEST_F(RouteKindTest, DeleteRemovesTheRouteButNotAConfigurationItStillNeeds) {
  ASSERT_TRUE(Apply(std::string("kind: AlertmanagerConfig\n") + kTwoReceivers + "---\n" + kRoute)
                  ->errors.empty());
  // The configuration cannot go while the route names its receivers (the default lacks them).
  Status kept = config::Delete(db_.store(), kinds_, "alertmanagerconfig", "alertmanager", "admin");
  EXPECT_EQ(kept.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(kept.message()), HasSubstr("AlertmanagerConfig: "));
  EXPECT_TRUE(am_.Current().has_value());

  EXPECT_EQ(config::Delete(db_.store(), kinds_, "route", "other", "admin").code(),
            StatusCode::kNotFound);
  EXPECT_EQ(config::Delete(db_.store(), kinds_, "routes", "root", "admin").code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(config::Delete(db_.store(), kinds_, "route", "root", "admin").ok());
  EXPECT_FALSE(routes_.Current().has_value());
  EXPECT_EQ(changes_, 2);
  EXPECT_EQ(Actions().back(), "route.deleted");
  // Now the configuration can go too.
  EXPECT_TRUE(config::Delete(db_.store(), kinds_, "AlertmanagerConfig", "alertmanager", "admin").ok());
}

}  // namespace
}  // namespace platops::alerting
