#include "catalog/graph.h"

#include <gtest/gtest.h>

namespace platops::catalog {
namespace {

std::vector<std::string> Slugs(const std::vector<GraphNode>& nodes) {
  std::vector<std::string> out;
  for (const auto& n : nodes) out.push_back(n.slug + "@" + std::to_string(n.depth));
  return out;
}

Graph Shop() {
  // web -> api -> {payments, db}; payments -> db (soft); worker -> queue -> db
  return Graph({{"web", "Web", 1},
                {"api", "API", 1},
                {"payments", "Payments", 1},
                {"db", "DB", 1},
                {"worker", "Worker", 3},
                {"queue", "Queue", 2}},
               {{"web", "api", true},
                {"api", "payments", true},
                {"api", "db", true},
                {"payments", "db", false},
                {"worker", "queue", true},
                {"queue", "db", true}});
}

TEST(GraphTest, TransitiveDependentsWithShortestDepth) {
  Graph g = Shop();
  auto deps = g.Dependents("db", true);
  EXPECT_EQ(Slugs(deps),
            (std::vector<std::string>{"api@1", "payments@1", "queue@1", "web@2", "worker@2"}));
  EXPECT_EQ(deps[1].kind, "soft");
  EXPECT_EQ(deps[3].via, "api");
  EXPECT_EQ(deps[0].tier, 1);
}

TEST(GraphTest, DirectOnly) {
  Graph g = Shop();
  EXPECT_EQ(Slugs(g.Dependents("db", false)),
            (std::vector<std::string>{"api@1", "payments@1", "queue@1"}));
  EXPECT_EQ(Slugs(g.Dependencies("web", true)),
            (std::vector<std::string>{"api@1", "db@2", "payments@2"}));
}

TEST(GraphTest, CyclesTerminateAndReportEachOnce) {
  Graph g({{"a", "A", 1}, {"b", "B", 1}, {"c", "C", 1}},
          {{"a", "b", true}, {"b", "c", true}, {"c", "a", true}});
  EXPECT_EQ(Slugs(g.Dependents("a", true)), (std::vector<std::string>{"c@1", "b@2"}));
  EXPECT_EQ(Slugs(g.Dependencies("a", true)), (std::vector<std::string>{"b@1", "c@2"}));
  EXPECT_TRUE(g.Dependents("missing", true).empty());
}

}  // namespace
}  // namespace platops::catalog
