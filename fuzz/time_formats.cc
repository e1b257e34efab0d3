// Fuzzes the time parsers: whatever parses must format and re-parse to the same value.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/time_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto t = platops::ParseRfc3339(text); t.ok()) {
    auto again = platops::ParseRfc3339(platops::FormatRfc3339(*t));
    if (!again.ok() || *again != *t) std::abort();
  }
  if (auto d = platops::ParseDuration(text); d.ok()) {
    auto again = platops::ParseDuration(platops::FormatDuration(*d));
    if (!again.ok() || *again != *d) std::abort();
  }
  return 0;
}
