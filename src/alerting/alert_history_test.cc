#include "alerting/alert_history.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "alerting/matcher.h"
#include "testing/temp_store.h"

namespace platops::alerting {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const Timestamp kT0 = Timestamp(milliseconds(1767225600000));  // 2026-01-01T00:00:00Z

// A normalized alert as AlertStore::Put returns it.
Alert MakeAlert(const std::string& name, Timestamp starts, std::optional<Timestamp> ends,
                Timestamp updated) {
  Alert a;
  a.labels = {{"alertname", name}, {"severity", "critical"}};
  a.annotations = {{"summary", name + " is down"}};
  a.starts_at = starts;
  a.ends_at = ends;
  a.updated_at = updated;
  a.fingerprint = Fingerprint(a.labels);
  return a;
}

class TransitionTrackerTest : public ::testing::Test {
 protected:
  // The "store": what Sweep's lookup finds.
  TransitionTracker::Lookup Lookup() {
    return [this](uint64_t fp) -> std::optional<Alert> {
      auto it = held_.find(fp);
      if (it == held_.end()) return std::nullopt;
      return it->second;
    };
  }
  std::optional<AlertTransition> Feed(const Alert& a, Timestamp now,
                                      std::string_view source = "api") {
    held_[a.fingerprint] = a;
    return tracker_.Observe(a, source, now);
  }

  TransitionTracker tracker_;
  std::map<uint64_t, Alert> held_;
};

TEST_F(TransitionTrackerTest, ANewFiringAlertIsATransition) {
  Alert a = MakeAlert("Down", kT0 - minutes(1), kT0 + minutes(5), kT0);
  auto t = Feed(a, kT0, "rule");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->state, TransitionState::kFiring);
  EXPECT_EQ(t->at, kT0);
  EXPECT_EQ(t->fingerprint, a.fingerprint);
  EXPECT_EQ(t->labels, a.labels);
  EXPECT_EQ(t->annotations, a.annotations);
  EXPECT_EQ(t->starts_at, kT0 - minutes(1));
  EXPECT_EQ(t->ends_at, kT0 + minutes(5));
  EXPECT_EQ(t->source, "rule");
  EXPECT_FALSE(t->flapping);
  EXPECT_TRUE(tracker_.Firing(a.fingerprint));
  EXPECT_EQ(tracker_.size(), 1u);
}

TEST_F(TransitionTrackerTest, AnAlertSentAgainInTheSameStateIsNoTransition) {
  ASSERT_TRUE(Feed(MakeAlert("Down", kT0, kT0 + minutes(5), kT0), kT0));
  EXPECT_FALSE(Feed(MakeAlert("Down", kT0, kT0 + minutes(6), kT0 + minutes(1)), kT0 + minutes(1)));
  EXPECT_FALSE(Feed(MakeAlert("Down", kT0, kT0 + minutes(7), kT0 + minutes(2)), kT0 + minutes(2)));
  EXPECT_EQ(tracker_.size(), 1u);
}

TEST_F(TransitionTrackerTest, AFiringAlertResolvedByItsEndIsATransition) {
  ASSERT_TRUE(Feed(MakeAlert("Down", kT0, kT0 + minutes(5), kT0), kT0));
  // The sender resolves it: an end at or before now.
  auto t = Feed(MakeAlert("Down", kT0, kT0 + minutes(2), kT0 + minutes(2)), kT0 + minutes(2));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->state, TransitionState::kResolved);
  EXPECT_EQ(t->at, kT0 + minutes(2));
  EXPECT_EQ(t->ends_at, kT0 + minutes(2));
  EXPECT_FALSE(tracker_.Firing(t->fingerprint));
  // Resolved again: nothing.
  EXPECT_FALSE(Feed(MakeAlert("Down", kT0, kT0 + minutes(2), kT0 + minutes(3)), kT0 + minutes(3)));
}

TEST_F(TransitionTrackerTest, AResolvedAlertThatFiresAgainIsATransition) {
  ASSERT_TRUE(Feed(MakeAlert("Down", kT0, kT0 + minutes(5), kT0), kT0));
  ASSERT_TRUE(Feed(MakeAlert("Down", kT0, kT0 + minutes(1), kT0 + minutes(1)), kT0 + minutes(1)));
  auto t = Feed(MakeAlert("Down", kT0 + minutes(3), kT0 + minutes(8), kT0 + minutes(3)),
                kT0 + minutes(3));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->state, TransitionState::kFiring);
  EXPECT_EQ(t->starts_at, kT0 + minutes(3));
}

TEST_F(TransitionTrackerTest, AnAlertFirstSeenResolvedIsNoTransition) {
  EXPECT_FALSE(Feed(MakeAlert("Down", kT0 - hours(1), kT0 - minutes(5), kT0), kT0));
  EXPECT_EQ(tracker_.size(), 1u);
  EXPECT_FALSE(tracker_.Firing(Fingerprint(MakeAlert("Down", kT0, {}, kT0).labels)));
  auto t = Feed(MakeAlert("Down", kT0 + minutes(1), kT0 + minutes(6), kT0 + minutes(1)),
                kT0 + minutes(1));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->state, TransitionState::kFiring);
}

TEST_F(TransitionTrackerTest, AnOlderVersionIsIgnored) {
  ASSERT_TRUE(Feed(MakeAlert("Down", kT0, kT0 + minutes(5), kT0 + seconds(10)), kT0 + seconds(10)));
  // Merged before the first one but fed after it: not a resolve.
  EXPECT_FALSE(
      tracker_.Observe(MakeAlert("Down", kT0, kT0, kT0 + seconds(5)), "api", kT0 + seconds(11)));
  EXPECT_TRUE(tracker_.Firing(MakeAlert("Down", kT0, {}, kT0).fingerprint));
}

// The store's GC dropped an old copy while a newer one was posted: Forget(old) changes nothing.
TEST_F(TransitionTrackerTest, ForgettingAnOlderCopyKeepsTheNewerAlert) {
  const Alert old = MakeAlert("Down", kT0, kT0 + minutes(1), kT0);
  ASSERT_TRUE(Feed(old, kT0));
  ASSERT_FALSE(Feed(MakeAlert("Down", kT0, kT0 + minutes(10), kT0 + minutes(2)), kT0 + minutes(2)));
  EXPECT_FALSE(tracker_.Forget(old).has_value());
  EXPECT_TRUE(tracker_.Firing(old.fingerprint));
  EXPECT_EQ(tracker_.size(), 1u);
}

TEST_F(TransitionTrackerTest, SweepResolvesAlertsWhoseEndPassed) {
  Alert a = MakeAlert("A", kT0, kT0 + minutes(5), kT0);
  Alert b = MakeAlert("B", kT0, kT0 + minutes(3), kT0);
  ASSERT_TRUE(Feed(a, kT0, "rule"));
  ASSERT_TRUE(Feed(b, kT0));
  EXPECT_EQ(tracker_.NextTimeout(), kT0 + minutes(3));
  EXPECT_TRUE(tracker_.Sweep(kT0 + minutes(3) - milliseconds(1), Lookup()).empty());

  auto swept = tracker_.Sweep(kT0 + minutes(10), Lookup());
  ASSERT_EQ(swept.size(), 2u);
  // Oldest end first, each at its end.
  EXPECT_EQ(swept[0].fingerprint, b.fingerprint);
  EXPECT_EQ(swept[0].at, kT0 + minutes(3));
  EXPECT_EQ(swept[1].fingerprint, a.fingerprint);
  EXPECT_EQ(swept[1].at, kT0 + minutes(5));
  EXPECT_EQ(swept[1].state, TransitionState::kResolved);
  EXPECT_EQ(swept[1].labels, a.labels);
  EXPECT_EQ(swept[1].annotations, a.annotations);
  EXPECT_EQ(swept[1].source, "rule");
  EXPECT_EQ(swept[1].ends_at, kT0 + minutes(5));
  EXPECT_FALSE(tracker_.Firing(a.fingerprint));
  EXPECT_EQ(tracker_.NextTimeout(), std::nullopt);
  // Swept once only; still known (the store holds them until GC).
  EXPECT_TRUE(tracker_.Sweep(kT0 + minutes(20), Lookup()).empty());
  EXPECT_EQ(tracker_.size(), 2u);
}

TEST_F(TransitionTrackerTest, SendingAgainPostponesTheTimeout) {
  ASSERT_TRUE(Feed(MakeAlert("A", kT0, kT0 + minutes(5), kT0), kT0));
  EXPECT_FALSE(Feed(MakeAlert("A", kT0, kT0 + minutes(9), kT0 + minutes(4)), kT0 + minutes(4)));
  EXPECT_TRUE(tracker_.Sweep(kT0 + minutes(6), Lookup()).empty());
  auto swept = tracker_.Sweep(kT0 + minutes(9), Lookup());
  ASSERT_EQ(swept.size(), 1u);
  EXPECT_EQ(swept[0].at, kT0 + minutes(9));
}

TEST_F(TransitionTrackerTest, SweepFollowsTheStoreWhenItHoldsANewerVersion) {
  Alert a = MakeAlert("A", kT0, kT0 + minutes(5), kT0);
  ASSERT_TRUE(Feed(a, kT0));
  held_[a.fingerprint].ends_at = kT0 + minutes(20);  // put without Observe
  EXPECT_TRUE(tracker_.Sweep(kT0 + minutes(6), Lookup()).empty());
  EXPECT_TRUE(tracker_.Firing(a.fingerprint));
  EXPECT_EQ(tracker_.NextTimeout(), kT0 + minutes(20));
}

TEST_F(TransitionTrackerTest, SweepForgetsAnAlertTheStoreNoLongerHolds) {
  Alert a = MakeAlert("A", kT0, kT0 + minutes(5), kT0);
  ASSERT_TRUE(Feed(a, kT0));
  held_.clear();
  EXPECT_TRUE(tracker_.Sweep(kT0 + minutes(6), Lookup()).empty());
  EXPECT_EQ(tracker_.size(), 0u);
}

TEST_F(TransitionTrackerTest, ForgetReturnsAResolveNotYetSwept) {
  Alert a = MakeAlert("A", kT0, kT0 + minutes(5), kT0);
  Alert b = MakeAlert("B", kT0, kT0 + minutes(5), kT0);
  ASSERT_TRUE(Feed(a, kT0));
  ASSERT_TRUE(Feed(b, kT0));
  ASSERT_TRUE(Feed(MakeAlert("B", kT0, kT0 + minutes(1), kT0 + minutes(1)), kT0 + minutes(1)));

  // GC at +40 min drops both before any Sweep.
  auto t = tracker_.Forget(held_[a.fingerprint]);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->state, TransitionState::kResolved);
  EXPECT_EQ(t->at, kT0 + minutes(5));
  EXPECT_EQ(t->labels, a.labels);
  EXPECT_FALSE(tracker_.Forget(held_[b.fingerprint]));  // its resolve was already seen
  EXPECT_EQ(tracker_.size(), 0u);
  EXPECT_TRUE(tracker_.Sweep(kT0 + hours(1), Lookup()).empty());
  EXPECT_FALSE(tracker_.Forget(held_[a.fingerprint]));  // unknown now

  // Sent again after being forgotten: new.
  EXPECT_TRUE(Feed(MakeAlert("A", kT0 + hours(1), kT0 + hours(2), kT0 + hours(1)), kT0 + hours(1)));
}

TEST_F(TransitionTrackerTest, RestoredAlertsSentAgainAreNotNew) {
  AlertTransition last;
  last.at = kT0 - hours(1);
  last.fingerprint = MakeAlert("A", kT0, {}, kT0).fingerprint;
  last.labels = MakeAlert("A", kT0, {}, kT0).labels;
  last.state = TransitionState::kFiring;
  last.starts_at = kT0 - hours(1);
  last.ends_at = kT0 - minutes(55);
  last.source = "rule";
  AlertTransition gone = last;
  gone.fingerprint = MakeAlert("B", kT0, {}, kT0).fingerprint;
  gone.labels = MakeAlert("B", kT0, {}, kT0).labels;

  tracker_.Restore({last, gone}, kT0, minutes(5));
  EXPECT_EQ(tracker_.size(), 2u);
  EXPECT_TRUE(tracker_.Firing(last.fingerprint));
  EXPECT_EQ(tracker_.NextTimeout(), kT0 + minutes(5));  // the grace, not the past end

  EXPECT_FALSE(Feed(MakeAlert("A", kT0 - hours(1), kT0 + minutes(10), kT0 + minutes(1)),
                    kT0 + minutes(1), "rule"));
  // B is not sent again: it resolves when the grace ends, from what was recorded.
  auto swept = tracker_.Sweep(kT0 + minutes(5), Lookup());
  ASSERT_EQ(swept.size(), 1u);
  EXPECT_EQ(swept[0].fingerprint, gone.fingerprint);
  EXPECT_EQ(swept[0].state, TransitionState::kResolved);
  EXPECT_EQ(swept[0].at, kT0 + minutes(5));
  EXPECT_EQ(swept[0].labels, gone.labels);
  EXPECT_EQ(swept[0].starts_at, kT0 - hours(1));
  EXPECT_EQ(swept[0].source, "rule");
  EXPECT_EQ(tracker_.size(), 1u);  // B forgotten, A tracked
}

// ---- AlertHistory ----

AlertTransition At(Timestamp at, const std::string& name, TransitionState state,
                   const std::string& severity = "critical") {
  AlertTransition t;
  t.at = at;
  t.labels = {{"alertname", name}, {"severity", severity}};
  t.fingerprint = Fingerprint(t.labels);
  t.state = state;
  t.starts_at = at - minutes(1);
  if (state == TransitionState::kResolved) t.ends_at = at;
  t.source = "api";
  t.annotations = {{"summary", name}};
  return t;
}

Matcher M(std::string_view text) {
  auto m = ParseMatcher(text);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return *m;
}

class AlertHistoryTest : public ::testing::Test {
 protected:
  std::vector<Timestamp> Times(const HistoryPage& page) {
    std::vector<Timestamp> out;
    for (const auto& t : page.items) out.push_back(t.at);
    return out;
  }
  std::vector<std::string> Names(const HistoryPage& page) {
    std::vector<std::string> out;
    for (const auto& t : page.items) out.emplace_back(t.labels.Get("alertname"));
    return out;
  }
  // Every page of a query, following the cursors.
  std::vector<HistoryPage> AllPages(const AlertHistory& history, const HistoryFilter& f,
                                    int limit) {
    std::vector<HistoryPage> pages;
    int64_t cursor = 0;
    for (int i = 0; i < 1000; ++i) {
      auto page = history.Query(f, limit, cursor);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) break;
      pages.push_back(*page);
      if (!page->next_cursor) break;
      cursor = *page->next_cursor;
    }
    return pages;
  }

  testing::TempStore store_{AlertHistory::Migrations()};
  AlertHistory history_{store_.store()};
};

TEST_F(AlertHistoryTest, RecordsAndReadsBackNewestFirst) {
  AlertTransition fired = At(kT0, "Down", TransitionState::kFiring);
  fired.ends_at = kT0 + minutes(5);
  fired.source = "rule";
  fired.annotations = {{"summary", "it is \"down\""}, {"runbook", "https://x/y"}};
  AlertTransition resolved = At(kT0 + minutes(3), "Down", TransitionState::kResolved);
  resolved.flapping = true;
  ASSERT_TRUE(history_.Record({fired, resolved}).ok());
  ASSERT_TRUE(history_.Record({}).ok());

  auto page = history_.Query({}, 10);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0], resolved);
  EXPECT_EQ(page->items[1], fired);
  EXPECT_EQ(page->next_cursor, std::nullopt);
}

TEST_F(AlertHistoryTest, NewestFirstIsByTimeNotByRecordingOrder) {
  // A time-out resolve is recorded after a later firing of another alert.
  ASSERT_TRUE(history_.Record({At(kT0 + minutes(10), "B", TransitionState::kFiring)}).ok());
  ASSERT_TRUE(history_.Record({At(kT0 + minutes(5), "A", TransitionState::kResolved)}).ok());
  ASSERT_TRUE(history_.Record({At(kT0 + minutes(7), "C", TransitionState::kFiring)}).ok());
  auto page = history_.Query({}, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Names(*page), (std::vector<std::string>{"B", "C", "A"}));
}

TEST_F(AlertHistoryTest, FiltersByTimeFingerprintAndState) {
  std::vector<AlertTransition> ts;
  for (int i = 0; i < 6; ++i) {
    ts.push_back(At(kT0 + minutes(i), i % 2 ? "B" : "A",
                    i % 3 ? TransitionState::kFiring : TransitionState::kResolved));
  }
  ASSERT_TRUE(history_.Record(ts).ok());

  HistoryFilter range;
  range.from = kT0 + minutes(1);  // inclusive
  range.to = kT0 + minutes(4);    // exclusive
  auto page = history_.Query(range, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Times(*page),
            (std::vector<Timestamp>{kT0 + minutes(3), kT0 + minutes(2), kT0 + minutes(1)}));

  HistoryFilter by_fp;
  by_fp.fingerprint = ts[1].fingerprint;  // "B": minutes 1, 3, 5
  page = history_.Query(by_fp, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Times(*page),
            (std::vector<Timestamp>{kT0 + minutes(5), kT0 + minutes(3), kT0 + minutes(1)}));

  HistoryFilter resolved;
  resolved.state = TransitionState::kResolved;  // minutes 0 and 3
  page = history_.Query(resolved, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Times(*page), (std::vector<Timestamp>{kT0 + minutes(3), kT0}));
}

TEST_F(AlertHistoryTest, FiltersByMatchers) {
  ASSERT_TRUE(history_
                  .Record({At(kT0, "DiskFull", TransitionState::kFiring, "critical"),
                           At(kT0 + minutes(1), "DiskFull", TransitionState::kFiring, "warning"),
                           At(kT0 + minutes(2), "Down", TransitionState::kFiring, "crit-page"),
                           At(kT0 + minutes(3), "Down", TransitionState::kResolved, "info")})
                  .ok());
  HistoryFilter f;
  f.matchers = {M(R"(alertname="DiskFull")")};
  auto page = history_.Query(f, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Times(*page), (std::vector<Timestamp>{kT0 + minutes(1), kT0}));

  // Regular expressions are anchored: "crit.*" matches "critical" and "crit-page", not "info".
  f.matchers = {M(R"(severity=~"crit.*")")};
  page = history_.Query(f, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Times(*page), (std::vector<Timestamp>{kT0 + minutes(2), kT0}));

  // The brace form, every matcher must match.
  auto parsed = ParseMatchers(R"({alertname="Down",severity!~"crit.*"})");
  ASSERT_TRUE(parsed.ok());
  f.matchers = *parsed;
  page = history_.Query(f, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Times(*page), (std::vector<Timestamp>{kT0 + minutes(3)}));

  // A label no alert has reads as "".
  f.matchers = {M(R"(team="db")")};
  page = history_.Query(f, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->items.empty());
  EXPECT_EQ(page->next_cursor, std::nullopt);
}

TEST_F(AlertHistoryTest, PagesWithoutFilter) {
  std::vector<AlertTransition> ts;
  for (int i = 0; i < 5; ++i) ts.push_back(At(kT0 + minutes(i), "A", TransitionState::kFiring));
  ASSERT_TRUE(history_.Record(ts).ok());
  auto pages = AllPages(history_, {}, 2);
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(Times(pages[0]), (std::vector<Timestamp>{kT0 + minutes(4), kT0 + minutes(3)}));
  EXPECT_EQ(Times(pages[1]), (std::vector<Timestamp>{kT0 + minutes(2), kT0 + minutes(1)}));
  EXPECT_EQ(Times(pages[2]), (std::vector<Timestamp>{kT0}));
  EXPECT_EQ(pages[2].next_cursor, std::nullopt);
}

TEST_F(AlertHistoryTest, PagesStayCorrectWhenMatchersFilter) {
  // 1,200 transitions (more than one scan batch), every third one of "Match", several at the
  // same time so that the order falls back to the recording order.
  std::vector<AlertTransition> ts;
  std::vector<Timestamp> want;
  for (int i = 0; i < 1200; ++i) {
    const bool match = i % 3 == 0;
    ts.push_back(At(kT0 + seconds(i / 2), match ? "Match" : "Other", TransitionState::kFiring));
    if (match) want.push_back(kT0 + seconds(i / 2));
  }
  ASSERT_TRUE(history_.Record(ts).ok());
  std::reverse(want.begin(), want.end());

  HistoryFilter f;
  f.matchers = {M(R"(alertname="Match")")};
  for (int limit : {1, 7, 400}) {
    SCOPED_TRACE(limit);
    std::vector<Timestamp> got;
    auto pages = AllPages(history_, f, limit);
    for (size_t i = 0; i < pages.size(); ++i) {
      // Full pages except the last; no cursor after the last one.
      if (i + 1 < pages.size()) {
        EXPECT_EQ(static_cast<int>(pages[i].items.size()), limit);
      }
      for (const auto& t : pages[i].items) {
        EXPECT_EQ(t.labels.Get("alertname"), "Match");
        got.push_back(t.at);
      }
    }
    EXPECT_EQ(pages.back().next_cursor, std::nullopt);
    EXPECT_EQ(got, want);
  }
}

TEST_F(AlertHistoryTest, AScanLimitEndsAPageEarlyWithACursorToGoOn) {
  AlertHistory small(store_.store(), {.max_scan = 10});
  std::vector<AlertTransition> ts;
  for (int i = 0; i < 25; ++i) {
    ts.push_back(
        At(kT0 + seconds(i), i == 3 || i == 20 ? "Rare" : "Common", TransitionState::kFiring));
  }
  ASSERT_TRUE(history_.Record(ts).ok());
  HistoryFilter f;
  f.matchers = {M(R"(alertname="Rare")")};
  auto pages = AllPages(small, f, 5);
  // Rows 24..15 (one match), 14..5 (none), 4..0 (one match).
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(Times(pages[0]), (std::vector<Timestamp>{kT0 + seconds(20)}));
  EXPECT_TRUE(pages[0].next_cursor.has_value());
  EXPECT_TRUE(pages[1].items.empty());
  EXPECT_TRUE(pages[1].next_cursor.has_value());
  EXPECT_EQ(Times(pages[2]), (std::vector<Timestamp>{kT0 + seconds(3)}));
  EXPECT_EQ(pages[2].next_cursor, std::nullopt);
}

TEST_F(AlertHistoryTest, RefusesABadLimitOrCursor) {
  for (int limit : {0, -1, AlertHistory::kMaxPageSize + 1}) {
    auto page = history_.Query({}, limit);
    ASSERT_FALSE(page.ok());
    EXPECT_EQ(page.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(page.status().field(), "limit");
  }
  auto page = history_.Query({}, 10, -5);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().field(), "cursor");
  // A cursor whose row was pruned: nothing older is left.
  page = history_.Query({}, 10, 12345);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->items.empty());
}

TEST_F(AlertHistoryTest, PruneDeletesWhatIsOlderThanTheRetention) {
  ASSERT_TRUE(history_
                  .Record({At(kT0 - hours(24 * 32), "Old", TransitionState::kFiring),
                           At(kT0 - hours(24 * 31), "Old", TransitionState::kResolved),
                           At(kT0 - hours(24 * 31), "Forever", TransitionState::kFiring),
                           At(kT0 - hours(24 * 30), "Edge", TransitionState::kFiring),
                           At(kT0 - hours(1), "New", TransitionState::kFiring)})
                  .ok());
  auto pruned = history_.Prune(kT0);  // default: 30 days
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 2);
  auto page = history_.Query({}, 10);
  ASSERT_TRUE(page.ok());
  // An alert still firing keeps its last (firing) row, however old: LastFiring needs it.
  EXPECT_EQ(Names(*page), (std::vector<std::string>{"New", "Edge", "Forever"}));
  auto firing = history_.LastFiring();
  ASSERT_TRUE(firing.ok());
  EXPECT_EQ(firing->size(), 3u);

  ASSERT_TRUE(history_.Record({At(kT0 - hours(3), "Edge", TransitionState::kResolved)}).ok());
  pruned = history_.Prune(kT0, hours(2));
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 2);  // Edge's two rows
  page = history_.Query({}, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Names(*page), (std::vector<std::string>{"New", "Forever"}));
}

TEST_F(AlertHistoryTest, LastFiringIsTheLastTransitionOfAlertsStillFiring) {
  ASSERT_TRUE(
      history_
          .Record({At(kT0, "A", TransitionState::kFiring), At(kT0, "B", TransitionState::kFiring),
                   At(kT0 + minutes(1), "A", TransitionState::kResolved),
                   At(kT0 + minutes(2), "C", TransitionState::kResolved),
                   At(kT0 + minutes(3), "B", TransitionState::kResolved),
                   At(kT0 + minutes(4), "B", TransitionState::kFiring)})
          .ok());
  auto last = history_.LastFiring();
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ((*last)[0].labels.Get("alertname"), "B");
  EXPECT_EQ((*last)[0].at, kT0 + minutes(4));
}

TEST_F(AlertHistoryTest, TheTrackerFeedsTheHistory) {
  TransitionTracker tracker;
  Alert a = MakeAlert("Down", kT0, kT0 + minutes(5), kT0);
  std::vector<AlertTransition> batch;
  if (auto t = tracker.Observe(a, "api", kT0)) batch.push_back(*t);
  for (auto& t : tracker.Sweep(kT0 + minutes(6), [&](uint64_t) { return a; })) {
    batch.push_back(t);
  }
  ASSERT_TRUE(history_.Record(batch).ok());
  auto page = history_.Query({}, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].state, TransitionState::kResolved);
  EXPECT_EQ(page->items[0].at, kT0 + minutes(5));
  EXPECT_EQ(page->items[1].state, TransitionState::kFiring);
}

TEST(TransitionStateTest, NamesRoundTrip) {
  for (auto s : {TransitionState::kFiring, TransitionState::kResolved}) {
    EXPECT_EQ(ParseTransitionState(TransitionStateName(s)), s);
  }
  EXPECT_EQ(TransitionStateName(TransitionState::kResolved), "resolved");
  EXPECT_EQ(ParseTransitionState("active"), std::nullopt);
}

}  // namespace
}  // namespace platops::alerting
