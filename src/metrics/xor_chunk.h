#pragma once
// XorChunk: the head (appendable) chunk of one series, Gorilla-encoded and bit-compatible with
// Prometheus's XORChunk (layout in docs/metrics-format.md). Thread-safety: externally
// synchronized; an XorIterator reads a stable byte range and must not outlive it.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "metrics/bit_stream.h"
#include "metrics/sample.h"

namespace platops::metrics {

class XorIterator;

class XorChunk {
 public:
  // Prometheus stores the sample count in 16 bits.
  static constexpr int kMaxSamples = 65535;

  // What Append continues from besides the bytes: with bytes() it restores a chunk exactly (head
  // snapshots), so later appends encode as if the chunk had never been saved.
  struct AppendState {
    int free_bits = 0;  // Unused low bits of the last byte, 0..7.
    int64_t last_t = 0;
    uint64_t last_delta = 0;
    uint64_t last_v_bits = 0;
    bool have_window = false;  // Whether a value window has been written.
    int leading = 0;           // The value window: leading zeros (0..31) ...
    int trailing = 0;          // ... and trailing zeros (0..63) of the XOR.
    bool operator==(const AppendState&) const = default;
  };

  XorChunk() = default;
  // Reserves room for about `bytes` bytes at the first Append (e.g. the size of the series'
  // previous chunk), saving the buffer's regrowth.
  explicit XorChunk(size_t bytes)
      : capacity_hint_(static_cast<uint32_t>(std::min<size_t>(bytes, size_t{1} << 20))) {}
  XorChunk(const XorChunk& other);
  XorChunk& operator=(const XorChunk& other);
  XorChunk(XorChunk&& other) noexcept;
  XorChunk& operator=(XorChunk&& other) noexcept;
  ~XorChunk() = default;

  // Amortised O(1); allocates only when the byte buffer grows. REQUIRES: t > the last timestamp
  // (else kInvalidArgument) and num_samples() < kMaxSamples (else kResourceExhausted).
  Status Append(int64_t t, double v);

  int num_samples() const { return num_samples_; }
  // The encoded chunk, valid until the next Append.
  std::string_view bytes() const;
  // Iterates the samples appended so far; invalidated by the next Append.
  XorIterator NewIterator() const;

  // Asks the CPU to load the bytes the next Append writes (bulk appends over many chunks).
  void PrefetchTail() const {
    if (buf_ != nullptr) __builtin_prefetch(buf_.get() + bits_ / 8, 1);
  }

  AppendState append_state() const;
  // A chunk holding `bytes` that appends as the chunk that produced them with `state` would.
  // InvalidArgument when the header, length or state cannot belong together.
  static Result<XorChunk> Restore(std::string_view bytes, const AppendState& state);

 private:
  // Makes room for one more sample's bits plus the 8 bytes BufferBitWriter may touch.
  void Reserve();

  // Bytes [size_, capacity_) of buf_ are zero (BufferBitWriter ORs into them).
  std::unique_ptr<char[]> buf_;
  uint32_t capacity_ = 0;
  uint32_t bits_ = 16;  // Bits written, the 16-bit count header included.
  int num_samples_ = 0;
  int64_t last_t_ = 0;
  uint64_t last_delta_ = 0;
  uint64_t last_v_bits_ = 0;
  bool have_window_ = false;
  uint8_t leading_ = 0;
  uint8_t trailing_ = 0;
  uint32_t capacity_hint_ = 0;
};

// Reads an XOR chunk's bytes (from XorChunk::bytes() or from disk; corrupt bytes end the
// iteration with an error status, never UB).
class XorIterator {
 public:
  // `bytes` must outlive the iterator.
  explicit XorIterator(std::string_view bytes);

  // Moves to the next sample; false at the end or on corrupt data (then !status().ok()).
  bool Next();
  // REQUIRES: the last Next() or Seek() returned true.
  Sample At() const { return {t_, std::bit_cast<double>(v_bits_)}; }
  // Moves forward to the first sample with timestamp >= t; no effect if the current one already
  // is. Never moves back. False when there is none (or on corrupt data).
  bool Seek(int64_t t);
  // Not OK when the bytes were found corrupt.
  const Status& status() const { return status_; }

 private:
  bool Fail(std::string message);

  BitReader reader_;
  int total_ = 0;
  int read_ = 0;
  bool positioned_ = false;
  int64_t t_ = 0;
  uint64_t delta_ = 0;
  uint64_t v_bits_ = 0;
  XorValueDecoder value_decoder_;
  Status status_;
};

}  // namespace platops::metrics
