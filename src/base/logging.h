#pragma once
// Process-wide log set-up through spdlog. Called once by main before any thread starts.

#include <string_view>

namespace platops {

enum class LogFormat { kText, kJson };

// `level` is one of trace, debug, info, warn, error; logs go to stderr.
void SetupLogging(LogFormat format, std::string_view level);

}  // namespace platops
