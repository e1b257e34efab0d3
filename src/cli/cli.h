#pragma once
// The `platops` command line: the online client of the REST API (service, team, user, token,
// events, apply, export), `serve`, and the offline admin commands that open a data directory
// directly (token create/revoke --data-dir, audit verify). Entry points: Main and Run.
// Thread-safety: one Run at a time per CliIo.

#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "http/client.h"

namespace platops::cli {

// The outside world of one run. Main fills it from the process; tests from string streams and a
// fake http::Client.
struct CliIo {
  std::istream& in;
  std::ostream& out;  // data
  std::ostream& err;  // messages and errors
  // Environment variables (PLATOPS_SERVER, PLATOPS_TOKEN, and serve's PLATOPS_*).
  std::map<std::string, std::string> env;
  // Makes the HTTP client of online commands, at first use. Empty: http::NewCurlClient.
  std::function<std::unique_ptr<http::Client>()> new_client;
};

// Exit codes of every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the server refused or failed, or it was unreachable
inline constexpr int kExitUsage = 2;    // bad flags or arguments

// Runs one command line; `args` excludes the program name. Returns the exit code.
int Run(const std::vector<std::string>& args, CliIo& io);

// The process entry: Run over argv, std::cin/cout/cerr and the process environment.
int Main(int argc, char** argv);

}  // namespace platops::cli
