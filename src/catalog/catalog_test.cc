#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include <thread>

#include "base/json_reader.h"
#include "catalog/codec.h"
#include "testing/temp_store.h"

namespace platops::catalog {
namespace {

std::vector<store::Migration> AllMigrations() {
  auto m = events::EventLog::Migrations();
  for (auto& x : identity::IdentityService::Migrations()) m.push_back(x);
  for (auto& x : CatalogService::Migrations()) m.push_back(x);
  return m;
}

class CatalogTest : public ::testing::Test {
 protected:
  CatalogTest()
      : db_(AllMigrations()),
        identity_(db_.store(), log_, clock_),
        catalog_(db_.store(), log_, clock_, identity_) {}

  void SetUp() override {
    identity::User alice{.name = "alice", .email = "alice@example.com"};
    ASSERT_TRUE(identity_.CreateUser("admin", alice).ok());
    ASSERT_TRUE(
        catalog_.CreateTeam("admin", {.slug = "core", .name = "Core", .members = {"alice"}}).ok());
  }

  Service Svc(std::string slug, std::vector<Dependency> deps = {}) {
    Service s;
    s.slug = slug;
    s.name = "Service " + slug;
    s.team = "core";
    s.tier = 2;
    s.depends_on = std::move(deps);
    return s;
  }

  std::vector<events::Event> ServiceEvents(const std::string& slug) {
    std::vector<events::Event> evs;
    EXPECT_TRUE(db_.store()
                    .Read([&](store::Tx& tx) -> Status {
                      events::EventQuery q;
                      q.subject_type = "service";
                      q.subject_id = slug;
                      PLATOPS_ASSIGN_OR_RETURN(evs, log_.List(tx, q));
                      return Status::Ok();
                    })
                    .ok());
    return evs;
  }

  int64_t EventCount() {
    int64_t n = 0;
    EXPECT_TRUE(db_.store()
                    .Read([&](store::Tx& tx) -> Status {
                      PLATOPS_ASSIGN_OR_RETURN(n, log_.LastSeq(tx));
                      return Status::Ok();
                    })
                    .ok());
    return n;
  }

  FakeClock clock_;
  events::EventLog log_{clock_};
  testing::TempStore db_;
  identity::IdentityService identity_;
  CatalogService catalog_;
};

TEST_F(CatalogTest, CreateGetRoundTrip) {
  Service s = Svc("payments-api");
  s.tags = {"pci", "backend", "pci"};
  s.links = {{"runbook", "https://wiki.example.com/payments"}};
  s.description = R"(Robert'); DROP TABLE services;-- "quoted" \ back)";
  auto created = catalog_.CreateService("alice", s);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->version, 1);
  auto got = catalog_.GetService("payments-api");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->description, s.description);
  EXPECT_EQ(got->tags, (std::vector<std::string>{"backend", "pci"}));
  EXPECT_EQ(got->links.at("runbook"), "https://wiki.example.com/payments");
  EXPECT_EQ(got->team, "core");
}

TEST_F(CatalogTest, ValidationNamesTheField) {
  Service s = Svc("x");
  s.tier = 7;
  EXPECT_EQ(catalog_.CreateService("a", s).status().ToString(),
            "validation_failed: tier: must be 1..4, got 7");
  s = Svc(std::string(100000, 'a'));
  EXPECT_EQ(catalog_.CreateService("a", s).status().field(), "slug");
  s = Svc("Bad_Slug");
  EXPECT_EQ(catalog_.CreateService("a", s).status().field(), "slug");
  s = Svc("ok");
  s.links = {{"repo", "ftp://x"}};
  EXPECT_EQ(catalog_.CreateService("a", s).status().field(), "links.repo");
  s = Svc("ok", {{"ok", DependencyKind::kHard}});
  EXPECT_EQ(catalog_.CreateService("a", s).status().field(), "depends_on[0].service");
}

TEST_F(CatalogTest, UnknownReferencesAre422) {
  Service s = Svc("api", {{"ghost", DependencyKind::kHard}});
  auto r = catalog_.CreateService("a", s);
  EXPECT_EQ(r.status().code(), StatusCode::kUnprocessable);
  EXPECT_EQ(r.status().field(), "depends_on[0].service");
  s = Svc("api");
  s.team = "nobody";
  EXPECT_EQ(catalog_.CreateService("a", s).status().code(), StatusCode::kUnprocessable);
  EXPECT_EQ(
      catalog_.CreateTeam("a", {.slug = "t2", .name = "T2", .members = {"zed"}}).status().field(),
      "members[0]");
}

TEST_F(CatalogTest, StaleVersionIsConflictAndChangesNothing) {
  ASSERT_TRUE(catalog_.CreateService("a", Svc("api")).ok());
  Service v2 = Svc("api");
  v2.tier = 1;
  ASSERT_TRUE(catalog_.UpdateService("a", v2, 1).ok());
  Service stale = Svc("api");
  stale.tier = 4;
  auto r = catalog_.UpdateService("a", stale, 1);
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(catalog_.GetService("api")->tier, 1);
  EXPECT_EQ(catalog_.GetService("api")->version, 2);
}

TEST_F(CatalogTest, ConcurrentUpdatesWithSameVersionExactlyOneWins) {
  ASSERT_TRUE(catalog_.CreateService("a", Svc("api")).ok());
  std::atomic<int> wins = 0, conflicts = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Service s = Svc("api");
      s.description = "writer " + std::to_string(i);
      auto r = catalog_.UpdateService("a", s, 1);
      if (r.ok())
        ++wins;
      else if (r.status().code() == StatusCode::kConflict)
        ++conflicts;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins, 1);
  EXPECT_EQ(conflicts, 7);
  EXPECT_EQ(catalog_.GetService("api")->version, 2);
}

TEST_F(CatalogTest, NoOpUpdateAppendsNoEvent) {
  ASSERT_TRUE(catalog_.CreateService("a", Svc("api")).ok());
  int64_t before = EventCount();
  auto r = catalog_.UpdateService("a", Svc("api"), 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(EventCount(), before);
}

TEST_F(CatalogTest, EventsRecordChanges) {
  ASSERT_TRUE(catalog_.CreateService("alice", Svc("api")).ok());
  Service s = Svc("api");
  s.tier = 1;
  ASSERT_TRUE(catalog_.UpdateService("alice", s, 1).ok());
  std::vector<events::Event> evs = ServiceEvents("api");
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].action, "service.created");
  EXPECT_EQ(evs[1].action, "service.updated");
  EXPECT_EQ(evs[1].actor, "alice");
  EXPECT_EQ(evs[1].payload, R"({"changes":{"tier":{"from":2,"to":1}}})");
}

TEST_F(CatalogTest, DeleteRefusedWhileDependedOnUnlessForced) {
  ASSERT_TRUE(catalog_.CreateService("a", Svc("db")).ok());
  ASSERT_TRUE(catalog_.CreateService("a", Svc("api", {{"db", DependencyKind::kHard}})).ok());
  EXPECT_EQ(catalog_.DeleteService("a", "db", false).code(), StatusCode::kConflict);
  EXPECT_TRUE(catalog_.GetService("db").ok());
  ASSERT_TRUE(catalog_.DeleteService("a", "db", true).ok());
  EXPECT_EQ(catalog_.GetService("db").status().code(), StatusCode::kNotFound);
  // The dependent lost the edge as a versioned, audited update.
  auto api = catalog_.GetService("api");
  EXPECT_TRUE(api->depends_on.empty());
  EXPECT_EQ(api->version, 2);
  std::vector<events::Event> evs = ServiceEvents("api");
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[1].action, "service.updated");
  EXPECT_EQ(catalog_.DeleteTeam("a", "core").code(), StatusCode::kConflict);
}

TEST_F(CatalogTest, UserInTeamCannotBeDeleted) {
  EXPECT_EQ(identity_.DeleteUser("admin", "alice").code(), StatusCode::kConflict);
  ASSERT_TRUE(catalog_.UpdateTeam("admin", {.slug = "core", .name = "Core"}, 1).ok());
  EXPECT_TRUE(identity_.DeleteUser("admin", "alice").ok());
}

TEST_F(CatalogTest, DependentsFollowWrites) {
  ASSERT_TRUE(catalog_.CreateService("a", Svc("db")).ok());
  ASSERT_TRUE(catalog_.CreateService("a", Svc("api", {{"db", DependencyKind::kHard}})).ok());
  auto d = catalog_.Dependents("db", true);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->size(), 1u);
  ASSERT_TRUE(catalog_.CreateService("a", Svc("web", {{"api", DependencyKind::kSoft}})).ok());
  d = catalog_.Dependents("db", true);
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[1].slug, "web");
  EXPECT_EQ((*d)[1].depth, 2);
  EXPECT_EQ(catalog_.Dependents("nope", true).status().code(), StatusCode::kNotFound);
}

TEST_F(CatalogTest, CachedReadsFollowWrites) {
  ASSERT_TRUE(catalog_.CreateService("a", Svc("api")).ok());
  EXPECT_EQ(catalog_.GetService("api")->tier, 2);  // now cached
  EXPECT_EQ(catalog_.GetService("api")->tier, 2);
  Service s = Svc("api");
  s.tier = 1;
  ASSERT_TRUE(catalog_.UpdateService("a", s, 1).ok());
  EXPECT_EQ(catalog_.GetService("api")->tier, 1);
  EXPECT_EQ(catalog_.GetService("api")->version, 2);
  // Writes through apply's transaction-level path invalidate too.
  ASSERT_TRUE(
      db_.store()
          .Write([&](store::Tx& tx) -> Status {
            Service t = Svc("api");
            t.tier = 4;
            return catalog_.PutService(tx, "a", t, std::nullopt, false, RefCheck::kNow).status();
          })
          .ok());
  EXPECT_EQ(catalog_.GetService("api")->tier, 4);
  ASSERT_TRUE(catalog_.DeleteService("a", "api", false).ok());
  EXPECT_EQ(catalog_.GetService("api").status().code(), StatusCode::kNotFound);
  // A write that fails leaves the cache as it was.
  ASSERT_TRUE(catalog_.CreateService("a", Svc("db")).ok());
  EXPECT_EQ(catalog_.GetService("db")->tier, 2);
  EXPECT_FALSE(
      db_.store()
          .Write([&](store::Tx& tx) -> Status {
            Service t = Svc("db");
            t.tier = 1;
            PLATOPS_RETURN_IF_ERROR(
                catalog_.PutService(tx, "a", t, std::nullopt, false, RefCheck::kNow).status());
            return Internal("rolled back");
          })
          .ok());
  EXPECT_EQ(catalog_.GetService("db")->tier, 2);
}

TEST_F(CatalogTest, ListPaginates) {
  for (const char* slug : {"a1", "a2", "a3", "a4", "a5"})
    ASSERT_TRUE(catalog_.CreateService("a", Svc(slug)).ok());
  auto p1 = catalog_.ListServices("", 2);
  ASSERT_TRUE(p1.ok());
  ASSERT_EQ(p1->items.size(), 2u);
  EXPECT_EQ(p1->next_cursor, "a2");
  auto p3 = catalog_.ListServices("a4", 2);
  ASSERT_EQ(p3->items.size(), 1u);
  EXPECT_EQ(p3->items[0].slug, "a5");
  EXPECT_EQ(p3->next_cursor, "");
}

TEST_F(CatalogTest, CodecRejectsUnknownFieldsByName) {
  auto v = ParseJson(R"({"slug":"x","name":"X","team":"core","colour":"red"})");
  auto s = ServiceFromJson(*v);
  EXPECT_EQ(s.status().field(), "colour");
  v = ParseJson(
      R"({"slug":"x","name":"X","team":"core","depends_on":[{"service":"y","kind":"weak"}]})");
  EXPECT_EQ(ServiceFromJson(*v).status().field(), "depends_on[0].kind");
  v = ParseJson(R"({"slug":"x","name":"X","team":"core","tier":"1"})");
  EXPECT_EQ(ServiceFromJson(*v).status().ToString(), "validation_failed: tier: must be an integer");
}

}  // namespace
}  // namespace platops::catalog
