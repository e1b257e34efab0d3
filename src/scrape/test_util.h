#pragma once
// Helpers shared by the scrape tests: reading a store back. Test only.
// Thread-safety: as the storage read.

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "metrics/sample.h"
#include "metrics/storage.h"

namespace platops::scrape {

inline bool IsStale(double v) { return std::bit_cast<uint64_t>(v) == metrics::kStaleNanBits; }

// Every series in the store by its text form (metrics::ToString), with its samples.
inline std::map<std::string, std::vector<metrics::Sample>> ReadAll(metrics::Storage& storage) {
  std::map<std::string, std::vector<metrics::Sample>> out;
  auto q = storage.NewQuerier(0, INT64_MAX);
  EXPECT_TRUE(q.ok());
  if (!q.ok()) return out;
  std::vector<metrics::Matcher> all = {{metrics::MatchType::kRegexMatch, "__name__", ".+"}};
  auto series = (*q)->Select(all);
  EXPECT_TRUE(series.ok());
  if (!series.ok()) return out;
  for (const auto& s : *series) {
    auto it = s->Iterator();
    auto& samples = out[metrics::ToString(s->labels())];
    while (it->Next()) samples.push_back(it->At());
  }
  return out;
}

}  // namespace platops::scrape
