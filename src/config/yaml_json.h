#pragma once
// YAML <-> JSON for configuration documents. Plain scalars become numbers, booleans and null the
// way YAML 1.2's core schema reads them; quoted scalars stay strings.
// Thread-safety: pure functions.

#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace platops::config {

// Parses a stream of YAML documents ("---" separated); empty documents are skipped. Errors name
// the line and column.
Result<std::vector<boost::json::value>> YamlToJson(std::string_view text);
// Emits documents as a YAML stream with "---" between them, keys in their JSON order.
std::string JsonToYaml(const std::vector<boost::json::value>& docs);

}  // namespace platops::config
