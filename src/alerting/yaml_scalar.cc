#include "alerting/yaml_scalar.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace platops::alerting {

namespace json = boost::json;

Result<std::string> ScalarText(const json::value& v, const std::string& field, bool allow_bool) {
  switch (v.kind()) {
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::int64:
      return std::to_string(v.get_int64());
    case json::kind::uint64:
      return std::to_string(v.get_uint64());
    case json::kind::double_: {
      std::string text = fmt::format("{}", v.get_double());
      if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
      return text;
    }
    case json::kind::bool_:
      if (allow_bool) return std::string(v.get_bool() ? "true" : "false");
      break;
    default:
      break;
  }
  return InvalidArgument(allow_bool ? "must be a string" : "must be a string or a number", field);
}

Result<bool> ScalarBool(const json::value& v, const std::string& field) {
  if (v.is_bool()) return v.get_bool();
  if (v.is_string()) {
    static constexpr std::array<std::string_view, 11> kTrue = {
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
    static constexpr std::array<std::string_view, 11> kFalse = {
        "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
    const std::string_view s = v.get_string();
    if (std::find(kTrue.begin(), kTrue.end(), s) != kTrue.end()) return true;
    if (std::find(kFalse.begin(), kFalse.end(), s) != kFalse.end()) return false;
  }
  return InvalidArgument("must be true or false", field);
}

}  // namespace platops::alerting
