#include "metrics/xor_chunk.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "metrics/bit_stream.h"
#include "metrics/varint.h"

namespace platops::metrics {
namespace {

class XorChunkTest : public ::testing::Test {
 protected:
  struct ReadResult {
    std::vector<Sample> samples;
    Status status;
  };

  static ReadResult Read(std::string_view bytes) {
    ReadResult out;
    XorIterator it(bytes);
    while (it.Next()) out.samples.push_back(it.At());
    out.status = it.status();
    return out;
  }

  static std::vector<Sample> ReadAll(std::string_view bytes) { return Read(bytes).samples; }

  static XorChunk Build(const std::vector<Sample>& samples) {
    XorChunk chunk;
    for (const Sample& s : samples) EXPECT_TRUE(chunk.Append(s.t, s.v).ok()) << s.t;
    return chunk;
  }

  static std::vector<double> SpecialFloats() {
    return {std::bit_cast<double>(kStaleNanBits),
            std::numeric_limits<double>::quiet_NaN(),
            -std::numeric_limits<double>::quiet_NaN(),
            std::bit_cast<double>(uint64_t{0x7ff4000000000001}),  // Signalling NaN payload.
            std::bit_cast<double>(uint64_t{0xfff8dead0000beef}),
            std::numeric_limits<double>::infinity(),
            -std::numeric_limits<double>::infinity(),
            0.0,
            -0.0,
            std::numeric_limits<double>::denorm_min(),
            -std::numeric_limits<double>::denorm_min(),
            std::numeric_limits<double>::min(),
            std::numeric_limits<double>::max(),
            std::numeric_limits<double>::lowest(),
            std::numeric_limits<double>::epsilon(),
            1.0,
            0.1,
            -123.45};
  }
};

TEST_F(XorChunkTest, EncodesBytesExactlyAsPrometheus) {
  XorChunk chunk;
  ASSERT_TRUE(chunk.Append(1000, 1.0).ok());
  // Count 1 (big endian), zigzag varint 2000, then the 64 raw value bits.
  EXPECT_EQ(chunk.bytes(), std::string("\x00\x01\xd0\x0f\x3f\xf0\x00\x00\x00\x00\x00\x00", 12));
  ASSERT_TRUE(chunk.Append(2000, 1.0).ok());
  ASSERT_TRUE(chunk.Append(3000, 1.0).ok());
  // Uvarint delta 1000, then '0' (same value), '0' (dod 0), '0' (same value), padding.
  EXPECT_EQ(chunk.bytes(),
            std::string("\x00\x03\xd0\x0f\x3f\xf0\x00\x00\x00\x00\x00\x00\xe8\x07\x00", 15));
  ASSERT_TRUE(chunk.Append(4001, 2.0).ok());
  // dod 1: '10' + 14 bits; 1.0^2.0 = 0x7ff0...: '1','1', 1 leading zero (5 bits), 11 sig bits.
  EXPECT_EQ(chunk.bytes(), std::string("\x00\x04\xd0\x0f\x3f\xf0\x00\x00\x00\x00\x00\x00\xe8\x07"
                                       "\x10\x00\x38\x4b\xff\xe0",
                                       20));
  EXPECT_EQ(chunk.num_samples(), 4);
  const std::vector<Sample> want = {{1000, 1.0}, {2000, 1.0}, {3000, 1.0}, {4001, 2.0}};
  EXPECT_EQ(ReadAll(chunk.bytes()), want);
}

TEST_F(XorChunkTest, RoundTripsRandomBitPatternsAndTimestamps) {
  std::mt19937_64 rng(7);
  std::vector<Sample> samples;
  int64_t t = -5'000'000;
  for (int i = 0; i < 3000; ++i) {
    switch (rng() % 5) {
      case 0:
        t += 15000;
        break;
      case 1:
        t += 15000 + static_cast<int64_t>(rng() % 9) - 4;
        break;
      case 2:
        t += 1 + static_cast<int64_t>(rng() % 70000);
        break;
      case 3:
        t += 1 + static_cast<int64_t>(rng() % 2'000'000);
        break;
      default:
        t += 1 + static_cast<int64_t>(rng() % (int64_t{1} << 40));
        break;
    }
    double v = 0;
    switch (rng() % 4) {
      case 0:
        v = std::bit_cast<double>(rng());
        break;
      case 1:
        v = samples.empty() ? 1.0 : samples.back().v;
        break;
      case 2:
        v = static_cast<double>(rng() % 1000) / 100;
        break;
      default:
        v = static_cast<double>(rng() % 100000);
        break;
    }
    samples.push_back({t, v});
  }
  XorChunk chunk = Build(samples);
  EXPECT_EQ(chunk.num_samples(), 3000);
  const ReadResult got = Read(chunk.bytes());
  EXPECT_EQ(got.samples, samples);
  EXPECT_TRUE(got.status.ok()) << got.status.ToString();
}

TEST_F(XorChunkTest, RoundTripsEverySpecialFloatAfterEveryOther) {
  const std::vector<double> specials = SpecialFloats();
  std::vector<Sample> samples;
  int64_t t = 0;
  for (double a : specials) {
    for (double b : specials) {
      samples.push_back({t += 15000, a});
      samples.push_back({t += 15000, b});
    }
  }
  XorChunk chunk = Build(samples);
  EXPECT_EQ(ReadAll(chunk.bytes()), samples);
}

TEST_F(XorChunkTest, RoundTripsExtremeTimestampsAndBucketEdges) {
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  std::vector<Sample> samples = {{kMin, 1}, {kMin + 1, 2}, {-1, 3},
                                 {0, 4},    {kMax - 1, 5}, {kMax, 6}};
  EXPECT_EQ(ReadAll(Build(samples).bytes()), samples);
  // Deltas whose delta-of-delta sits on each side of each bucket boundary.
  samples.clear();
  int64_t t = -1'000'000'000;
  int64_t delta = 1'000'000;
  samples.push_back({t, 0});
  for (int64_t dod : {0, 1, -1, 8192, 8193, -8191, -8192, 65536, 65537, -65535, -65536, 524288,
                      524289, -524287, -524288, 1 << 30, -(1 << 29)}) {
    delta += dod;
    samples.push_back({t += delta, static_cast<double>(dod)});
  }
  EXPECT_EQ(ReadAll(Build(samples).bytes()), samples);
}

TEST_F(XorChunkTest, EqualSpacingCostsOneBitPerTimestamp) {
  XorChunk chunk;
  for (int i = 0; i < 120; ++i) ASSERT_TRUE(chunk.Append(1'700'000'000'000 + i * 15000, 42).ok());
  // Header 2 + varint 6 + value 8 + delta 3 bytes, then 2 bits per sample.
  EXPECT_LE(chunk.bytes().size(), 2u + 6 + 8 + 3 + (118 * 2 + 2 + 7) / 8);
}

TEST_F(XorChunkTest, SeekFindsFirstSampleAtOrAfterAndNeverGoesBack) {
  std::vector<Sample> samples;
  for (int i = 0; i < 100; ++i) samples.push_back({i * 10, static_cast<double>(i)});
  XorChunk chunk = Build(samples);
  XorIterator it = chunk.NewIterator();
  ASSERT_TRUE(it.Seek(-50));
  EXPECT_EQ(it.At(), (Sample{0, 0}));
  ASSERT_TRUE(it.Seek(255));
  EXPECT_EQ(it.At(), (Sample{260, 26}));
  ASSERT_TRUE(it.Seek(260));
  EXPECT_EQ(it.At(), (Sample{260, 26}));
  ASSERT_TRUE(it.Seek(100));  // Already past: stays.
  EXPECT_EQ(it.At(), (Sample{260, 26}));
  ASSERT_TRUE(it.Next());
  EXPECT_EQ(it.At(), (Sample{270, 27}));
  ASSERT_TRUE(it.Seek(990));
  EXPECT_EQ(it.At(), (Sample{990, 99}));
  EXPECT_FALSE(it.Seek(991));
  EXPECT_FALSE(it.Next());
  EXPECT_TRUE(it.status().ok());
  EXPECT_FALSE(XorChunk().NewIterator().Seek(0));
}

TEST_F(XorChunkTest, AppendRejectsNonIncreasingTimestampsAndLeavesChunkIntact) {
  XorChunk chunk;
  ASSERT_TRUE(chunk.Append(100, 1).ok());
  ASSERT_TRUE(chunk.Append(200, 2).ok());
  const std::string before(chunk.bytes());
  Status equal = chunk.Append(200, 3);
  EXPECT_EQ(equal.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(equal.message(), "sample timestamp 200 is not after the chunk's last timestamp 200");
  EXPECT_EQ(chunk.Append(150, 3).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(chunk.num_samples(), 2);
  EXPECT_EQ(chunk.bytes(), before);
  ASSERT_TRUE(chunk.Append(201, 3).ok());
  EXPECT_EQ(ReadAll(chunk.bytes()), (std::vector<Sample>{{100, 1}, {200, 2}, {201, 3}}));
}

TEST_F(XorChunkTest, AppendRejectsSamplesBeyondTheSixteenBitCount) {
  XorChunk chunk;
  for (int i = 0; i < XorChunk::kMaxSamples; ++i) ASSERT_TRUE(chunk.Append(i, 0).ok());
  EXPECT_EQ(chunk.Append(XorChunk::kMaxSamples, 0).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(ReadAll(chunk.bytes()).size(), static_cast<size_t>(XorChunk::kMaxSamples));
}

TEST_F(XorChunkTest, TruncatedBytesEndIterationWithAnError) {
  std::mt19937_64 rng(3);
  std::vector<Sample> samples;
  for (int i = 0; i < 100; ++i) {
    samples.push_back({i * 15000 + static_cast<int64_t>(rng() % 7), std::bit_cast<double>(rng())});
  }
  const std::string bytes(Build(samples).bytes());
  for (size_t len = 0; len < bytes.size(); ++len) {
    const ReadResult got = Read(std::string_view(bytes).substr(0, len));
    EXPECT_FALSE(got.status.ok()) << len;
    ASSERT_LT(got.samples.size(), samples.size());
    EXPECT_EQ(got.samples,
              std::vector<Sample>(samples.begin(), samples.begin() + got.samples.size()))
        << len;
  }
  // Flipped bytes never crash; whatever decodes is bounded by the header's count.
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ static_cast<char>(1 + rng() % 255));
    EXPECT_LE(ReadAll(bad).size(), 65535u);
  }
}

// The encoder as first written, on the generic BitWriter and XorValueEncoder: the fast append
// path must produce the same bytes.
class ReferenceChunk {
 public:
  void Append(int64_t t, double v) {
    const uint64_t bits = std::bit_cast<uint64_t>(v);
    BitWriter w(out_, free_bits_);
    if (n_ == 0) {
      WriteUvarint(w, ZigZag(t));
      w.WriteBits(bits, 64);
    } else {
      const uint64_t delta = static_cast<uint64_t>(t) - static_cast<uint64_t>(last_t_);
      if (n_ == 1) {
        WriteUvarint(w, delta);
      } else {
        const auto dod = static_cast<int64_t>(delta - last_delta_);
        const auto raw = static_cast<uint64_t>(dod);
        auto fits = [dod](int n) {
          const int64_t half = int64_t{1} << (n - 1);
          return -(half - 1) <= dod && dod <= half;
        };
        if (dod == 0) {
          w.WriteBit(false);
        } else if (fits(14)) {
          w.WriteBits(0b10, 2);
          w.WriteBits(raw & 0x3fff, 14);
        } else if (fits(17)) {
          w.WriteBits(0b110, 3);
          w.WriteBits(raw & 0x1ffff, 17);
        } else if (fits(20)) {
          w.WriteBits(0b1110, 4);
          w.WriteBits(raw & 0xfffff, 20);
        } else {
          w.WriteBits(0b1111, 4);
          w.WriteBits(raw, 64);
        }
      }
      values_.Write(w, last_bits_, bits);
      last_delta_ = delta;
    }
    free_bits_ = w.free_bits();
    last_t_ = t;
    last_bits_ = bits;
    ++n_;
    out_[0] = static_cast<char>(n_ >> 8);
    out_[1] = static_cast<char>(n_ & 0xff);
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_ = std::string(2, '\0');
  int free_bits_ = 0;
  int n_ = 0;
  XorValueEncoder values_;
  int64_t last_t_ = 0;
  uint64_t last_delta_ = 0;
  uint64_t last_bits_ = 0;
};

TEST_F(XorChunkTest, FastAppendMatchesTheReferenceEncoderByteForByte) {
  std::mt19937_64 rng(11);
  const std::vector<double> specials = SpecialFloats();
  for (int round = 0; round < 200; ++round) {
    std::vector<Sample> samples;
    int64_t t = static_cast<int64_t>(rng() % 2'000'000'000'000) - 1'000'000'000'000;
    double counter = static_cast<double>(rng() % 1'000'000);
    const int n = 1 + static_cast<int>(rng() % 300);
    for (int i = 0; i < n; ++i) {
      const int64_t step[] = {15000, 15000 + static_cast<int64_t>(rng() % 7) - 3,
                              1 + static_cast<int64_t>(rng() % 600'000),
                              1 + static_cast<int64_t>(rng() % (int64_t{1} << 45))};
      t += step[rng() % 4];
      double v = 0;
      switch (rng() % 6) {
        case 0:
          v = std::bit_cast<double>(rng());
          break;
        case 1:
          v = samples.empty() ? 0.0 : samples.back().v;
          break;
        case 2:
          v = counter += static_cast<double>(rng() % 5000) / 100;
          break;
        case 3:
          v = specials[rng() % specials.size()];
          break;
        case 4:
          v = static_cast<double>(rng() % 100) / 7;
          break;
        default:
          v = static_cast<double>(rng() % 4096);
          break;
      }
      samples.push_back({t, v});
    }
    XorChunk chunk;
    ReferenceChunk reference;
    for (size_t i = 0; i < samples.size(); ++i) {
      ASSERT_TRUE(chunk.Append(samples[i].t, samples[i].v).ok());
      reference.Append(samples[i].t, samples[i].v);
      // After every sample, since a later append ORs into the bytes an earlier one left.
      ASSERT_EQ(chunk.bytes(), reference.bytes()) << "round " << round << " sample " << i;
    }
    EXPECT_EQ(ReadAll(chunk.bytes()), samples);
  }
}

TEST_F(XorChunkTest, RestoredChunkAppendsExactlyAsTheOriginal) {
  std::mt19937_64 rng(5);
  for (int cut = 0; cut <= 40; ++cut) {
    std::vector<Sample> samples;
    int64_t t = 1'700'000'000'000;
    for (int i = 0; i < 40; ++i) {
      t += 15000 + static_cast<int64_t>(rng() % 5) - 2;
      samples.push_back({t, i % 3 == 0 ? std::bit_cast<double>(rng()) : i * 1.5});
    }
    XorChunk original = Build(std::vector<Sample>(samples.begin(), samples.begin() + cut));
    auto restored = XorChunk::Restore(original.bytes(), original.append_state());
    ASSERT_TRUE(restored.ok()) << restored.status().message();
    XorChunk copy = std::move(restored).value();
    EXPECT_EQ(copy.num_samples(), cut);
    EXPECT_EQ(copy.append_state(), original.append_state());
    for (size_t i = static_cast<size_t>(cut); i < samples.size(); ++i) {
      ASSERT_TRUE(original.Append(samples[i].t, samples[i].v).ok());
      ASSERT_TRUE(copy.Append(samples[i].t, samples[i].v).ok());
    }
    EXPECT_EQ(copy.bytes(), original.bytes()) << cut;
    EXPECT_EQ(ReadAll(copy.bytes()), samples);
  }
}

TEST_F(XorChunkTest, RestoreRejectsStatesThatCannotBelongToTheBytes) {
  XorChunk chunk = Build({{1000, 1.0}, {2000, 2.0}, {3000, 2.5}});
  const XorChunk::AppendState good = chunk.append_state();
  EXPECT_TRUE(XorChunk::Restore(chunk.bytes(), good).ok());
  XorChunk::AppendState bad = good;
  bad.free_bits = 8;
  EXPECT_EQ(XorChunk::Restore(chunk.bytes(), bad).status().code(), StatusCode::kInvalidArgument);
  bad = good;
  bad.leading = 40;
  EXPECT_FALSE(XorChunk::Restore(chunk.bytes(), bad).ok());
  EXPECT_FALSE(XorChunk::Restore(chunk.bytes().substr(0, 1), good).ok());
  EXPECT_FALSE(XorChunk::Restore(chunk.bytes().substr(0, 6), good).ok());
  // Set free bits in the last byte would be ORed into by the next append.
  if (good.free_bits > 0) {
    std::string dirty(chunk.bytes());
    dirty.back() = static_cast<char>(dirty.back() | 1);
    EXPECT_FALSE(XorChunk::Restore(dirty, good).ok());
  }
  // An empty chunk restores as empty.
  auto empty = XorChunk::Restore(XorChunk().bytes(), XorChunk::AppendState{});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty.value().num_samples(), 0);
}

TEST_F(XorChunkTest, CopiesAndMovesKeepTheBytes) {
  XorChunk a = Build({{1, 1.0}, {2, 2.0}});
  XorChunk b = a;
  ASSERT_TRUE(b.Append(3, 3.0).ok());
  EXPECT_EQ(a.num_samples(), 2);
  EXPECT_EQ(ReadAll(b.bytes()), (std::vector<Sample>{{1, 1.0}, {2, 2.0}, {3, 3.0}}));
  XorChunk c = std::move(b);
  EXPECT_EQ(c.num_samples(), 3);
  EXPECT_EQ(b.num_samples(), 0);  // NOLINT(bugprone-use-after-move): moved-from is empty.
  EXPECT_EQ(b.bytes(), std::string(2, '\0'));
  ASSERT_TRUE(b.Append(5, 5.0).ok());
  EXPECT_EQ(ReadAll(b.bytes()), (std::vector<Sample>{{5, 5.0}}));
}

}  // namespace
}  // namespace platops::metrics
