#pragma once
// `platops serve`: how its flags, the config file and the environment make one ServerConfig.
// Thread-safety: pure functions.

#include <map>
#include <optional>
#include <string>

#include "base/status.h"
#include "server/config.h"

namespace platops::cli {

// The flags of `platops serve`; unset optionals leave the file's (or default) value.
struct ServeFlags {
  std::string config_file;  // --config; empty: env PLATOPS_CONFIG, else none
  std::optional<std::string> data_dir, listen, demo_dir, log_format, log_level;
  std::optional<bool> demo;
};

// Defaults, then the config file, then the flags, then PLATOPS_* from `env` (the client's own
// PLATOPS_SERVER, PLATOPS_TOKEN and PLATOPS_CONFIG excepted); then Validate.
Result<server::ServerConfig> BuildServerConfig(const ServeFlags& flags,
                                               const std::map<std::string, std::string>& env);

}  // namespace platops::cli
