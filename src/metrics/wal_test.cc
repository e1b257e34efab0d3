#include "metrics/wal.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "metrics/crc32c.h"
#include "metrics/wal_records.h"

namespace platops::metrics {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// CRC-32C

TEST(Crc32cTest, StandardCheckValues) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32cPortable("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
  // RFC 3720 (iSCSI) appendix B.4.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending(32, '\0');
  for (int i = 0; i < 32; ++i) ascending[i] = static_cast<char>(i);
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(Crc32cPortable(ascending), 0x46DD794Eu);
}

TEST(Crc32cTest, HardwareAndPortableAgreeAtEveryLengthAndAlignment) {
  std::mt19937_64 rng(7);
  std::string data(300, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t start = 0; start < 9; ++start) {
    for (size_t len = 0; start + len <= data.size(); len += 7) {
      const std::string_view part(data.data() + start, len);
      ASSERT_EQ(Crc32c(part), Crc32cPortable(part)) << start << "+" << len;
    }
  }
}

TEST(Crc32cTest, ContinuesFromAnEarlierCrc) {
  const std::string a = "hello, ";
  const std::string b = "write-ahead log";
  EXPECT_EQ(Crc32c(b, Crc32c(a)), Crc32c(a + b));
  EXPECT_EQ(Crc32cPortable(b, Crc32cPortable(a)), Crc32c(a + b));
  EXPECT_NE(Crc32c(a + b), Crc32c(b + a));
}

// ---------------------------------------------------------------------------------------------
// Records

Labels L(std::initializer_list<std::pair<std::string, std::string>> pairs) {
  Labels labels;
  for (const auto& [n, v] : pairs) labels.push_back({n, v});
  return labels;
}

TEST(WalRecordsTest, SeriesRoundTrip) {
  const std::vector<WalSeries> series = {
      {1, L({{"__name__", "up"}, {"instance", "h1:9100"}, {"job", "node"}})},
      {2, L({{"__name__", "node_cpu_seconds_total"}, {"cpu", "0"}, {"mode", "idle"}})},
      {1000000007, L({{"__name__", "x"}, {"path", std::string(300, 'p')}, {"u", "é\"\n"}})},
      {0, {}},
  };
  const std::string record = EncodeSeriesRecord(series);
  ASSERT_EQ(GetWalRecordType(record).value(), WalRecordType::kSeries);
  auto decoded = DecodeSeriesRecord(record);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded.value(), series);

  std::string streamed;
  BeginSeriesRecord(streamed);
  for (const WalSeries& s : series) AppendSeriesEntry(s.ref, s.labels, streamed);
  EXPECT_EQ(streamed, record);

  auto empty = DecodeSeriesRecord(EncodeSeriesRecord({}));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(WalRecordsTest, DecodeIntoReusesTheVector) {
  std::vector<WalSeries> out;
  const std::vector<WalSeries> three = {
      {1, L({{"a", "1"}})}, {2, L({{"a", "2"}, {"b", "x"}})}, {3, L({{"a", "3"}})}};
  const std::vector<WalSeries> one = {{9, L({{"z", "9"}})}};
  ASSERT_TRUE(DecodeSeriesRecordInto(EncodeSeriesRecord(three), out).ok());
  EXPECT_EQ(out, three);
  ASSERT_TRUE(DecodeSeriesRecordInto(EncodeSeriesRecord(one), out).ok());
  EXPECT_EQ(out, one);

  std::vector<WalSample> samples;
  const std::vector<WalSample> two = {{1, 10, 1.5}, {2, 10, 2.5}};
  ASSERT_TRUE(DecodeSamplesRecordInto(EncodeSamplesRecord(two), samples).ok());
  ASSERT_TRUE(DecodeSamplesRecordInto(EncodeSamplesRecord(two), samples).ok());
  EXPECT_EQ(samples, two);
}

TEST(WalRecordsTest, SamplesRoundTripBitExact) {
  const double stale = std::bit_cast<double>(kStaleNanBits);
  const std::vector<WalSample> samples = {
      {5, 1767225600000, 1.0},
      {6, 1767225600000, -0.0},
      {4, 1767225599999, stale},
      {std::numeric_limits<uint64_t>::max(), std::numeric_limits<int64_t>::min(),
       std::numeric_limits<double>::infinity()},
      {0, std::numeric_limits<int64_t>::max(), std::numeric_limits<double>::denorm_min()},
      {7, -5, -1e300},
  };
  const std::string record = EncodeSamplesRecord(samples);
  ASSERT_EQ(GetWalRecordType(record).value(), WalRecordType::kSamples);
  auto decoded = DecodeSamplesRecord(record);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded.value(), samples);
  EXPECT_TRUE(DecodeSamplesRecord(EncodeSamplesRecord({}))->empty());
}

TEST(WalRecordsTest, OneScrapeCostsTenBytesPerSample) {
  std::vector<WalSample> samples;
  for (uint64_t ref = 1; ref <= 1000; ++ref) {
    samples.push_back({ref, 1767225600000, static_cast<double>(ref) * 0.5});
  }
  // Type byte; the first sample's time delta takes 6 bytes, every other delta 1 byte.
  EXPECT_EQ(EncodeSamplesRecord(samples).size(), 1 + (1 + 6 + 8) + 999 * 10u);
}

TEST(WalRecordsTest, RejectsWrongTypeAndEmptyInput) {
  EXPECT_THAT(GetWalRecordType("").status().message(), HasSubstr("empty"));
  EXPECT_THAT(GetWalRecordType("\x07").status().message(), HasSubstr("unknown type byte 7"));
  const std::string samples = EncodeSamplesRecord(std::vector<WalSample>{{1, 2, 3}});
  auto as_series = DecodeSeriesRecord(samples);
  ASSERT_FALSE(as_series.ok());
  EXPECT_EQ(as_series.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(as_series.status().message(), HasSubstr("type byte 2, want 1"));
  EXPECT_FALSE(DecodeSamplesRecord("").ok());
}

TEST(WalRecordsTest, TruncatedRecordsFailInsideAnEntry) {
  const std::vector<WalSample> samples = {{1, 1000, 1}, {2, 1000, 2}, {3, 2000, 3}};
  const std::string record = EncodeSamplesRecord(samples);
  // Sample boundaries: a record of fewer samples is valid there (the WAL frame CRC guards the
  // length), everywhere else decoding must fail.
  const std::vector<size_t> boundaries = {1, 1 + 1 + 2 + 8, 1 + 1 + 2 + 8 + 10, record.size()};
  for (size_t cut = 1; cut <= record.size(); ++cut) {
    auto decoded = DecodeSamplesRecord(std::string_view(record).substr(0, cut));
    const bool boundary = std::find(boundaries.begin(), boundaries.end(), cut) != boundaries.end();
    EXPECT_EQ(decoded.ok(), boundary) << cut;
    if (!decoded.ok()) {
      EXPECT_THAT(decoded.status().message(), HasSubstr("wal samples record"));
    }
  }
  const std::string series =
      EncodeSeriesRecord(std::vector<WalSeries>{{1, L({{"__name__", "up"}, {"job", "a"}})}});
  for (size_t cut = 2; cut < series.size(); ++cut) {
    EXPECT_FALSE(DecodeSeriesRecord(std::string_view(series).substr(0, cut)).ok()) << cut;
  }
}

TEST(WalRecordsTest, RejectsMalformedSeries) {
  // Unsorted names.
  auto unsorted = DecodeSeriesRecord(
      EncodeSeriesRecord(std::vector<WalSeries>{{1, L({{"b", "1"}, {"a", "2"}})}}));
  ASSERT_FALSE(unsorted.ok());
  EXPECT_THAT(unsorted.status().message(), HasSubstr("series 0"));
  EXPECT_THAT(unsorted.status().message(), HasSubstr("not sorted or not unique"));
  // Duplicate names.
  EXPECT_FALSE(DecodeSeriesRecord(
                   EncodeSeriesRecord(std::vector<WalSeries>{{1, L({{"a", "1"}, {"a", "2"}})}}))
                   .ok());
  // Empty name.
  EXPECT_THAT(DecodeSeriesRecord(EncodeSeriesRecord(std::vector<WalSeries>{{1, L({{"", "1"}})}}))
                  .status()
                  .message(),
              HasSubstr("empty label name"));
  // A label count far beyond the record must fail, not allocate.
  const std::string huge_count = std::string("\x01\x01", 2) + "\xff\xff\xff\xff\x0f";
  EXPECT_THAT(DecodeSeriesRecord(huge_count).status().message(), HasSubstr("exceeds the record"));
  // An 11-byte varint.
  const std::string overlong = std::string("\x01") + std::string(10, '\x80') + "\x01";
  EXPECT_THAT(DecodeSeriesRecord(overlong).status().message(), HasSubstr("overlong ref"));
}

// ---------------------------------------------------------------------------------------------
// Wal

std::string ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteBytes(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string Record(int i, size_t size = 20) {
  std::string r = "record-" + std::to_string(i) + "-";
  while (r.size() < size) r.push_back(static_cast<char>('a' + (r.size() + i) % 26));
  r.resize(size);
  return r;
}

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "platops-wal-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = (root_ / "wal").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<Wal> Open(WalOptions options = {}) {
    auto wal = Wal::Open(dir_, options);
    EXPECT_TRUE(wal.ok()) << wal.status().ToString();
    return wal.ok() ? std::move(wal).value() : nullptr;
  }

  struct Replayed {
    std::vector<std::string> records;
    WalReplayReport report;
  };
  static Replayed ReplayAll(Wal& wal, int from_segment = 0) {
    Replayed out;
    auto report = wal.Replay(
        [&](std::string_view r) {
          out.records.emplace_back(r);
          return Status::Ok();
        },
        from_segment);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    if (report.ok()) out.report = std::move(report).value();
    return out;
  }

  static void LogAll(Wal& wal, const std::vector<std::string>& records) {
    std::vector<std::string_view> views(records.begin(), records.end());
    const Status s = wal.Log(views);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  fs::path SegmentPath(int n) const {
    char name[16];
    std::snprintf(name, sizeof(name), "%08d", n);
    return fs::path(dir_) / name;
  }

  fs::path root_;
  std::string dir_;
};

TEST_F(WalTest, RoundTripAcrossReopen) {
  std::vector<std::string> want;
  {
    auto wal = Open();
    EXPECT_EQ(wal->Segments(), std::make_pair(0, 0));
    EXPECT_TRUE(ReplayAll(*wal).records.empty());
    for (int batch = 0; batch < 10; ++batch) {
      std::vector<std::string> records;
      for (int i = 0; i <= batch; ++i) records.push_back(Record(batch * 100 + i, 5 + 37 * i));
      LogAll(*wal, records);
      want.insert(want.end(), records.begin(), records.end());
    }
    ASSERT_TRUE(wal->Log("").ok());  // Empty records are records too.
    want.emplace_back();
    EXPECT_EQ(wal->stats().records.load(), want.size());
    EXPECT_EQ(wal->stats().fsyncs.load(), 11u);
    EXPECT_EQ(wal->Segments(), std::make_pair(1, 1));
    ASSERT_TRUE(wal->Close().ok());
    EXPECT_EQ(wal->Log("late").code(), StatusCode::kUnavailable);
  }
  auto wal = Open();
  EXPECT_EQ(wal->Segments(), std::make_pair(1, 1));
  Replayed got = ReplayAll(*wal);
  EXPECT_EQ(got.records, want);
  EXPECT_TRUE(got.report.dropped.empty());
  EXPECT_EQ(got.report.records, want.size());
  EXPECT_EQ(got.report.first_segment, 1);
  EXPECT_EQ(got.report.last_segment, 1);
  EXPECT_EQ(got.report.checkpoint, 0);
  // Appends after Replay go to a fresh segment.
  ASSERT_TRUE(wal->Log("after").ok());
  EXPECT_EQ(wal->Segments(), std::make_pair(1, 2));
}

TEST_F(WalTest, FrameLayoutIsAsDocumented) {
  {
    auto wal = Open();
    ASSERT_TRUE(wal->Log("abc").ok());
  }
  const std::string bytes = ReadBytes(SegmentPath(1));
  ASSERT_EQ(bytes.size(), 9u + 3);
  EXPECT_EQ(bytes.substr(0, 5), std::string("\x01\x03\x00\x00\x00", 5));
  const uint32_t crc = Crc32c("abc", Crc32c(bytes.substr(0, 5)));
  std::string crc_le(4, '\0');
  for (int i = 0; i < 4; ++i) crc_le[i] = static_cast<char>(crc >> (8 * i));
  EXPECT_EQ(bytes.substr(5, 4), crc_le);
  EXPECT_EQ(bytes.substr(9), "abc");
}

TEST_F(WalTest, TornTailAtEveryOffsetOfTheLastRecord) {
  std::vector<std::string> records;
  for (int i = 0; i < 5; ++i) records.push_back(Record(i, 30));
  {
    auto wal = Open();
    LogAll(*wal, records);
  }
  const std::string full = ReadBytes(SegmentPath(1));
  const size_t last_start = full.size() - (9 + 30);
  for (size_t cut = last_start; cut < full.size(); ++cut) {
    WriteBytes(SegmentPath(1), std::string_view(full).substr(0, cut));
    auto wal = Open();
    Replayed got = ReplayAll(*wal);
    EXPECT_EQ(got.records, std::vector<std::string>(records.begin(), records.end() - 1)) << cut;
    if (cut == last_start) {
      EXPECT_TRUE(got.report.dropped.empty());
    } else {
      ASSERT_EQ(got.report.dropped.size(), 1u) << cut;
      const WalDrop& drop = got.report.dropped[0];
      EXPECT_EQ(drop.file, "00000001");
      EXPECT_EQ(drop.segment, 1);
      EXPECT_EQ(drop.offset, last_start);
      EXPECT_EQ(drop.bytes, cut - last_start);
      EXPECT_THAT(drop.reason,
                  HasSubstr(cut - last_start < 9 ? "torn frame header" : "torn record"));
      EXPECT_EQ(wal->stats().corruptions.load(), 1u);
    }
    EXPECT_EQ(fs::file_size(SegmentPath(1)), last_start) << cut;
  }
  // The repaired WAL takes new records and replays cleanly.
  {
    auto wal = Open();
    ReplayAll(*wal);
    ASSERT_TRUE(wal->Log("new").ok());
  }
  auto wal = Open();
  Replayed got = ReplayAll(*wal);
  ASSERT_EQ(got.records.size(), 5u);
  EXPECT_EQ(got.records.back(), "new");
  EXPECT_TRUE(got.report.dropped.empty());
}

TEST_F(WalTest, ZeroFilledTailIsDroppedAndReported) {
  {
    auto wal = Open();
    LogAll(*wal, {Record(1), Record(2)});
  }
  const uint64_t good = fs::file_size(SegmentPath(1));
  WriteBytes(SegmentPath(1), ReadBytes(SegmentPath(1)) + std::string(4096, '\0'));
  auto wal = Open();
  Replayed got = ReplayAll(*wal);
  EXPECT_THAT(got.records, ElementsAre(Record(1), Record(2)));
  ASSERT_EQ(got.report.dropped.size(), 1u);
  EXPECT_EQ(got.report.dropped[0].offset, good);
  EXPECT_EQ(got.report.dropped[0].bytes, 4096u);
  EXPECT_EQ(got.report.dropped[0].reason, "zero-filled tail");
  EXPECT_EQ(fs::file_size(SegmentPath(1)), good);
}

TEST_F(WalTest, GarbageTailIsDroppedAndReported) {
  {
    auto wal = Open();
    LogAll(*wal, {Record(1), Record(2)});
  }
  const uint64_t good = fs::file_size(SegmentPath(1));
  std::string garbage(1000, '\0');
  std::mt19937 rng(3);
  for (char& c : garbage) c = static_cast<char>(rng());
  garbage[0] = '\x01';  // Looks like a record frame; its checksum cannot match.
  garbage[1] = 20;
  garbage[2] = garbage[3] = garbage[4] = 0;
  WriteBytes(SegmentPath(1), ReadBytes(SegmentPath(1)) + garbage);
  auto wal = Open();
  Replayed got = ReplayAll(*wal);
  EXPECT_THAT(got.records, ElementsAre(Record(1), Record(2)));
  ASSERT_EQ(got.report.dropped.size(), 1u);
  EXPECT_EQ(got.report.dropped[0].offset, good);
  EXPECT_EQ(got.report.dropped[0].bytes, 1000u);
  EXPECT_EQ(got.report.dropped[0].reason, "checksum mismatch");
}

TEST_F(WalTest, BitFlipStopsReplayAndDropsLaterSegments) {
  // 3 frames of 59 bytes fit a 200-byte segment: records 0-2 in 1, 3-5 in 2, ...
  WalOptions options{.segment_size = 200};
  std::vector<std::string> records;
  for (int i = 0; i < 12; ++i) records.push_back(Record(i, 50));
  {
    auto wal = Open(options);
    for (const std::string& r : records) ASSERT_TRUE(wal->Log(r).ok());
    EXPECT_EQ(wal->Segments(), std::make_pair(1, 4));
  }
  // Flip one payload bit of record 4, the second frame of segment 2.
  std::string seg2 = ReadBytes(SegmentPath(2));
  seg2[59 + 9 + 10] ^= 0x10;
  WriteBytes(SegmentPath(2), seg2);

  auto wal = Open(options);
  Replayed got = ReplayAll(*wal);
  EXPECT_EQ(got.records, std::vector<std::string>(records.begin(), records.begin() + 4));
  ASSERT_EQ(got.report.dropped.size(), 3u);
  EXPECT_EQ(got.report.dropped[0].file, "00000002");
  EXPECT_EQ(got.report.dropped[0].offset, 59u);
  EXPECT_EQ(got.report.dropped[0].bytes, 2 * 59u);
  EXPECT_EQ(got.report.dropped[0].reason, "checksum mismatch");
  EXPECT_EQ(got.report.dropped[1].file, "00000003");
  EXPECT_EQ(got.report.dropped[1].offset, 0u);
  EXPECT_EQ(got.report.dropped[1].bytes, 3 * 59u);
  EXPECT_EQ(got.report.dropped[1].reason, "follows the damage in segment 00000002");
  EXPECT_EQ(got.report.dropped[2].file, "00000004");
  EXPECT_EQ(wal->stats().corruptions.load(), 1u);
  // Later segments are kept for inspection, not deleted.
  EXPECT_EQ(ReadBytes(fs::path(dir_) / "dropped" / "00000004").size(), 3 * 59u);
  EXPECT_FALSE(fs::exists(SegmentPath(3)));
  EXPECT_EQ(wal->Segments(), std::make_pair(1, 2));

  ASSERT_TRUE(wal->Log("after repair").ok());
  EXPECT_EQ(wal->Segments(), std::make_pair(1, 3));
  wal.reset();
  wal = Open(options);
  got = ReplayAll(*wal);
  ASSERT_EQ(got.records.size(), 5u);
  EXPECT_EQ(got.records.back(), "after repair");
  EXPECT_TRUE(got.report.dropped.empty());
}

TEST_F(WalTest, CorruptLengthFieldIsDetected) {
  {
    auto wal = Open();
    LogAll(*wal, {Record(1), Record(2), Record(3)});
  }
  std::string bytes = ReadBytes(SegmentPath(1));
  bytes[29 + 1] ^= 0x01;  // The second frame's length, 20 -> 21.
  WriteBytes(SegmentPath(1), bytes);
  auto wal = Open();
  Replayed got = ReplayAll(*wal);
  EXPECT_THAT(got.records, ElementsAre(Record(1)));
  ASSERT_EQ(got.report.dropped.size(), 1u);
  EXPECT_EQ(got.report.dropped[0].offset, 29u);
  EXPECT_EQ(got.report.dropped[0].reason, "checksum mismatch");
}

TEST_F(WalTest, MissingSegmentEndsReplay) {
  WalOptions options{.segment_size = 64};
  {
    auto wal = Open(options);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(wal->Log(Record(i, 50)).ok());
    EXPECT_EQ(wal->Segments(), std::make_pair(1, 4));
  }
  fs::remove(SegmentPath(3));
  auto wal = Open(options);
  Replayed got = ReplayAll(*wal);
  EXPECT_THAT(got.records, ElementsAre(Record(0, 50), Record(1, 50)));
  ASSERT_EQ(got.report.dropped.size(), 1u);
  EXPECT_EQ(got.report.dropped[0].file, "00000004");
  EXPECT_EQ(got.report.dropped[0].reason, "segments 00000003..00000003 are missing");
}

TEST_F(WalTest, RecordsNeverSpanSegments) {
  WalOptions options{.segment_size = 200};
  std::vector<std::string> records;
  for (int i = 0; i < 20; ++i) records.push_back(Record(i, 10 + 7 * (i % 9)));
  {
    auto wal = Open(options);
    // One call: the leader splits the batch at segment boundaries.
    LogAll(*wal, records);
    auto [first, last] = wal->Segments();
    EXPECT_EQ(first, 1);
    EXPECT_GT(last, 3);
    for (int n = first; n <= last; ++n) EXPECT_LE(fs::file_size(SegmentPath(n)), 200u) << n;
  }
  auto wal = Open(options);
  EXPECT_EQ(ReplayAll(*wal).records, records);
}

TEST_F(WalTest, RecordLargerThanASegmentGetsItsOwn) {
  WalOptions options{.segment_size = 128};
  const std::string big(500, 'B');
  {
    auto wal = Open(options);
    ASSERT_TRUE(wal->Log("small-1").ok());
    LogAll(*wal, {big, "small-2"});
    EXPECT_EQ(wal->Segments(), std::make_pair(1, 3));
  }
  EXPECT_EQ(fs::file_size(SegmentPath(2)), 9 + big.size());
  auto wal = Open(options);
  EXPECT_THAT(ReplayAll(*wal).records, ElementsAre("small-1", big, "small-2"));
}

TEST_F(WalTest, RejectsRecordsAboveTheMaximum) {
  const size_t size = kMaxWalRecordBytes + 1;
  // Untouched anonymous pages cost no memory.
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  auto wal = Open();
  const Status s = wal->Log(std::string_view(static_cast<const char*>(p), size));
  ::munmap(p, size);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("the maximum is 1073741824"));
  EXPECT_TRUE(wal->Log("still fine").ok());
}

TEST_F(WalTest, CutAndTruncateBefore) {
  auto wal = Open();
  ASSERT_TRUE(wal->Log("a").ok());
  auto cut = wal->Cut();
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut.value(), 2);
  EXPECT_EQ(wal->Cut().value(), 2);  // The new segment is still empty.
  ASSERT_TRUE(wal->Log("b").ok());
  EXPECT_EQ(wal->Cut().value(), 3);
  ASSERT_TRUE(wal->Log("c").ok());
  EXPECT_EQ(wal->Segments(), std::make_pair(1, 3));

  EXPECT_EQ(wal->TruncateBefore(4).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(wal->TruncateBefore(3).ok());
  EXPECT_EQ(wal->Segments(), std::make_pair(3, 3));
  EXPECT_FALSE(fs::exists(SegmentPath(1)));
  EXPECT_FALSE(fs::exists(SegmentPath(2)));
  ASSERT_TRUE(wal->Log("d").ok());
  ASSERT_TRUE(wal->Close().ok());

  wal = Open();
  EXPECT_THAT(ReplayAll(*wal).records, ElementsAre("c", "d"));
}

TEST_F(WalTest, CutBeforeAnyLogStartsTheFirstSegment) {
  auto wal = Open();
  EXPECT_EQ(wal->Cut().value(), 1);
  EXPECT_EQ(wal->Segments(), std::make_pair(1, 1));
  EXPECT_TRUE(fs::exists(SegmentPath(1)));
  // Replay is only allowed before writing starts.
  auto late = wal->Replay([](std::string_view) { return Status::Ok(); });
  EXPECT_FALSE(late.ok());
}

TEST_F(WalTest, CheckpointReplacesTruncatedSegments) {
  const std::vector<std::string> checkpoint = {"series-1", "series-2", std::string(3000, 's')};
  {
    auto wal = Open();
    ASSERT_TRUE(wal->Log("old-1").ok());
    ASSERT_TRUE(wal->Log("old-2").ok());
    ASSERT_EQ(wal->Cut().value(), 2);
    ASSERT_TRUE(wal->Log("new-1").ok());
    EXPECT_EQ(wal->WriteCheckpoint(2, checkpoint).code(), StatusCode::kInvalidArgument);
    ASSERT_TRUE(wal->WriteCheckpoint(1, checkpoint).ok());
    ASSERT_TRUE(wal->TruncateBefore(2).ok());
    ASSERT_TRUE(wal->Log("new-2").ok());
  }
  EXPECT_TRUE(fs::is_directory(fs::path(dir_) / "checkpoint.00000001"));
  EXPECT_FALSE(fs::exists(fs::path(dir_) / "checkpoint.00000001.tmp"));
  auto wal = Open();
  Replayed got = ReplayAll(*wal);
  std::vector<std::string> want = checkpoint;
  want.insert(want.end(), {"new-1", "new-2"});
  EXPECT_EQ(got.records, want);
  EXPECT_EQ(got.report.checkpoint, 1);
  EXPECT_EQ(got.report.checkpoint_records, 3u);
  EXPECT_EQ(got.report.first_segment, 2);
  EXPECT_EQ(got.report.last_segment, 2);
  EXPECT_TRUE(got.report.dropped.empty());

  // A newer checkpoint replaces the older one.
  ASSERT_EQ(wal->Cut().value(), 3);
  ASSERT_TRUE(wal->WriteCheckpoint(2, std::vector<std::string>{"only"}).ok());
  ASSERT_TRUE(wal->TruncateBefore(3).ok());
  EXPECT_FALSE(fs::exists(fs::path(dir_) / "checkpoint.00000001"));
  wal = Open();
  EXPECT_THAT(ReplayAll(*wal).records, ElementsAre("only"));
}

TEST_F(WalTest, ReplayFromASegmentSkipsEarlierSegmentsAndTheCheckpointCoveringThem) {
  {
    auto wal = Open();
    ASSERT_TRUE(wal->Log("seg1").ok());
    ASSERT_EQ(wal->Cut().value(), 2);
    ASSERT_TRUE(wal->Log("seg2").ok());
    ASSERT_TRUE(wal->WriteCheckpoint(1, std::vector<std::string>{"cp1"}).ok());
    ASSERT_TRUE(wal->TruncateBefore(2).ok());
    ASSERT_EQ(wal->Cut().value(), 3);
    ASSERT_TRUE(wal->Log("seg3").ok());
  }
  // A damaged segment below the position is not even read.
  WriteBytes(SegmentPath(2), "garbage");
  {
    auto wal = Open();
    const Replayed got = ReplayAll(*wal, 3);
    EXPECT_THAT(got.records, ElementsAre("seg3"));
    EXPECT_EQ(got.report.checkpoint, 0);
    EXPECT_EQ(got.report.skipped_checkpoint, 1);
    EXPECT_EQ(got.report.first_segment, 3);
    EXPECT_TRUE(got.report.dropped.empty());
    ASSERT_TRUE(wal->Log("seg4").ok());
    EXPECT_EQ(wal->Segments(), std::make_pair(2, 4));
  }
  // A checkpoint newer than the position is replayed, with the segments after it.
  WriteBytes(SegmentPath(2), "");
  {
    auto wal = Open();
    const Replayed got = ReplayAll(*wal, 1);
    EXPECT_THAT(got.records, ElementsAre("cp1", "seg3", "seg4"));
    EXPECT_EQ(got.report.checkpoint, 1);
  }
}

TEST_F(WalTest, SegmentNumbersContinueAfterTheCheckpoint) {
  {
    auto wal = Open();
    ASSERT_TRUE(wal->Log("a").ok());
    ASSERT_EQ(wal->Cut().value(), 2);
    ASSERT_TRUE(wal->WriteCheckpoint(1, std::vector<std::string>{"cp"}).ok());
    ASSERT_TRUE(wal->TruncateBefore(2).ok());
  }
  fs::remove(SegmentPath(2));  // The empty segment; now only the checkpoint is left.
  {
    auto wal = Open();
    EXPECT_THAT(ReplayAll(*wal).records, ElementsAre("cp"));
    ASSERT_TRUE(wal->Log("b").ok());
    EXPECT_EQ(wal->Segments(), std::make_pair(2, 2));  // Not 1: that is inside the checkpoint.
  }
  auto wal = Open();
  EXPECT_THAT(ReplayAll(*wal).records, ElementsAre("cp", "b"));
}

TEST_F(WalTest, DamagedCheckpointIsReportedAndSkipped) {
  {
    auto wal = Open();
    ASSERT_TRUE(wal->Log("seg1").ok());
    ASSERT_EQ(wal->Cut().value(), 2);
    ASSERT_TRUE(wal->Log("seg2").ok());
    ASSERT_TRUE(wal->WriteCheckpoint(1, std::vector<std::string>{"cp-1", "cp-2", "cp-3"}).ok());
    ASSERT_TRUE(wal->TruncateBefore(2).ok());
  }
  const fs::path file = fs::path(dir_) / "checkpoint.00000001" / "records";
  std::string bytes = ReadBytes(file);
  bytes[bytes.size() - 20] ^= 0x40;  // Inside "cp-3"'s payload, just before the footer.
  WriteBytes(file, bytes);

  auto wal = Open();
  Replayed got = ReplayAll(*wal);
  // None of the damaged checkpoint's records reach the caller, not even the intact first ones.
  EXPECT_THAT(got.records, ElementsAre("seg2"));
  EXPECT_EQ(got.report.checkpoint, 0);
  ASSERT_EQ(got.report.dropped.size(), 1u);
  EXPECT_EQ(got.report.dropped[0].file, "checkpoint.00000001/records");
  EXPECT_EQ(got.report.dropped[0].segment, 1);
  EXPECT_EQ(got.report.dropped[0].offset, 2 * 13u);
  EXPECT_EQ(got.report.dropped[0].reason, "checksum mismatch");
  EXPECT_TRUE(fs::exists(fs::path(dir_) / "dropped" / "checkpoint.00000001" / "records"));
  EXPECT_FALSE(fs::exists(fs::path(dir_) / "checkpoint.00000001"));
}

TEST_F(WalTest, TruncatedCheckpointWithoutFooterIsDamaged) {
  {
    auto wal = Open();
    ASSERT_TRUE(wal->Log("x").ok());
    ASSERT_EQ(wal->Cut().value(), 2);
    ASSERT_TRUE(wal->WriteCheckpoint(1, std::vector<std::string>{"cp-1", "cp-2"}).ok());
  }
  const fs::path file = fs::path(dir_) / "checkpoint.00000001" / "records";
  const std::string bytes = ReadBytes(file);
  WriteBytes(file, std::string_view(bytes).substr(0, 2 * 13));  // Whole records, no footer.
  auto wal = Open();
  Replayed got = ReplayAll(*wal);
  ASSERT_EQ(got.report.dropped.size(), 1u);
  EXPECT_EQ(got.report.dropped[0].reason, "no checkpoint footer (truncated)");
  EXPECT_EQ(got.report.checkpoint, 0);
  // Segment 1 was not truncated yet, so without the checkpoint it is replayed again.
  EXPECT_THAT(got.records, ElementsAre("x"));
}

TEST_F(WalTest, UnfinishedCheckpointIsIgnoredAndRemoved) {
  {
    auto wal = Open();
    ASSERT_TRUE(wal->Log("a").ok());
  }
  const fs::path tmp = fs::path(dir_) / "checkpoint.00000001.tmp";
  fs::create_directories(tmp);
  WriteBytes(tmp / "records", "partial");
  auto wal = Open();
  Replayed got = ReplayAll(*wal);
  EXPECT_THAT(got.records, ElementsAre("a"));
  EXPECT_TRUE(got.report.dropped.empty());
  EXPECT_FALSE(fs::exists(tmp));
}

TEST_F(WalTest, ReplayPassesOnTheCallbacksError) {
  {
    auto wal = Open();
    LogAll(*wal, {"a", "b", "c"});
  }
  auto wal = Open();
  int calls = 0;
  auto report = wal->Replay([&](std::string_view r) -> Status {
    ++calls;
    if (r == "b") return InvalidArgument("bad record b");
    return Status::Ok();
  });
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().message(), "bad record b");
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(fs::file_size(SegmentPath(1)), 3 * 10u);  // Nothing repaired away.
}

TEST_F(WalTest, GroupCommitBatchesConcurrentWriters) {
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 60;
  {
    auto wal = Open(WalOptions{.segment_size = 16 << 10});
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCallsPerThread; ++i) {
          const std::string a = "t" + std::to_string(t) + "-" + std::to_string(i) + "-a";
          const std::string b = "t" + std::to_string(t) + "-" + std::to_string(i) + "-b";
          const std::string_view both[] = {a, b};
          if (!wal->Log(both).ok()) failures.fetch_add(1);
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    const uint64_t calls = kThreads * kCallsPerThread;
    EXPECT_EQ(wal->stats().records.load(), 2 * calls);
    // Batching: a leader's fsync covers the records other threads queued meanwhile.
    EXPECT_LT(wal->stats().fsyncs.load(), calls);
    EXPECT_LT(wal->stats().writes.load(), calls);
  }
  auto wal = Open();
  Replayed got = ReplayAll(*wal);
  ASSERT_EQ(got.records.size(), 2u * kThreads * kCallsPerThread);
  // Every record exactly once, each thread's in its order, a call's two records adjacent.
  std::vector<int> next(kThreads, 0);
  for (size_t i = 0; i < got.records.size(); i += 2) {
    const std::string& a = got.records[i];
    ASSERT_EQ(a[0], 't');
    const int t = std::stoi(a.substr(1));
    ASSERT_GE(t, 0);
    ASSERT_LT(t, kThreads);
    const std::string prefix = "t" + std::to_string(t) + "-" + std::to_string(next[t]) + "-";
    ASSERT_EQ(a, prefix + "a");
    ASSERT_EQ(got.records[i + 1], prefix + "b");
    ++next[t];
  }
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(next[t], kCallsPerThread);
}

TEST_F(WalTest, OneMegabyteBatchIsOneWriteAndOneSync) {
  auto wal = Open();
  ASSERT_TRUE(wal->Log("warm-up").ok());  // Creates the segment.
  std::vector<std::string> records;
  for (int i = 0; i < 1000; ++i) records.push_back(Record(i, 1048));
  const uint64_t writes = wal->stats().writes.load();
  const uint64_t fsyncs = wal->stats().fsyncs.load();
  LogAll(*wal, records);
  EXPECT_EQ(wal->stats().writes.load() - writes, 1u);
  EXPECT_EQ(wal->stats().fsyncs.load() - fsyncs, 1u);
  EXPECT_EQ(wal->stats().bytes.load(), (9 + 7) + 1000 * (9 + 1048u));
}

TEST_F(WalTest, WithoutSyncSyncIfDueSyncsOnInterval) {
  auto wal = Open(WalOptions{.sync = false, .sync_interval = std::chrono::milliseconds(1000)});
  const Timestamp t0(std::chrono::milliseconds(1767225600000));
  ASSERT_TRUE(wal->SyncIfDue(t0).ok());
  EXPECT_EQ(wal->stats().fsyncs.load(), 0u);  // Nothing written yet.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(wal->Log(Record(i)).ok());
  EXPECT_EQ(wal->stats().fsyncs.load(), 0u);
  ASSERT_TRUE(wal->SyncIfDue(t0).ok());
  EXPECT_EQ(wal->stats().fsyncs.load(), 1u);
  ASSERT_TRUE(wal->Log("more").ok());
  ASSERT_TRUE(wal->SyncIfDue(t0 + std::chrono::milliseconds(999)).ok());
  EXPECT_EQ(wal->stats().fsyncs.load(), 1u);
  ASSERT_TRUE(wal->SyncIfDue(t0 + std::chrono::milliseconds(1000)).ok());
  EXPECT_EQ(wal->stats().fsyncs.load(), 2u);
  ASSERT_TRUE(wal->SyncIfDue(t0 + std::chrono::milliseconds(5000)).ok());
  EXPECT_EQ(wal->stats().fsyncs.load(), 2u);  // Nothing new to sync.
  ASSERT_TRUE(wal->Log("last").ok());
  ASSERT_TRUE(wal->Cut().ok());  // Syncs the segment it closes.
  EXPECT_EQ(wal->stats().fsyncs.load(), 3u);
  ASSERT_TRUE(wal->Log("after cut").ok());
  ASSERT_TRUE(wal->Close().ok());
  EXPECT_EQ(wal->stats().fsyncs.load(), 4u);

  wal = Open();
  EXPECT_EQ(ReplayAll(*wal).records.size(), 13u);
}

TEST_F(WalTest, SyncIfDueAndCutRunBesideWriters) {
  constexpr int kThreads = 4;
  constexpr int kCalls = 200;
  {
    auto wal = Open(WalOptions{.segment_size = 2048, .sync = false});
    std::atomic<bool> done{false};
    std::thread owner([&] {
      Timestamp now(std::chrono::milliseconds(1767225600000));
      for (int i = 0; !done.load(); ++i) {
        now += std::chrono::milliseconds(1000);
        EXPECT_TRUE(wal->SyncIfDue(now).ok());
        if (i % 5 == 0) {
          EXPECT_TRUE(wal->Cut().ok());
        }
      }
    });
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; i < kCalls; ++i) EXPECT_TRUE(wal->Log(Record(t * kCalls + i, 40)).ok());
      });
    }
    for (auto& th : writers) th.join();
    done = true;
    owner.join();
    EXPECT_GT(wal->Segments().second, 4);
  }
  auto wal = Open();
  Replayed got = ReplayAll(*wal);
  EXPECT_TRUE(got.report.dropped.empty());
  std::vector<std::string> want;
  for (int i = 0; i < kThreads * kCalls; ++i) want.push_back(Record(i, 40));
  std::sort(got.records.begin(), got.records.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got.records, want);
}

TEST_F(WalTest, OpenValidatesOptions) {
  auto wal = Wal::Open(dir_, WalOptions{.segment_size = 10});
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(wal.status().field(), "segment_size");
  auto no_interval = Wal::Open(dir_, WalOptions{.sync_interval = std::chrono::milliseconds(0)});
  EXPECT_EQ(no_interval.status().field(), "sync_interval");
}

}  // namespace
}  // namespace platops::metrics
