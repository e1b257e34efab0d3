// Fuzzes the path of every JSON request body: parse, strict decode of each resource, validation.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/json_reader.h"
#include "catalog/catalog.h"
#include "catalog/codec.h"
#include "checks/codec.h"
#include "identity/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto v = platops::ParseJson(text);
  if (!v.ok()) return 0;
  if (auto s = platops::catalog::ServiceFromJson(*v); s.ok()) {
    (void)platops::catalog::ValidateService(*s);
    (void)platops::JsonToString(platops::catalog::ServiceToJson(*s));
  }
  if (auto t = platops::catalog::TeamFromJson(*v); t.ok()) (void)platops::catalog::ValidateTeam(*t);
  if (auto u = platops::identity::UserFromJson(*v); u.ok()) (void)platops::identity::ValidateUser(*u);
  // Checks and maintenance windows: a decoded document must normalise to one that decodes to
  // the same normal form.
  if (auto c = platops::checks::CheckFromJson(*v); c.ok()) {
    auto again = platops::checks::CheckFromJson(platops::checks::CheckDocJson(*c));
    if (!again.ok() || again->doc != c->doc) __builtin_trap();
  }
  if (auto w = platops::checks::WindowFromJson(*v); w.ok()) {
    auto again = platops::checks::WindowFromJson(platops::checks::WindowDocJson(*w));
    if (!again.ok() || again->doc != w->doc) __builtin_trap();
  }
  return 0;
}
