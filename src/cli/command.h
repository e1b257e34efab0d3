#pragma once
// What every subcommand shares: the run's I/O, the global flags, the API client, and the Command
// record that wires a CLI11 sub-app to its Run. Each Add...Commands() adds one family of
// subcommands to the root app and returns its leaf commands; cli.cc calls each one explicitly.
// Thread-safety: one run on one thread.

#include <boost/json/value.hpp>

#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "cli/api_client.h"
#include "cli/cli.h"
#include "cli/output.h"

namespace CLI {
class App;
}  // namespace CLI

namespace platops::cli {

struct GlobalOptions {
  std::string server = "http://127.0.0.1:9470";  // --server, env PLATOPS_SERVER
  std::string token;                             // --token, env PLATOPS_TOKEN
  std::string output = "table";                  // -o/--output: table | json | yaml
};

class CommandContext {
 public:
  explicit CommandContext(CliIo& io) : io_(io) {}

  std::istream& in() { return io_.in; }
  std::ostream& out() { return io_.out; }
  std::ostream& err() { return io_.err; }
  const std::map<std::string, std::string>& env() const { return io_.env; }
  // The value of an environment variable, empty when unset.
  std::string Env(const std::string& name) const;

  GlobalOptions& globals() { return globals_; }
  // Valid after parsing (the flag is checked by CLI11).
  OutputFormat format() const;
  // The API client for --server and --token, made at first use.
  ApiClient& api();

  // Prints "error: CODE: FIELD: MESSAGE" to err; returns kExitFailure.
  int Fail(const Status& status);
  // Prints "error: MESSAGE" to err; returns kExitUsage.
  int UsageError(const std::string& message);
  // Prints `v` in the chosen format: table through `columns` (a list page's items, or one object
  // as a one-row table), json or yaml as it is.
  void Print(const boost::json::value& v, const std::vector<Column>& columns);

 private:
  CliIo& io_;
  GlobalOptions globals_;
  std::unique_ptr<http::Client> client_;
  std::unique_ptr<ApiClient> api_;
};

// A leaf subcommand: its CLI11 app and what runs when the command line selects it. Run returns
// the exit code.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// serve, config default.
std::vector<Command> AddServeCommands(CLI::App& root, CommandContext& ctx);
// service ..., team ..., user ..., events.
std::vector<Command> AddResourceCommands(CLI::App& root, CommandContext& ctx);
// apply, export.
std::vector<Command> AddApplyCommands(CLI::App& root, CommandContext& ctx);
// token ..., audit verify.
std::vector<Command> AddAdminCommands(CLI::App& root, CommandContext& ctx);
// promql test: runs PromQL test scripts.
std::vector<Command> AddPromqlCommands(CLI::App& root, CommandContext& ctx);
// metrics import: backfills an OpenMetrics file into a data directory, offline.
std::vector<Command> AddMetricsCommands(CLI::App& root, CommandContext& ctx);

// Reads a whole file; the error names the path.
Result<std::string> ReadFile(const std::string& path);

}  // namespace platops::cli
