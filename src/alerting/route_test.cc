#include "alerting/route.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace platops::alerting {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::set<std::string> kReceivers = {
    "ops-mail",  "web-pager",     "web-oncall",    "web-mail",   "dba-mail",
    "team-x",    "team-y",        "audit",         "notify-def", "notify-a",
    "notify-bc", "notify-prod-a", "notify-prod-b", "notify-test"};
const std::set<std::string> kTimeIntervals = {"weekends", "business-hours"};

Result<std::unique_ptr<Route>> Load(std::string_view json_text) {
  return ParseRouteTree(boost::json::parse(json_text), kReceivers, kTimeIntervals);
}

std::unique_ptr<Route> MustLoad(std::string_view json_text) {
  auto tree = Load(json_text);
  EXPECT_TRUE(tree.ok()) << tree.status().ToString();
  if (!tree.ok()) return nullptr;
  return std::move(tree).value();
}

const Route& Child(const Route& r, size_t i) { return *r.routes().at(i); }

std::vector<std::string> Receivers(const std::vector<const Route*>& routes) {
  std::vector<std::string> out;
  for (const Route* r : routes) out.push_back(r->receiver());
  return out;
}

std::vector<std::string> Keys(const std::vector<const Route*>& routes) {
  std::vector<std::string> out;
  for (const Route* r : routes) out.push_back(r->Key());
  return out;
}

// The shape of Alertmanager's doc/examples/simple.yml, with our own teams and labels.
constexpr std::string_view kRealistic = R"json({
  "receiver": "ops-mail",
  "group_by": ["alertname", "cluster", "service"],
  "group_wait": "30s",
  "group_interval": "5m",
  "repeat_interval": "3h",
  "routes": [
    {
      "matchers": ["service=~\"web|api\""],
      "receiver": "web-pager",
      "routes": [
        {"matchers": ["severity=\"critical\""], "receiver": "web-oncall"},
        {"match_re": {"service": "web.*"}, "receiver": "web-mail", "group_wait": "1m"}
      ]
    },
    {
      "match": {"service": "database"},
      "receiver": "dba-mail",
      "group_by": ["alertname", "cluster", "database"],
      "mute_time_intervals": ["weekends"],
      "routes": [
        {"match": {"owner": "team-X"}, "receiver": "team-x", "continue": true,
         "repeat_interval": "1h"},
        {"match": {"owner": "team-Y"}, "receiver": "team-y"}
      ]
    },
    {"matchers": ["team=\"audit\"", "env!=\"dev\""], "receiver": "audit",
     "active_time_intervals": ["business-hours"]}
  ]
})json";

TEST(RouteTreeTest, LoadsARealisticTree) {
  auto tree = MustLoad(kRealistic);
  ASSERT_NE(tree, nullptr);
  const Route& root = *tree;
  EXPECT_EQ(root.receiver(), "ops-mail");
  EXPECT_EQ(root.group_by(), (std::set<std::string>{"alertname", "cluster", "service"}));
  EXPECT_FALSE(root.group_by_all());
  EXPECT_EQ(root.group_wait(), seconds(30));
  EXPECT_EQ(root.group_interval(), minutes(5));
  EXPECT_EQ(root.repeat_interval(), hours(3));
  EXPECT_EQ(root.path(), "route");
  EXPECT_EQ(root.parent(), nullptr);
  ASSERT_EQ(root.routes().size(), 3u);

  const Route& web = Child(root, 0);
  EXPECT_EQ(web.parent(), &root);
  EXPECT_EQ(web.path(), "route.routes[0]");
  EXPECT_EQ(web.Key(), R"({}/{service=~"web|api"})");
  const Route& web_mail = Child(web, 1);
  EXPECT_EQ(web_mail.path(), "route.routes[0].routes[1]");
  EXPECT_EQ(web_mail.group_wait(), minutes(1));
  EXPECT_EQ(web_mail.repeat_interval(), hours(3));

  const Route& dba = Child(root, 1);
  EXPECT_EQ(dba.group_by(), (std::set<std::string>{"alertname", "cluster", "database"}));
  EXPECT_THAT(dba.mute_time_intervals(), ElementsAre("weekends"));
  EXPECT_THAT(Child(dba, 0).mute_time_intervals(), IsEmpty());
  EXPECT_TRUE(Child(dba, 0).continue_matching());
  EXPECT_FALSE(Child(dba, 1).continue_matching());

  const Route& audit = Child(root, 2);
  EXPECT_THAT(audit.active_time_intervals(), ElementsAre("business-hours"));
  ASSERT_EQ(audit.matchers().size(), 2u);
  EXPECT_EQ(audit.matchers()[0].String(), R"(env!="dev")");
  EXPECT_EQ(audit.matchers()[1].String(), R"(team="audit")");

  std::vector<std::string> walked;
  root.Walk([&](const Route& r) { walked.push_back(r.receiver() + "@" + r.path()); });
  EXPECT_THAT(walked, ElementsAre("ops-mail@route", "web-pager@route.routes[0]",
                                  "web-oncall@route.routes[0].routes[0]",
                                  "web-mail@route.routes[0].routes[1]", "dba-mail@route.routes[1]",
                                  "team-x@route.routes[1].routes[0]",
                                  "team-y@route.routes[1].routes[1]", "audit@route.routes[2]"));
}

TEST(RouteTreeTest, RoutesTheRealisticTree) {
  auto tree = MustLoad(kRealistic);
  ASSERT_NE(tree, nullptr);
  struct Case {
    LabelSet labels;
    std::vector<std::string> receivers;
  };
  const std::vector<Case> cases = {
      {{{"alertname", "Down"}}, {"ops-mail"}},
      {{{"service", "api"}}, {"web-pager"}},
      {{{"service", "api"}, {"severity", "critical"}}, {"web-oncall"}},
      {{{"service", "web"}, {"severity", "warning"}}, {"web-mail"}},
      {{{"service", "webshop"}}, {"ops-mail"}},  // matchers are anchored: not "web"
      // team-x continues, no later sibling matches, and the parent is not added back.
      {{{"service", "database"}, {"owner", "team-X"}}, {"team-x"}},
      {{{"service", "database"}, {"owner", "team-Y"}}, {"team-y"}},
      {{{"service", "database"}, {"owner", "team-Z"}}, {"dba-mail"}},
      {{{"team", "audit"}}, {"audit"}},
      {{{"team", "audit"}, {"env", "dev"}}, {"ops-mail"}},
      // The first matching child without continue ends the search: audit is never reached.
      {{{"service", "web"}, {"team", "audit"}}, {"web-mail"}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Receivers(tree->Match(c.labels)), c.receivers) << ToString(c.labels);
  }
}

TEST(RouteTreeTest, RootDefaultsWhenNothingIsSet) {
  auto tree = MustLoad(R"({"receiver": "ops-mail"})");
  ASSERT_NE(tree, nullptr);
  EXPECT_EQ(tree->group_wait(), seconds(30));
  EXPECT_EQ(tree->group_interval(), minutes(5));
  EXPECT_EQ(tree->repeat_interval(), hours(4));
  EXPECT_THAT(tree->group_by(), IsEmpty());
  EXPECT_FALSE(tree->group_by_all());
  EXPECT_FALSE(tree->continue_matching());
  EXPECT_THAT(tree->matchers(), IsEmpty());
  EXPECT_THAT(tree->routes(), IsEmpty());
  EXPECT_EQ(tree->Key(), "{}");
  EXPECT_EQ(kDefaultGroupWait, seconds(30));
  EXPECT_EQ(kDefaultGroupInterval, minutes(5));
  EXPECT_EQ(kDefaultRepeatInterval, hours(4));
}

TEST(RouteTreeTest, ChildrenInheritEveryInheritableOption) {
  auto tree = MustLoad(R"({
    "receiver": "ops-mail", "group_by": ["alertname"], "group_wait": "10s",
    "group_interval": "2m", "repeat_interval": "12h",
    "routes": [{
      "match": {"a": "1"}, "continue": true, "mute_time_intervals": ["weekends"],
      "active_time_intervals": ["business-hours"],
      "routes": [{"match": {"b": "2"}, "routes": [{"match": {"c": "3"}}]}]
    }]
  })");
  ASSERT_NE(tree, nullptr);
  const Route& child = Child(*tree, 0);
  const Route& grandchild = Child(child, 0);
  const Route& great = Child(grandchild, 0);
  for (const Route* r : {&child, &grandchild, &great}) {
    EXPECT_EQ(r->receiver(), "ops-mail") << r->path();
    EXPECT_EQ(r->group_by(), std::set<std::string>{"alertname"}) << r->path();
    EXPECT_EQ(r->group_wait(), seconds(10)) << r->path();
    EXPECT_EQ(r->group_interval(), minutes(2)) << r->path();
    EXPECT_EQ(r->repeat_interval(), hours(12)) << r->path();
  }
  // continue, matchers and the time intervals belong to the route that sets them.
  EXPECT_TRUE(child.continue_matching());
  EXPECT_FALSE(grandchild.continue_matching());
  EXPECT_THAT(grandchild.mute_time_intervals(), IsEmpty());
  EXPECT_THAT(grandchild.active_time_intervals(), IsEmpty());
  ASSERT_EQ(grandchild.matchers().size(), 1u);
  EXPECT_EQ(grandchild.matchers()[0].String(), R"(b="2")");
  EXPECT_EQ(great.Key(), R"({}/{a="1"}/{b="2"}/{c="3"})");
}

TEST(RouteTreeTest, ChildrenOverrideEachOptionIndependently) {
  auto tree = MustLoad(R"({
    "receiver": "ops-mail", "group_by": ["alertname"],
    "routes": [
      {"receiver": "team-x"},
      {"group_by": ["cluster", "service"]},
      {"group_wait": "0s"},
      {"group_interval": "1m30s"},
      {"repeat_interval": "1d"}
    ]
  })");
  ASSERT_NE(tree, nullptr);
  const auto& r = tree->routes();
  EXPECT_EQ(r[0]->receiver(), "team-x");
  EXPECT_EQ(r[0]->group_by(), std::set<std::string>{"alertname"});
  EXPECT_EQ(r[1]->receiver(), "ops-mail");
  EXPECT_EQ(r[1]->group_by(), (std::set<std::string>{"cluster", "service"}));
  EXPECT_EQ(r[2]->group_wait(), milliseconds(0));  // zero is allowed for group_wait
  EXPECT_EQ(r[2]->group_interval(), minutes(5));
  EXPECT_EQ(r[3]->group_interval(), seconds(90));
  EXPECT_EQ(r[3]->group_wait(), seconds(30));
  EXPECT_EQ(r[4]->repeat_interval(), hours(24));
}

TEST(RouteTreeTest, EmptyReceiverAndEmptyGroupByInherit) {
  auto tree = MustLoad(R"({
    "receiver": "ops-mail", "group_by": ["alertname"],
    "routes": [{"receiver": "", "group_by": []}]
  })");
  ASSERT_NE(tree, nullptr);
  EXPECT_EQ(Child(*tree, 0).receiver(), "ops-mail");
  EXPECT_EQ(Child(*tree, 0).group_by(), std::set<std::string>{"alertname"});
}

TEST(RouteTreeTest, GroupByAllIsInheritedAndResetByALabelList) {
  auto tree = MustLoad(R"({
    "receiver": "ops-mail", "group_by": ["alertname"],
    "routes": [{
      "match": {"env": "parent"}, "group_by": ["..."],
      "routes": [
        {"match": {"env": "child1"}},
        {"match": {"env": "child2"}, "group_by": ["foo"]}
      ]
    }]
  })");
  ASSERT_NE(tree, nullptr);
  const Route& parent = Child(*tree, 0);
  EXPECT_TRUE(parent.group_by_all());
  // As Alertmanager's RouteOpts: the inherited set stays, unused while grouping by all.
  EXPECT_EQ(parent.group_by(), std::set<std::string>{"alertname"});
  EXPECT_TRUE(Child(parent, 0).group_by_all());
  EXPECT_FALSE(Child(parent, 1).group_by_all());
  EXPECT_EQ(Child(parent, 1).group_by(), std::set<std::string>{"foo"});

  const LabelSet alert = {{"alertname", "Down"}, {"env", "child1"}, {"instance", "a:9100"}};
  EXPECT_EQ(GroupLabels(Child(parent, 0), alert), alert);
  EXPECT_EQ(GroupKey(Child(parent, 0), GroupLabels(Child(parent, 0), alert)),
            R"({}/{env="parent"}/{env="child1"}:{alertname="Down", env="child1", )"
            R"(instance="a:9100"})");
}

TEST(RouteTreeTest, RepeatedWildcardIsAccepted) {
  auto tree = MustLoad(R"({"receiver": "ops-mail", "group_by": ["...", "..."]})");
  ASSERT_NE(tree, nullptr);
  EXPECT_TRUE(tree->group_by_all());
}

TEST(RouteTreeTest, GroupLabelsKeepOnlyTheGroupByLabelsTheAlertHas) {
  auto tree = MustLoad(R"({"receiver": "ops-mail", "group_by": ["alertname", "cluster", "x"]})");
  ASSERT_NE(tree, nullptr);
  const LabelSet alert = {{"alertname", "Down"}, {"cluster", "eu1"}, {"instance", "a"}};
  EXPECT_EQ(GroupLabels(*tree, alert), (LabelSet{{"alertname", "Down"}, {"cluster", "eu1"}}));
  EXPECT_EQ(GroupKey(*tree, GroupLabels(*tree, alert)), R"({}:{alertname="Down", cluster="eu1"})");

  auto no_grouping = MustLoad(R"({"receiver": "ops-mail"})");
  ASSERT_NE(no_grouping, nullptr);
  EXPECT_TRUE(GroupLabels(*no_grouping, alert).empty());
  EXPECT_EQ(GroupKey(*no_grouping, GroupLabels(*no_grouping, alert)), "{}:{}");
}

TEST(RouteTreeTest, GroupKeySortsItemsAsStringsAndQuotesValuesAsGo) {
  auto tree = MustLoad(R"({"receiver": "ops-mail", "routes": [{"match": {"team": "a\"b"}}]})");
  ASSERT_NE(tree, nullptr);
  const Route& child = Child(*tree, 0);
  // prometheus/common 0.38 sorts `name="value"` strings: "a1=" sorts before "a=" ('1' < '=').
  EXPECT_EQ(GroupKey(child, LabelSet{{"a", "y"}, {"a1", "x"}, {"b", "line\nnext"}}),
            "{}/{team=\"a\\\"b\"}:{a1=\"x\", a=\"y\", b=\"line\\nnext\"}");
}

// A tree in the spirit of Alertmanager's dispatch TestRouteMatch, with our own labels, using
// match, match_re and matchers side by side.
constexpr std::string_view kMatchTree = R"json({
  "receiver": "notify-def",
  "routes": [
    {
      "matchers": ["{owner=\"team-A\"}", "{level!=\"critical\"}"],
      "receiver": "notify-a",
      "routes": [
        {"matchers": ["env=\"testing\", baz!~\".*quux\""], "receiver": "notify-test",
         "group_by": ["..."]},
        {"match": {"env": "production"}, "receiver": "notify-prod-a", "group_wait": "1m",
         "continue": true},
        {"match_re": {"env": "produ.*", "job": ".*"}, "receiver": "notify-prod-b",
         "group_wait": "30s", "group_interval": "5m", "repeat_interval": "1h",
         "group_by": ["job"]}
      ]
    },
    {"match_re": {"owner": "team-(B|C)"}, "group_by": ["foo", "bar"], "group_wait": "2m",
     "receiver": "notify-bc"},
    {
      "match": {"group_by": "role"}, "group_by": ["role"],
      "routes": [
        {"matchers": ["env=\"testing\""], "receiver": "notify-test",
         "routes": [{"matchers": ["wait=\"long\""], "group_wait": "2m"}]}
      ]
    }
  ]
})json";

TEST(RouteMatchTest, MatchesLikeAlertmanager) {
  auto tree = MustLoad(kMatchTree);
  ASSERT_NE(tree, nullptr);
  struct Case {
    LabelSet labels;
    std::vector<std::string> receivers;
    std::vector<std::string> keys;
  };
  const std::string team_a = R"({}/{level!="critical",owner="team-A"})";
  const std::vector<Case> cases = {
      {{{"owner", "team-A"}}, {"notify-a"}, {team_a}},
      {{{"owner", "team-A"}, {"env", "unset"}}, {"notify-a"}, {team_a}},
      {{{"owner", "team-A"}, {"level", "critical"}}, {"notify-def"}, {"{}"}},
      {{{"owner", "team-C"}}, {"notify-bc"}, {R"({}/{owner=~"^(?:team-(B|C))$"})"}},
      {{{"owner", "team-D"}}, {"notify-def"}, {"{}"}},
      {{{"owner", "team-A"}, {"env", "testing"}},
       {"notify-test"},
       {team_a + R"(/{baz!~".*quux",env="testing"})"}},
      {{{"owner", "team-A"}, {"env", "testing"}, {"baz", "aquux"}}, {"notify-a"}, {team_a}},
      {{{"owner", "team-A"}, {"env", "production"}},
       {"notify-prod-a", "notify-prod-b"},
       {team_a + R"(/{env="production"})", team_a + R"(/{env=~"^(?:produ.*)$",job=~"^(?:.*)$"})"}},
      {{{"owner", "team-A"}, {"env", "producing"}},
       {"notify-prod-b"},
       {team_a + R"(/{env=~"^(?:produ.*)$",job=~"^(?:.*)$"})"}},
      {{{"group_by", "role"}}, {"notify-def"}, {R"({}/{group_by="role"})"}},
      {{{"group_by", "role"}, {"env", "testing"}},
       {"notify-test"},
       {R"({}/{group_by="role"}/{env="testing"})"}},
      {{{"group_by", "role"}, {"env", "testing"}, {"wait", "long"}},
       {"notify-test"},
       {R"({}/{group_by="role"}/{env="testing"}/{wait="long"})"}},
  };
  for (const Case& c : cases) {
    const std::vector<const Route*> matched = tree->Match(c.labels);
    EXPECT_EQ(Receivers(matched), c.receivers) << ToString(c.labels);
    EXPECT_EQ(Keys(matched), c.keys) << ToString(c.labels);
  }
}

TEST(RouteMatchTest, MatchedRoutesCarryTheirResolvedOptions) {
  auto tree = MustLoad(kMatchTree);
  ASSERT_NE(tree, nullptr);
  auto prod = tree->Match({{"owner", "team-A"}, {"env", "production"}});
  ASSERT_EQ(prod.size(), 2u);
  EXPECT_EQ(prod[0]->group_wait(), minutes(1));
  EXPECT_THAT(prod[0]->group_by(), IsEmpty());
  EXPECT_EQ(prod[1]->group_by(), std::set<std::string>{"job"});
  EXPECT_EQ(prod[1]->repeat_interval(), hours(1));

  auto bc = tree->Match({{"owner", "team-B"}});
  ASSERT_EQ(bc.size(), 1u);
  EXPECT_EQ(bc[0]->group_by(), (std::set<std::string>{"bar", "foo"}));
  EXPECT_EQ(bc[0]->group_wait(), minutes(2));

  auto testing = tree->Match({{"owner", "team-A"}, {"env", "testing"}});
  ASSERT_EQ(testing.size(), 1u);
  EXPECT_TRUE(testing[0]->group_by_all());

  auto wait = tree->Match({{"group_by", "role"}, {"env", "testing"}, {"wait", "long"}});
  ASSERT_EQ(wait.size(), 1u);
  EXPECT_EQ(wait[0]->receiver(), "notify-test");
  EXPECT_EQ(wait[0]->group_by(), std::set<std::string>{"role"});
  EXPECT_EQ(wait[0]->group_wait(), minutes(2));
}

TEST(RouteMatchTest, ContinueLetsLaterSiblingsMatch) {
  auto tree = MustLoad(R"({
    "receiver": "notify-def",
    "routes": [
      {"match": {"a": "1"}, "receiver": "team-x", "continue": true},
      {"match": {"b": "1"}, "receiver": "team-y"},
      {"match": {"a": "1"}, "receiver": "audit"},
      {"receiver": "ops-mail", "continue": true}
    ]
  })");
  ASSERT_NE(tree, nullptr);
  EXPECT_THAT(Receivers(tree->Match({{"a", "1"}})), ElementsAre("team-x", "audit"));
  EXPECT_THAT(Receivers(tree->Match({{"a", "1"}, {"b", "1"}})), ElementsAre("team-x", "team-y"));
  EXPECT_THAT(Receivers(tree->Match({{"b", "1"}})), ElementsAre("team-y"));
  // A catch-all child with continue matches, so the parent itself is not returned.
  EXPECT_THAT(Receivers(tree->Match({{"c", "1"}})), ElementsAre("ops-mail"));
}

TEST(RouteMatchTest, ContinueInsideASubtreeDoesNotLeakToTheParentsSiblings) {
  auto tree = MustLoad(R"({
    "receiver": "notify-def",
    "routes": [
      {"match": {"a": "1"}, "receiver": "team-x",
       "routes": [{"match": {"b": "1"}, "receiver": "team-y", "continue": true}]},
      {"match": {"a": "1"}, "receiver": "audit"}
    ]
  })");
  ASSERT_NE(tree, nullptr);
  EXPECT_THAT(Receivers(tree->Match({{"a", "1"}, {"b", "1"}})), ElementsAre("team-y"));
}

TEST(RouteMatchTest, ARouteWhoseMatchersFailYieldsNothing) {
  auto tree = MustLoad(kMatchTree);
  ASSERT_NE(tree, nullptr);
  EXPECT_THAT(Child(*tree, 1).Match({{"owner", "team-A"}}), IsEmpty());
  EXPECT_THAT(Receivers(Child(*tree, 1).Match({{"owner", "team-B"}})), ElementsAre("notify-bc"));
}

TEST(RouteMatchTest, AbsentLabelsReadAsEmpty) {
  auto tree = MustLoad(R"({
    "receiver": "notify-def",
    "routes": [{"match": {"env": ""}, "receiver": "team-x"}, {"receiver": "team-y"}]
  })");
  ASSERT_NE(tree, nullptr);
  EXPECT_THAT(Receivers(tree->Match({{"a", "1"}})), ElementsAre("team-x"));
  EXPECT_THAT(Receivers(tree->Match({{"env", "prod"}})), ElementsAre("team-y"));
}

TEST(RouteKeyTest, MatchersFromAllThreeFieldsAreSortedByNameValueAndType) {
  auto tree = MustLoad(R"({
    "receiver": "notify-def",
    "routes": [{
      "match": {"zone": "eu", "app": "x"},
      "match_re": {"app": "x"},
      "matchers": ["app!=\"x\"", "app!~\"x\", job=\"a\\\"b\""]
    }]
  })");
  ASSERT_NE(tree, nullptr);
  EXPECT_EQ(Child(*tree, 0).Key(),
            R"({}/{app=~"^(?:x)$",app="x",app!="x",app!~"x",job="a\"b",zone="eu"})");
}

TEST(RouteKeyTest, SiblingsWithEqualMatchersShareAKey) {
  auto tree = MustLoad(R"({
    "receiver": "notify-def",
    "routes": [{"matchers": ["a=1"], "receiver": "team-x"},
               {"match": {"a": "1"}, "receiver": "team-y"}]
  })");
  ASSERT_NE(tree, nullptr);
  EXPECT_EQ(Child(*tree, 0).Key(), R"({}/{a="1"})");
  EXPECT_EQ(Child(*tree, 1).Key(), Child(*tree, 0).Key());
}

TEST(RouteParseTest, ScalarsMayArriveAsStringsOrNumbers) {
  auto tree = MustLoad(R"({
    "receiver": "notify-def", "group_wait": 0,
    "routes": [{"match": {"code": 500, "ratio": 1.0, "up": false}, "continue": "true"},
               {"continue": "no"}]
  })");
  ASSERT_NE(tree, nullptr);
  EXPECT_EQ(tree->group_wait(), milliseconds(0));
  EXPECT_EQ(Child(*tree, 0).Key(), R"({}/{code="500",ratio="1.0",up="false"})");
  EXPECT_TRUE(Child(*tree, 0).continue_matching());
  EXPECT_FALSE(Child(*tree, 1).continue_matching());
}

TEST(RouteParseTest, RootMayHaveMatchersThatParseToNothing) {
  auto tree = MustLoad(R"({"receiver": "notify-def", "matchers": ["{}"], "match": {}})");
  ASSERT_NE(tree, nullptr);
  EXPECT_EQ(tree->Key(), "{}");
}

TEST(RouteParseTest, NullFieldsCountAsAbsent) {
  auto tree = MustLoad(R"({"receiver": "notify-def", "group_by": null, "group_wait": null,
                           "routes": [{"receiver": null, "match": {"a": null}, "routes": null}]})");
  ASSERT_NE(tree, nullptr);
  EXPECT_EQ(tree->group_wait(), seconds(30));
  EXPECT_EQ(Child(*tree, 0).receiver(), "notify-def");
  EXPECT_EQ(Child(*tree, 0).Key(), R"({}/{a=""})");
  EXPECT_THAT(Child(*tree, 0).routes(), IsEmpty());
}

struct ErrorCase {
  const char* name;
  const char* json;
  const char* field;
  const char* message;
};

const ErrorCase kErrorCases[] = {
    {"RootWithoutReceiver", R"({"group_by": ["a"]})", "route.receiver",
     "root route must specify a default receiver"},
    {"RootWithEmptyReceiver", R"({"receiver": ""})", "route.receiver",
     "root route must specify a default receiver"},
    {"RootWithMatch", R"({"receiver": "notify-def", "match": {"a": "b"}})", "route.match",
     "root route must not have any matchers"},
    {"RootWithMatchRe", R"({"receiver": "notify-def", "match_re": {"a": "b"}})", "route.match_re",
     "root route must not have any matchers"},
    {"RootWithMatchers", R"({"receiver": "notify-def", "matchers": ["a=b"]})", "route.matchers",
     "root route must not have any matchers"},
    {"RootWithMuteTimeIntervals",
     R"({"receiver": "notify-def", "mute_time_intervals": ["weekends"]})",
     "route.mute_time_intervals", "root route must not have any mute time intervals"},
    {"RootWithActiveTimeIntervals",
     R"({"receiver": "notify-def", "active_time_intervals": ["weekends"]})",
     "route.active_time_intervals", "root route must not have any active time intervals"},
    {"RootWithContinue", R"({"receiver": "notify-def", "continue": true})", "route.continue",
     "cannot have continue in root route"},
    {"UndefinedReceiver",
     R"({"receiver": "notify-def", "routes": [{"receiver": "team-x"},
        {"routes": [{"receiver": "nobody"}]}]})",
     "route.routes[1].routes[0].receiver", R"(undefined receiver "nobody" used in route)"},
    {"UndefinedRootReceiver", R"({"receiver": "nobody"})", "route.receiver",
     R"(undefined receiver "nobody" used in route)"},
    {"UndefinedMuteTimeInterval",
     R"({"receiver": "notify-def",
        "routes": [{"mute_time_intervals": ["weekends", "holidays"]}]})",
     "route.routes[0].mute_time_intervals[1]",
     R"(undefined time interval "holidays" used in route)"},
    {"UndefinedActiveTimeInterval",
     R"({"receiver": "notify-def", "routes": [{"active_time_intervals": ["nights"]}]})",
     "route.routes[0].active_time_intervals[0]",
     R"(undefined time interval "nights" used in route)"},
    {"InvalidGroupByLabel",
     R"({"receiver": "notify-def", "routes": [{"group_by": ["alertname", "-invalid-"]}]})",
     "route.routes[0].group_by[1]", R"(invalid label name "-invalid-" in group_by list)"},
    {"GroupByLabelWithColon", R"({"receiver": "notify-def", "group_by": ["a:b"]})",
     "route.group_by[0]", R"(invalid label name "a:b" in group_by list)"},
    {"WildcardWithOtherLabels",
     R"({"receiver": "notify-def", "group_by": ["alertname", "cluster", "..."]})", "route.group_by",
     "cannot have wildcard group_by (`...`) and other other labels at the same time"},
    {"DuplicatedGroupByLabel",
     R"({"receiver": "notify-def", "group_by": ["alertname", "cluster", "service", "cluster"]})",
     "route.group_by[3]", R"(duplicated label "cluster" in group_by)"},
    {"ZeroGroupInterval", R"({"receiver": "notify-def", "routes": [{"group_interval": "0s"}]})",
     "route.routes[0].group_interval", "group_interval cannot be zero"},
    {"ZeroRepeatInterval", R"({"receiver": "notify-def", "repeat_interval": "0"})",
     "route.repeat_interval", "repeat_interval cannot be zero"},
    {"BadDuration", R"({"receiver": "notify-def", "group_wait": "5 minutes"})", "route.group_wait",
     R"(not a valid duration string: "5 minutes")"},
    {"DurationWithoutUnit", R"({"receiver": "notify-def", "group_interval": 30})",
     "route.group_interval", R"(not a valid duration string: "30")"},
    {"EmptyDuration", R"({"receiver": "notify-def", "repeat_interval": ""})",
     "route.repeat_interval", "empty duration string"},
    {"InvalidMatchLabelName",
     R"({"receiver": "notify-def", "routes": [{"match": {"foo-bar": "x"}}]})",
     "route.routes[0].match.foo-bar", R"(invalid label name "foo-bar")"},
    {"InvalidMatchReLabelName",
     R"({"receiver": "notify-def", "routes": [{"match_re": {"1x": "x"}}]})",
     "route.routes[0].match_re.1x", R"(invalid label name "1x")"},
    {"NullMatchReValue", R"({"receiver": "notify-def", "routes": [{"match_re": {"job": null}}]})",
     "route.routes[0].match_re.job", R"(invalid regexp value for "job")"},
    {"BadMatchReRegexp", R"({"receiver": "notify-def", "routes": [{"match_re": {"job": "a["}}]})",
     "route.routes[0].match_re.job", "error parsing regexp: missing closing ]: `[)$`"},
    {"BadMatcher", R"({"receiver": "notify-def", "routes": [{"matchers": ["a=b", "foo"]}]})",
     "route.routes[0].matchers[1]", "bad matcher format: foo"},
    {"UnknownField", R"({"receiver": "notify-def", "routes": [{"recevier": "team-x"}]})",
     "route.routes[0].recevier", "unknown field"},
    {"RouteNotAnObject", R"({"receiver": "notify-def", "routes": ["team-x"]})", "route.routes[0]",
     "must be a JSON object"},
    {"RoutesNotAList", R"({"receiver": "notify-def", "routes": {"receiver": "team-x"}})",
     "route.routes", "must be a list of routes"},
    {"GroupByNotAList", R"({"receiver": "notify-def", "group_by": "alertname"})", "route.group_by",
     "must be a list"},
    {"MatchersNotAList", R"({"receiver": "notify-def", "routes": [{"matchers": "a=b"}]})",
     "route.routes[0].matchers", "must be a list"},
    {"ContinueNotABoolean", R"({"receiver": "notify-def", "routes": [{"continue": "maybe"}]})",
     "route.routes[0].continue", "must be true or false"},
    {"ReceiverNotAScalar", R"({"receiver": ["notify-def"]})", "route.receiver", "must be a string"},
    // A child's own errors come before its parent's checks, and the checks of the tree's
    // receivers before those of its time intervals.
    {"ChildErrorsFirst",
     R"({"receiver": "notify-def", "group_by": ["a", "a"],
        "routes": [{"repeat_interval": "0s"}]})",
     "route.routes[0].repeat_interval", "repeat_interval cannot be zero"},
    {"ReceiversBeforeTimeIntervals",
     R"({"receiver": "notify-def", "routes": [{"mute_time_intervals": ["nope"]},
        {"receiver": "nobody"}]})",
     "route.routes[1].receiver", R"(undefined receiver "nobody" used in route)"},
    {"RootChecksBeforeReceivers",
     R"({"receiver": "notify-def", "match": {"a": "b"}, "routes": [{"receiver": "nobody"}]})",
     "route.match", "root route must not have any matchers"},
};

class RouteErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(RouteErrorTest, ReportsAlertmanagersMessageAtThePath) {
  const ErrorCase& c = GetParam();
  auto tree = Load(c.json);
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tree.status().field(), c.field);
  EXPECT_EQ(tree.status().message(), c.message);
}

INSTANTIATE_TEST_SUITE_P(AllErrors, RouteErrorTest, ::testing::ValuesIn(kErrorCases),
                         [](const ::testing::TestParamInfo<ErrorCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(RouteParseTest, ErrorStringNamesThePath) {
  auto tree =
      Load(R"({"receiver": "notify-def", "routes": [{}, {"routes": [{"receiver": "x"}]}]})");
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.status().ToString(),
            R"(validation_failed: route.routes[1].routes[0].receiver: undefined receiver "x" )"
            R"(used in route)");
}

}  // namespace
}  // namespace platops::alerting
