#include "alerting/silence.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace platops::alerting {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

Matcher M(std::string_view text) {
  Result<Matcher> m = ParseMatcher(text);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return *m;
}

std::vector<Matcher> Ms(std::initializer_list<std::string_view> texts) {
  std::vector<Matcher> out;
  for (std::string_view t : texts) out.push_back(M(t));
  return out;
}

// 09:00-17:00 UTC every day.
TimeInterval OfficeHours() {
  TimeInterval interval;
  interval.times = std::vector<TimeRange>{{9 * 60, 17 * 60}};
  return interval;
}

class SilenceSetTest : public ::testing::Test {
 protected:
  // T0 is 2026-01-01T00:00:00Z.
  SilenceSetTest() : set_([this] { return ++counter_; }) {}

  Timestamp T0() const { return Timestamp(milliseconds(1767225600000)); }
  Timestamp Now() const { return clock_.Now(); }

  Silence Make(std::vector<Matcher> matchers, Timestamp start, Timestamp end) {
    Silence s;
    s.matchers = std::move(matchers);
    s.starts_at = start;
    s.ends_at = end;
    s.created_by = "alice";
    s.comment = "maintenance";
    return s;
  }

  std::string MustSet(Silence s) {
    Result<std::string> id = set_.Set(std::move(s), Now());
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : std::string();
  }

  Silence MustGet(const std::string& id) {
    Result<Silence> s = set_.Get(id);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : Silence{};
  }

  uint64_t counter_ = 0;
  FakeClock clock_;
  SilenceSet set_;
};

// --- Model ---------------------------------------------------------------------------------

TEST(FormatUuidV4Test, SetsVersionAndVariantBits) {
  EXPECT_EQ(FormatUuidV4(0, 0), "00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(FormatUuidV4(~uint64_t{0}, ~uint64_t{0}), "ffffffff-ffff-4fff-bfff-ffffffffffff");
  EXPECT_EQ(FormatUuidV4(0x0123456789abcdefULL, 0xfedcba9876543210ULL),
            "01234567-89ab-4def-bedc-ba9876543210");
}

TEST_F(SilenceSetTest, StateFollowsTheClock) {
  Silence s = Make(Ms({"job=\"api\""}), T0() + hours(1), T0() + hours(2));
  EXPECT_EQ(StateAt(s, Now()), SilenceState::kPending);
  clock_.Advance(hours(1) - milliseconds(1));
  EXPECT_EQ(StateAt(s, Now()), SilenceState::kPending);
  clock_.Advance(milliseconds(1));
  EXPECT_EQ(StateAt(s, Now()), SilenceState::kActive);
  EXPECT_TRUE(IsMuting(s, Now()));
  clock_.Advance(hours(1) - milliseconds(1));
  EXPECT_EQ(StateAt(s, Now()), SilenceState::kActive);
  clock_.Advance(milliseconds(1));  // now == ends_at: expired, as the API reports it
  EXPECT_EQ(StateAt(s, Now()), SilenceState::kExpired);
  EXPECT_FALSE(IsMuting(s, Now()));
  EXPECT_EQ(SilenceStateString(SilenceState::kPending), "pending");
  EXPECT_EQ(SilenceStateString(SilenceState::kActive), "active");
  EXPECT_EQ(SilenceStateString(SilenceState::kExpired), "expired");
}

// --- Validation ----------------------------------------------------------------------------

TEST(ValidateSilenceTest, RequiresAMatcher) {
  Silence s;
  s.ends_at = s.starts_at + hours(1);
  Status st = ValidateSilence(s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "silence invalid: at least one matcher required");
  EXPECT_EQ(st.field(), "matchers");
}

TEST(ValidateSilenceTest, RejectsInvalidLabelNameWithIndex) {
  Silence s;
  s.matchers = Ms({"job=\"api\"", "foo:bar=\"x\""});  // the parser accepts ':'; silences do not
  s.ends_at = s.starts_at + hours(1);
  Status st = ValidateSilence(s);
  EXPECT_EQ(st.message(),
            "silence invalid: invalid label matcher 1: invalid label name \"foo:bar\"");
  EXPECT_EQ(st.field(), "matchers[1].name");
}

TEST(ValidateSilenceTest, RejectsInvalidUtf8Value) {
  Silence s;
  s.matchers.push_back(*Matcher::Create(MatchType::kNotEqual, "job", "a\xff"));
  s.ends_at = s.starts_at + hours(1);
  Status st = ValidateSilence(s);
  EXPECT_EQ(st.message(),
            "silence invalid: invalid label matcher 0: invalid label value \"a\\xff\"");
  EXPECT_EQ(st.field(), "matchers[0].value");
}

TEST(ValidateSilenceTest, AtLeastOneMatcherMustNotMatchTheEmptyString) {
  const std::string message =
      "silence invalid: at least one matcher must not match the empty string";
  for (auto matchers : {Ms({"job=\"\""}), Ms({"job=~\".*\""}), Ms({"job=~\"a*\"", "env=\"\""})}) {
    Silence s;
    s.matchers = matchers;
    s.ends_at = s.starts_at + hours(1);
    Status st = ValidateSilence(s);
    EXPECT_EQ(st.message(), message) << MatchersString(matchers);
    EXPECT_EQ(st.field(), "matchers");
  }
  // Alertmanager counts only `=""` and regexes accepting "": negative matchers alone pass even
  // though they accept alerts without the label.
  for (auto matchers :
       {Ms({"job!=\"api\""}), Ms({"job!~\"a.*\""}), Ms({"job=\"\"", "env=\"x\""})}) {
    Silence s;
    s.matchers = matchers;
    s.ends_at = s.starts_at + hours(1);
    EXPECT_TRUE(ValidateSilence(s).ok()) << MatchersString(matchers);
  }
}

TEST(ValidateSilenceTest, EndMustNotBeBeforeStart) {
  Silence s;
  s.matchers = Ms({"job=\"api\""});
  s.ends_at = s.starts_at - milliseconds(1);
  Status st = ValidateSilence(s);
  EXPECT_EQ(st.message(), "silence invalid: end time must not be before start time");
  EXPECT_EQ(st.field(), "endsAt");
  s.ends_at = s.starts_at;  // equal is the state of an expired pending silence: valid here
  EXPECT_TRUE(ValidateSilence(s).ok());
}

TEST(ValidateSilenceTest, CreatorAndCommentMayBeEmpty) {
  Silence s;
  s.matchers = Ms({"job=\"api\""});
  s.ends_at = s.starts_at + hours(1);
  EXPECT_TRUE(s.created_by.empty() && s.comment.empty());
  EXPECT_TRUE(ValidateSilence(s).ok());
}

TEST(ValidateSilenceTest, ChecksRecurrence) {
  Silence s;
  s.matchers = Ms({"job=\"api\""});
  s.starts_at = Timestamp(hours(10));
  s.ends_at = s.starts_at + hours(10);
  s.recurrence = RecurringSchedule{};
  Status st = ValidateSilence(s);
  EXPECT_EQ(st.message(), "recurrence: at least one time interval required");
  EXPECT_EQ(st.field(), "recurrence.intervals");

  s.recurrence->intervals.push_back(OfficeHours());
  s.recurrence->expires_at = s.starts_at - milliseconds(1);
  st = ValidateSilence(s);
  EXPECT_EQ(st.message(), "recurrence: expiry must not be before start time");
  EXPECT_EQ(st.field(), "recurrence.expiresAt");
  s.recurrence->expires_at = s.starts_at;
  EXPECT_TRUE(ValidateSilence(s).ok());
}

TEST(MakeSilenceMatcherTest, UsesAlertmanagerWording) {
  Result<Matcher> m = MakeSilenceMatcher(2, MatchType::kRegex, "job", "api|web");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->String(), "job=~\"api|web\"");

  m = MakeSilenceMatcher(0, MatchType::kEqual, "0job", "x");
  EXPECT_EQ(m.status().message(),
            "silence invalid: invalid label matcher 0: invalid label name \"0job\"");
  EXPECT_EQ(m.status().field(), "matchers[0].name");

  m = MakeSilenceMatcher(1, MatchType::kEqual, "job", "\xff");
  EXPECT_EQ(m.status().message(),
            "silence invalid: invalid label matcher 1: invalid label value \"\\xff\"");
  EXPECT_EQ(m.status().field(), "matchers[1].value");

  m = MakeSilenceMatcher(3, MatchType::kNotRegex, "job", "a[");
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(),
            "silence invalid: invalid label matcher 3: invalid regular expression \"a[\": "
            "error parsing regexp: missing closing ]: `[)$`");
  EXPECT_EQ(m.status().field(), "matchers[3].value");

  // The name is checked before the regex, as validateMatcher does.
  m = MakeSilenceMatcher(0, MatchType::kRegex, "", "a[");
  EXPECT_EQ(m.status().field(), "matchers[0].name");
}

TEST_F(SilenceSetTest, SetRejectsStartNotBeforeEnd) {
  for (Timestamp end : {Now() + hours(1), Now() + hours(1) - milliseconds(1)}) {
    Result<std::string> id = set_.Set(Make(Ms({"job=\"api\""}), Now() + hours(1), end), Now());
    EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(id.status().message(),
              "Failed to create silence: start time must be before end time");
    EXPECT_EQ(id.status().field(), "endsAt");
  }
  EXPECT_EQ(set_.Size(), 0u);
}

TEST_F(SilenceSetTest, SetRejectsEndInThePast) {
  Result<std::string> id =
      set_.Set(Make(Ms({"job=\"api\""}), Now() - hours(2), Now() - milliseconds(1)), Now());
  EXPECT_EQ(id.status().message(), "Failed to create silence: end time can't be in the past");
  EXPECT_EQ(id.status().field(), "endsAt");
  EXPECT_EQ(set_.Size(), 0u);
}

TEST_F(SilenceSetTest, SetReportsValidationErrors) {
  Result<std::string> id = set_.Set(Make(Ms({"job=~\".*\""}), Now(), Now() + hours(1)), Now());
  EXPECT_EQ(id.status().message(),
            "silence invalid: at least one matcher must not match the empty string");
  id = set_.Set(Make({}, Now(), Now() + hours(1)), Now());
  EXPECT_EQ(id.status().message(), "silence invalid: at least one matcher required");
  EXPECT_EQ(set_.Size(), 0u);
}

// --- Create and update ---------------------------------------------------------------------

TEST_F(SilenceSetTest, CreateAssignsUuidAndClampsStartToNow) {
  std::string id = MustSet(Make(Ms({"job=\"api\""}), Now() - hours(1), Now() + hours(1)));
  EXPECT_EQ(id, "00000000-0000-4001-8000-000000000002");
  Silence s = MustGet(id);
  EXPECT_EQ(s.id, id);
  EXPECT_EQ(s.starts_at, Now());
  EXPECT_EQ(s.ends_at, Now() + hours(1));
  EXPECT_EQ(s.updated_at, Now());
  EXPECT_EQ(s.created_by, "alice");
  EXPECT_EQ(s.comment, "maintenance");
  EXPECT_EQ(StateAt(s, Now()), SilenceState::kActive);

  std::string later = MustSet(Make(Ms({"job=\"web\""}), Now() + hours(1), Now() + hours(2)));
  EXPECT_EQ(later, "00000000-0000-4003-8000-000000000004");
  EXPECT_EQ(MustGet(later).starts_at, Now() + hours(1));
  EXPECT_EQ(StateAt(MustGet(later), Now()), SilenceState::kPending);
}

TEST_F(SilenceSetTest, UnknownIdIsNotFound) {
  Silence s = Make(Ms({"job=\"api\""}), Now(), Now() + hours(1));
  s.id = "no-such-id";
  Result<std::string> id = set_.Set(s, Now());
  EXPECT_EQ(id.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(id.status().message(), "silence not found");
  EXPECT_EQ(set_.Size(), 0u);
}

TEST_F(SilenceSetTest, ActiveSilenceEndCanMoveInPlace) {
  std::string id = MustSet(Make(Ms({"job=\"api\""}), Now(), Now() + hours(2)));
  clock_.Advance(minutes(30));

  Silence s = MustGet(id);
  s.ends_at = Now() + hours(5);  // extend
  s.comment = "longer";
  EXPECT_EQ(MustSet(s), id);
  EXPECT_EQ(MustGet(id).ends_at, Now() + hours(5));
  EXPECT_EQ(MustGet(id).comment, "longer");
  EXPECT_EQ(MustGet(id).updated_at, Now());

  s.ends_at = Now() + minutes(1);  // shorten, still in the future
  EXPECT_EQ(MustSet(s), id);
  EXPECT_EQ(MustGet(id).ends_at, Now() + minutes(1));
  EXPECT_EQ(set_.Size(), 1u);
}

TEST_F(SilenceSetTest, ActiveSilenceStartMayMoveWithinItsUnixSecond) {
  const Timestamp start = T0() + milliseconds(200);
  clock_.Set(start);
  std::string id = MustSet(Make(Ms({"job=\"api\""}), start, start + hours(1)));
  clock_.Advance(minutes(1));
  Silence s = MustGet(id);
  s.starts_at = T0() + milliseconds(900);  // same second: in place
  EXPECT_EQ(MustSet(s), id);
  EXPECT_EQ(MustGet(id).starts_at, T0() + milliseconds(900));
  s.starts_at = T0() + seconds(1);  // next second: replaced
  EXPECT_NE(MustSet(s), id);
}

TEST_F(SilenceSetTest, ActiveSilenceStartChangeReplacesIt) {
  const Timestamp created = Now();
  std::string id = MustSet(Make(Ms({"job=\"api\""}), created, created + hours(2)));
  clock_.Advance(minutes(30));

  Silence s = MustGet(id);
  s.starts_at = created - hours(1);
  std::string new_id = MustSet(s);
  EXPECT_NE(new_id, id);

  Silence old = MustGet(id);
  EXPECT_EQ(old.starts_at, created);
  EXPECT_EQ(old.ends_at, Now());
  EXPECT_EQ(old.updated_at, Now());
  EXPECT_EQ(StateAt(old, Now()), SilenceState::kExpired);

  Silence replacement = MustGet(new_id);
  EXPECT_EQ(replacement.starts_at, Now());  // raised from the past to now
  EXPECT_EQ(replacement.ends_at, created + hours(2));
  EXPECT_EQ(StateAt(replacement, Now()), SilenceState::kActive);
}

TEST_F(SilenceSetTest, MatcherChangeReplacesActiveAndPendingSilences) {
  std::string active = MustSet(Make(Ms({"job=\"api\""}), Now(), Now() + hours(2)));
  std::string pending = MustSet(Make(Ms({"job=\"db\""}), Now() + hours(1), Now() + hours(2)));
  clock_.Advance(minutes(10));

  Silence a = MustGet(active);
  a.matchers = Ms({"job=\"api\"", "env=\"prod\""});
  std::string a2 = MustSet(a);
  EXPECT_NE(a2, active);
  EXPECT_EQ(StateAt(MustGet(active), Now()), SilenceState::kExpired);
  EXPECT_EQ(MatchersString(MustGet(a2).matchers), "{job=\"api\",env=\"prod\"}");

  Silence p = MustGet(pending);
  p.matchers = Ms({"job=~\"db\""});  // same name and value, another type
  std::string p2 = MustSet(p);
  EXPECT_NE(p2, pending);
  Silence old = MustGet(pending);
  EXPECT_EQ(old.starts_at, Now());  // an expired pending silence starts and ends now
  EXPECT_EQ(old.ends_at, Now());
  EXPECT_EQ(StateAt(MustGet(p2), Now()), SilenceState::kPending);
  EXPECT_EQ(set_.Size(), 4u);
}

TEST_F(SilenceSetTest, MatcherOrderCountsAsAChange) {
  std::string id = MustSet(Make(Ms({"a=\"1\"", "b=\"2\""}), Now(), Now() + hours(1)));
  Silence s = MustGet(id);
  s.matchers = Ms({"b=\"2\"", "a=\"1\""});
  EXPECT_NE(MustSet(s), id);
}

TEST_F(SilenceSetTest, PendingSilenceTimesCanMoveForwardInPlace) {
  std::string id = MustSet(Make(Ms({"job=\"api\""}), Now() + hours(2), Now() + hours(3)));
  Silence s = MustGet(id);
  s.starts_at = Now() + hours(4);
  s.ends_at = Now() + hours(8);
  EXPECT_EQ(MustSet(s), id);
  s.starts_at = Now() + hours(1);  // earlier, but not before now
  s.ends_at = Now() + hours(1) + minutes(1);
  EXPECT_EQ(MustSet(s), id);
  s.starts_at = Now();  // exactly now: still in place, and now active
  EXPECT_EQ(MustSet(s), id);
  EXPECT_EQ(StateAt(MustGet(id), Now()), SilenceState::kActive);
  EXPECT_EQ(set_.Size(), 1u);
}

TEST_F(SilenceSetTest, PendingSilenceStartInThePastReplacesIt) {
  std::string id = MustSet(Make(Ms({"job=\"api\""}), Now() + hours(2), Now() + hours(3)));
  clock_.Advance(hours(1));
  Silence s = MustGet(id);
  s.starts_at = Now() - milliseconds(1);
  std::string new_id = MustSet(s);
  EXPECT_NE(new_id, id);
  EXPECT_EQ(MustGet(id).starts_at, Now());
  EXPECT_EQ(MustGet(id).ends_at, Now());
  EXPECT_EQ(MustGet(new_id).starts_at, Now());
  EXPECT_EQ(StateAt(MustGet(new_id), Now()), SilenceState::kActive);
}

TEST_F(SilenceSetTest, ExpiredSilenceIsNeverUpdatedButRecreated) {
  std::string id = MustSet(Make(Ms({"job=\"api\""}), Now(), Now() + hours(1)));
  clock_.Advance(hours(2));
  const Silence before = MustGet(id);
  Silence s = before;
  s.ends_at = Now() + hours(1);
  std::string new_id = MustSet(s);
  EXPECT_NE(new_id, id);
  const Silence after = MustGet(id);
  EXPECT_EQ(after.ends_at, before.ends_at);
  EXPECT_EQ(after.updated_at, before.updated_at);  // the old one is left as it was
  EXPECT_EQ(MustGet(new_id).starts_at, Now());
  EXPECT_EQ(StateAt(MustGet(new_id), Now()), SilenceState::kActive);
}

TEST_F(SilenceSetTest, FailedReplacementLeavesTheOldSilenceActive) {
  std::string id = MustSet(Make(Ms({"job=\"api\""}), Now(), Now() + hours(1)));
  Silence s = MustGet(id);
  s.matchers = Ms({"job=\"\""});
  Result<std::string> r = set_.Set(s, Now());
  EXPECT_EQ(r.status().message(),
            "silence invalid: at least one matcher must not match the empty string");
  EXPECT_EQ(StateAt(MustGet(id), Now()), SilenceState::kActive);
  EXPECT_EQ(set_.Size(), 1u);
}

TEST_F(SilenceSetTest, RecurrenceChangeReplacesTheSilence) {
  Silence s = Make(Ms({"job=\"api\""}), Now(), Now() + hours(48));
  s.recurrence = RecurringSchedule{{OfficeHours()}, std::nullopt};
  std::string id = MustSet(s);
  s = MustGet(id);
  s.ends_at = Now() + hours(72);
  EXPECT_EQ(MustSet(s), id);  // same schedule: in place
  s.recurrence->expires_at = Now() + hours(24);
  EXPECT_NE(MustSet(s), id);
}

TEST(CanUpdateTest, ActiveSilenceMayNotEndInThePast) {
  // Unreachable through SilenceSet::Set, whose API check rejects a past end first.
  Silence prev;
  prev.matchers = Ms({"job=\"api\""});
  prev.starts_at = Timestamp(hours(1));
  prev.ends_at = Timestamp(hours(3));
  const Timestamp now = Timestamp(hours(2));
  Silence next = prev;
  next.ends_at = now - milliseconds(1);
  EXPECT_FALSE(CanUpdate(prev, next, now));
  next.ends_at = now;
  EXPECT_TRUE(CanUpdate(prev, next, now));
}

// --- Expire, Get, List ---------------------------------------------------------------------

TEST_F(SilenceSetTest, ExpireActiveThenTwice) {
  const Timestamp created = Now();
  std::string id = MustSet(Make(Ms({"job=\"api\""}), created, created + hours(1)));
  clock_.Advance(minutes(5));
  ASSERT_TRUE(set_.Expire(id, Now()).ok());
  Silence s = MustGet(id);
  EXPECT_EQ(s.starts_at, created);
  EXPECT_EQ(s.ends_at, Now());
  EXPECT_EQ(s.updated_at, Now());
  EXPECT_EQ(StateAt(s, Now()), SilenceState::kExpired);

  Status again = set_.Expire(id, Now());
  EXPECT_EQ(again.code(), StatusCode::kConflict);
  EXPECT_EQ(again.message(), "silence " + id + " already expired");
  clock_.Advance(hours(1));
  EXPECT_EQ(set_.Expire(id, Now()).message(), "silence " + id + " already expired");
}

TEST_F(SilenceSetTest, ExpirePendingMovesBothTimesToNow) {
  std::string id = MustSet(Make(Ms({"job=\"api\""}), Now() + hours(1), Now() + hours(2)));
  clock_.Advance(minutes(5));
  ASSERT_TRUE(set_.Expire(id, Now()).ok());
  EXPECT_EQ(MustGet(id).starts_at, Now());
  EXPECT_EQ(MustGet(id).ends_at, Now());
  EXPECT_EQ(StateAt(MustGet(id), Now()), SilenceState::kExpired);
}

TEST_F(SilenceSetTest, ExpireAndGetUnknownId) {
  Status st = set_.Expire("nope", Now());
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "silence not found");
  Result<Silence> s = set_.Get("nope");
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.status().message(), "silence not found");
}

std::vector<std::string> Ids(const std::vector<Silence>& silences) {
  std::vector<std::string> ids;
  for (const Silence& s : silences) ids.push_back(s.id);
  return ids;
}

TEST_F(SilenceSetTest, ListFilterNeedsEqualMatchers) {
  std::string a = MustSet(Make(Ms({"job=\"api\"", "env=\"prod\""}), Now(), Now() + hours(1)));
  std::string b = MustSet(Make(Ms({"job=~\"api\""}), Now(), Now() + hours(2)));
  std::string c = MustSet(Make(Ms({"job=\"api\""}), Now(), Now() + hours(3)));

  EXPECT_EQ(Ids(set_.List(Now())), (std::vector<std::string>{a, b, c}));
  EXPECT_EQ(Ids(set_.List(Now(), Ms({"job=\"api\""}))), (std::vector<std::string>{a, c}));
  EXPECT_EQ(Ids(set_.List(Now(), Ms({"job=~\"api\""}))), (std::vector<std::string>{b}));
  EXPECT_EQ(Ids(set_.List(Now(), Ms({"env=\"prod\"", "job=\"api\""}))),
            (std::vector<std::string>{a}));
  // A regex filter is compared as text, not evaluated against the silence's values.
  EXPECT_TRUE(set_.List(Now(), Ms({"job=~\"a.*\""})).empty());
  EXPECT_TRUE(set_.List(Now(), Ms({"job!=\"api\""})).empty());
}

TEST_F(SilenceSetTest, ListSortsActivePendingExpired) {
  std::string active_late = MustSet(Make(Ms({"a=\"1\""}), Now(), Now() + hours(5)));
  std::string active_early = MustSet(Make(Ms({"a=\"2\""}), Now(), Now() + hours(1)));
  std::string pending_late = MustSet(Make(Ms({"a=\"3\""}), Now() + hours(3), Now() + hours(9)));
  std::string pending_early = MustSet(Make(Ms({"a=\"4\""}), Now() + hours(2), Now() + hours(9)));
  std::string expired_first = MustSet(Make(Ms({"a=\"5\""}), Now(), Now() + hours(9)));
  ASSERT_TRUE(set_.Expire(expired_first, Now()).ok());
  clock_.Advance(minutes(1));
  std::string expired_last = MustSet(Make(Ms({"a=\"6\""}), Now(), Now() + hours(9)));
  ASSERT_TRUE(set_.Expire(expired_last, Now()).ok());

  EXPECT_EQ(Ids(set_.List(Now())),
            (std::vector<std::string>{active_early, active_late, pending_early, pending_late,
                                      expired_last, expired_first}));
}

// --- Muting --------------------------------------------------------------------------------

TEST_F(SilenceSetTest, MutesReadsAbsentLabelsAsEmpty) {
  std::string neg =
      MustSet(Make(Ms({"alertname=\"Down\"", "env!=\"prod\""}), Now(), Now() + hours(1)));
  std::string re = MustSet(Make(Ms({"instance=~\"web-[0-9]+\""}), Now(), Now() + hours(1)));
  std::string not_re =
      MustSet(Make(Ms({"alertname=\"Down\"", "team!~\"db|storage\""}), Now(), Now() + hours(1)));

  EXPECT_EQ(set_.Mutes({{"alertname", "Down"}}, Now()), (std::vector<std::string>{neg, not_re}));
  EXPECT_EQ(set_.Mutes({{"alertname", "Down"}, {"env", "prod"}}, Now()),
            (std::vector<std::string>{not_re}));
  EXPECT_EQ(set_.Mutes({{"alertname", "Down"}, {"team", "db"}, {"env", "dev"}}, Now()),
            (std::vector<std::string>{neg}));
  // Regexes are anchored: "web-1x" is not matched.
  EXPECT_EQ(set_.Mutes({{"instance", "web-12"}}, Now()), (std::vector<std::string>{re}));
  EXPECT_TRUE(set_.Mutes({{"instance", "web-1x"}}, Now()).empty());
  EXPECT_TRUE(set_.Mutes({{"alertname", "Up"}}, Now()).empty());
}

TEST_F(SilenceSetTest, OnlyActiveSilencesMute) {
  std::string id = MustSet(Make(Ms({"job=\"api\""}), Now() + hours(1), Now() + hours(2)));
  const LabelSet alert{{"job", "api"}};
  EXPECT_TRUE(set_.Mutes(alert, Now()).empty());
  clock_.Advance(hours(1));
  EXPECT_EQ(set_.Mutes(alert, Now()), (std::vector<std::string>{id}));
  ASSERT_TRUE(set_.Expire(id, Now()).ok());
  EXPECT_TRUE(set_.Mutes(alert, Now()).empty());
}

TEST_F(SilenceSetTest, RecurringSilenceMutesOnlyInsideItsIntervalAndBeforeExpiry) {
  // Active for three days from 2026-01-01T00:00Z; mutes 09:00-17:00 UTC until Jan 2 12:00.
  Silence s = Make(Ms({"job=\"batch\""}), Now(), Now() + hours(72));
  s.recurrence = RecurringSchedule{{OfficeHours()}, Now() + hours(36)};
  std::string id = MustSet(s);
  const LabelSet alert{{"job", "batch"}};
  const std::vector<std::string> muted{id};

  EXPECT_TRUE(set_.Mutes(alert, Now()).empty());  // 00:00, active but outside
  EXPECT_EQ(StateAt(MustGet(id), Now()), SilenceState::kActive);
  clock_.Set(T0() + hours(9) - milliseconds(1));
  EXPECT_TRUE(set_.Mutes(alert, Now()).empty());
  clock_.Set(T0() + hours(9));
  EXPECT_EQ(set_.Mutes(alert, Now()), muted);
  clock_.Set(T0() + hours(17) - milliseconds(1));
  EXPECT_EQ(set_.Mutes(alert, Now()), muted);
  clock_.Set(T0() + hours(17));
  EXPECT_TRUE(set_.Mutes(alert, Now()).empty());
  clock_.Set(T0() + hours(24 + 11));  // Jan 2 11:00, before expires_at
  EXPECT_EQ(set_.Mutes(alert, Now()), muted);
  clock_.Set(T0() + hours(36));  // Jan 2 12:00: expires_at reached
  EXPECT_TRUE(set_.Mutes(alert, Now()).empty());
  EXPECT_EQ(StateAt(MustGet(id), Now()), SilenceState::kActive);  // state ignores recurrence
  clock_.Set(T0() + hours(48 + 10));  // Jan 3 10:00, inside the interval but past expiry
  EXPECT_TRUE(set_.Mutes(alert, Now()).empty());
}

TEST_F(SilenceSetTest, CountMatching) {
  std::string id = MustSet(
      Make(Ms({"severity=~\"warn|crit\"", "env!=\"dev\""}), Now() + hours(1), Now() + hours(2)));
  const std::vector<LabelSet> alerts = {
      {{"severity", "crit"}, {"env", "prod"}},
      {{"severity", "warn"}},
      {{"severity", "crit"}, {"env", "dev"}},
      {{"severity", "info"}},
  };
  EXPECT_EQ(set_.CountMatching(id, alerts), 2u);  // counted even while pending
  EXPECT_EQ(set_.CountMatching(id, {{{"severity", "info"}}}), 0u);
  EXPECT_EQ(set_.CountMatching("nope", alerts), 0u);
}

// --- GC and NextChange ---------------------------------------------------------------------

TEST_F(SilenceSetTest, GcDropsSilencesExpiredLongerThanRetention) {
  std::string old_id = MustSet(Make(Ms({"a=\"1\""}), Now(), Now() + hours(1)));
  std::string young = MustSet(Make(Ms({"a=\"2\""}), Now(), Now() + hours(2)));
  std::string running = MustSet(Make(Ms({"a=\"3\""}), Now(), Now() + hours(500)));

  clock_.Set(T0() + hours(1) + hours(120) - milliseconds(1));
  EXPECT_EQ(set_.GC(Now()), 0u);
  clock_.Advance(milliseconds(1));  // old_id ended exactly 120h ago
  EXPECT_EQ(set_.GC(Now()), 1u);
  EXPECT_EQ(set_.Get(old_id).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(set_.Get(young).ok());
  EXPECT_TRUE(set_.Get(running).ok());
  EXPECT_EQ(set_.GC(Now(), hours(1)), 1u);  // a shorter retention drops young too
  EXPECT_EQ(set_.Size(), 1u);
  EXPECT_TRUE(set_.Get(running).ok());
}

TEST_F(SilenceSetTest, NextChangeIsTheEarliestStartOrEnd) {
  EXPECT_EQ(set_.NextChange(Now()), std::nullopt);
  MustSet(Make(Ms({"a=\"1\""}), Now(), Now() + hours(3)));
  MustSet(Make(Ms({"a=\"2\""}), Now() + hours(2), Now() + hours(4)));
  EXPECT_EQ(set_.NextChange(Now()), Now() + hours(2));
  clock_.Set(T0() + hours(2));
  EXPECT_EQ(set_.NextChange(Now()), T0() + hours(3));
  clock_.Set(T0() + hours(3));
  EXPECT_EQ(set_.NextChange(Now()), T0() + hours(4));
  clock_.Set(T0() + hours(4));
  EXPECT_EQ(set_.NextChange(Now()), std::nullopt);
}

TEST_F(SilenceSetTest, NextChangeFollowsRecurrence) {
  Silence s = Make(Ms({"job=\"batch\""}), Now(), Now() + hours(72));
  s.recurrence = RecurringSchedule{{OfficeHours()}, T0() + hours(24 + 12)};
  MustSet(s);
  EXPECT_EQ(set_.NextChange(Now()), T0() + hours(9));
  clock_.Set(T0() + hours(9));
  EXPECT_EQ(set_.NextChange(Now()), T0() + hours(17));
  clock_.Set(T0() + hours(20));
  EXPECT_EQ(set_.NextChange(Now()), T0() + hours(24 + 9));
  clock_.Set(T0() + hours(24 + 10));
  EXPECT_EQ(set_.NextChange(Now()), T0() + hours(24 + 12));  // expires_at comes before 17:00
  clock_.Set(T0() + hours(24 + 12));
  EXPECT_EQ(set_.NextChange(Now()), T0() + hours(72));  // only the end is left
}

TEST_F(SilenceSetTest, NextChangeOfAPendingRecurringSilenceIsItsStart) {
  Silence s = Make(Ms({"job=\"batch\""}), Now() + hours(12), Now() + hours(72));
  s.recurrence = RecurringSchedule{{OfficeHours()}, std::nullopt};
  MustSet(s);
  EXPECT_EQ(set_.NextChange(Now()), T0() + hours(12));
  clock_.Set(T0() + hours(12));
  EXPECT_EQ(set_.NextChange(Now()), T0() + hours(17));
}

// --- Restore -------------------------------------------------------------------------------

TEST_F(SilenceSetTest, RestoreKeepsIdAndTimes) {
  Silence s = Make(Ms({"job=\"api\""}), T0() - hours(10), T0() - hours(5));
  s.id = "11111111-2222-4333-8444-555555555555";
  s.updated_at = T0() - hours(5);
  ASSERT_TRUE(set_.Restore(s).ok());
  Silence got = MustGet(s.id);
  EXPECT_EQ(got.starts_at, T0() - hours(10));
  EXPECT_EQ(got.ends_at, T0() - hours(5));
  EXPECT_EQ(got.updated_at, T0() - hours(5));
  EXPECT_EQ(StateAt(got, Now()), SilenceState::kExpired);

  s.id.clear();
  Status st = set_.Restore(s);
  EXPECT_EQ(st.message(), "id required");
  EXPECT_EQ(st.field(), "id");
  s.id = "x";
  s.matchers.clear();
  EXPECT_EQ(set_.Restore(s).message(), "silence invalid: at least one matcher required");
  EXPECT_EQ(set_.Size(), 1u);
}

}  // namespace
}  // namespace platops::alerting
