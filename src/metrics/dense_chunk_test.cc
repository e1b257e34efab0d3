#include "metrics/dense_chunk.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "metrics/xor_chunk.h"

namespace platops::metrics {
namespace {

// Series kinds of the benchmark generator; mirrors /work/shared/peers/gen_series.py.
enum class Kind { kCounter, kGauge, kConst, kRatio };

// One series of `n` samples at a 15 s interval from 2023-11-14, each timestamp off the grid by
// up to ±jitter_ms. Value distributions as gen_series.py: counters +inc (fixed per series) 90 %
// of steps else +0..500; gauges a random walk of ±1 in 0..100 rounded to 2 decimals; constants
// from its list. kRatio (not in gen_series.py) is a full-precision used/total ratio.
std::vector<Sample> GenerateSeries(Kind kind, size_t n, int jitter_ms, std::mt19937_64& rng) {
  auto uniform_int = [&rng](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  auto uniform = [&rng](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };
  auto round2 = [](double x) { return std::round(x * 100) / 100; };
  static constexpr double kConsts[] = {1, 4, 8, 16, 1024, 4096, 1.5e10, 2.68e11};
  double value = 0;
  double total = 0;
  switch (kind) {
    case Kind::kCounter:
      value = static_cast<double>(uniform_int(0, 1'000'000));
      break;
    case Kind::kGauge:
      value = round2(uniform(0, 100));
      break;
    case Kind::kConst:
      value = kConsts[uniform_int(0, 7)];
      break;
    case Kind::kRatio:
      total = static_cast<double>(uniform_int(1'000'000, 1'000'000'000));
      break;
  }
  const int64_t inc = uniform_int(0, 50);
  std::vector<Sample> out;
  for (size_t i = 0; i < n; ++i) {
    switch (kind) {
      case Kind::kCounter:
        value += static_cast<double>(uniform(0, 1) < 0.9 ? inc : uniform_int(0, 500));
        break;
      case Kind::kGauge:
        value = round2(std::clamp(value + uniform(-1, 1), 0.0, 100.0));
        break;
      case Kind::kConst:
        break;
      case Kind::kRatio:
        value = static_cast<double>(uniform_int(0, static_cast<int64_t>(total))) / total;
        break;
    }
    const int64_t jitter = jitter_ms == 0 ? 0 : uniform_int(-jitter_ms, jitter_ms);
    out.push_back({1'700'000'000'000 + static_cast<int64_t>(i) * 15000 + jitter, value});
  }
  return out;
}

// `series` series cycling through `kinds` (gen_series.py's mix="node" is const/counter/gauge).
std::vector<std::vector<Sample>> GenerateMix(const std::vector<Kind>& kinds, size_t series,
                                             size_t n, int jitter_ms) {
  std::mt19937_64 rng(42);
  std::vector<std::vector<Sample>> out;
  for (size_t i = 0; i < series; ++i) {
    out.push_back(GenerateSeries(kinds[i % kinds.size()], n, jitter_ms, rng));
  }
  return out;
}

size_t XorBytes(const std::vector<Sample>& samples) {
  XorChunk chunk;
  for (const Sample& s : samples) EXPECT_TRUE(chunk.Append(s.t, s.v).ok());
  return chunk.bytes().size();
}

class DenseChunkTest : public ::testing::Test {
 protected:
  static void ExpectRoundTrip(const std::vector<Sample>& samples) {
    const std::string bytes = EncodeDense(samples);
    Result<std::vector<Sample>> got = DecodeDense(bytes);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got.value(), samples);
  }

  static std::vector<double> SpecialFloats() {
    return {std::bit_cast<double>(kStaleNanBits),
            std::numeric_limits<double>::quiet_NaN(),
            -std::numeric_limits<double>::quiet_NaN(),
            std::bit_cast<double>(uint64_t{0x7ff4000000000001}),
            std::bit_cast<double>(uint64_t{0xfff8dead0000beef}),
            std::numeric_limits<double>::infinity(),
            -std::numeric_limits<double>::infinity(),
            0.0,
            -0.0,
            std::numeric_limits<double>::denorm_min(),
            std::numeric_limits<double>::min(),
            std::numeric_limits<double>::max(),
            std::numeric_limits<double>::lowest(),
            0.1 + 0.2,
            1e300,
            9007199254740993.0,
            0.01,
            -42.5};
  }
};

TEST_F(DenseChunkTest, RoundTripsEmptySingleAndTwoSamples) {
  ExpectRoundTrip({});
  ExpectRoundTrip({{-7, 0.25}});
  ExpectRoundTrip({{-7, std::bit_cast<double>(kStaleNanBits)}});
  ExpectRoundTrip({{1, 1.5}, {2, -0.0}});
  ExpectRoundTrip({{1, 3}, {100000, 3}});
}

TEST_F(DenseChunkTest, RoundTripsEverySpecialFloatAloneAndInsideDecimalSeries) {
  const std::vector<double> specials = SpecialFloats();
  std::vector<Sample> only;
  int64_t t = 0;
  for (double a : specials) {
    for (double b : specials) {
      only.push_back({t += 15000, a});
      only.push_back({t += 15000, b});
    }
  }
  ExpectRoundTrip(only);
  // Each special (and the stale marker at the end) inside a 2-decimal gauge.
  for (double s : specials) {
    std::vector<Sample> mixed;
    for (int i = 0; i < 120; ++i) mixed.push_back({i * 15000, 10 + i * 0.25});
    mixed[0].v = s;
    mixed[60].v = s;
    mixed.back().v = std::bit_cast<double>(kStaleNanBits);
    ExpectRoundTrip(mixed);
  }
}

TEST_F(DenseChunkTest, StaleMarkerInDecimalSeriesCostsOnlyItsException) {
  std::mt19937_64 rng(5);
  std::vector<Sample> gauge = GenerateSeries(Kind::kGauge, 120, 0, rng);
  const size_t clean = EncodeDense(gauge).size();
  gauge.back().v = std::bit_cast<double>(kStaleNanBits);
  EXPECT_LE(EncodeDense(gauge).size(), clean + 10);
  ExpectRoundTrip(gauge);
}

TEST_F(DenseChunkTest, RoundTripsRandomBitPatternsAndDecimals) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 50; ++round) {
    std::vector<Sample> samples;
    int64_t t = static_cast<int64_t>(rng() % 2'000'000'000'000) - 1'000'000'000'000;
    const size_t n = 1 + rng() % 300;
    const int digits = static_cast<int>(rng() % 6);
    for (size_t i = 0; i < n; ++i) {
      t += round % 3 == 0 ? 15000 : 1 + static_cast<int64_t>(rng() % 100000);
      double v = 0;
      switch (round % 4) {
        case 0:
          v = std::bit_cast<double>(rng());
          break;
        case 1:
          v = static_cast<double>(static_cast<int64_t>(rng() % 2'000'000) - 1'000'000) /
              std::pow(10.0, digits);
          break;
        case 2:
          v = static_cast<double>(rng() % 4 == 0 ? rng() : rng() % 1000);
          break;
        default:
          v = rng() % 10 == 0 ? std::bit_cast<double>(rng()) : i * 0.5;
          break;
      }
      samples.push_back({t, v});
    }
    ExpectRoundTrip(samples);
  }
}

TEST_F(DenseChunkTest, RoundTripsExtremeNegativeAndIrregularTimestamps) {
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  ExpectRoundTrip({{kMin, 1}, {kMin + 1, 2}, {-1, 3}, {0, 4}, {kMax - 1, 5}, {kMax, 6}});
  ExpectRoundTrip({{kMin, 1}, {kMax, 2}});
  ExpectRoundTrip({{kMin, 1}, {0, 2}, {kMax, 3}});
  std::vector<Sample> negative;
  for (int i = 0; i < 120; ++i) negative.push_back({-1'000'000 + i * 15000, 1.0 * i});
  ExpectRoundTrip(negative);
  std::vector<Sample> gaps;
  int64_t t = 0;
  for (int i = 0; i < 120; ++i) gaps.push_back({t += (i % 10 == 0 ? 86'400'000 : 15000), 0});
  ExpectRoundTrip(gaps);
}

TEST_F(DenseChunkTest, EqualSpacingAndConstantValueCostAlmostNothing) {
  std::vector<Sample> samples;
  for (int i = 0; i < 1000; ++i) samples.push_back({1'700'000'000'000 + i * 15000, 2.68e11});
  const std::string bytes = EncodeDense(samples);
  EXPECT_LE(bytes.size(), 30u);
  ExpectRoundTrip(samples);
}

TEST_F(DenseChunkTest, RejectsTruncationAtEveryLength) {
  std::mt19937_64 rng(1);
  for (Kind kind : {Kind::kCounter, Kind::kGauge, Kind::kConst, Kind::kRatio}) {
    const std::string bytes = EncodeDense(GenerateSeries(kind, 120, 3, rng));
    for (size_t len = 0; len < bytes.size(); ++len) {
      Result<std::vector<Sample>> got = DecodeDense(std::string_view(bytes).substr(0, len));
      ASSERT_FALSE(got.ok()) << len;
      EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
    }
    Result<std::vector<Sample>> trailing = DecodeDense(bytes + '\0');
    ASSERT_FALSE(trailing.ok());
    EXPECT_EQ(trailing.status().message(), "dense chunk: 1 trailing bytes");
  }
}

TEST_F(DenseChunkTest, CorruptBytesGiveAnErrorOrIncreasingSamplesNeverACrash) {
  std::mt19937_64 rng(2);
  std::vector<std::string> chunks;
  for (Kind kind : {Kind::kCounter, Kind::kGauge, Kind::kConst, Kind::kRatio}) {
    chunks.push_back(EncodeDense(GenerateSeries(kind, 120, 3, rng)));
  }
  int errors = 0;
  for (const std::string& bytes : chunks) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (int mask : {0x01, 0x10, 0x80, static_cast<int>(rng() | 1) & 0xff}) {
        std::string bad = bytes;
        bad[i] = static_cast<char>(bad[i] ^ mask);
        Result<std::vector<Sample>> got = DecodeDense(bad);
        if (!got.ok()) {
          ++errors;
          continue;
        }
        ASSERT_LE(got->size(), kMaxDenseSamples);
        for (size_t j = 1; j < got->size(); ++j) ASSERT_LT((*got)[j - 1].t, (*got)[j].t);
      }
    }
  }
  EXPECT_GT(errors, 0);
  // An Exp-Golomb code with more than 64 leading zeros (found by libFuzzer).
  EXPECT_EQ(DecodeDense(std::string("\x01\x03\x00\x01\x02\x01\x00", 7) + std::string(10, '\0'))
                .status()
                .message(),
            "dense chunk: truncated or malformed timestamps");
  EXPECT_EQ(DecodeDense(std::string("\x02\x00", 2)).status().message(),
            "dense chunk: unknown version 2");
  EXPECT_EQ(DecodeDense(std::string("\x01\x80\x80\x04", 4)).status().message(),
            "dense chunk: sample count 65536 exceeds 65535");
}

struct Dataset {
  std::string name;
  std::vector<Kind> kinds;
  int jitter_ms;
};

struct Measured {
  double xor_bps = 0;
  double dense_bps = 0;
};

Measured Measure(const Dataset& d, size_t series, size_t n) {
  size_t xor_bytes = 0;
  size_t dense_bytes = 0;
  size_t samples = 0;
  for (const std::vector<Sample>& s : GenerateMix(d.kinds, series, n, d.jitter_ms)) {
    xor_bytes += XorBytes(s);
    const std::string dense = EncodeDense(s);
    Result<std::vector<Sample>> back = DecodeDense(dense);
    EXPECT_TRUE(back.ok() && back.value() == s) << d.name;
    dense_bytes += dense.size();
    samples += s.size();
  }
  return {static_cast<double>(xor_bytes) / static_cast<double>(samples),
          static_cast<double>(dense_bytes) / static_cast<double>(samples)};
}

const std::vector<Dataset>& Datasets() {
  using enum Kind;
  static const std::vector<Dataset> kDatasets = {
      {"node (const/counter/gauge), exact 15 s", {kConst, kCounter, kGauge}, 0},
      {"node (const/counter/gauge), ±3 ms jitter", {kConst, kCounter, kGauge}, 3},
      {"node + 10 % float ratios, ±3 ms jitter",
       {kConst, kCounter, kGauge, kConst, kCounter, kGauge, kConst, kCounter, kGauge, kRatio},
       3},
      {"2-decimal gauges, exact 15 s", {kGauge}, 0},
      {"2-decimal gauges, ±3 ms jitter", {kGauge}, 3},
      {"counters, exact 15 s", {kCounter}, 0},
      {"constants, exact 15 s", {kConst}, 0},
      {"constants, ±3 ms jitter", {kConst}, 3},
  };
  return kDatasets;
}

// Prints the table of docs/metrics-format.md and holds the dense encoding to its targets.
TEST_F(DenseChunkTest, BytesPerSampleBeatsTargets) {
  constexpr size_t kSeries = 30;
  std::printf("| data set | samples/chunk | XOR B/sample | dense B/sample |\n|---|---|---|---|\n");
  std::vector<Measured> results;
  for (const Dataset& d : Datasets()) {
    for (size_t n : {120, 1000}) {
      results.push_back(Measure(d, kSeries, n));
      const Measured& m = results.back();
      std::printf("| %s | %zu | %.3f | %.3f |\n", d.name.c_str(), n, m.xor_bps, m.dense_bps);
      EXPECT_LT(m.dense_bps, m.xor_bps) << d.name << " " << n;
    }
  }
  // results[2 * dataset + (1000 samples ? 1 : 0)]; VictoriaMetrics: 0.66 (node), 1.27 (gauges).
  EXPECT_LT(results[1].dense_bps, 0.66);
  EXPECT_LT(results[0].dense_bps, 0.70);
  EXPECT_LT(results[7].dense_bps, 1.27);
  EXPECT_LT(results[6].dense_bps, 1.27);
  EXPECT_LT(results[13].dense_bps, 0.05);
}

// Throughput; meaningful only in a Release build: --gtest_also_run_disabled_tests.
TEST_F(DenseChunkTest, DISABLED_Speed) {
  const std::vector<std::vector<Sample>> series = GenerateMix(Datasets()[1].kinds, 3000, 120, 3);
  size_t samples = 0;
  for (const auto& s : series) samples += s.size();
  using Clock = std::chrono::steady_clock;
  auto rate = [samples](Clock::duration d) {
    return static_cast<double>(samples) / std::chrono::duration<double>(d).count() / 1e6;
  };
  auto t0 = Clock::now();
  std::vector<XorChunk> xor_chunks(series.size());
  for (size_t i = 0; i < series.size(); ++i) {
    for (const Sample& s : series[i]) ASSERT_TRUE(xor_chunks[i].Append(s.t, s.v).ok());
  }
  auto t1 = Clock::now();
  size_t read = 0;
  for (const XorChunk& c : xor_chunks) {
    XorIterator it = c.NewIterator();
    while (it.Next()) read += it.At().t != 0;
  }
  auto t2 = Clock::now();
  std::vector<std::string> dense(series.size());
  for (size_t i = 0; i < series.size(); ++i) dense[i] = EncodeDense(series[i]);
  auto t3 = Clock::now();
  for (const std::string& d : dense) read += DecodeDense(d)->size();
  auto t4 = Clock::now();
  EXPECT_EQ(read, 2 * samples);
  std::printf("XOR append %.1f M/s, iterate %.1f M/s; dense encode %.1f M/s, decode %.1f M/s\n",
              rate(t1 - t0), rate(t2 - t1), rate(t3 - t2), rate(t4 - t3));
}

}  // namespace
}  // namespace platops::metrics
