#include "identity/identity.h"

#include <gtest/gtest.h>

#include "testing/temp_store.h"

namespace platops::identity {
namespace {

using namespace std::chrono_literals;

std::vector<store::Migration> AllMigrations() {
  auto m = events::EventLog::Migrations();
  for (auto& x : IdentityService::Migrations()) m.push_back(x);
  return m;
}

class IdentityTest : public ::testing::Test {
 protected:
  IdentityTest() : db_(AllMigrations()), identity_(db_.store(), log_, clock_) {}

  FakeClock clock_;
  events::EventLog log_{clock_};
  testing::TempStore db_;
  IdentityService identity_;
};

TEST_F(IdentityTest, BootstrapOnceWithGivenSecret) {
  auto first = identity_.Bootstrap(std::string("automation-known-secret"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ(**first, "automation-known-secret");
  auto p = identity_.Authenticate("automation-known-secret");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->user, "admin");
  EXPECT_EQ(p->role, Role::kAdmin);
  auto second = identity_.Bootstrap(std::nullopt);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value());
}

TEST_F(IdentityTest, GeneratedTokenIs256BitAndStoredHashed) {
  auto secret = identity_.Bootstrap(std::nullopt);
  ASSERT_TRUE(secret.ok());
  const std::string& s = **secret;
  EXPECT_EQ(s.size(), 4u + 64u);
  int found = 0;
  ASSERT_TRUE(db_.store()
                  .Read([&](store::Tx& tx) -> Status {
                    PLATOPS_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT hash FROM tokens"));
                    for (auto& r : rows) found += r.Text(0) == s;
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(found, 0);
}

TEST_F(IdentityTest, ExpiryAndRevocation) {
  ASSERT_TRUE(
      identity_
          .CreateUser("admin", {.name = "ci", .email = "ci@example.com", .role = Role::kOperator})
          .ok());
  auto tok = identity_.CreateToken("admin", "ci", "deploy", Role::kOperator, 1h);
  ASSERT_TRUE(tok.ok());
  EXPECT_TRUE(identity_.Authenticate(tok->secret).ok());
  clock_.Advance(2h);
  EXPECT_EQ(identity_.Authenticate(tok->secret).status().code(), StatusCode::kUnauthenticated);

  auto tok2 = identity_.CreateToken("admin", "ci", "deploy2", Role::kResponder, std::nullopt);
  ASSERT_TRUE(identity_.Authenticate(tok2->secret).ok());
  ASSERT_TRUE(identity_.RevokeToken("admin", tok2->token.id).ok());
  EXPECT_EQ(identity_.Authenticate(tok2->secret).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(identity_.Authenticate("pla_nonsense").status().code(), StatusCode::kUnauthenticated);
}

TEST_F(IdentityTest, TokenRoleCannotExceedUserRole) {
  ASSERT_TRUE(identity_.CreateUser("admin", {.name = "viewer", .email = "v@example.com"}).ok());
  auto r = identity_.CreateToken("admin", "viewer", "x", Role::kAdmin, std::nullopt);
  EXPECT_EQ(r.status().code(), StatusCode::kUnprocessable);
  EXPECT_EQ(r.status().field(), "role");
}

TEST_F(IdentityTest, LoweringUserRoleLowersTokens) {
  ASSERT_TRUE(
      identity_
          .CreateUser("admin", {.name = "op", .email = "op@example.com", .role = Role::kOperator})
          .ok());
  auto tok = identity_.CreateToken("admin", "op", "t", Role::kOperator, std::nullopt);
  ASSERT_TRUE(
      identity_
          .UpdateUser("admin", {.name = "op", .email = "op@example.com", .role = Role::kViewer}, 1)
          .ok());
  auto p = identity_.Authenticate(tok->secret);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->role, Role::kViewer);
}

TEST_F(IdentityTest, LastUsedIsRecordedAtMostOncePerMinute) {
  ASSERT_TRUE(identity_.Bootstrap(std::string("0123456789abcdef0123")).ok());
  ASSERT_TRUE(identity_.Authenticate("0123456789abcdef0123").ok());
  auto tokens = identity_.ListTokens("admin");
  ASSERT_TRUE(tokens.ok());
  ASSERT_TRUE((*tokens)[0].last_used_at.has_value());
  EXPECT_EQ(*(*tokens)[0].last_used_at, clock_.Now());
  auto first_use = clock_.Now();
  clock_.Advance(10s);
  ASSERT_TRUE(identity_.Authenticate("0123456789abcdef0123").ok());
  EXPECT_EQ(*(*identity_.ListTokens("admin"))[0].last_used_at, first_use);
  clock_.Advance(2min);
  ASSERT_TRUE(identity_.Authenticate("0123456789abcdef0123").ok());
  EXPECT_EQ(*(*identity_.ListTokens("admin"))[0].last_used_at, clock_.Now());
}

TEST_F(IdentityTest, TheLastAdminStays) {
  ASSERT_TRUE(identity_.Bootstrap(std::string("0123456789abcdef0123")).ok());
  EXPECT_EQ(identity_.DeleteUser("x", "admin").code(), StatusCode::kConflict);
  auto demote = identity_.UpdateUser(
      "x", {.name = "admin", .email = "admin@localhost", .role = Role::kViewer}, 1);
  EXPECT_EQ(demote.status().code(), StatusCode::kConflict);
  ASSERT_TRUE(
      identity_.CreateUser("x", {.name = "root2", .email = "r@x.io", .role = Role::kAdmin}).ok());
  EXPECT_TRUE(identity_.DeleteUser("x", "admin").ok());
  EXPECT_EQ(identity_.Authenticate("0123456789abcdef0123").status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(IdentityTest, DemotionAndDeletionOfUsersAreAuditedPerToken) {
  ASSERT_TRUE(
      identity_
          .CreateUser("admin", {.name = "op", .email = "op@example.com", .role = Role::kOperator})
          .ok());
  auto tok = identity_.CreateToken("admin", "op", "t", Role::kOperator, std::nullopt);
  ASSERT_TRUE(tok.ok());
  ASSERT_EQ(identity_.Authenticate(tok->secret)->role, Role::kOperator);  // cached now
  ASSERT_TRUE(identity_
                  .UpdateUser("admin",
                              {.name = "op", .email = "op@example.com", .role = Role::kResponder},
                              1)
                  .ok());
  EXPECT_EQ(identity_.Authenticate(tok->secret)->role, Role::kResponder);  // not the cached one
  ASSERT_TRUE(identity_.DeleteUser("admin", "op").ok());
  EXPECT_EQ(identity_.Authenticate(tok->secret).status().code(), StatusCode::kUnauthenticated);
  std::vector<std::string> actions;
  ASSERT_TRUE(db_.store()
                  .Read([&](store::Tx& tx) -> Status {
                    events::EventQuery q;
                    q.subject_type = "token";
                    q.subject_id = tok->token.id;
                    PLATOPS_ASSIGN_OR_RETURN(auto evs, log_.List(tx, q));
                    for (auto& e : evs) actions.push_back(e.action);
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(actions, (std::vector<std::string>{"token.created", "token.updated", "token.revoked"}));
}

TEST_F(IdentityTest, UserValidation) {
  EXPECT_EQ(identity_.CreateUser("a", {.name = "Bad Name", .email = "x@y"}).status().field(),
            "name");
  EXPECT_EQ(identity_.CreateUser("a", {.name = "ok", .email = "nope"}).status().field(), "email");
  EXPECT_EQ(identity_.CreateUser("a", {.name = "ok", .email = "a@b", .time_zone = "Mars/Base"})
                .status()
                .field(),
            "time_zone");
  ASSERT_TRUE(identity_.CreateUser("a", {.name = "ok", .email = "a@b"}).ok());
  EXPECT_EQ(identity_.CreateUser("a", {.name = "ok", .email = "a@b"}).status().code(),
            StatusCode::kConflict);
}

}  // namespace
}  // namespace platops::identity
