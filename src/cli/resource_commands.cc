// service, team, user (list, get, create, delete) and events: thin wrappers over the REST API.

#include <CLI/CLI.hpp>

#include <boost/json.hpp>

#include <map>
#include <memory>
#include <ostream>

#include "base/json_reader.h"
#include "cli/command.h"
#include "config/yaml_json.h"

namespace platops::cli {

namespace json = boost::json;

namespace {

struct Resource {
  std::string noun;        // "service"
  std::string kind;        // "Service": accepted as `kind:` in a -f file
  std::string collection;  // "/api/v1/services"
  std::string key_help;    // "SLUG"
  std::vector<Column> (*columns)();
};

enum class FieldType { kString, kInt, kList };

// One flag of `NOUN create` that becomes a field of the JSON body.
struct CreateField {
  std::string flag;  // "--slug"
  std::string key;   // "slug"
  std::string help;
  bool required = false;
  FieldType type = FieldType::kString;
};

std::string ItemPath(const Resource& r, const std::string& key) {
  return r.collection + "/" + PercentEncode(key);
}

// One JSON or YAML object from `path`; a `kind:` naming the resource is dropped.
Result<json::object> ReadObjectFile(const std::string& path, const Resource& r) {
  PLATOPS_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  json::value doc;
  bool is_json = path.size() >= 5 && Lower(path.substr(path.size() - 5)) == ".json";
  if (is_json) {
    auto parsed = ParseJson(text);
    if (!parsed.ok()) return InvalidArgument(path + ": " + parsed.status().message());
    doc = std::move(*parsed);
  } else {
    auto docs = config::YamlToJson(text);
    if (!docs.ok()) return InvalidArgument(path + ": " + docs.status().message());
    if (docs->size() != 1)
      return InvalidArgument(path + ": expected one document, found " +
                             std::to_string(docs->size()));
    doc = std::move(docs->front());
  }
  if (!doc.is_object()) return InvalidArgument(path + ": expected an object");
  // Rebuilt rather than erased from: json::object::erase reorders the keys.
  json::object obj;
  for (auto& kv : doc.get_object()) {
    if (kv.key() != "kind") {
      obj[kv.key()] = std::move(kv.value());
      continue;
    }
    if (!kv.value().is_string() || Lower(kv.value().get_string()) != Lower(r.kind))
      return InvalidArgument(path + ": kind must be " + r.kind);
  }
  return obj;
}

Command AddList(CLI::App& noun, CommandContext& ctx, const Resource& r) {
  auto limit = std::make_shared<int>(0);
  CLI::App* app = noun.add_subcommand("list", "List " + r.noun + "s");
  app->add_option("--limit", *limit, "One page of at most N (default: every page)")
      ->check(CLI::Range(1, 1000));
  return {app, [&ctx, r, limit] {
            auto page = ctx.api().List(r.collection, {}, *limit);
            if (!page.ok()) return ctx.Fail(page.status());
            ctx.Print(*page, r.columns());
            return kExitOk;
          }};
}

Command AddGet(CLI::App& noun, CommandContext& ctx, const Resource& r) {
  auto key = std::make_shared<std::string>();
  CLI::App* app = noun.add_subcommand("get", "Show one " + r.noun);
  app->add_option(Lower(r.key_help), *key, r.key_help)->required();
  return {app, [&ctx, r, key] {
            auto obj = ctx.api().Get(ItemPath(r, *key));
            if (!obj.ok()) return ctx.Fail(obj.status());
            if (ctx.format() == OutputFormat::kTable && obj->is_object())
              PrintDetail(obj->get_object(), ctx.out());
            else
              ctx.Print(*obj, r.columns());
            return kExitOk;
          }};
}

Command AddDelete(CLI::App& noun, CommandContext& ctx, const Resource& r, bool has_force) {
  struct Flags {
    std::string key;
    bool force = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* app = noun.add_subcommand("delete", "Delete one " + r.noun);
  app->add_option(Lower(r.key_help), flags->key, r.key_help)->required();
  if (has_force)
    app->add_flag("--force", flags->force, "Delete even when other services depend on it");
  return {app, [&ctx, r, flags] {
            QueryParams q;
            if (flags->force) q.emplace_back("force", "true");
            Status st = ctx.api().Delete(ItemPath(r, flags->key), q);
            if (!st.ok()) return ctx.Fail(st);
            ctx.err() << "deleted " << r.noun << " " << flags->key << '\n';
            return kExitOk;
          }};
}

struct CreateFlags {
  std::string file;
  CLI::Option* file_option = nullptr;
  std::map<std::string, std::string> strings;
  std::map<std::string, int64_t> ints;
  std::map<std::string, std::vector<std::string>> lists;
  std::vector<std::pair<CreateField, CLI::Option*>> fields;
};

// The body from -f FILE, or from the field flags.
Result<json::object> CreateBody(const CreateFlags& f, const Resource& r) {
  if (f.file_option->count() > 0) return ReadObjectFile(f.file, r);
  json::object body;
  for (const auto& [field, opt] : f.fields) {
    if (opt->count() == 0) {
      if (field.required) return InvalidArgument(field.flag + " is required (or use -f FILE)");
      continue;
    }
    switch (field.type) {
      case FieldType::kString:
        body[field.key] = f.strings.at(field.key);
        break;
      case FieldType::kInt:
        body[field.key] = f.ints.at(field.key);
        break;
      case FieldType::kList: {
        json::array items;
        for (const auto& s : f.lists.at(field.key)) items.emplace_back(s);
        body[field.key] = std::move(items);
        break;
      }
    }
  }
  return body;
}

int RunCreate(CommandContext& ctx, const CreateFlags& f, const Resource& r) {
  auto body = CreateBody(f, r);
  if (!body.ok()) {
    // A missing flag is a usage error; a bad file is the input's failure.
    if (f.file_option->count() == 0) return ctx.UsageError(body.status().message());
    return ctx.Fail(body.status());
  }
  auto created = ctx.api().Post(r.collection, *body);
  if (!created.ok()) return ctx.Fail(created.status());
  ctx.Print(*created, r.columns());
  return kExitOk;
}

Command AddCreate(CLI::App& noun, CommandContext& ctx, const Resource& r,
                  const std::vector<CreateField>& fields) {
  auto f = std::make_shared<CreateFlags>();
  CLI::App* app = noun.add_subcommand(
      "create", "Create a " + r.noun + " from flags or from -f FILE (JSON or YAML, one object)");
  f->file_option = app->add_option("-f,--file", f->file, "JSON or YAML file of one " + r.noun)
                       ->check(CLI::ExistingFile);
  for (const auto& field : fields) {
    CLI::Option* opt = nullptr;
    std::string help = field.help + (field.required ? " (required without -f)" : "");
    switch (field.type) {
      case FieldType::kString:
        opt = app->add_option(field.flag, f->strings[field.key], help);
        break;
      case FieldType::kInt:
        opt = app->add_option(field.flag, f->ints[field.key], help);
        break;
      case FieldType::kList:
        opt = app->add_option(field.flag, f->lists[field.key], help + " (repeatable)");
        break;
    }
    opt->excludes(f->file_option);
    f->fields.emplace_back(field, opt);
  }
  return {app, [&ctx, f, r] { return RunCreate(ctx, *f, r); }};
}

Command AddGraph(CLI::App& noun, CommandContext& ctx, const Resource& r, bool dependents) {
  struct Flags {
    std::string slug;
    bool transitive = false;
  };
  auto flags = std::make_shared<Flags>();
  std::string which = dependents ? "dependents" : "dependencies";
  CLI::App* app =
      noun.add_subcommand(which, dependents ? "Services that depend on SLUG (its blast radius)"
                                            : "Services that SLUG depends on");
  app->add_option("slug", flags->slug, "SLUG")->required();
  app->add_flag("--transitive", flags->transitive, "Follow the graph all the way");
  return {app, [&ctx, r, flags, which] {
            QueryParams q;
            if (flags->transitive) q.emplace_back("transitive", "true");
            auto nodes = ctx.api().Get(ItemPath(r, flags->slug) + "/" + which, q);
            if (!nodes.ok()) return ctx.Fail(nodes.status());
            ctx.Print(*nodes, GraphColumns());
            return kExitOk;
          }};
}

struct EventsFlags {
  std::string subject_type, subject_id, action;
  int64_t after_seq = 0;
  int limit = 0;
  CLI::Option* subject_type_option = nullptr;
  CLI::Option* subject_id_option = nullptr;
  CLI::Option* action_option = nullptr;
  CLI::Option* after_seq_option = nullptr;
};

int RunEvents(CommandContext& ctx, const EventsFlags& f) {
  QueryParams q;
  if (f.subject_type_option->count()) q.emplace_back("subject_type", f.subject_type);
  if (f.subject_id_option->count()) q.emplace_back("subject_id", f.subject_id);
  if (f.action_option->count()) q.emplace_back("action", f.action);
  if (f.after_seq_option->count()) q.emplace_back("after_seq", std::to_string(f.after_seq));
  // The API's next_cursor is the last seq; it goes back as after_seq.
  auto page = ctx.api().List("/api/v1/events", q, f.limit, "after_seq");
  if (!page.ok()) return ctx.Fail(page.status());
  ctx.Print(*page, EventColumns());
  return kExitOk;
}

Command AddEvents(CLI::App& root, CommandContext& ctx) {
  auto f = std::make_shared<EventsFlags>();
  CLI::App* app = root.add_subcommand("events", "Read the event log (the audit trail)");
  f->subject_type_option =
      app->add_option("--subject-type", f->subject_type, "service, team, user, token, ...");
  f->subject_id_option = app->add_option("--subject-id", f->subject_id, "The subject's key");
  f->action_option = app->add_option("--action", f->action, "Action prefix (service.)");
  f->after_seq_option = app->add_option("--after-seq", f->after_seq, "Only events after this seq")
                            ->check(CLI::NonNegativeNumber);
  app->add_option("--limit", f->limit, "One page of at most N (default: every page)")
      ->check(CLI::Range(1, 1000));
  return {app, [&ctx, f] { return RunEvents(ctx, *f); }};
}

CLI::App& AddNoun(CLI::App& root, const Resource& r, const std::string& help) {
  CLI::App* noun = root.add_subcommand(r.noun, help);
  noun->require_subcommand(1);
  return *noun;
}

}  // namespace

std::vector<Command> AddResourceCommands(CLI::App& root, CommandContext& ctx) {
  std::vector<Command> commands;

  Resource service{"service", "Service", "/api/v1/services", "SLUG", ServiceColumns};
  CLI::App& svc = AddNoun(root, service, "The service catalog");
  commands.push_back(AddList(svc, ctx, service));
  commands.push_back(AddGet(svc, ctx, service));
  commands.push_back(
      AddCreate(svc, ctx, service,
                {{"--slug", "slug", "Key: lower-case letters, digits and -", true},
                 {"--name", "name", "Display name", true},
                 {"--team", "team", "Owning team's slug", true},
                 {"--tier", "tier", "1 (most critical) .. 4", false, FieldType::kInt},
                 {"--description", "description", "What it does"}}));
  commands.push_back(AddDelete(svc, ctx, service, /*has_force=*/true));
  commands.push_back(AddGraph(svc, ctx, service, /*dependents=*/true));
  commands.push_back(AddGraph(svc, ctx, service, /*dependents=*/false));

  Resource team{"team", "Team", "/api/v1/teams", "SLUG", TeamColumns};
  CLI::App& tm = AddNoun(root, team, "Teams");
  commands.push_back(AddList(tm, ctx, team));
  commands.push_back(AddGet(tm, ctx, team));
  commands.push_back(
      AddCreate(tm, ctx, team,
                {{"--slug", "slug", "Key", true},
                 {"--name", "name", "Display name", true},
                 {"--description", "description", "What the team does"},
                 {"--member", "members", "A member's user name", false, FieldType::kList}}));
  commands.push_back(AddDelete(tm, ctx, team, /*has_force=*/false));

  Resource user{"user", "User", "/api/v1/users", "NAME", UserColumns};
  CLI::App& usr = AddNoun(root, user, "Users");
  commands.push_back(AddList(usr, ctx, user));
  commands.push_back(AddGet(usr, ctx, user));
  commands.push_back(AddCreate(usr, ctx, user,
                               {{"--name", "name", "Key", true},
                                {"--email", "email", "E-mail address", true},
                                {"--role", "role", "viewer, responder, operator or admin"},
                                {"--time-zone", "time_zone", "IANA time zone (default UTC)"}}));
  commands.push_back(AddDelete(usr, ctx, user, /*has_force=*/false));

  commands.push_back(AddEvents(root, ctx));
  return commands;
}

}  // namespace platops::cli
