// Fuzzes the PromQL parser: whatever parses must print (String) to text that parses again and
// prints identically, so the canonical form is a fixed point.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "promql/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto first = platops::promql::Parse(text);
  if (!first.ok()) return 0;
  const std::string printed = platops::promql::String(*first.value());
  auto second = platops::promql::Parse(printed);
  if (!second.ok()) {
    std::fprintf(stderr, "printed form does not parse: %s\n%s\n", printed.c_str(),
                 second.status().message().c_str());
    std::abort();
  }
  const std::string reprinted = platops::promql::String(*second.value());
  if (reprinted != printed) {
    std::fprintf(stderr, "round trip changed the text:\n%s\n%s\n", printed.c_str(),
                 reprinted.c_str());
    std::abort();
  }
  if (second.value()->type != first.value()->type) std::abort();
  return 0;
}
