#pragma once
// Bit-level writer and reader (most significant bit first) and the Gorilla XOR value coder shared
// by XorChunk and the dense chunk encoding. Thread-safety: plain values, externally synchronized.

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace platops::metrics {

// Appends bits to a byte string it does not own; the last byte may be partly filled.
class BitWriter {
 public:
  // Continues writing into `out`, whose last byte has `free_bits` (0..7) unused low bits.
  explicit BitWriter(std::string& out, int free_bits = 0) : out_(&out), free_bits_(free_bits) {}

  void WriteBit(bool bit) {
    if (free_bits_ == 0) {
      out_->push_back('\0');
      free_bits_ = 8;
    }
    --free_bits_;
    if (bit)
      out_->back() = static_cast<char>(static_cast<uint8_t>(out_->back()) | (1u << free_bits_));
  }

  // Writes the low `nbits` (0..64) bits of `value`, most significant first.
  void WriteBits(uint64_t value, int nbits) {
    while (nbits > 0) {
      if (free_bits_ == 0) {
        out_->push_back('\0');
        free_bits_ = 8;
      }
      const int take = nbits < free_bits_ ? nbits : free_bits_;
      const uint64_t chunk = (value >> (nbits - take)) & ((uint64_t{1} << take) - 1);
      out_->back() = static_cast<char>(static_cast<uint8_t>(out_->back()) |
                                       static_cast<uint8_t>(chunk << (free_bits_ - take)));
      free_bits_ -= take;
      nbits -= take;
    }
  }

  // Unused low bits of the last byte (0..7); the next write starts there.
  int free_bits() const { return free_bits_; }

 private:
  std::string* out_;
  int free_bits_;
};

// Writes bits at a bit position into a caller-owned buffer with one unaligned 64-bit load and store
// per field (XorChunk's append path). REQUIRES: every buffer byte from the byte holding the
// position onwards is zero, and at least 8 bytes exist past the last byte a write reaches.
class BufferBitWriter {
 public:
  BufferBitWriter(char* buffer, uint64_t bit_pos) : buffer_(buffer), pos_(bit_pos) {}

  // Writes the low `nbits` (0..64) bits of `value`, most significant first.
  void WriteBits(uint64_t value, int nbits) {
    if (nbits > 56) {
      Put(value >> 32, nbits - 32);
      Put(value & 0xffffffffu, 32);
    } else if (nbits > 0) {
      Put(value, nbits);
    }
  }
  void WriteBit(bool bit) { Put(bit ? 1 : 0, 1); }

  // The position after the last bit written.
  uint64_t bit_pos() const { return pos_; }

 private:
  // REQUIRES: 1 <= nbits <= 56, so the field fits the 8 bytes from its first byte.
  void Put(uint64_t value, int nbits) {
    char* p = buffer_ + (pos_ >> 3);
    const int shift = static_cast<int>(pos_ & 7);
    uint64_t word;
    std::memcpy(&word, p, 8);
    if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap64(word);
    word |= (value << (64 - nbits)) >> shift;
    if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap64(word);
    std::memcpy(p, &word, 8);
    pos_ += static_cast<uint64_t>(nbits);
  }

  char* buffer_;
  uint64_t pos_;
};

// Reads bits from a byte range; reading past the end (or MarkBad) sets a sticky error, after
// which reads yield zeros.
class BitReader {
 public:
  explicit BitReader(std::string_view in) : in_(in) {}

  bool ReadBit() {
    if (pos_ >= in_.size() * 8) {
      MarkBad();
      return false;
    }
    const bool bit = (static_cast<uint8_t>(in_[pos_ >> 3]) >> (7 - (pos_ & 7))) & 1u;
    ++pos_;
    return bit;
  }

  // Reads `nbits` (0..64) bits, most significant first.
  uint64_t ReadBits(int nbits) {
    if (static_cast<size_t>(nbits) > in_.size() * 8 - pos_) {
      MarkBad();
      return 0;
    }
    const size_t byte = pos_ >> 3;
    if (nbits > 0 && nbits <= 56 && byte + 8 <= in_.size()) {  // One load covers the field.
      const uint64_t word = Load64(byte) << (pos_ & 7);
      pos_ += static_cast<size_t>(nbits);
      return word >> (64 - nbits);
    }
    uint64_t value = 0;
    while (nbits > 0) {
      const int avail = 8 - static_cast<int>(pos_ & 7);
      const int take = nbits < avail ? nbits : avail;
      const uint64_t byte = static_cast<uint8_t>(in_[pos_ >> 3]);
      const uint64_t chunk = (byte >> (avail - take)) & ((uint64_t{1} << take) - 1);
      value = (value << take) | chunk;
      pos_ += static_cast<size_t>(take);
      nbits -= take;
    }
    return value;
  }

  // The next 57 or more bits, left-aligned in `word` (the low bits beyond are zero), without
  // consuming them; false near the end of the input, where the bit-wise reads must be used.
  bool Peek(uint64_t& word) const {
    const size_t byte = pos_ >> 3;
    if (byte + 8 > in_.size()) return false;
    word = Load64(byte) << (pos_ & 7);
    return true;
  }
  // Consumes `nbits` bits. REQUIRES: they were returned by the last Peek.
  void Skip(int nbits) { pos_ += static_cast<size_t>(nbits); }

  // Consumes a run of 0 bits and the 1 bit ending it; returns the number of 0 bits. A run longer
  // than `max_zeros` or running past the end marks the reader bad and returns -1.
  int ReadZeroRun(int max_zeros) {
    int zeros = 0;
    while (true) {
      const size_t byte = pos_ >> 3;
      if (byte + 8 <= in_.size()) {
        const int shift = static_cast<int>(pos_ & 7);
        const uint64_t word = Load64(byte) << shift;
        // The shift fills the low bits with zeros, so a set bit is one of the 64 - shift read.
        const int run = word != 0 ? std::countl_zero(word) : 64 - shift;
        zeros += run;
        if (zeros > max_zeros) break;
        pos_ += static_cast<size_t>(run);
        if (word != 0) {
          ++pos_;
          return zeros;
        }
        continue;
      }
      if (ReadBit()) return zeros;
      if (!ok() || ++zeros > max_zeros) break;
    }
    MarkBad();
    return -1;
  }

  // Bytes consumed so far, counting a partly read byte as whole.
  size_t bytes_consumed() const { return (pos_ + 7) / 8; }
  // Moves to the start of the next whole byte.
  void AlignToByte() { pos_ = bytes_consumed() * 8; }
  // Records malformed input found by a caller; reads past the end do it too.
  void MarkBad() {
    bad_ = true;
    pos_ = in_.size() * 8;
  }
  // False once a read ran past the end or the input was marked bad.
  bool ok() const { return !bad_; }

 private:
  // Eight bytes from `byte` as a big-endian word. REQUIRES: byte + 8 <= in_.size().
  uint64_t Load64(size_t byte) const {
    uint64_t word;
    std::memcpy(&word, in_.data() + byte, 8);
    if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap64(word);
    return word;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool bad_ = false;
};

// Gorilla's value coder, bit-identical to Prometheus's XORChunk: a '0' bit for an unchanged value,
// else '1' and either '0' + the XOR inside the previous leading/trailing-zero window, or '1' +
// 5 bits leading zeros + 6 bits significant-bit count (64 stored as 0) + the significant bits.
class XorValueEncoder {
 public:
  void Write(BitWriter& w, uint64_t prev_bits, uint64_t bits) {
    const uint64_t delta = prev_bits ^ bits;
    if (delta == 0) {
      w.WriteBit(false);
      return;
    }
    w.WriteBit(true);
    int leading = std::countl_zero(delta);
    const int trailing = std::countr_zero(delta);
    if (leading >= 32) leading = 31;  // Only 5 bits to store it.
    if (have_window_ && leading >= leading_ && trailing >= trailing_) {
      w.WriteBit(false);
      w.WriteBits(delta >> trailing_, 64 - leading_ - trailing_);
      return;
    }
    have_window_ = true;
    leading_ = leading;
    trailing_ = trailing;
    w.WriteBit(true);
    w.WriteBits(static_cast<uint64_t>(leading), 5);
    const int sigbits = 64 - leading - trailing;
    w.WriteBits(static_cast<uint64_t>(sigbits & 63), 6);
    w.WriteBits(delta >> trailing, sigbits);
  }

 private:
  bool have_window_ = false;
  int leading_ = 0;
  int trailing_ = 0;
};

class XorValueDecoder {
 public:
  // Returns the next value's bits; `false` from `valid()` when the window read is impossible.
  uint64_t Read(BitReader& r, uint64_t prev_bits) {
    if (!r.ReadBit()) return prev_bits;
    if (r.ReadBit()) {
      leading_ = static_cast<int>(r.ReadBits(5));
      int sigbits = static_cast<int>(r.ReadBits(6));
      if (sigbits == 0) sigbits = 64;
      if (leading_ + sigbits > 64) {
        valid_ = false;
        return prev_bits;
      }
      trailing_ = 64 - leading_ - sigbits;
    }
    const int sigbits = 64 - leading_ - trailing_;
    const uint64_t delta = r.ReadBits(sigbits) << trailing_;
    return prev_bits ^ delta;
  }
  bool valid() const { return valid_; }

 private:
  int leading_ = 0;
  int trailing_ = 0;
  bool valid_ = true;
};

}  // namespace platops::metrics
