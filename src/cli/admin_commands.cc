// token create/list/revoke (online through the API, or offline on a data directory) and
// audit verify (offline).

#include <CLI/CLI.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>

#include "base/clock.h"
#include "base/logging.h"
#include "base/time_util.h"
#include "cli/command.h"
#include "identity/codec.h"
#include "identity/identity.h"
#include "server/core.h"

namespace platops::cli {

namespace json = boost::json;

namespace {

constexpr const char* kOfflineActor = "cli";

const std::vector<std::string> kRoles = {"viewer", "responder", "operator", "admin"};

// Opens an existing data directory directly (the server may be running: SQLite's WAL allows it).
Result<std::unique_ptr<server::Core>> OpenDataDir(const std::string& dir, const Clock& clock) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(dir) / "platops.db", ec))
    return InvalidArgument(dir + " is not a platops data directory (no platops.db)", "data-dir");
  // The store's start-up chatter would mix with the command's output.
  SetupLogging(LogFormat::kText, "warn");
  return server::Core::Open(dir, server::ServerConfig::Store{}, nullptr, clock);
}

void PrintCreatedToken(CommandContext& ctx, const json::object& token) {
  if (ctx.format() != OutputFormat::kTable) {
    PrintData(token, ctx.format(), ctx.out());
    return;
  }
  // The secret alone on stdout, so `TOKEN=$(platops token create ...)` works.
  ctx.out() << Field(token, "secret") << '\n';
  std::string expires = Field(token, "expires_at");
  ctx.err() << "created token " << Field(token, "id") << " (" << Field(token, "name") << ") for "
            << Field(token, "user") << " with role " << Field(token, "role") << ", expires "
            << (expires == "-" ? std::string("never") : expires)
            << "; the secret is shown only this once\n";
}

struct TokenCreateFlags {
  std::string name, user, role, expires, data_dir;
  CLI::Option* name_option = nullptr;
  CLI::Option* user_option = nullptr;
  CLI::Option* role_option = nullptr;
  CLI::Option* expires_option = nullptr;
  CLI::Option* data_dir_option = nullptr;
};

int RunTokenCreateOffline(CommandContext& ctx, const TokenCreateFlags& f,
                          std::optional<std::chrono::milliseconds> ttl) {
  if (!f.user_option->count() || !f.role_option->count())
    return ctx.UsageError("--user and --role are required with --data-dir");
  auto role = identity::ParseRole(f.role);
  if (!role.ok()) return ctx.UsageError("--role: " + role.status().message());
  SystemClock clock;
  auto core = OpenDataDir(f.data_dir, clock);
  if (!core.ok()) return ctx.Fail(core.status());
  std::string name = f.name_option->count() ? f.name : std::string(kOfflineActor);
  auto created = (*core)->identity().CreateToken(kOfflineActor, f.user, name, *role, ttl);
  if (!created.ok()) return ctx.Fail(created.status());
  json::object token = identity::TokenToJson(created->token);
  token["secret"] = created->secret;
  PrintCreatedToken(ctx, token);
  return kExitOk;
}

int RunTokenCreate(CommandContext& ctx, const TokenCreateFlags& f) {
  std::optional<std::chrono::milliseconds> ttl;
  if (f.expires_option->count()) {
    auto d = ParseDuration(f.expires);
    if (!d.ok()) return ctx.UsageError("--expires: " + d.status().message());
    ttl = *d;
  }
  if (f.data_dir_option->count()) return RunTokenCreateOffline(ctx, f, ttl);
  if (!f.name_option->count()) return ctx.UsageError("--name is required");
  json::object body;
  body["name"] = f.name;
  if (f.user_option->count()) body["user"] = f.user;
  if (f.role_option->count()) body["role"] = f.role;
  if (f.expires_option->count()) body["expires_in"] = f.expires;
  auto created = ctx.api().Post("/api/v1/tokens", body);
  if (!created.ok()) return ctx.Fail(created.status());
  if (!created->is_object()) return ctx.Fail(Internal("the token answer is not an object"));
  PrintCreatedToken(ctx, created->get_object());
  return kExitOk;
}

Command AddTokenCreate(CLI::App& noun, CommandContext& ctx) {
  auto f = std::make_shared<TokenCreateFlags>();
  CLI::App* app = noun.add_subcommand(
      "create", "Create an API token and print its secret once (offline with --data-dir)");
  f->name_option = app->add_option("--name", f->name, "A label (required online)");
  f->user_option = app->add_option("--user", f->user, "Owner (default: the caller)");
  f->role_option =
      app->add_option("--role", f->role, "Role, at most the user's (default: the user's)")
          ->check(CLI::IsMember(kRoles));
  f->expires_option = app->add_option("--expires", f->expires, "Lifetime: 30d, 12h, ...");
  f->data_dir_option =
      app->add_option("--data-dir", f->data_dir, "Create offline in this data directory");
  return {app, [&ctx, f] { return RunTokenCreate(ctx, *f); }};
}

struct TokenListFlags {
  std::string user, data_dir;
  CLI::Option* user_option = nullptr;
  CLI::Option* data_dir_option = nullptr;
};

int RunTokenList(CommandContext& ctx, const TokenListFlags& f) {
  json::value page;
  if (f.data_dir_option->count()) {
    SystemClock clock;
    auto core = OpenDataDir(f.data_dir, clock);
    if (!core.ok()) return ctx.Fail(core.status());
    auto tokens = (*core)->identity().ListTokens(f.user);
    if (!tokens.ok()) return ctx.Fail(tokens.status());
    json::array items;
    for (const auto& t : *tokens) items.push_back(identity::TokenToJson(t));
    json::object o;
    o["items"] = std::move(items);
    o["next_cursor"] = nullptr;
    page = std::move(o);
  } else {
    QueryParams q;
    if (f.user_option->count()) q.emplace_back("user", f.user);
    auto got = ctx.api().Get("/api/v1/tokens", q);
    if (!got.ok()) return ctx.Fail(got.status());
    page = std::move(*got);
  }
  ctx.Print(page, TokenColumns());
  return kExitOk;
}

Command AddTokenList(CLI::App& noun, CommandContext& ctx) {
  auto f = std::make_shared<TokenListFlags>();
  CLI::App* app = noun.add_subcommand("list", "List API tokens (secrets are never shown)");
  f->user_option = app->add_option("--user", f->user, "Only this user's tokens");
  f->data_dir_option =
      app->add_option("--data-dir", f->data_dir, "Read offline from this data directory");
  return {app, [&ctx, f] { return RunTokenList(ctx, *f); }};
}

struct TokenRevokeFlags {
  std::string id, data_dir;
  CLI::Option* data_dir_option = nullptr;
};

int RunTokenRevoke(CommandContext& ctx, const TokenRevokeFlags& f) {
  if (f.data_dir_option->count()) {
    SystemClock clock;
    auto core = OpenDataDir(f.data_dir, clock);
    if (!core.ok()) return ctx.Fail(core.status());
    Status st = (*core)->identity().RevokeToken(kOfflineActor, f.id);
    if (!st.ok()) return ctx.Fail(st);
  } else {
    Status st = ctx.api().Delete("/api/v1/tokens/" + PercentEncode(f.id));
    if (!st.ok()) return ctx.Fail(st);
  }
  ctx.err() << "revoked token " << f.id << '\n';
  return kExitOk;
}

Command AddTokenRevoke(CLI::App& noun, CommandContext& ctx) {
  auto f = std::make_shared<TokenRevokeFlags>();
  CLI::App* app = noun.add_subcommand("revoke", "Revoke a token by id or name");
  app->add_option("id", f->id, "ID|NAME")->required();
  f->data_dir_option =
      app->add_option("--data-dir", f->data_dir, "Revoke offline in this data directory");
  return {app, [&ctx, f] { return RunTokenRevoke(ctx, *f); }};
}

int RunAuditVerify(CommandContext& ctx, const std::string& data_dir) {
  SystemClock clock;
  auto core = OpenDataDir(data_dir, clock);
  if (!core.ok()) return ctx.Fail(core.status());
  auto report = (*core)->log().Verify((*core)->store());
  if (!report.ok()) return ctx.Fail(report.status());
  bool intact = !report->first_broken_seq.has_value();
  if (ctx.format() != OutputFormat::kTable) {
    json::object o;
    o["checked"] = report->checked;
    o["intact"] = intact;
    o["first_broken_seq"] = intact ? json::value(nullptr) : json::value(*report->first_broken_seq);
    o["reason"] = report->reason;
    PrintData(o, ctx.format(), ctx.out());
  } else {
    ctx.out() << "checked " << report->checked << " events\n";
    if (intact)
      ctx.out() << "chain intact\n";
    else
      ctx.out() << "chain broken at seq " << *report->first_broken_seq << ": " << report->reason
                << '\n';
  }
  return intact ? kExitOk : kExitFailure;
}

Command AddAuditVerify(CLI::App& noun, CommandContext& ctx) {
  auto dir = std::make_shared<std::string>();
  CLI::App* app = noun.add_subcommand("verify", "Check the event log's hash chain, offline");
  app->add_option("--data-dir", *dir, "The data directory")->required();
  return {app, [&ctx, dir] { return RunAuditVerify(ctx, *dir); }};
}

}  // namespace

std::vector<Command> AddAdminCommands(CLI::App& root, CommandContext& ctx) {
  std::vector<Command> commands;
  CLI::App* token = root.add_subcommand("token", "API tokens");
  token->require_subcommand(1);
  commands.push_back(AddTokenCreate(*token, ctx));
  commands.push_back(AddTokenList(*token, ctx));
  commands.push_back(AddTokenRevoke(*token, ctx));

  CLI::App* audit = root.add_subcommand("audit", "The audit trail");
  audit->require_subcommand(1);
  commands.push_back(AddAuditVerify(*audit, ctx));
  return commands;
}

}  // namespace platops::cli
