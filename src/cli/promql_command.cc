// promql test: runs PromQL test scripts (promql/test_script.h) offline, with no server.

#include <CLI/CLI.hpp>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "promql/test_script.h"

namespace platops::cli {

namespace {

struct PromqlTestFlags {
  std::vector<std::string> files;
};

// Prints one report per file and the total. Exit 0 only when every file was read and parsed and
// no evaluation failed; an unreadable or malformed file is reported and the others still run.
int RunPromqlTest(CommandContext& ctx, const PromqlTestFlags& f) {
  promql::ScriptReport total;
  bool file_error = false;
  for (const std::string& file : f.files) {
    auto text = ReadFile(file);
    if (!text.ok()) {
      ctx.Fail(text.status());
      file_error = true;
      continue;
    }
    auto report = promql::RunScript(file, text.value());
    if (!report.ok()) {
      ctx.Fail(report.status());
      file_error = true;
      continue;
    }
    ctx.out() << file << ": " << promql::FormatCounts(*report) << '\n';
    for (const promql::ScriptFailure& failure : report->failures) {
      ctx.out() << file << ':' << failure.line << ": " << failure.message << '\n';
    }
    total.passed += report->passed;
    total.failed += report->failed;
    total.skipped += report->skipped;
  }
  ctx.out() << "total: " << promql::FormatCounts(total) << '\n';
  if (file_error) {
    ctx.err() << "error: some files could not be read or parsed (see above)\n";
    return kExitFailure;
  }
  return total.failed == 0 ? kExitOk : kExitFailure;
}

Command AddPromqlTest(CLI::App& noun, CommandContext& ctx) {
  auto f = std::make_shared<PromqlTestFlags>();
  CLI::App* app = noun.add_subcommand(
      "test", "Run PromQL test scripts (Prometheus's promqltest format) against the evaluator");
  app->add_option("files", f->files, "Test scripts (*.test)")->required();
  return {app, [&ctx, f] { return RunPromqlTest(ctx, *f); }};
}

}  // namespace

std::vector<Command> AddPromqlCommands(CLI::App& root, CommandContext& ctx) {
  std::vector<Command> commands;
  CLI::App* promql = root.add_subcommand("promql", "PromQL tools");
  promql->require_subcommand(1);
  commands.push_back(AddPromqlTest(*promql, ctx));
  return commands;
}

}  // namespace platops::cli
