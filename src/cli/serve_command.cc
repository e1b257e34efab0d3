#include "cli/serve_command.h"

#include <CLI/CLI.hpp>

#include <memory>
#include <ostream>

#include "base/logging.h"
#include "cli/command.h"
#include "server/core.h"

namespace platops::cli {

Result<server::ServerConfig> BuildServerConfig(const ServeFlags& flags,
                                               const std::map<std::string, std::string>& env) {
  server::ServerConfig config;
  std::string file = flags.config_file;
  if (file.empty()) {
    auto it = env.find("PLATOPS_CONFIG");
    if (it != env.end()) file = it->second;
  }
  if (!file.empty()) {
    PLATOPS_ASSIGN_OR_RETURN(config, server::LoadConfigFile(file, config));
  }
  if (flags.data_dir) config.data_dir = *flags.data_dir;
  if (flags.listen) config.listen = *flags.listen;
  if (flags.demo) config.demo = *flags.demo;
  if (flags.demo_dir) config.demo_dir = *flags.demo_dir;
  if (flags.log_format) config.log.format = *flags.log_format;
  if (flags.log_level) config.log.level = *flags.log_level;
  std::map<std::string, std::string> server_env = env;
  for (const char* own : {"PLATOPS_SERVER", "PLATOPS_TOKEN", "PLATOPS_CONFIG"})
    server_env.erase(own);
  PLATOPS_RETURN_IF_ERROR(server::ApplyEnvironment(server_env, config));
  PLATOPS_RETURN_IF_ERROR(server::Validate(config));
  return config;
}

namespace {

int RunServe(CommandContext& ctx, const ServeFlags& flags) {
  auto config = BuildServerConfig(flags, ctx.env());
  if (!config.ok()) return ctx.UsageError("invalid configuration: " + config.status().ToString());
  SetupLogging(config->log.format == "json" ? LogFormat::kJson : LogFormat::kText,
               config->log.level);
  return server::Serve(*config);
}

}  // namespace

std::vector<Command> AddServeCommands(CLI::App& root, CommandContext& ctx) {
  std::vector<Command> commands;

  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = root.add_subcommand("serve", "Run the platops server until SIGTERM/SIGINT");
  serve->add_option("--config", flags->config_file, "YAML config file (env PLATOPS_CONFIG)")
      ->check(CLI::ExistingFile);
  auto set = [](std::optional<std::string>& field) {
    return [&field](const std::string& v) { field = v; };
  };
  serve->add_option_function<std::string>("--data-dir", set(flags->data_dir),
                                          "Data directory (env PLATOPS_DATA_DIR)");
  serve->add_option_function<std::string>("--listen", set(flags->listen),
                                          "HOST:PORT to listen on (env PLATOPS_LISTEN)");
  serve->add_flag_function(
      "--demo", [f = flags.get()](int64_t n) { f->demo = n > 0; },
      "Seed the demo catalog (env PLATOPS_DEMO)");
  serve->add_option_function<std::string>("--demo-dir", set(flags->demo_dir),
                                          "Demo documents (env PLATOPS_DEMO_DIR)");
  serve
      ->add_option_function<std::string>("--log-format", set(flags->log_format),
                                         "text or json (env PLATOPS_LOG_FORMAT)")
      ->check(CLI::IsMember({"text", "json"}));
  serve
      ->add_option_function<std::string>(
          "--log-level", set(flags->log_level),
          "trace, debug, info, warn or error (env PLATOPS_LOG_LEVEL)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  commands.push_back({serve, [&ctx, flags] { return RunServe(ctx, *flags); }});

  CLI::App* config = root.add_subcommand("config", "Server configuration");
  config->require_subcommand(1);
  CLI::App* def =
      config->add_subcommand("default", "Print a config file with every option at its default");
  commands.push_back({def, [&ctx] {
                        ctx.out() << server::DefaultConfigYaml();
                        return kExitOk;
                      }});
  return commands;
}

}  // namespace platops::cli
