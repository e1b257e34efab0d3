#pragma once
// LEB128 varints (Go's encoding/binary Uvarint/Varint) and zigzag mapping, used by both chunk
// encodings. Thread-safety: stateless functions.

#include <cstdint>
#include <string>

#include "metrics/bit_stream.h"

namespace platops::metrics {

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t u) {
  return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
}

inline void WriteUvarint(BitWriter& w, uint64_t v) {
  while (v >= 0x80) {
    w.WriteBits((v & 0x7f) | 0x80, 8);
    v >>= 7;
  }
  w.WriteBits(v, 8);
}

// Reads at most 10 bytes; a malformed or overlong varint marks the reader bad and yields 0.
inline uint64_t ReadUvarint(BitReader& r) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70 && r.ok(); shift += 7) {
    const uint64_t byte = r.ReadBits(8);
    if (shift == 63 && byte > 1) break;  // Would overflow 64 bits.
    v |= (byte & 0x7f) << shift;
    if (byte < 0x80) return r.ok() ? v : 0;
  }
  r.MarkBad();
  return 0;
}

}  // namespace platops::metrics
