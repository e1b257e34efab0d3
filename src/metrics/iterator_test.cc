// SampleIterator::AppendUntil against the At()/Next() loop it replaces, on every iterator kind
// a query meets: block chunks, head chunks, and the two concatenated.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "metrics/db.h"
#include "testing/temp_store.h"

namespace platops::metrics {
namespace {

using ::testing::SizeIs;

class AppendUntilTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DbOptions o;
    o.block_range_ms = 10'000;
    o.retention = std::chrono::milliseconds(1'000'000);
    o.wal_sync = false;
    auto db = Db::Open(dir_.path().string(), o);
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(db).value();
    // 5 ms apart: 2,000 samples per 10 s block, so blocks hold several chunks, as does the head.
    std::vector<SeriesRef> refs(3, 0);
    for (int64_t t = 0; t < 35'000; t += 5) {
      auto app = db_->NewAppender();
      for (size_t i = 0; i < refs.size(); ++i) {
        const Labels l = Normalize({{"__name__", "m"}, {"i", std::to_string(i)}});
        const double v = (t / 5) % 97 == 0 ? std::bit_cast<double>(kStaleNanBits) : t * 0.5 + i;
        ASSERT_EQ(app->Append(refs[i], l, t, v), AppendError::kNone);
      }
      ASSERT_TRUE(app->Commit().ok());
    }
    ASSERT_TRUE(db_->Maintain().ok());
    ASSERT_THAT(db_->Blocks(), SizeIs(2));  // [0,10s) and [10s,20s); the rest in the head.
  }

  // Checks AppendUntil(limit) after Seek(seek) against the At()/Next() loop, for every series.
  void Check(int64_t mint, int64_t maxt, int64_t seek, int64_t limit) {
    SCOPED_TRACE(::testing::Message() << "range [" << mint << ", " << maxt << "] seek " << seek
                                    << " limit " << limit);
    auto q = db_->NewQuerier(mint, maxt);
    ASSERT_TRUE(q.ok());
    auto series = q.value()->Select(std::vector<Matcher>{{MatchType::kEqual, "__name__", "m"}});
    ASSERT_TRUE(series.ok());
    ASSERT_THAT(series.value(), SizeIs(3));
    for (const auto& s : series.value()) {
      std::vector<Sample> want;
      auto a = s->Iterator();
      bool want_more = false;
      if (a->Seek(seek)) {
        do {
          if (a->At().t > limit) {
            want_more = true;
            break;
          }
          want.push_back(a->At());
        } while (a->Next());
      }
      std::vector<Sample> got;
      auto b = s->Iterator();
      bool got_more = false;
      if (b->Seek(seek)) got_more = b->AppendUntil(limit, got);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i].t, want[i].t) << i;
        ASSERT_EQ(std::bit_cast<uint64_t>(got[i].v), std::bit_cast<uint64_t>(want[i].v)) << i;
      }
      ASSERT_EQ(got_more, want_more);
      if (got_more) {
        EXPECT_EQ(b->At().t, a->At().t);
        // The iterator goes on from where AppendUntil stopped.
        const bool a_next = a->Next();
        ASSERT_EQ(b->Next(), a_next);
        if (a_next) {
          EXPECT_EQ(b->At().t, a->At().t);
        }
      }
      EXPECT_TRUE(b->status().ok());
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<Db> db_;
};

TEST_F(AppendUntilTest, MatchesTheNextLoopInBlocksHeadAndAcrossThem) {
  const int64_t points[] = {0,      3,      4999,   5000,   9995,   10000,
                            12345,  19999,  20000,  27777,  34995,  40000};
  for (int64_t mint : {int64_t{0}, int64_t{4'000}, int64_t{19'000}}) {
    for (int64_t maxt : {int64_t{9'000}, int64_t{21'000}, int64_t{50'000}}) {
      if (maxt < mint) continue;
      for (int64_t seek : points) {
        for (int64_t limit : points) Check(mint, maxt, seek, limit);
      }
    }
  }
}

}  // namespace
}  // namespace platops::metrics
