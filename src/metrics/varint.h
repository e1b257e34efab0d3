#pragma once
// LEB128 varints (Go's encoding/binary Uvarint/Varint) and zigzag mapping, used by both chunk
// encodings (in bit streams) and by the WAL records and head snapshot (in byte strings). Thread-safety: stateless functions.

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

// Writes `v` at p (room for 10 bytes) and returns the end.
inline char* PutUvarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

inline void AppendUvarint(std::string& out, uint64_t v) {
  char buf[10];
  out.append(buf, static_cast<size_t>(PutUvarint(buf, v) - buf));
}

// Reads a LEB128 varint of at most 10 bytes that fits 64 bits; false if truncated or overlong.
inline bool GetUvarint(const char*& p, const char* end, uint64_t& v) {
  if (p < end && static_cast<uint8_t>(*p) < 0x80) {
    v = static_cast<uint8_t>(*p++);
    return true;
  }
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && p < end; shift += 7) {
    const uint64_t byte = static_cast<uint8_t>(*p++);
    if (shift == 63 && byte > 1) return false;
    result |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      v = result;
      return true;
    }
  }
  return false;
}

}  // namespace platops::metrics
