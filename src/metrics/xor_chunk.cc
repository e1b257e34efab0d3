#include "metrics/xor_chunk.h"

#include <string>

#include "metrics/varint.h"

namespace platops::metrics {
namespace {

// True when `x` fits the signed `nbits` bucket as Prometheus defines it: [-(2^(n-1)-1), 2^(n-1)].
bool BitRange(int64_t x, int nbits) {
  const int64_t half = int64_t{1} << (nbits - 1);
  return -(half - 1) <= x && x <= half;
}

}  // namespace

XorChunk::XorChunk() : bytes_(2, '\0') { bytes_.reserve(128); }

Status XorChunk::Append(int64_t t, double v) {
  if (num_samples_ > 0 && t <= last_t_) {
    return InvalidArgument("sample timestamp " + std::to_string(t) +
                               " is not after the chunk's last timestamp " +
                               std::to_string(last_t_),
                           "t");
  }
  if (num_samples_ >= kMaxSamples) {
    return {StatusCode::kResourceExhausted,
            "chunk is full (" + std::to_string(kMaxSamples) + " samples)"};
  }
  const uint64_t v_bits = std::bit_cast<uint64_t>(v);
  BitWriter w(bytes_, free_bits_);
  if (num_samples_ == 0) {
    WriteUvarint(w, ZigZag(t));
    w.WriteBits(v_bits, 64);
  } else {
    // Wrapping arithmetic: t - last_t_ may exceed INT64_MAX for extreme timestamps.
    const uint64_t delta = static_cast<uint64_t>(t) - static_cast<uint64_t>(last_t_);
    if (num_samples_ == 1) {
      WriteUvarint(w, delta);
    } else {
      const auto dod = static_cast<int64_t>(delta - last_delta_);
      const auto raw = static_cast<uint64_t>(dod);
      if (dod == 0) {
        w.WriteBit(false);
      } else if (BitRange(dod, 14)) {
        w.WriteBits(0b10, 2);
        w.WriteBits(raw & 0x3fff, 14);
      } else if (BitRange(dod, 17)) {
        w.WriteBits(0b110, 3);
        w.WriteBits(raw & 0x1ffff, 17);
      } else if (BitRange(dod, 20)) {
        w.WriteBits(0b1110, 4);
        w.WriteBits(raw & 0xfffff, 20);
      } else {
        w.WriteBits(0b1111, 4);
        w.WriteBits(raw, 64);
      }
    }
    value_encoder_.Write(w, last_v_bits_, v_bits);
    last_delta_ = delta;
  }
  free_bits_ = w.free_bits();
  last_t_ = t;
  last_v_bits_ = v_bits;
  ++num_samples_;
  bytes_[0] = static_cast<char>(num_samples_ >> 8);
  bytes_[1] = static_cast<char>(num_samples_ & 0xff);
  return Status::Ok();
}

XorIterator XorChunk::NewIterator() const { return XorIterator(bytes_); }

XorIterator::XorIterator(std::string_view bytes)
    : reader_(bytes.size() >= 2 ? bytes.substr(2) : std::string_view()) {
  if (bytes.size() < 2) {
    Fail("xor chunk: " + std::to_string(bytes.size()) + " bytes, shorter than its 2-byte header");
    return;
  }
  total_ = (static_cast<uint8_t>(bytes[0]) << 8) | static_cast<uint8_t>(bytes[1]);
}

bool XorIterator::Fail(std::string message) {
  if (status_.ok()) status_ = InvalidArgument(std::move(message));
  read_ = total_;
  positioned_ = false;
  return false;
}

bool XorIterator::Next() {
  if (!status_.ok() || read_ >= total_) {
    positioned_ = false;
    return false;
  }
  if (read_ == 0) {
    t_ = UnZigZag(ReadUvarint(reader_));
    v_bits_ = reader_.ReadBits(64);
  } else {
    if (read_ == 1) {
      delta_ = ReadUvarint(reader_);
    } else {
      int ones = 0;
      while (ones < 4 && reader_.ReadBit()) ++ones;
      static constexpr int kBucketBits[] = {0, 14, 17, 20, 64};
      const int nbits = kBucketBits[ones];
      uint64_t bits = reader_.ReadBits(nbits);
      if (nbits != 0 && nbits != 64 && bits > (uint64_t{1} << (nbits - 1))) {
        bits -= uint64_t{1} << nbits;  // Sign-extends in two's complement.
      }
      delta_ += bits;
    }
    t_ = static_cast<int64_t>(static_cast<uint64_t>(t_) + delta_);
    v_bits_ = value_decoder_.Read(reader_, v_bits_);
    if (!value_decoder_.valid()) {
      return Fail("xor chunk: sample " + std::to_string(read_) + ": bad XOR window");
    }
  }
  if (!reader_.ok()) {
    return Fail("xor chunk: truncated at sample " + std::to_string(read_) + " of " +
                std::to_string(total_));
  }
  ++read_;
  positioned_ = true;
  return true;
}

bool XorIterator::Seek(int64_t t) {
  if (positioned_ && t_ >= t) return true;
  while (Next()) {
    if (t_ >= t) return true;
  }
  return false;
}

}  // namespace platops::metrics
