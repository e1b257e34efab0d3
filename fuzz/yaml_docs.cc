// Fuzzes configuration documents: YAML to JSON, then JSON back to YAML and again to JSON, which
// must give the same documents (exactly, when no floating-point number is involved).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/json.hpp>

#include "config/yaml_json.h"

namespace {

bool HasDouble(const boost::json::value& v) {
  if (v.is_double()) return true;
  if (v.is_array())
    for (const auto& x : v.get_array())
      if (HasDouble(x)) return true;
  if (v.is_object())
    for (const auto& kv : v.get_object())
      if (HasDouble(kv.value())) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto docs = platops::config::YamlToJson(text);
  if (!docs.ok()) return 0;
  auto again = platops::config::YamlToJson(platops::config::JsonToYaml(*docs));
  if (!again.ok() || again->size() != docs->size()) std::abort();
  for (size_t i = 0; i < docs->size(); ++i)
    if (!HasDouble((*docs)[i]) && (*again)[i] != (*docs)[i]) std::abort();
  return 0;
}
