#pragma once
// XorChunk: the head (appendable) chunk of one series, Gorilla-encoded and bit-compatible with
// Prometheus's XORChunk (layout in docs/metrics-format.md). Thread-safety: externally
// synchronized; an XorIterator reads a stable byte range and must not outlive it.

#include <cstdint>
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

  XorChunk();

  // Amortised O(1); allocates only when the byte buffer grows. REQUIRES: t > the last timestamp
  // (else kInvalidArgument) and num_samples() < kMaxSamples (else kResourceExhausted).
  Status Append(int64_t t, double v);

  int num_samples() const { return num_samples_; }
  // The encoded chunk, valid until the next Append.
  std::string_view bytes() const { return bytes_; }
  // Iterates the samples appended so far; invalidated by the next Append.
  XorIterator NewIterator() const;

 private:
  std::string bytes_;
  int num_samples_ = 0;
  int free_bits_ = 0;
  int64_t last_t_ = 0;
  uint64_t last_delta_ = 0;
  uint64_t last_v_bits_ = 0;
  XorValueEncoder value_encoder_;
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
