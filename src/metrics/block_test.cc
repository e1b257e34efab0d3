#include "metrics/block.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "metrics/mem_storage.h"
#include "testing/temp_store.h"

namespace platops::metrics {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

Labels L(std::initializer_list<std::pair<const char*, std::string>> pairs) {
  Labels out;
  for (const auto& [n, v] : pairs) out.push_back({n, v});
  return Normalize(out);
}

std::vector<Sample> ReadAll(const Series& s, Status* status = nullptr) {
  std::vector<Sample> out;
  auto it = s.Iterator();
  while (it->Next()) out.push_back(it->At());
  if (status != nullptr) *status = it->status();
  return out;
}

class BlockTest : public ::testing::Test {
 protected:
  // Writes `data` (sorted by labels) as a block and opens it.
  std::shared_ptr<Block> WriteBlock(const std::map<Labels, std::vector<Sample>>& data,
                                    const std::string& name = "b1") {
    auto w = BlockWriter::Create(dir_.path().string() + "/.tmp-" + name);
    EXPECT_TRUE(w.ok()) << w.status().message();
    for (const auto& [labels, samples] : data) {
      EXPECT_TRUE(w.value()->AddSeries(labels, samples).ok());
    }
    auto meta = w.value()->Finish(dir_.path().string() + "/" + name, BlockMeta{.min_time = 0, .max_time = 7'200'000});
    EXPECT_TRUE(meta.ok()) << meta.status().message();
    auto block = Block::Open(dir_.path().string() + "/" + name);
    EXPECT_TRUE(block.ok()) << block.status().message();
    return block.ok() ? block.value() : nullptr;
  }
  std::string Path(const std::string& p) const { return dir_.path().string() + "/" + p; }

  testing::TempDir dir_;
};

TEST_F(BlockTest, RoundTripsSeriesAndAnswersQueriesLikeTheReferenceStore) {
  std::mt19937 rng(7);
  std::map<Labels, std::vector<Sample>> data;
  MemStorage reference;
  for (int s = 0; s < 200; ++s) {
    Labels labels = L({{"__name__", s % 2 ? "node_cpu_seconds_total" : "up"},
                       {"instance", "host-" + std::to_string(s % 17)},
                       {"mode", s % 3 == 0 ? "idle" : "user"},
                       {"job", s % 5 == 0 ? "api" : "node"}});
    if (data.contains(labels)) continue;
    std::vector<Sample> samples;
    int64_t t = static_cast<int64_t>(rng() % 1000);
    double v = 0;
    for (int i = 0; i < 1500; ++i) {
      t += 15'000;
      v += rng() % 10;
      samples.push_back({t, i % 997 == 0 ? std::bit_cast<double>(kStaleNanBits) : v});
      reference.Add(labels, samples.back());
    }
    data[labels] = samples;
  }
  auto block = WriteBlock(data);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(block->meta().num_series, data.size());
  EXPECT_EQ(block->meta().num_samples, data.size() * 1500);
  EXPECT_EQ(block->meta().num_chunks, data.size() * 2);  // 1500 samples: 1024 + 476.
  using MT = MatchType;
  std::vector<std::vector<Matcher>> queries = {
      {{MT::kEqual, "__name__", "up"}},
      {{MT::kRegexMatch, "instance", "host-1.*"}, {MT::kNotEqual, "mode", "idle"}},
      {{MT::kRegexMatch, "__name__", ".+"}, {MT::kRegexNoMatch, "job", "node"}},
      {{MT::kEqual, "job", "nope"}},
  };
  for (auto [mint, maxt] : std::vector<std::pair<int64_t, int64_t>>{
           {0, INT64_MAX}, {1'000'000, 2'000'000}, {20'000'000, 20'000'500}}) {
    auto bq = block->NewQuerier(mint, maxt);
    auto rq = reference.NewQuerier(mint, maxt).value();
    for (const auto& m : queries) {
      auto bs = bq->Select(m).value();
      auto rs = rq->Select(m).value();
      ASSERT_EQ(bs.size(), rs.size()) << mint;
      for (size_t i = 0; i < bs.size(); ++i) {
        ASSERT_EQ(bs[i]->labels(), rs[i]->labels());
        EXPECT_EQ(ReadAll(*bs[i]), ReadAll(*rs[i]));
      }
      EXPECT_EQ(bq->LabelValues("instance", m).value(), rq->LabelValues("instance", m).value());
    }
    EXPECT_EQ(bq->LabelNames({}).value(), rq->LabelNames({}).value());
  }
  // Seek jumps over whole chunks.
  auto series = block->NewQuerier(0, INT64_MAX)->Select(queries[0]).value();
  auto it = series[0]->Iterator();
  const auto& expected = data.at(series[0]->labels());
  ASSERT_TRUE(it->Seek(expected[1100].t));
  EXPECT_EQ(it->At(), expected[1100]);
  ASSERT_TRUE(it->Next());
  EXPECT_EQ(it->At(), expected[1101]);
}

TEST_F(BlockTest, RejectsSeriesOutOfOrder) {
  auto w = BlockWriter::Create(Path(".tmp"));
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w.value()->AddSeries(L({{"__name__", "b"}}), std::vector<Sample>{{1, 1}}).ok());
  Status st = w.value()->AddSeries(L({{"__name__", "a"}}), std::vector<Sample>{{1, 1}});
  EXPECT_THAT(st.message(), HasSubstr("out of order"));
}

TEST_F(BlockTest, ATruncatedOrMissingFileFailsToOpenWithTheFileNamed) {
  std::map<Labels, std::vector<Sample>> data;
  for (int i = 0; i < 10; ++i) {
    data[L({{"__name__", "m"}, {"i", std::to_string(i)}})] = {{1000, 1.0 * i}, {2000, 2}};
  }
  ASSERT_NE(WriteBlock(data, "trunc"), nullptr);
  fs::resize_file(Path("trunc/chunks"), fs::file_size(Path("trunc/chunks")) - 3);
  auto truncated = Block::Open(Path("trunc"));
  ASSERT_FALSE(truncated.ok());
  EXPECT_THAT(truncated.status().message(), HasSubstr("trunc/chunks: truncated"));

  ASSERT_NE(WriteBlock(data, "missing"), nullptr);
  fs::remove(Path("missing/chunks"));
  auto missing = Block::Open(Path("missing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("missing/chunks"));

  ASSERT_NE(WriteBlock(data, "badindex"), nullptr);
  {
    std::fstream f(Path("badindex/index"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('\x7f');
  }
  auto bad = Block::Open(Path("badindex"));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("badindex/index: checksum mismatch"));
}

TEST_F(BlockTest, ACorruptChunkIsReportedByTheIteratorNotServedAsData) {
  std::map<Labels, std::vector<Sample>> data;
  data[L({{"__name__", "m"}})] = {{1000, 1}, {2000, 2}, {3000, 3}};
  ASSERT_NE(WriteBlock(data, "flip"), nullptr);
  {
    std::fstream f(Path("flip/chunks"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(7);
    f.put('\x55');
  }
  auto block = Block::Open(Path("flip"));
  ASSERT_TRUE(block.ok());
  auto series = block.value()->NewQuerier(0, 10'000)->Select(
      std::vector<Matcher>{{MatchType::kEqual, "__name__", "m"}});
  ASSERT_TRUE(series.ok());
  ASSERT_EQ(series.value().size(), 1u);
  Status st;
  EXPECT_TRUE(ReadAll(*series.value()[0], &st).empty());
  EXPECT_THAT(st.message(), HasSubstr("checksum mismatch"));
}

TEST_F(BlockTest, MetaJsonRoundTripsAndRejectsGarbage) {
  BlockMeta meta{.id = "x", .min_time = 5, .max_time = 10, .num_series = 2, .num_samples = 3,
                 .num_chunks = 2, .level = 2, .sources = {"a", "b"}};
  auto back = BlockMetaFromJson(BlockMetaToJson(meta));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back.value().sources, meta.sources);
  EXPECT_EQ(back.value().level, 2);
  EXPECT_FALSE(BlockMetaFromJson("{\"version\":1}").ok());
  EXPECT_FALSE(BlockMetaFromJson("[").ok());
}

}  // namespace
}  // namespace platops::metrics
