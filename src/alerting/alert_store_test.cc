#include "alerting/alert_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

namespace platops::alerting {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const Timestamp kT0 = Timestamp(milliseconds(1'767'225'600'000));  // 2026-01-01T00:00:00Z
constexpr auto kResolveTimeout = minutes(5);

Alert Posted(LabelSet labels, std::optional<Timestamp> starts = std::nullopt,
             std::optional<Timestamp> ends = std::nullopt) {
  Alert a;
  a.labels = std::move(labels);
  a.starts_at = starts;
  a.ends_at = ends;
  return a;
}

Alert Ready(Alert a, Timestamp now) {
  Normalize(a, now, kResolveTimeout);
  EXPECT_TRUE(Validate(a).ok()) << Validate(a).message();
  return a;
}

TEST(AlertStoreTest, NormalizeFillsTimesAsAlertmanagerDoes) {
  Alert a = Posted({{"alertname", "Down"}, {"empty", ""}});
  Normalize(a, kT0, kResolveTimeout);
  EXPECT_EQ(a.starts_at, kT0);
  EXPECT_EQ(a.ends_at, kT0 + kResolveTimeout);
  EXPECT_TRUE(a.timeout);
  EXPECT_EQ(a.updated_at, kT0);
  EXPECT_FALSE(a.labels.Has("empty"));  // Empty values are dropped before validation.
  EXPECT_EQ(a.fingerprint, Fingerprint(LabelSet{{"alertname", "Down"}}));

  // Only an end: the start is the end (a resolved alert for a past problem).
  Alert r = Posted({{"alertname", "Down"}}, std::nullopt, kT0 - minutes(1));
  Normalize(r, kT0, kResolveTimeout);
  EXPECT_EQ(r.starts_at, kT0 - minutes(1));
  EXPECT_FALSE(r.timeout);
  EXPECT_TRUE(r.Resolved(kT0));
}

TEST(AlertStoreTest, ValidationUsesAlertmanagersWords) {
  auto error = [](Alert a) {
    Normalize(a, kT0, kResolveTimeout);
    return Validate(a).message();
  };
  EXPECT_EQ(error(Posted({{"alertname", "Down"}}, kT0, kT0 - seconds(1))),
            "start time must be before end time");
  EXPECT_EQ(error(Posted({})), "at least one label pair required");
  EXPECT_EQ(error(Posted({{"", ""}})), "at least one label pair required");  // Dropped as empty.
  EXPECT_EQ(error(Posted({{"0x", "v"}})), "invalid label set: invalid name \"0x\"");
  EXPECT_EQ(error(Posted({{"a", "\xff"}})), "invalid label set: invalid value \"\\xff\"");
  Alert bad_annotation = Posted({{"alertname", "Down"}});
  bad_annotation.annotations = LabelSet{{"bad name", "x"}};
  EXPECT_EQ(error(bad_annotation), "invalid annotations: invalid name \"bad name\"");
  Alert unset;
  unset.labels = LabelSet{{"a", "b"}};
  EXPECT_EQ(Validate(unset).message(), "start time missing");
}

TEST(AlertStoreTest, ARepeatedAlertExtendsTheOneHeldAndKeepsItsStart) {
  AlertStore store;
  store.Put({Ready(Posted({{"alertname", "Down"}}), kT0)}, kT0);
  // Prometheus re-sends with a later start (its evaluation) and a fresh timeout.
  store.Put({Ready(Posted({{"alertname", "Down"}}, kT0 + minutes(1)), kT0 + minutes(1))},
            kT0 + minutes(1));
  ASSERT_EQ(store.size(), 1u);
  EXPECT_TRUE(store.Contains(Fingerprint(LabelSet{{"alertname", "Down"}})));
  EXPECT_FALSE(store.Contains(Fingerprint(LabelSet{{"alertname", "Up"}})));
  const Alert a = store.List()[0];
  EXPECT_EQ(a.starts_at, kT0);
  EXPECT_EQ(a.ends_at, kT0 + minutes(1) + kResolveTimeout);
  EXPECT_EQ(a.updated_at, kT0 + minutes(1));
}

TEST(AlertStoreTest, ASnapshotKeepsTheVersionsItTookWhilePutsGoOn) {
  AlertStore store;
  const LabelSet labels{{"alertname", "Down"}};
  store.Put({Ready(Posted(labels, kT0), kT0)}, kT0);
  auto before = store.Snapshot();
  ASSERT_EQ(before.size(), 1u);
  // Resolved while the snapshot is held: the snapshot still shows it firing.
  store.Put({Ready(Posted(labels, kT0, kT0 + minutes(2)), kT0 + minutes(3))}, kT0 + minutes(3));
  EXPECT_FALSE(before[0]->Resolved(kT0 + minutes(3)));
  auto after = store.Snapshot();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_TRUE(after[0]->Resolved(kT0 + minutes(3)));
  EXPECT_NE(before[0].get(), after[0].get());
  // With no snapshot held, an update reuses the version (and still shows through Get).
  const Alert* held = after[0].get();
  after.clear();
  before.clear();
  store.Put({Ready(Posted(labels, kT0 + minutes(4)), kT0 + minutes(4))}, kT0 + minutes(4));
  auto again = store.Snapshot();
  EXPECT_EQ(again[0].get(), held);
  EXPECT_FALSE(store.Get(Fingerprint(labels))->Resolved(kT0 + minutes(4)));
  // Sorted by fingerprint, as List is.
  store.Put({Ready(Posted({{"alertname", "Other"}}, kT0), kT0)}, kT0);
  auto two = store.Snapshot();
  ASSERT_EQ(two.size(), 2u);
  EXPECT_LT(two[0]->fingerprint, two[1]->fingerprint);
}

TEST(AlertStoreTest, AnExplicitEndResolvesAndAnEarlierEndIsKeptOverATimeout) {
  AlertStore store;
  const LabelSet labels{{"alertname", "Down"}, {"job", "node"}};
  store.Put({Ready(Posted(labels, kT0, kT0 + minutes(10)), kT0)}, kT0);
  // A later post without an end (timeout) does not shorten the sender's explicit end.
  store.Put({Ready(Posted(labels, kT0), kT0 + minutes(1))}, kT0 + minutes(1));
  EXPECT_EQ(store.Get(Fingerprint(labels))->ends_at, kT0 + minutes(10));
  // Resolution: an end in the past.
  store.Put({Ready(Posted(labels, kT0, kT0 + minutes(2)), kT0 + minutes(3))}, kT0 + minutes(3));
  const auto a = store.Get(Fingerprint(labels));
  EXPECT_EQ(a->ends_at, kT0 + minutes(2));
  EXPECT_TRUE(a->Resolved(kT0 + minutes(3)));
}

TEST(AlertStoreTest, MergeTakesTheYoungerAlertWhicheverWayRound) {
  Alert older = Ready(Posted({{"alertname", "A"}}, kT0, kT0 + minutes(10)), kT0);
  older.annotations = LabelSet{{"summary", "old"}};
  Alert younger = Ready(Posted({{"alertname", "A"}}, kT0 + minutes(1)), kT0 + minutes(1));
  younger.annotations = LabelSet{{"summary", "new"}};
  for (const Alert& m :
       {Merge(older, younger, kT0 + minutes(1)), Merge(younger, older, kT0 + minutes(1))}) {
    EXPECT_EQ(m.annotations.Get("summary"), "new");
    EXPECT_EQ(m.starts_at, kT0);
    EXPECT_EQ(m.ends_at, kT0 + minutes(10));  // The older explicit end is later.
  }
  // An older end that only came from resolve_timeout does not outlast the sender's own end.
  Alert timed_out = Ready(Posted({{"alertname", "A"}}, kT0), kT0);
  Alert explicit_end = Ready(Posted({{"alertname", "A"}}, kT0, kT0 + minutes(3)), kT0 + minutes(1));
  EXPECT_EQ(Merge(timed_out, explicit_end, kT0 + minutes(1)).ends_at, kT0 + minutes(3));
  // Both resolved: the latest explicit end wins.
  Alert r1 = Ready(Posted({{"alertname", "A"}}, kT0, kT0 + minutes(3)), kT0);
  Alert r2 = Ready(Posted({{"alertname", "A"}}, kT0, kT0 + minutes(2)), kT0 + minutes(5));
  EXPECT_EQ(Merge(r1, r2, kT0 + minutes(5)).ends_at, kT0 + minutes(3));
}

TEST(AlertStoreTest, ANewOccurrenceAfterResolutionReplacesTheOldAlert) {
  AlertStore store;
  const LabelSet labels{{"alertname", "Down"}};
  store.Put({Ready(Posted(labels, kT0, kT0 + minutes(1)), kT0 + minutes(2))}, kT0 + minutes(2));
  store.Put({Ready(Posted(labels, kT0 + minutes(10)), kT0 + minutes(10))}, kT0 + minutes(10));
  const auto a = store.Get(Fingerprint(labels));
  EXPECT_EQ(a->starts_at, kT0 + minutes(10));  // Not merged: the ranges do not overlap.
  EXPECT_FALSE(a->Resolved(kT0 + minutes(10)));
}

TEST(AlertStoreTest, GcRemovesResolvedAlertsOnly) {
  AlertStore store;
  store.Put({Ready(Posted({{"alertname", "Gone"}}, kT0, kT0 + minutes(1)), kT0),
             Ready(Posted({{"alertname", "Here"}}), kT0)},
            kT0);
  EXPECT_TRUE(store.GC(kT0).empty());
  auto removed = store.GC(kT0 + minutes(1));
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].labels.Get("alertname"), "Gone");
  EXPECT_EQ(store.size(), 1u);
  // The timeout resolves the other one.
  EXPECT_EQ(store.GC(kT0 + kResolveTimeout).size(), 1u);
  EXPECT_EQ(store.size(), 0u);
}

TEST(AlertStoreTest, ConcurrentIntakeKeepsEveryAlert) {
  AlertStore store;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        store.Put({Ready(Posted({{"alertname", "A"},
                                 {"i", std::to_string(i)},
                                 {"t", std::to_string(t)}}),
                         kT0)},
                  kT0);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store.size(), 2000u);
  auto all = store.List();
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(), [](const Alert& a, const Alert& b) {
    return a.fingerprint < b.fingerprint;
  }));
}

}  // namespace
}  // namespace platops::alerting
