#include "metrics/xor_chunk.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "metrics/varint.h"

namespace platops::metrics {
namespace {

// The bytes of a chunk without samples: a zero count.
constexpr char kEmptyChunk[2] = {0, 0};
// Room Append needs past the last byte: one sample takes at most 20 bytes (a 10-byte varint and
// 2 + 5 + 6 + 64 value bits), the partly written byte one more, and BufferBitWriter's 64-bit
// stores may reach 8 bytes further.
constexpr uint32_t kAppendReserve = 32;
constexpr uint32_t kInitialCapacity = 128;

// True when `x` fits the signed `nbits` bucket as Prometheus defines it: [-(2^(n-1)-1), 2^(n-1)].
bool BitRange(int64_t x, int nbits) {
  const int64_t half = int64_t{1} << (nbits - 1);
  return -(half - 1) <= x && x <= half;
}

void WriteUvarintBits(BufferBitWriter& w, uint64_t v) {
  while (v >= 0x80) {
    w.WriteBits((v & 0x7f) | 0x80, 8);
    v >>= 7;
  }
  w.WriteBits(v, 8);
}

uint32_t ByteSize(uint32_t bits) { return (bits + 7) / 8; }

}  // namespace

XorChunk::XorChunk(const XorChunk& other) { *this = other; }

XorChunk& XorChunk::operator=(const XorChunk& other) {
  if (this == &other) return *this;
  if (other.buf_ != nullptr) {
    buf_ = std::make_unique<char[]>(other.capacity_);
    std::memcpy(buf_.get(), other.buf_.get(), ByteSize(other.bits_));
  } else {
    buf_.reset();
  }
  capacity_ = other.capacity_;
  bits_ = other.bits_;
  num_samples_ = other.num_samples_;
  last_t_ = other.last_t_;
  last_delta_ = other.last_delta_;
  last_v_bits_ = other.last_v_bits_;
  have_window_ = other.have_window_;
  leading_ = other.leading_;
  trailing_ = other.trailing_;
  capacity_hint_ = other.capacity_hint_;
  return *this;
}

XorChunk::XorChunk(XorChunk&& other) noexcept { *this = std::move(other); }

XorChunk& XorChunk::operator=(XorChunk&& other) noexcept {
  if (this == &other) return *this;
  buf_ = std::move(other.buf_);
  capacity_ = std::exchange(other.capacity_, 0);
  bits_ = std::exchange(other.bits_, 16);
  num_samples_ = std::exchange(other.num_samples_, 0);
  last_t_ = std::exchange(other.last_t_, 0);
  last_delta_ = std::exchange(other.last_delta_, 0);
  last_v_bits_ = std::exchange(other.last_v_bits_, 0);
  have_window_ = std::exchange(other.have_window_, false);
  leading_ = std::exchange(other.leading_, 0);
  trailing_ = std::exchange(other.trailing_, 0);
  capacity_hint_ = std::exchange(other.capacity_hint_, 0);
  return *this;
}

std::string_view XorChunk::bytes() const {
  if (buf_ == nullptr) return std::string_view(kEmptyChunk, 2);
  return std::string_view(buf_.get(), ByteSize(bits_));
}

void XorChunk::Reserve() {
  const uint32_t size = ByteSize(bits_);
  uint32_t capacity =
      capacity_ == 0 ? std::max(kInitialCapacity, capacity_hint_ + kAppendReserve) : capacity_ * 2;
  while (capacity < size + kAppendReserve) capacity *= 2;
  auto fresh = std::make_unique<char[]>(capacity);  // Zero-filled.
  if (buf_ != nullptr) std::memcpy(fresh.get(), buf_.get(), size);
  buf_ = std::move(fresh);
  capacity_ = capacity;
}

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
  if (capacity_ < ByteSize(bits_) + kAppendReserve) Reserve();
  const uint64_t v_bits = std::bit_cast<uint64_t>(v);
  BufferBitWriter w(buf_.get(), bits_);
  if (num_samples_ == 0) {
    WriteUvarintBits(w, ZigZag(t));
    w.WriteBits(v_bits, 64);
  } else {
    // Wrapping arithmetic: t - last_t_ may exceed INT64_MAX for extreme timestamps.
    const uint64_t delta = static_cast<uint64_t>(t) - static_cast<uint64_t>(last_t_);
    if (num_samples_ == 1) {
      WriteUvarintBits(w, delta);
    } else {
      const auto dod = static_cast<int64_t>(delta - last_delta_);
      const auto raw = static_cast<uint64_t>(dod);
      if (dod == 0) {
        w.WriteBit(false);
      } else if (BitRange(dod, 14)) {
        w.WriteBits((uint64_t{0b10} << 14) | (raw & 0x3fff), 16);
      } else if (BitRange(dod, 17)) {
        w.WriteBits((uint64_t{0b110} << 17) | (raw & 0x1ffff), 20);
      } else if (BitRange(dod, 20)) {
        w.WriteBits((uint64_t{0b1110} << 20) | (raw & 0xfffff), 24);
      } else {
        w.WriteBits(0b1111, 4);
        w.WriteBits(raw, 64);
      }
    }
    // The XOR value coder of bit_stream.h (XorValueEncoder), with its control bits and payload
    // written together where they fit one store.
    const uint64_t x = last_v_bits_ ^ v_bits;
    if (x == 0) {
      w.WriteBit(false);
    } else {
      int leading = std::countl_zero(x);
      const int trailing = std::countr_zero(x);
      if (leading >= 32) leading = 31;  // Only 5 bits to store it.
      if (have_window_ && leading >= leading_ && trailing >= trailing_) {
        const int n = 64 - leading_ - trailing_;
        const uint64_t payload = x >> trailing_;
        if (n <= 54) {
          w.WriteBits((uint64_t{0b10} << n) | payload, n + 2);
        } else {
          w.WriteBits(0b10, 2);
          w.WriteBits(payload, n);
        }
      } else {
        have_window_ = true;
        leading_ = static_cast<uint8_t>(leading);
        trailing_ = static_cast<uint8_t>(trailing);
        const int n = 64 - leading - trailing;
        const uint64_t header = (uint64_t{0b11} << 11) | (static_cast<uint64_t>(leading) << 6) |
                                static_cast<uint64_t>(n & 63);
        const uint64_t payload = x >> trailing;
        if (n <= 43) {
          w.WriteBits((header << n) | payload, n + 13);
        } else {
          w.WriteBits(header, 13);
          w.WriteBits(payload, n);
        }
      }
    }
    last_delta_ = delta;
  }
  bits_ = static_cast<uint32_t>(w.bit_pos());
  last_t_ = t;
  last_v_bits_ = v_bits;
  ++num_samples_;
  buf_[0] = static_cast<char>(num_samples_ >> 8);
  buf_[1] = static_cast<char>(num_samples_ & 0xff);
  return Status::Ok();
}

XorChunk::AppendState XorChunk::append_state() const {
  return AppendState{.free_bits = static_cast<int>(ByteSize(bits_) * 8 - bits_),
                     .last_t = last_t_,
                     .last_delta = last_delta_,
                     .last_v_bits = last_v_bits_,
                     .have_window = have_window_,
                     .leading = leading_,
                     .trailing = trailing_};
}

Result<XorChunk> XorChunk::Restore(std::string_view bytes, const AppendState& state) {
  if (bytes.size() < 2) return InvalidArgument("xor chunk: shorter than its 2-byte header");
  const int count = (static_cast<uint8_t>(bytes[0]) << 8) | static_cast<uint8_t>(bytes[1]);
  XorChunk chunk;
  if (count == 0) {
    if (bytes.size() != 2) return InvalidArgument("xor chunk: no samples but bytes follow");
    return chunk;
  }
  if (bytes.size() < 2 + 9 || bytes.size() > uint64_t{1} << 24) {
    return InvalidArgument("xor chunk: " + std::to_string(bytes.size()) + " bytes cannot hold " +
                           std::to_string(count) + " samples");
  }
  if (state.free_bits < 0 || state.free_bits > 7 || state.leading < 0 || state.leading > 31 ||
      state.trailing < 0 || state.trailing > 63 || state.leading + state.trailing >= 64) {
    return InvalidArgument("xor chunk: impossible append state");
  }
  const auto last = static_cast<uint8_t>(bytes.back());
  if ((last & ((1u << state.free_bits) - 1)) != 0) {
    return InvalidArgument("xor chunk: the free bits of the last byte are not zero");
  }
  chunk.capacity_ = kInitialCapacity;
  while (chunk.capacity_ < bytes.size() + kAppendReserve) chunk.capacity_ *= 2;
  chunk.buf_ = std::make_unique<char[]>(chunk.capacity_);
  std::memcpy(chunk.buf_.get(), bytes.data(), bytes.size());
  chunk.bits_ = static_cast<uint32_t>(bytes.size() * 8 - static_cast<size_t>(state.free_bits));
  chunk.num_samples_ = count;
  chunk.last_t_ = state.last_t;
  chunk.last_delta_ = state.last_delta;
  chunk.last_v_bits_ = state.last_v_bits;
  chunk.have_window_ = state.have_window;
  chunk.leading_ = static_cast<uint8_t>(state.leading);
  chunk.trailing_ = static_cast<uint8_t>(state.trailing);
  return chunk;
}

XorIterator XorChunk::NewIterator() const { return XorIterator(bytes()); }

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
