#pragma once
// Silences with Alertmanager 0.25 semantics (silence/silence.go and the silence handlers of
// api/v2): the model, its validation and wording, the pending/active/expired state, the rules that
// decide whether a change updates a silence in place or replaces it, muting, the `filter` of
// GET /silences and garbage collection. platops adds recurring silences (mute only inside time
// intervals) and the count of alerts a silence matches. Time is always passed in; nothing here
// reads a clock or does I/O.
// Thread-safety: the free functions are pure; SilenceSet is externally synchronized.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alerting/label_set.h"
#include "alerting/matcher.h"
#include "alerting/time_interval.h"
#include "base/clock.h"
#include "base/status.h"

namespace platops::alerting {

// How long an expired silence is kept before GC drops it (Alertmanager's --data.retention).
inline constexpr std::chrono::milliseconds kDefaultSilenceRetention = std::chrono::hours(120);

// platops's extension: a silence that mutes only while the time is inside one of `intervals`
// (and before `expires_at` when set). starts_at/ends_at of the silence still bound it.
struct RecurringSchedule {
  std::vector<TimeInterval> intervals;  // at least one
  std::optional<Timestamp> expires_at;  // nullopt: bounded by the silence's ends_at only
  bool operator==(const RecurringSchedule&) const = default;
};

struct Silence {
  std::string id;  // empty when posting a new silence
  std::vector<Matcher> matchers;
  Timestamp starts_at;
  Timestamp ends_at;
  Timestamp updated_at;  // set by SilenceSet; ignored on input
  std::string created_by;
  std::string comment;
  std::optional<RecurringSchedule> recurrence;
};

enum class SilenceState { kPending, kActive, kExpired };

// "pending", "active", "expired" as the API's status.state reports them.
std::string_view SilenceStateString(SilenceState state);

// types.CalcSilenceState: pending while now < starts_at, expired once ends_at <= now, else active.
// (The store's internal getState of 0.25 keeps a silence active at now == ends_at; platops uses
// this one rule everywhere so that an expired silence is expired at the instant it was expired.)
SilenceState StateAt(const Silence& silence, Timestamp now);

// Whether the silence mutes matching alerts at `now`: active and, for a recurring silence, inside
// one of its intervals and before its expires_at.
bool IsMuting(const Silence& silence, Timestamp now);

// Builds matcher `index` of a posted silence with validateMatcher's checks and wording: the name
// must be a valid label name, an (in)equality value valid UTF-8, a regex must compile:
//   silence invalid: invalid label matcher 0: invalid label name "foo:bar"      (matchers[0].name)
//   silence invalid: invalid label matcher 1: invalid label value "\xff"       (matchers[1].value)
//   silence invalid: invalid label matcher 0: invalid regular expression "a[": error parsing
//   regexp: missing closing ]: `[)$`                                          (matchers[0].value)
// The backquoted excerpt of a regex error is taken from the anchored form `^(?:a[)$` the matcher
// compiles, where Alertmanager quotes the bare pattern (`[`).
Result<Matcher> MakeSilenceMatcher(size_t index, MatchType type, std::string name,
                                   std::string value);

// The store's validateSilence (all messages start "silence invalid: "):
//   at least one matcher required                                (matchers)
//   invalid label matcher <i>: invalid label name "<name>"        (matchers[i].name)
//   invalid label matcher <i>: invalid label value "<value>"      (matchers[i].value)
//   at least one matcher must not match the empty string          (matchers)
//   end time must not be before start time                        (endsAt)
// Only `name=""` and regexes accepting "" count as matching the empty string: as in
// Alertmanager, a silence of negative matchers alone (`job!="a"`) is valid.
// Then the recurrence: "recurrence: at least one time interval required" (recurrence.intervals),
// "recurrence: expiry must not be before start time" (recurrence.expiresAt).
// created_by and comment may be empty: the API requires the fields to be present, which the
// request decoder checks ("createdBy in body is required").
Status ValidateSilence(const Silence& silence);

// canUpdate: whether `next` may overwrite `prev` in place without rewriting the history of what
// was muted. Matchers (in order) and recurrence must be equal; then by prev's state at `now`:
// pending: next must not start before now; active: the start must stay in the same Unix second
// and next must not end before now; expired: never.
bool CanUpdate(const Silence& prev, const Silence& next, Timestamp now);

// CheckSilenceMatchesFilterLabels of GET /silences?filter=: every filter matcher equals (name,
// type and value, compared as text) one of the silence's matchers. `job=~"a.*"` therefore lists
// only silences with that very matcher, not those a regex would match. An empty filter lists all.
bool MatchesFilter(const Silence& silence, const std::vector<Matcher>& filter);

// A random (version 4, RFC 4122 variant) UUID in its 36-character lower-case form, from 128
// random bits: the version and variant bits of `high` and `low` are overwritten.
std::string FormatUuidV4(uint64_t high, uint64_t low);

// The silences of one Alertmanager: create, update, expire, query, mute, collect.
// Thread-safety: externally synchronized.
class SilenceSet {
 public:
  // Returns 64 random bits per call; two calls make one silence id. server/ passes a CSPRNG or a
  // seeded generator; tests pass a counter.
  using RandomSource = std::function<uint64_t()>;

  explicit SilenceSet(RandomSource random);

  // POST /api/v2/silences: the handler's checks, then Silences.Set. In order:
  //   "Failed to create silence: start time must be before end time" (endsAt) when
  //   starts_at >= ends_at; "Failed to create silence: end time can't be in the past" (endsAt)
  //   when ends_at < now; an id not in the set is NotFound "silence not found";
  //   then ValidateSilence.
  // With an id whose silence CanUpdate allows, that silence is overwritten (updated_at = now) and
  // the id returned. Otherwise the old silence, unless already expired, is expired at `now`, and a
  // new silence is stored under a new id with starts_at raised to `now` if earlier; the new id is
  // returned. Unlike 0.25, a silence that fails validation leaves the set unchanged (0.25
  // expired the old silence before validating the replacement).
  Result<std::string> Set(Silence silence, Timestamp now);

  // DELETE /api/v2/silence/{id}: an active silence ends now; a pending one starts and ends now.
  // NotFound "silence not found"; Conflict "silence <id> already expired" (Alertmanager 0.25
  // answers that one with a 500).
  Status Expire(const std::string& id, Timestamp now);

  // NotFound "silence not found".
  Result<Silence> Get(const std::string& id) const;

  // GET /api/v2/silences: the silences passing MatchesFilter, sorted as the API sorts them:
  // active by ends_at ascending, then pending by starts_at ascending, then expired by ends_at
  // descending; ties by id.
  std::vector<Silence> List(Timestamp now, const std::vector<Matcher>& filter = {}) const;

  // The ids (sorted) of the silences muting an alert with these labels at `now`: IsMuting and all
  // matchers accept the labels, an absent label reading as "".
  std::vector<std::string> Mutes(const LabelSet& alert, Timestamp now) const;

  // How many of `alerts` the matchers of silence `id` accept, whatever its state; 0 for an
  // unknown id.
  size_t CountMatching(const std::string& id, const std::vector<LabelSet>& alerts) const;

  // Drops the silences with ends_at + retention <= now; returns how many.
  size_t GC(Timestamp now, std::chrono::milliseconds retention = kDefaultSilenceRetention);

  // The earliest instant after `now` at which IsMuting may change for some silence: a start, an
  // end, a recurrence's expires_at or interval boundary. A recurring silence whose intervals do
  // not change within kNextChangeHorizon contributes now + kNextChangeHorizon, a time to look
  // again. nullopt when nothing will change.
  std::optional<Timestamp> NextChange(Timestamp now) const;

  // Puts back a stored silence as it is (loading persisted state): REQUIRES a non-empty id
  // ("id required", field id); ValidateSilence applies; no time rules; replaces any silence with
  // that id.
  Status Restore(Silence silence);

  // How many silences are held, expired ones included.
  size_t Size() const { return silences_.size(); }

 private:
  Result<std::string> NewId() const;
  void ExpireAt(Silence& silence, Timestamp now) const;

  RandomSource random_;
  std::map<std::string, Silence> silences_;  // by id
};

}  // namespace platops::alerting
