#include "metrics/head.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "metrics/mem_storage.h"

namespace platops::metrics {
namespace {

using ::testing::ElementsAre;

Labels L(std::initializer_list<std::pair<const char*, const char*>> pairs) {
  Labels out;
  for (auto [n, v] : pairs) out.push_back({n, v});
  return Normalize(out);
}

SeriesRef Add(Head& head, const Labels& labels, int64_t t, double v) {
  SeriesRef ref = 0;
  bool created = false;
  EXPECT_EQ(head.GetOrCreate(labels, ref, created), AppendError::kNone);
  EXPECT_EQ(head.Append(ref, t, v), AppendError::kNone);
  return ref;
}

std::vector<Sample> ReadAll(const Series& s) {
  std::vector<Sample> out;
  auto it = s.Iterator();
  while (it->Next()) out.push_back(it->At());
  EXPECT_TRUE(it->status().ok());
  return out;
}

std::vector<std::string> Names(Querier& q, std::vector<Matcher> matchers) {
  auto series = q.Select(matchers);
  EXPECT_TRUE(series.ok()) << series.status().message();
  std::vector<std::string> out;
  for (const auto& s : series.value()) out.push_back(ToString(s->labels()));
  return out;
}

TEST(HeadTest, SelectsByEveryMatcherTypeSortedByLabels) {
  Head head;
  Add(head, L({{"__name__", "up"}, {"job", "node"}, {"instance", "b"}}), 1000, 1);
  Add(head, L({{"__name__", "up"}, {"job", "node"}, {"instance", "a"}}), 1000, 1);
  Add(head, L({{"__name__", "up"}, {"job", "api"}, {"instance", "c"}}), 1000, 0);
  Add(head, L({{"__name__", "http_requests_total"}, {"job", "api"}}), 1000, 5);
  auto q = head.NewQuerier(0, 2000);
  using MT = MatchType;
  EXPECT_THAT(Names(*q, {{MT::kEqual, "__name__", "up"}}),
              ElementsAre("up{instance=\"a\",job=\"node\"}", "up{instance=\"b\",job=\"node\"}",
                          "up{instance=\"c\",job=\"api\"}"));
  EXPECT_THAT(Names(*q, {{MT::kEqual, "__name__", "up"}, {MT::kNotEqual, "job", "node"}}),
              ElementsAre("up{instance=\"c\",job=\"api\"}"));
  EXPECT_THAT(Names(*q, {{MT::kRegexMatch, "job", "ap.*"}}),
              ElementsAre("http_requests_total{job=\"api\"}", "up{instance=\"c\",job=\"api\"}"));
  EXPECT_THAT(Names(*q, {{MT::kRegexMatch, "__name__", ".+"}, {MT::kRegexNoMatch, "instance", "a|b"}}),
              ElementsAre("http_requests_total{job=\"api\"}", "up{instance=\"c\",job=\"api\"}"));
  // `instance=""` selects series without the label.
  EXPECT_THAT(Names(*q, {{MT::kEqual, "job", "api"}, {MT::kEqual, "instance", ""}}),
              ElementsAre("http_requests_total{job=\"api\"}"));
  auto bad = q->Select(std::vector<Matcher>{{MT::kRegexMatch, "job", ".*"}});
  EXPECT_FALSE(bad.ok());
  auto bad_re = q->Select(std::vector<Matcher>{{MT::kRegexMatch, "job", "(unclosed"}});
  ASSERT_FALSE(bad_re.ok());
  EXPECT_THAT(bad_re.status().message(), ::testing::HasSubstr("invalid regular expression"));
}

// The head sorts its selection by packed labels; the order must be that of Labels, where a
// shorter value or label set comes first and lengths never decide before the bytes do.
TEST(HeadTest, SelectionOrderIsLabelOrderForPrefixesAndLengths) {
  std::vector<Labels> sets = {
      L({{"__name__", "m"}, {"a", "1"}, {"b", "2"}}),
      L({{"__name__", "m"}, {"a", "1"}}),
      L({{"__name__", "m"}, {"a", "10"}}),
      L({{"__name__", "m"}, {"a", "2"}}),
      L({{"__name__", "m"}, {"aa", "0"}}),
      L({{"__name__", "m"}, {"b", "0"}}),
      L({{"__name__", "m"}, {"a", std::string(200, 'x').c_str()}}),
      L({{"__name__", "m"}, {"a", std::string(130, 'x').c_str()}, {"c", "1"}}),
      L({{"__name__", "m"}, {"a", "\xc3\xa9"}}),
      L({{"__name__", "m"}, {"a", "~"}}),
      L({{"__name__", "mm"}}),
  };
  // NUL is valid UTF-8: it sorts below every other byte, and above the end of a string.
  for (std::string v : {std::string("x\0y", 3), std::string("x"), std::string("x\x01"),
                        std::string("x\0", 2)}) {
    sets.push_back(Normalize(Labels{{"__name__", "m"}, {"a", v}}));
    sets.push_back(Normalize(Labels{{"__name__", "m"}, {"a", v}, {"b", "1"}}));
  }
  Head head;
  for (const auto& l : sets) Add(head, l, 1000, 1);
  std::sort(sets.begin(), sets.end());
  std::vector<std::string> want;
  for (const auto& l : sets) want.push_back(ToString(l));
  auto q = head.NewQuerier(0, 2000);
  EXPECT_EQ(Names(*q, {{MatchType::kRegexMatch, "__name__", "m+"}}), want);
}

TEST(HeadTest, RejectsOutOfOrderAndDuplicatesButAcceptsAnIdenticalRepeat) {
  Head head;
  SeriesRef ref = Add(head, L({{"__name__", "m"}}), 2000, 1.5);
  EXPECT_EQ(head.Append(ref, 1000, 1), AppendError::kOutOfOrder);
  EXPECT_EQ(head.Append(ref, 2000, 2), AppendError::kDuplicate);
  EXPECT_EQ(head.Append(ref, 2000, 1.5), AppendError::kNone);
  EXPECT_EQ(head.Append(ref, 3000, 2), AppendError::kNone);
  auto q = head.NewQuerier(0, 10000);
  auto series = q->Select(std::vector<Matcher>{{MatchType::kEqual, "__name__", "m"}});
  ASSERT_TRUE(series.ok());
  ASSERT_EQ(series.value().size(), 1u);
  EXPECT_THAT(ReadAll(*series.value()[0]), ElementsAre(Sample{2000, 1.5}, Sample{3000, 2}));
}

TEST(HeadTest, RejectsInvalidLabelsAndHonoursTheSeriesLimit) {
  Head head(HeadOptions{.max_series = 1});
  SeriesRef ref = 0;
  bool created = false;
  EXPECT_EQ(head.GetOrCreate(L({{"job", "x"}}), ref, created), AppendError::kInvalidLabels);
  EXPECT_EQ(head.GetOrCreate(L({{"__name__", "bad\xff"}}), ref, created),
            AppendError::kInvalidLabels);
  EXPECT_EQ(head.GetOrCreate(L({{"__name__", "a"}}), ref, created), AppendError::kNone);
  EXPECT_TRUE(created);
  EXPECT_EQ(head.GetOrCreate(L({{"__name__", "b"}}), ref, created), AppendError::kLimit);
  EXPECT_EQ(head.GetOrCreate(L({{"__name__", "a"}}), ref, created), AppendError::kNone);
  EXPECT_FALSE(created);
}

TEST(HeadTest, CutsChunksAtTheSampleCountAndTheChunkRangeAndSeeksAcrossThem) {
  Head head(HeadOptions{.chunk_range_ms = 100'000, .samples_per_chunk = 10});
  SeriesRef ref = 0;
  for (int i = 0; i < 95; ++i) ref = Add(head, L({{"__name__", "m"}}), i * 1000, i);
  // 95 samples over [0, 94s]: 10 chunks of up to 10, none crossing t=100s.
  EXPECT_EQ(head.Stats().chunks, 10u);
  EXPECT_EQ(head.Append(ref, 100'000, 1), AppendError::kNone);
  EXPECT_EQ(head.Stats().chunks, 11u);  // A new chunk starts at the range boundary.
  auto q = head.NewQuerier(25'500, 60'000);
  auto series = q->Select(std::vector<Matcher>{{MatchType::kEqual, "__name__", "m"}});
  ASSERT_TRUE(series.ok());
  auto it = series.value()[0]->Iterator();
  ASSERT_TRUE(it->Seek(41'000));
  EXPECT_EQ(it->At(), (Sample{41'000, 41}));
  ASSERT_TRUE(it->Seek(10'000));  // Never moves back.
  EXPECT_EQ(it->At().t, 41'000);
  ASSERT_TRUE(it->Next());
  EXPECT_EQ(it->At().t, 42'000);
  EXPECT_FALSE(it->Seek(61'000));  // Beyond the querier's maxt.
  auto all = ReadAll(*series.value()[0]);
  ASSERT_EQ(all.size(), 35u);  // 26s .. 60s inclusive.
  EXPECT_EQ(all.front().t, 26'000);
  EXPECT_EQ(all.back().t, 60'000);
}

TEST(HeadTest, TruncateDropsOldChunksRemovesDeadSeriesAndRejectsOldSamples) {
  Head head(HeadOptions{.chunk_range_ms = 10'000, .samples_per_chunk = 120});
  SeriesRef live = 0;
  for (int i = 0; i < 30; ++i) live = Add(head, L({{"__name__", "live"}}), i * 1000, i);
  SeriesRef gone = Add(head, L({{"__name__", "gone"}, {"pod", "p1"}}), 5000, 1);
  EXPECT_EQ(head.Truncate(20'000), 1u);
  EXPECT_EQ(head.Stats().num_series, 1u);
  EXPECT_EQ(head.Append(live, 10'000, 0), AppendError::kOutOfBounds);
  EXPECT_EQ(head.Append(gone, 40'000, 0), AppendError::kInvalidLabels);
  auto q = head.NewQuerier(0, 100'000);
  auto names = q->LabelNames({});
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(names.value(), ElementsAre("__name__"));
  auto series = q->Select(std::vector<Matcher>{{MatchType::kRegexMatch, "__name__", ".+"}});
  ASSERT_TRUE(series.ok());
  ASSERT_EQ(series.value().size(), 1u);
  EXPECT_EQ(ReadAll(*series.value()[0]).front().t, 20'000);
  // The same labels come back as a new series.
  SeriesRef again = Add(head, L({{"__name__", "gone"}, {"pod", "p1"}}), 40'000, 1);
  EXPECT_NE(again, gone);
}

TEST(HeadTest, LabelNamesAndValuesRespectTheTimeRangeAndMatchers) {
  Head head;
  Add(head, L({{"__name__", "a"}, {"env", "prod"}}), 1000, 1);
  Add(head, L({{"__name__", "a"}, {"env", "dev"}, {"zone", "z1"}}), 5000, 1);
  auto early = head.NewQuerier(0, 2000);
  EXPECT_THAT(early->LabelNames({}).value(), ElementsAre("__name__", "env"));
  EXPECT_THAT(early->LabelValues("env", {}).value(), ElementsAre("prod"));
  auto all = head.NewQuerier(0, 10000);
  EXPECT_THAT(all->LabelValues("env", {}).value(), ElementsAre("dev", "prod"));
  std::vector<Matcher> zone{{MatchType::kEqual, "zone", "z1"}};
  EXPECT_THAT(all->LabelValues("env", zone).value(), ElementsAre("dev"));
  EXPECT_THAT(all->LabelNames(zone).value(), ElementsAre("__name__", "env", "zone"));
}

// The head answers every query exactly as the reference MemStorage does.
TEST(HeadTest, AgreesWithTheReferenceStoreOnRandomDataAndMatchers) {
  std::mt19937 rng(42);
  Head head(HeadOptions{.chunk_range_ms = 50'000, .samples_per_chunk = 7});
  MemStorage ref_store;
  const char* jobs[] = {"api", "node", "db", "apiserver"};
  for (int s = 0; s < 60; ++s) {
    Labels labels = L({{"__name__", s % 3 == 0 ? "up" : "req_total"},
                       {"job", jobs[s % 4]},
                       {"instance", (std::string("i") + std::to_string(s % 7)).c_str()}});
    if (s % 5 == 0) labels = Normalize([&] { auto l = labels; l.push_back({"extra", "x"}); return l; }());
    SeriesRef ref = 0;
    bool created = false;
    int64_t t = static_cast<int64_t>(rng() % 5000);
    for (int i = 0; i < 40; ++i) {
      t += 500 + static_cast<int64_t>(rng() % 3000);
      double v = (rng() % 10 == 0) ? std::bit_cast<double>(kStaleNanBits) : rng() % 100 / 4.0;
      if (head.GetOrCreate(labels, ref, created) != AppendError::kNone) continue;
      if (head.Append(ref, t, v) == AppendError::kNone) ref_store.Add(labels, {t, v});
    }
  }
  using MT = MatchType;
  std::vector<std::vector<Matcher>> queries = {
      {{MT::kEqual, "__name__", "up"}},
      {{MT::kRegexMatch, "job", "api.*"}},
      {{MT::kRegexMatch, "job", "api|db"}, {MT::kNotEqual, "instance", "i3"}},
      {{MT::kRegexMatch, "__name__", ".+"}, {MT::kEqual, "extra", ""}},
      {{MT::kRegexMatch, "instance", "i[0-3]"}, {MT::kRegexNoMatch, "job", "node|db"}},
      {{MT::kRegexMatch, "job", ".+server"}},
  };
  for (auto [mint, maxt] : std::vector<std::pair<int64_t, int64_t>>{
           {0, 1'000'000}, {20'000, 40'000}, {60'001, 60'001}}) {
    auto hq = head.NewQuerier(mint, maxt);
    auto rq = ref_store.NewQuerier(mint, maxt).value();
    for (const auto& m : queries) {
      auto hs = hq->Select(m).value();
      auto rs = rq->Select(m).value();
      ASSERT_EQ(hs.size(), rs.size()) << ToString(Labels{}) << mint;
      for (size_t i = 0; i < hs.size(); ++i) {
        EXPECT_EQ(hs[i]->labels(), rs[i]->labels());
        EXPECT_EQ(ReadAll(*hs[i]), ReadAll(*rs[i])) << ToString(hs[i]->labels());
      }
      EXPECT_EQ(hq->LabelNames(m).value(), rq->LabelNames(m).value());
      EXPECT_EQ(hq->LabelValues("instance", m).value(), rq->LabelValues("instance", m).value());
    }
  }
}

}  // namespace
}  // namespace platops::metrics
