// apply and export.

#include "cli/apply_command.h"

#include <CLI/CLI.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>

#include "base/json_reader.h"
#include "base/strings.h"
#include "cli/command.h"
#include "config/yaml_json.h"

namespace platops::cli {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool IsConfigFile(const fs::path& p) {
  std::string ext = Lower(p.extension().string());
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

bool IsHidden(const fs::path& p) {
  std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

Result<std::vector<std::string>> ExpandPath(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    if (!fs::exists(path, ec)) return InvalidArgument(path + ": no such file or directory");
    return std::vector<std::string>{path};
  }
  std::vector<fs::path> found;
  fs::recursive_directory_iterator it(path, fs::directory_options::follow_directory_symlink, ec);
  if (ec) return InvalidArgument(path + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return InvalidArgument(path + ": " + ec.message());
    // Editors' and VCS's hidden files and directories are not configuration.
    if (IsHidden(it->path())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && IsConfigFile(it->path())) found.push_back(it->path());
  }
  if (ec) return InvalidArgument(path + ": " + ec.message());
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return a.generic_string() < b.generic_string();
  });
  std::vector<std::string> out;
  for (const auto& p : found) out.push_back(p.string());
  return out;
}

Result<std::vector<json::value>> ParseFile(const std::string& file) {
  PLATOPS_ASSIGN_OR_RETURN(std::string text, ReadFile(file));
  if (Lower(fs::path(file).extension().string()) == ".json") {
    auto parsed = ParseJson(text);
    if (!parsed.ok()) return InvalidArgument(file + ": " + parsed.status().message());
    if (parsed->is_array())
      return std::vector<json::value>(parsed->get_array().begin(), parsed->get_array().end());
    return std::vector<json::value>{std::move(*parsed)};
  }
  auto docs = config::YamlToJson(text);
  if (!docs.ok()) return InvalidArgument(file + ": " + docs.status().message());
  return std::move(*docs);
}

std::string PlanObject(const json::object& item) {
  std::string kind = Field(item, "kind");
  return Lower(kind) + "/" + Field(item, "key");
}

void PrintPlan(const json::object& answer, std::ostream& out) {
  auto plan = answer.find("plan");
  if (plan != answer.end() && plan->value().is_array()) {
    for (const auto& v : plan->value().get_array()) {
      if (!v.is_object()) continue;
      const auto& item = v.get_object();
      std::string action = Field(item, "action");
      std::string line = action;
      line.append(action.size() < 9 ? 9 - action.size() : 0, ' ');
      line += ' ';
      line += PlanObject(item);
      auto fields = item.find("changed_fields");
      if (fields != item.end() && fields->value().is_array() &&
          !fields->value().get_array().empty()) {
        std::string list;
        for (const auto& f : fields->value().get_array()) {
          if (!list.empty()) list += ", ";
          list += CellText(f);
        }
        line += " (" + list + ")";
      }
      out << line << '\n';
    }
  }
  auto count = [&](const char* what) -> std::string {
    auto s = answer.find("summary");
    if (s == answer.end() || !s->value().is_object()) return "0";
    std::string n = Field(s->value().get_object(), what);
    return n == "-" ? "0" : n;
  };
  auto flag = [&](const char* name) {
    auto it = answer.find(name);
    return it != answer.end() && it->value().is_bool() && it->value().get_bool();
  };
  if (flag("dry_run")) {
    out << "dry run: " << count("create") << " to create, " << count("update") << " to update, "
        << count("delete") << " to delete, " << count("unchanged")
        << " unchanged; nothing was changed\n";
  } else {
    out << "applied: " << count("create") << " created, " << count("update") << " updated, "
        << count("delete") << " deleted, " << count("unchanged") << " unchanged\n";
  }
}

// FILE#INDEX KIND/KEY FIELD: MESSAGE, leaving out the parts the server did not name.
std::string DetailLine(const json::object& d) {
  std::string line;
  std::string file = Field(d, "file");
  std::string index = Field(d, "document");
  line += (file == "-" ? std::string("<request>") : file) + "#" + index;
  std::string kind = Field(d, "kind"), key = Field(d, "key");
  if (kind != "-" && key != "-")
    line += " " + Lower(kind) + "/" + key;
  else if (kind != "-")
    line += " " + Lower(kind);
  std::string field = Field(d, "field");
  if (field != "-") line += " " + field;
  line += ": " + Field(d, "message");
  return line;
}

struct ApplyFlags {
  std::vector<std::string> files;
  bool dry_run = false;
  bool prune = false;
};

int RunApply(CommandContext& ctx, const ApplyFlags& f) {
  auto docs = ReadDocuments(f.files);
  if (!docs.ok()) return ctx.Fail(docs.status());
  if (docs->empty())
    return ctx.Fail(InvalidArgument("no documents found in " + Join(f.files, ", ")));
  json::value body = ApplyRequestJson(*docs, f.dry_run, f.prune);
  auto resp = ctx.api().Call(http::Method::kPost, "/api/v1/apply", &body);
  if (!resp.ok()) return ctx.Fail(resp.status());
  if (!resp->ok()) {
    const json::array* details = nullptr;
    if (resp->body.is_object()) {
      auto e = resp->body.get_object().find("error");
      if (e != resp->body.get_object().end() && e->value().is_object()) {
        auto d = e->value().get_object().find("details");
        if (d != e->value().get_object().end() && d->value().is_array())
          details = &d->value().get_array();
      }
    }
    if (!details || details->empty()) return ctx.Fail(ErrorFromResponse(*resp));
    for (const auto& d : *details)
      if (d.is_object()) ctx.err() << DetailLine(d.get_object()) << '\n';
    ctx.err() << "error: " << details->size() << " document(s) failed; nothing was changed\n";
    return kExitFailure;
  }
  if (ctx.format() == OutputFormat::kTable && resp->body.is_object()) {
    PrintPlan(resp->body.get_object(), ctx.out());
  } else {
    PrintData(resp->body,
              ctx.format() == OutputFormat::kYaml ? OutputFormat::kYaml : OutputFormat::kJson,
              ctx.out());
  }
  return kExitOk;
}

Command AddApply(CLI::App& root, CommandContext& ctx) {
  auto f = std::make_shared<ApplyFlags>();
  CLI::App* app =
      root.add_subcommand("apply", "Validate and apply configuration documents in one transaction");
  app->add_option("-f,--file", f->files,
                  "A YAML/JSON file, or a directory of them (recursive); repeatable")
      ->required()
      ->check(CLI::ExistingPath);
  app->add_flag("--dry-run", f->dry_run, "Show the plan; change nothing");
  app->add_flag("--prune", f->prune,
                "Delete objects of the given kinds that the documents do not name");
  return {app, [&ctx, f] { return RunApply(ctx, *f); }};
}

struct ExportFlags {
  std::string dir;
  CLI::Option* dir_option = nullptr;
};

int RunExport(CommandContext& ctx, const ExportFlags& f) {
  auto body = ctx.api().Get("/api/v1/export");
  if (!body.ok()) return ctx.Fail(body.status());
  const json::array* docs = nullptr;
  if (body->is_object()) {
    auto it = body->get_object().find("documents");
    if (it != body->get_object().end() && it->value().is_array()) docs = &it->value().get_array();
  }
  if (!docs) return ctx.Fail(Internal("the export answer has no \"documents\" list"));
  if (f.dir_option->count() > 0) {
    auto written = WriteExport(*docs, f.dir);
    if (!written.ok()) return ctx.Fail(written.status());
    for (const auto& p : *written) ctx.err() << "wrote " << p << '\n';
    return kExitOk;
  }
  if (ctx.format() == OutputFormat::kJson) {
    ctx.out() << PrettyJson(*body);
  } else {
    ctx.out() << config::JsonToYaml(std::vector<json::value>(docs->begin(), docs->end()));
  }
  return kExitOk;
}

Command AddExport(CLI::App& root, CommandContext& ctx) {
  auto f = std::make_shared<ExportFlags>();
  CLI::App* app = root.add_subcommand(
      "export", "Write the current state as documents: a YAML stream, or one file per kind");
  f->dir_option = app->add_option(
      "-o,--output-dir", f->dir,
      "Write DIR/<kind>s.yaml (users.yaml, teams.yaml, services.yaml, ...) instead");
  return {app, [&ctx, f] { return RunExport(ctx, *f); }};
}

}  // namespace

Result<std::vector<SourceDocument>> ReadDocuments(const std::vector<std::string>& paths) {
  std::vector<SourceDocument> out;
  for (const auto& path : paths) {
    PLATOPS_ASSIGN_OR_RETURN(std::vector<std::string> files, ExpandPath(path));
    for (const auto& file : files) {
      PLATOPS_ASSIGN_OR_RETURN(std::vector<json::value> docs, ParseFile(file));
      for (size_t i = 0; i < docs.size(); ++i)
        out.push_back({std::move(docs[i]), file, static_cast<int>(i)});
    }
  }
  return out;
}

json::object ApplyRequestJson(const std::vector<SourceDocument>& docs, bool dry_run, bool prune) {
  json::array documents, sources;
  for (const auto& d : docs) {
    documents.push_back(d.body);
    json::object src;
    src["file"] = d.file;
    src["index"] = d.index;
    sources.push_back(std::move(src));
  }
  json::object o;
  o["documents"] = std::move(documents);
  o["sources"] = std::move(sources);
  o["dry_run"] = dry_run;
  o["prune"] = prune;
  return o;
}

std::string KindFileName(const std::string& kind) {
  std::string name = Lower(kind);
  if (name.empty()) name = "unknown";
  auto vowel = [](char c) { return std::string_view("aeiou").find(c) != std::string_view::npos; };
  if (name.size() >= 2 && name.back() == 'y' && !vowel(name[name.size() - 2])) {
    name.back() = 'i';
    name += "es";
  } else if (EndsWith(name, "s") || EndsWith(name, "x") || EndsWith(name, "ch") ||
             EndsWith(name, "sh")) {
    name += "es";
  } else {
    name += 's';
  }
  return name + ".yaml";
}

Result<std::vector<std::string>> WriteExport(const json::array& documents, const std::string& dir) {
  std::vector<std::string> kinds;
  std::map<std::string, std::vector<json::value>> by_kind;
  for (const auto& d : documents) {
    std::string kind = d.is_object() ? Field(d.get_object(), "kind") : "-";
    if (!by_kind.count(kind)) kinds.push_back(kind);
    by_kind[kind].push_back(d);
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return InvalidArgument("cannot create " + dir + ": " + ec.message());
  std::vector<std::string> written;
  for (const auto& kind : kinds) {
    fs::path path = fs::path(dir) / KindFileName(kind == "-" ? "" : kind);
    fs::path tmp = path;
    tmp += ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      f << config::JsonToYaml(by_kind[kind]);
      f.flush();
      if (!f) return InvalidArgument("cannot write " + tmp.string());
    }
    fs::rename(tmp, path, ec);
    if (ec) return InvalidArgument("cannot write " + path.string() + ": " + ec.message());
    written.push_back(path.string());
  }
  return written;
}

struct DeleteFlags {
  std::string kind, key;
};

Command AddDelete(CLI::App& root, CommandContext& ctx) {
  auto f = std::make_shared<DeleteFlags>();
  CLI::App* app = root.add_subcommand(
      "delete", "Delete one configuration object, as apply --prune would (e.g. delete route root)");
  app->add_option("kind", f->kind, "KIND, any case: Route, AlertmanagerConfig, RuleGroup, ...")
      ->required();
  app->add_option("key", f->key, "KEY, as apply and export show it")->required();
  return {app, [&ctx, f] {
            Status st = ctx.api().Delete("/api/v1/objects/" + PercentEncode(f->kind) + "/" +
                                         PercentEncode(f->key));
            if (!st.ok()) return ctx.Fail(st);
            ctx.err() << "deleted " << Lower(f->kind) << "/" << f->key << '\n';
            return kExitOk;
          }};
}

std::vector<Command> AddApplyCommands(CLI::App& root, CommandContext& ctx) {
  return {AddApply(root, ctx), AddExport(root, ctx), AddDelete(root, ctx)};
}

}  // namespace platops::cli
