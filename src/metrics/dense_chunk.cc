#include "metrics/dense_chunk.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "metrics/bit_stream.h"
#include "metrics/varint.h"

namespace platops::metrics {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kTimeGrid = 0;
constexpr uint8_t kTimeDod = 1;
constexpr uint8_t kValueXor = 0;
constexpr uint8_t kValueDecimal = 1;
constexpr uint8_t kMantissaDelta = 0;
constexpr uint8_t kMantissaDod = 1;
constexpr uint8_t kIntPacked = 0;
constexpr uint8_t kIntExpGolomb = 1;
// Decimal exponents the encoder tries; the decoder accepts up to 22 (10^22 is exact in a double).
constexpr int kMaxEncodeDigits = 15;
constexpr int kMaxDecodeDigits = 22;
// Mantissas beyond 2^53 do not convert exactly to double.
constexpr int64_t kMaxMantissa = int64_t{1} << 53;

constexpr double kPow10[kMaxDecodeDigits + 1] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

int BitWidth(uint64_t v) { return static_cast<int>(std::bit_width(v)); }
uint64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<uint64_t>(a) - static_cast<uint64_t>(b);
}
int64_t WrapAdd(int64_t a, uint64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + b);
}

// m / 10^digits, correctly rounded: the double nearest to that decimal.
double MantissaToDouble(int64_t mantissa, int digits) {
  const auto m = static_cast<double>(mantissa);
  return digits == 0 ? m : m / kPow10[digits];
}

// The mantissa of `v` at `digits` decimals when it converts back bit-exactly.
std::optional<int64_t> ToMantissa(double v, int digits) {
  if (!std::isfinite(v)) return std::nullopt;
  const double scaled = v * kPow10[digits];
  if (!(std::fabs(scaled) <= static_cast<double>(kMaxMantissa))) return std::nullopt;
  const auto m = static_cast<int64_t>(std::llround(scaled));
  if (std::bit_cast<uint64_t>(MantissaToDouble(m, digits)) != std::bit_cast<uint64_t>(v)) {
    return std::nullopt;
  }
  return m;
}

// The fewest decimals that represent `v` exactly, or -1.
int DecimalDigits(double v) {
  for (int d = 0; d <= kMaxEncodeDigits; ++d) {
    if (ToMantissa(v, d)) return d;
  }
  return -1;
}

// ---- Integer streams: bit-packed offsets from the minimum, or Exp-Golomb with parameter k.

struct IntCoding {
  uint8_t kind = kIntPacked;
  int param = 0;  // Bit width (packed) or k (Exp-Golomb).
  int64_t min = 0;
  uint64_t bits = 0;
};

uint64_t UvarintBits(uint64_t v) {
  const int width = BitWidth(v);
  return 8 * static_cast<uint64_t>(width == 0 ? 1 : (width + 6) / 7);
}

IntCoding ChooseIntCoding(const std::vector<int64_t>& xs) {
  IntCoding best;
  if (xs.empty()) return best;
  const auto [lo, hi] = std::minmax_element(xs.begin(), xs.end());
  const int width = BitWidth(WrapSub(*hi, *lo));
  best = {kIntPacked, width, *lo,
          8 + UvarintBits(ZigZag(*lo)) + 8 + xs.size() * static_cast<uint64_t>(width)};
  // Exp-Golomb cost per k from a histogram of zigzag bit widths: bit_width(u >> k) = w - k.
  uint64_t count_by_width[65] = {};
  int max_width = 0;
  for (int64_t x : xs) {
    const int w = BitWidth(ZigZag(x));
    ++count_by_width[w];
    max_width = std::max(max_width, w);
  }
  for (int k = 0; k <= std::min(max_width, 63); ++k) {
    uint64_t bits = 16;
    for (int w = 0; w <= max_width; ++w) {
      const auto nb = static_cast<uint64_t>(std::max(0, w - k));
      bits += count_by_width[w] * (static_cast<uint64_t>(k) + (nb == 0 ? 1 : 2 * nb));
    }
    if (bits < best.bits) best = {kIntExpGolomb, k, 0, bits};
  }
  return best;
}

void WriteInts(BitWriter& w, const std::vector<int64_t>& xs, const IntCoding& c) {
  if (xs.empty()) return;
  w.WriteBits(c.kind, 8);
  if (c.kind == kIntPacked) {
    WriteUvarint(w, ZigZag(c.min));
    w.WriteBits(static_cast<uint64_t>(c.param), 8);
    for (int64_t x : xs) w.WriteBits(WrapSub(x, c.min), c.param);
    return;
  }
  w.WriteBits(static_cast<uint64_t>(c.param), 8);
  for (int64_t x : xs) {
    const uint64_t u = ZigZag(x);
    const uint64_t q = u >> c.param;
    const int nb = BitWidth(q);
    w.WriteBits(0, nb);
    w.WriteBit(true);
    if (nb > 1) w.WriteBits(q, nb - 1);
    w.WriteBits(u, c.param);
  }
}

// Reads `count` integers; a malformed stream marks the reader bad.
// Replaces the contents of `out` (whose storage is reused) with `count` integers. The loops
// work on a local copy of the reader and a raw pointer, so that the stores of decoded values
// (which may alias the reader's position, both 64-bit integers) do not force it through memory.
void ReadInts(BitReader& reader, size_t count, std::vector<int64_t>& out) {
  out.resize(count);
  if (count == 0) return;
  int64_t* const o = out.data();
  size_t i = 0;
  BitReader r = reader;
  const auto kind = static_cast<uint8_t>(r.ReadBits(8));
  if (kind == kIntPacked) {
    const int64_t min = UnZigZag(ReadUvarint(r));
    const int width = static_cast<int>(r.ReadBits(8));
    if (width > 64) r.MarkBad();
    if (width == 0 && r.ok()) {
      std::fill(o, o + count, min);
      i = count;
    } else {
      for (; i < count && r.ok(); ++i) o[i] = WrapAdd(min, r.ReadBits(width));
    }
  } else {
    const int k = static_cast<int>(r.ReadBits(8));
    if (kind != kIntExpGolomb || k > 63) r.MarkBad();
    for (; i < count && r.ok(); ++i) {
      // Fast path: the whole code (nb zeros, a 1, nb - 1 bits of q, k low bits) within one
      // peek.
      uint64_t word;
      if (r.Peek(word) && word != 0) {
        const int zeros = std::countl_zero(word);
        const int total = (zeros == 0 ? 1 : 2 * zeros) + k;
        if (total <= 57) {
          uint64_t rest = word << (zeros + 1);
          uint64_t q = static_cast<uint64_t>(zeros);  // 0 and 1 encode themselves.
          if (zeros > 1) {
            q = (uint64_t{1} << (zeros - 1)) | (rest >> (64 - (zeros - 1)));
            rest <<= zeros - 1;
          }
          const uint64_t low = k == 0 ? 0 : rest >> (64 - k);
          o[i] = UnZigZag((q << k) | low);
          r.Skip(total);
          continue;
        }
      }
      const int nb = r.ReadZeroRun(64);
      if (nb < 0) break;
      uint64_t q = nb == 0 ? 0 : 1;
      if (nb > 1) q = (q << (nb - 1)) | r.ReadBits(nb - 1);
      if (k > 0 && nb > 0 && (q >> (64 - k)) != 0) r.MarkBad();  // Would lose high bits.
      const uint64_t u = (k == 0 ? q : (q << k)) | r.ReadBits(k);
      o[i] = UnZigZag(u);
    }
  }
  out.resize(i);
  reader = r;
}

// ---- Timestamps.

struct TimeCoding {
  uint8_t mode = kTimeGrid;
  int64_t first = 0;  // Grid step or first delta.
  std::vector<int64_t> ints;
  IntCoding coding;
};

TimeCoding ChooseTimeCoding(std::span<const Sample> s) {
  const size_t n = s.size();
  // Grid: t_i - (t_0 + i * step), step the rounded mean interval; wrapping arithmetic throughout.
  TimeCoding grid;
  grid.mode = kTimeGrid;
  const uint64_t span = WrapSub(s[n - 1].t, s[0].t);
  const uint64_t gaps = n - 1;
  const uint64_t step = span / gaps + (span % gaps >= (gaps + 1) / 2 ? 1 : 0);
  grid.first = static_cast<int64_t>(step);
  for (size_t i = 1; i < n; ++i) {
    grid.ints.push_back(static_cast<int64_t>(WrapSub(s[i].t, s[0].t) - i * step));
  }
  grid.coding = ChooseIntCoding(grid.ints);
  TimeCoding dod;
  dod.mode = kTimeDod;
  dod.first = static_cast<int64_t>(WrapSub(s[1].t, s[0].t));
  for (size_t i = 2; i < n; ++i) {
    dod.ints.push_back(
        static_cast<int64_t>(WrapSub(s[i].t, s[i - 1].t) - WrapSub(s[i - 1].t, s[i - 2].t)));
  }
  dod.coding = ChooseIntCoding(dod.ints);
  return dod.coding.bits < grid.coding.bits ? dod : grid;
}

// ---- Values.

struct DecimalCoding {
  bool usable = false;
  int digits = 0;
  int64_t m0 = 0;
  uint8_t mode = kMantissaDelta;
  int64_t first = 0;  // Base delta or first delta.
  std::vector<int64_t> ints;
  IntCoding coding;
  std::vector<size_t> exceptions;
  uint64_t bits = 0;
};

DecimalCoding ChooseDecimalCoding(std::span<const Sample> s) {
  const size_t n = s.size();
  DecimalCoding best;
  int digits = -1;
  for (const Sample& x : s) digits = std::max(digits, DecimalDigits(x.v));
  if (digits < 0) return best;
  // Mantissas; values that are not decimals at `digits` become exceptions and repeat the previous
  // mantissa (leading ones take the first decimal's), so a stale marker costs no delta.
  std::vector<int64_t> m(n);
  std::vector<bool> is_decimal(n);
  std::vector<size_t> exceptions;
  for (size_t i = 0; i < n; ++i) {
    const std::optional<int64_t> mantissa = ToMantissa(s[i].v, digits);
    is_decimal[i] = mantissa.has_value();
    m[i] = mantissa.value_or(0);
    if (!is_decimal[i]) exceptions.push_back(i);
  }
  if (exceptions.size() == n) return best;
  const size_t first_decimal = static_cast<size_t>(
      std::find(is_decimal.begin(), is_decimal.end(), true) - is_decimal.begin());
  for (size_t i = 0; i < n; ++i) {
    if (!is_decimal[i]) m[i] = i < first_decimal ? m[first_decimal] : m[i - 1];
  }
  uint64_t exception_bits = UvarintBits(exceptions.size());
  size_t prev = 0;
  for (size_t i = 0; i < exceptions.size(); ++i) {
    exception_bits += UvarintBits(i == 0 ? exceptions[i] : exceptions[i] - prev - 1) + 64;
    prev = exceptions[i];
  }
  best.usable = true;
  best.digits = digits;
  best.m0 = m[0];
  best.exceptions = std::move(exceptions);
  best.bits = UINT64_MAX;
  if (n == 1) {
    best.bits = 16 + UvarintBits(ZigZag(m[0])) + exception_bits;
    return best;
  }
  std::vector<int64_t> deltas(n - 1);
  for (size_t i = 1; i < n; ++i) deltas[i - 1] = static_cast<int64_t>(WrapSub(m[i], m[i - 1]));
  // Candidates: delta minus 0, delta minus the most common delta (counters), delta-of-delta.
  std::vector<int64_t> sorted = deltas;
  std::sort(sorted.begin(), sorted.end());
  int64_t mode = sorted[0];
  size_t mode_count = 0;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    if (j - i > mode_count) {
      mode_count = j - i;
      mode = sorted[i];
    }
    i = j;
  }
  auto consider = [&](uint8_t kind, int64_t first, std::vector<int64_t> ints) {
    const IntCoding c = ChooseIntCoding(ints);
    const uint64_t bits = 16 + UvarintBits(ZigZag(best.m0)) + 8 + UvarintBits(ZigZag(first)) +
                          c.bits + exception_bits;
    if (bits < best.bits) {
      best.bits = bits;
      best.mode = kind;
      best.first = first;
      best.ints = std::move(ints);
      best.coding = c;
    }
  };
  for (int64_t base : {int64_t{0}, mode}) {
    std::vector<int64_t> ints(deltas.size());
    for (size_t i = 0; i < deltas.size(); ++i) {
      ints[i] = static_cast<int64_t>(WrapSub(deltas[i], base));
    }
    consider(kMantissaDelta, base, std::move(ints));
    if (mode == 0) break;
  }
  std::vector<int64_t> dods;
  for (size_t i = 1; i < deltas.size(); ++i) {
    dods.push_back(static_cast<int64_t>(WrapSub(deltas[i], deltas[i - 1])));
  }
  consider(kMantissaDod, deltas[0], std::move(dods));
  return best;
}

void WriteXorValues(BitWriter& w, std::span<const Sample> s) {
  w.WriteBits(kValueXor, 8);
  uint64_t prev = std::bit_cast<uint64_t>(s[0].v);
  w.WriteBits(prev, 64);
  XorValueEncoder enc;
  for (size_t i = 1; i < s.size(); ++i) {
    const uint64_t bits = std::bit_cast<uint64_t>(s[i].v);
    enc.Write(w, prev, bits);
    prev = bits;
  }
}

void WriteDecimalValues(BitWriter& w, std::span<const Sample> s, const DecimalCoding& d) {
  w.WriteBits(kValueDecimal, 8);
  w.WriteBits(static_cast<uint64_t>(d.digits), 8);
  WriteUvarint(w, ZigZag(d.m0));
  if (s.size() >= 2) {
    w.WriteBits(d.mode, 8);
    WriteUvarint(w, ZigZag(d.first));
    WriteInts(w, d.ints, d.coding);
  }
  WriteUvarint(w, d.exceptions.size());
  size_t prev = 0;
  for (size_t i = 0; i < d.exceptions.size(); ++i) {
    WriteUvarint(w, i == 0 ? d.exceptions[i] : d.exceptions[i] - prev - 1);
    w.WriteBits(std::bit_cast<uint64_t>(s[d.exceptions[i]].v), 64);
    prev = d.exceptions[i];
  }
}

Status Corrupt(const std::string& what) { return InvalidArgument("dense chunk: " + what); }

}  // namespace

std::string EncodeDense(std::span<const Sample> samples) {
  assert(samples.size() <= kMaxDenseSamples);
  const size_t n = samples.size();
  std::string out;
  BitWriter w(out);
  w.WriteBits(kVersion, 8);
  WriteUvarint(w, n);
  if (n == 0) return out;
  WriteUvarint(w, ZigZag(samples[0].t));
  if (n >= 2) {
    const TimeCoding tc = ChooseTimeCoding(samples);
    w.WriteBits(tc.mode, 8);
    WriteUvarint(w, ZigZag(tc.first));
    WriteInts(w, tc.ints, tc.coding);
  }
  const DecimalCoding dc = ChooseDecimalCoding(samples);
  if (dc.usable) {
    std::string scratch;
    BitWriter xw(scratch);
    WriteXorValues(xw, samples);
    const uint64_t xor_bits = scratch.size() * 8 - static_cast<uint64_t>(xw.free_bits());
    if (dc.bits <= xor_bits) {
      WriteDecimalValues(w, samples, dc);
      return out;
    }
  }
  WriteXorValues(w, samples);
  return out;
}

namespace {

// DecodeDenseAppend's work; on error `all` may hold a part of the chunk beyond `base`.
Status DecodeDenseInto(std::string_view bytes, std::vector<Sample>& all, size_t base) {
  BitReader r(bytes);
  const uint64_t version = r.ReadBits(8);
  if (!r.ok()) return Corrupt("empty input");
  if (version != kVersion) return Corrupt("unknown version " + std::to_string(version));
  const uint64_t n = ReadUvarint(r);
  if (!r.ok()) return Corrupt("truncated sample count");
  if (n > kMaxDenseSamples) {
    return Corrupt("sample count " + std::to_string(n) + " exceeds " +
                   std::to_string(kMaxDenseSamples));
  }
  all.resize(base + n);
  Sample* const out = all.data() + base;
  // Integer streams are decoded into storage that stays with the thread.
  thread_local std::vector<int64_t> ints;
  if (n > 0) {
    // Timestamps.
    out[0].t = UnZigZag(ReadUvarint(r));
    if (n >= 2) {
      const auto mode = static_cast<uint8_t>(r.ReadBits(8));
      const int64_t first = UnZigZag(ReadUvarint(r));
      if (mode == kTimeGrid) {
        ReadInts(r, n - 1, ints);
        if (!r.ok()) return Corrupt("truncated or malformed timestamps");
        const int64_t* const iv = ints.data();
        for (size_t i = 1; i < n; ++i) {
          out[i].t = WrapAdd(out[0].t,
                             i * static_cast<uint64_t>(first) + static_cast<uint64_t>(iv[i - 1]));
        }
      } else if (mode == kTimeDod) {
        ReadInts(r, n - 2, ints);
        if (!r.ok()) return Corrupt("truncated or malformed timestamps");
        auto delta = static_cast<uint64_t>(first);
        out[1].t = WrapAdd(out[0].t, delta);
        const int64_t* const iv = ints.data();
        for (size_t i = 2; i < n; ++i) {
          delta += static_cast<uint64_t>(iv[i - 2]);
          out[i].t = WrapAdd(out[i - 1].t, delta);
        }
      } else {
        return Corrupt("unknown timestamp mode " + std::to_string(mode));
      }
      for (size_t i = 1; i < n; ++i) {
        if (out[i].t <= out[i - 1].t) {
          return Corrupt("timestamp of sample " + std::to_string(i) + " is not increasing");
        }
      }
    }
    // Values.
    const auto mode = static_cast<uint8_t>(r.ReadBits(8));
    if (mode == kValueXor) {
      uint64_t prev = r.ReadBits(64);
      out[0].v = std::bit_cast<double>(prev);
      XorValueDecoder dec;
      for (size_t i = 1; i < n && r.ok(); ++i) {
        prev = dec.Read(r, prev);
        if (!dec.valid()) return Corrupt("bad XOR window at sample " + std::to_string(i));
        out[i].v = std::bit_cast<double>(prev);
      }
    } else if (mode == kValueDecimal) {
      const int digits = static_cast<int>(r.ReadBits(8));
      if (digits > kMaxDecodeDigits) return Corrupt("decimal digits " + std::to_string(digits));
      int64_t m = UnZigZag(ReadUvarint(r));
      out[0].v = MantissaToDouble(m, digits);
      if (n >= 2) {
        const auto mmode = static_cast<uint8_t>(r.ReadBits(8));
        const int64_t first = UnZigZag(ReadUvarint(r));
          if (mmode == kMantissaDelta) {
          ReadInts(r, n - 1, ints);
          if (!r.ok()) return Corrupt("truncated or malformed values");
          const int64_t* const iv = ints.data();
          for (size_t i = 1; i < n; ++i) {
            m = WrapAdd(m, static_cast<uint64_t>(first) + static_cast<uint64_t>(iv[i - 1]));
            out[i].v = MantissaToDouble(m, digits);
          }
        } else if (mmode == kMantissaDod) {
          ReadInts(r, n - 2, ints);
          if (!r.ok()) return Corrupt("truncated or malformed values");
          auto delta = static_cast<uint64_t>(first);
          m = WrapAdd(m, delta);
          out[1].v = MantissaToDouble(m, digits);
          const int64_t* const iv = ints.data();
          for (size_t i = 2; i < n; ++i) {
            delta += static_cast<uint64_t>(iv[i - 2]);
            m = WrapAdd(m, delta);
            out[i].v = MantissaToDouble(m, digits);
          }
        } else {
          return Corrupt("unknown mantissa mode " + std::to_string(mmode));
        }
      }
      const uint64_t exceptions = ReadUvarint(r);
      if (!r.ok() || exceptions > n) return Corrupt("bad exception count");
      uint64_t index = 0;
      for (uint64_t i = 0; i < exceptions; ++i) {
        const uint64_t gap = ReadUvarint(r);
        if (!r.ok() || gap >= n - index) return Corrupt("bad exception index");
        index += gap;
        out[index].v = std::bit_cast<double>(r.ReadBits(64));
        ++index;
      }
    } else {
      return Corrupt("unknown value mode " + std::to_string(mode));
    }
  }
  if (!r.ok()) return Corrupt("truncated");
  if (r.bytes_consumed() != bytes.size()) {
    return Corrupt(std::to_string(bytes.size() - r.bytes_consumed()) + " trailing bytes");
  }
  return Status::Ok();
}

}  // namespace

Status DecodeDenseAppend(std::string_view bytes, std::vector<Sample>& out) {
  const size_t base = out.size();
  Status st = DecodeDenseInto(bytes, out, base);
  if (!st.ok()) out.resize(base);
  return st;
}

Result<std::vector<Sample>> DecodeDense(std::string_view bytes) {
  std::vector<Sample> out;
  PLATOPS_RETURN_IF_ERROR(DecodeDenseAppend(bytes, out));
  return out;
}

}  // namespace platops::metrics
