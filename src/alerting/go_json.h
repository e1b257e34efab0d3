#pragma once
// JSON output as Go's encoding/json writes it, for the payloads Alertmanager's clients and
// consumers parse: strings with <, > and & escaped, label sets as objects in name order.
// Pure functions; thread-safe.

#include <string>
#include <string_view>

#include "alerting/label_set.h"

namespace platops::alerting {

// Appends `s` as a JSON string the way Go's encoder does (HTML characters as \u003c etc.).
void AppendGoJsonString(std::string& out, std::string_view s);

// Appends {"name":"value",...} in name order.
void AppendLabelSetJson(std::string& out, const LabelSet& labels);

}  // namespace platops::alerting
