#include "cli/cli.h"

#include <CLI/CLI.hpp>

#include <boost/json.hpp>

#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/command.h"
#include "server/config.h"
#include "server/core.h"

namespace platops::cli {

namespace json = boost::json;

std::string CommandContext::Env(const std::string& name) const {
  auto it = io_.env.find(name);
  return it == io_.env.end() ? std::string() : it->second;
}

OutputFormat CommandContext::format() const {
  auto f = ParseOutputFormat(globals_.output);
  return f.ok() ? *f : OutputFormat::kTable;
}

ApiClient& CommandContext::api() {
  if (!api_) {
    client_ = io_.new_client ? io_.new_client() : http::NewCurlClient();
    api_ = std::make_unique<ApiClient>(*client_, globals_.server, globals_.token);
  }
  return *api_;
}

int CommandContext::Fail(const Status& status) {
  io_.err << "error: " << status.ToString() << '\n';
  return kExitFailure;
}

int CommandContext::UsageError(const std::string& message) {
  io_.err << "error: " << message << '\n';
  return kExitUsage;
}

void CommandContext::Print(const json::value& v, const std::vector<Column>& columns) {
  OutputFormat f = format();
  if (f != OutputFormat::kTable) {
    PrintData(v, f, io_.out);
    return;
  }
  if (v.is_object()) {
    auto it = v.get_object().find("items");
    if (it != v.get_object().end() && it->value().is_array()) {
      PrintTable(columns, it->value().get_array(), io_.out);
      return;
    }
  }
  json::array one;
  one.push_back(v);
  PrintTable(columns, one, io_.out);
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return InvalidArgument("cannot read " + path);
  return ss.str();
}

int Run(const std::vector<std::string>& args, CliIo& io) {
  if (args.size() == 1 && (args[0] == "--version" || args[0] == "version")) {
    io.out << "platops " << server::Version() << '\n';
    return kExitOk;
  }
  CommandContext ctx(io);
  CLI::App app("platops: one server for monitoring, incidents, changes and procedures.", "platops");
  app.fallthrough();
  app.require_subcommand(1);
  GlobalOptions& g = ctx.globals();
  CLI::Option* server_opt =
      app.add_option("--server", g.server, "API base URL (env PLATOPS_SERVER)")
          ->capture_default_str();
  CLI::Option* token_opt = app.add_option("--token", g.token, "API token (env PLATOPS_TOKEN)");
  app.add_option("-o,--output", g.output, "Output format: table, json or yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}))
      ->capture_default_str();

  std::vector<Command> commands;
  for (auto family : {AddServeCommands, AddResourceCommands, AddApplyCommands, AddAdminCommands,
                      AddPromqlCommands, AddMetricsCommands}) {
    std::vector<Command> added = family(app, ctx);
    commands.insert(commands.end(), added.begin(), added.end());
  }

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    // Help is not an error; every real parse error is a usage error (CLI11's own codes vary).
    return app.exit(e, io.out, io.err) == 0 ? kExitOk : kExitUsage;
  }
  if (server_opt->count() == 0 && !ctx.Env("PLATOPS_SERVER").empty())
    g.server = ctx.Env("PLATOPS_SERVER");
  if (token_opt->count() == 0) g.token = ctx.Env("PLATOPS_TOKEN");

  for (const Command& c : commands) {
    if (!c.app->parsed()) continue;
    try {
      return c.run();
    } catch (const std::exception& e) {
      io.err << "error: " << e.what() << '\n';
      return kExitFailure;
    }
  }
  io.err << app.help();
  return kExitUsage;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  CliIo io{std::cin, std::cout, std::cerr, server::ProcessEnvironment(), nullptr};
  int code = Run(args, io);
  std::cout.flush();
  return code;
}

}  // namespace platops::cli
