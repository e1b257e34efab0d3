#pragma once
// Registers the standard process_* gauges (CPU seconds, resident memory, open fds, start time)
// read from /proc at scrape time, and platops_build_info.

#include <string>

#include "base/metrics_registry.h"

namespace platops::server {

void RegisterProcessMetrics(MetricsRegistry& metrics, const std::string& version);

}  // namespace platops::server
