#pragma once
// Test helper: a Head's complete state as text (every series in ref order with its labels, chunk
// bytes and append state), so two heads compare as equal strings and differ readably.
// Thread-safety: reads the head under its locks.

#include <cstdio>
#include <string>

#include "metrics/head.h"

namespace platops::metrics {

inline std::string Hex(std::string_view bytes) {
  std::string out;
  char buf[4];
  for (char c : bytes) {
    std::snprintf(buf, sizeof(buf), "%02x", static_cast<unsigned>(static_cast<uint8_t>(c)));
    out += buf;
  }
  return out;
}

inline std::string DumpHead(const Head& head) {
  std::string out;
  head.ForEachSeriesState([&out](const Head::SeriesStateView& s) {
    out += std::to_string(s.ref) + " " + ToString(s.labels) + " max_t=" + std::to_string(s.max_t) +
           " last=" + std::to_string(s.last_bits) + "\n";
    for (const ChunkData& c : s.closed) {
      out += "  closed " + std::to_string(c.min_t) + ".." + std::to_string(c.max_t) + " " +
             Hex(c.bytes) + "\n";
    }
    const XorChunk::AppendState st = s.open.append_state();
    out += "  open " + std::to_string(s.open_min_t) + " end=" + std::to_string(s.open_end) + " " +
           Hex(s.open.bytes()) + " free=" + std::to_string(st.free_bits) +
           " t=" + std::to_string(st.last_t) + " d=" + std::to_string(st.last_delta) +
           " v=" + std::to_string(st.last_v_bits) + " w=" + std::to_string(st.have_window) + "/" +
           std::to_string(st.leading) + "/" + std::to_string(st.trailing) + "\n";
  });
  return out;
}

}  // namespace platops::metrics
