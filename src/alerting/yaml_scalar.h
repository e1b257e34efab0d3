#pragma once
// Reading YAML scalars that arrive as JSON (the config layer converts YAML to boost::json) the
// way Alertmanager's Go structs take them. Pure functions; thread-safe.

#include <boost/json/value.hpp>

#include <string>

#include "base/status.h"

namespace platops::alerting {

// The text a YAML scalar gives a Go string field: strings as they are, numbers in decimal,
// booleans as words when `allow_bool`. A decimal number keeps a fraction mark ("1.0"), as YAML
// would have written it (so it fails integer parsing, as "2.0" does in Go); other spellings of a
// number are lost in the JSON form. Anything else is InvalidArgument naming `field`.
Result<std::string> ScalarText(const boost::json::value& v, const std::string& field,
                               bool allow_bool = true);

// yaml.v2's booleans: JSON true/false or a YAML 1.1 boolean word (y, yes, on, ...).
Result<bool> ScalarBool(const boost::json::value& v, const std::string& field);

}  // namespace platops::alerting
