#include "alerting/silence.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>
#include <utility>

namespace platops::alerting {
namespace {

constexpr std::string_view kInvalid = "silence invalid: ";

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto [rune, len] = DecodeRune(s, i);
    if (rune == 0xfffd && len == 1) return false;
    i += len;
  }
  return true;
}

std::string MatcherField(size_t index, std::string_view part) {
  return fmt::format("matchers[{}].{}", index, part);
}

// validateMatcher's name and value checks; the regex is checked when the Matcher is built.
Status CheckMatcherText(size_t index, MatchType type, const std::string& name,
                        const std::string& value) {
  if (!IsValidLabelName(name)) {
    return InvalidArgument(fmt::format("{}invalid label matcher {}: invalid label name {}",
                                       kInvalid, index, GoQuote(name)),
                           MatcherField(index, "name"));
  }
  if ((type == MatchType::kEqual || type == MatchType::kNotEqual) && !IsValidUtf8(value)) {
    return InvalidArgument(fmt::format("{}invalid label matcher {}: invalid label value {}",
                                       kInvalid, index, GoQuote(value)),
                           MatcherField(index, "value"));
  }
  return Status::Ok();
}

// silence.go's matchesEmpty: only equality with "" and regexes accepting "" count; negative
// matchers never do, even though they accept an absent label.
bool CountsAsMatchingEmpty(const Matcher& m) {
  switch (m.type()) {
    case MatchType::kEqual:
      return m.value().empty();
    case MatchType::kRegex:
      return m.MatchesEmpty();
    case MatchType::kNotEqual:
    case MatchType::kNotRegex:
      return false;
  }
  return false;
}

int StateOrder(SilenceState state) {
  switch (state) {
    case SilenceState::kActive:
      return 0;
    case SilenceState::kPending:
      return 1;
    case SilenceState::kExpired:
      return 2;
  }
  return 3;
}

}  // namespace

std::string_view SilenceStateString(SilenceState state) {
  switch (state) {
    case SilenceState::kPending:
      return "pending";
    case SilenceState::kActive:
      return "active";
    case SilenceState::kExpired:
      return "expired";
  }
  return "unknown";
}

SilenceState StateAt(const Silence& silence, Timestamp now) {
  if (now < silence.starts_at) return SilenceState::kPending;
  if (now < silence.ends_at) return SilenceState::kActive;
  return SilenceState::kExpired;
}

bool IsMuting(const Silence& silence, Timestamp now) {
  if (StateAt(silence, now) != SilenceState::kActive) return false;
  if (!silence.recurrence) return true;
  const RecurringSchedule& r = *silence.recurrence;
  if (r.expires_at && *r.expires_at <= now) return false;
  return ContainsAny(r.intervals, TimePoint(now));
}

Result<Matcher> MakeSilenceMatcher(size_t index, MatchType type, std::string name,
                                   std::string value) {
  PLATOPS_RETURN_IF_ERROR(CheckMatcherText(index, type, name, value));
  const std::string quoted_value = GoQuote(value);
  Result<Matcher> matcher = Matcher::Create(type, std::move(name), std::move(value));
  if (!matcher.ok()) {
    // Keep Go's wording of the problem, dropping the matcher prefix Matcher::Create adds.
    const std::string& message = matcher.status().message();
    const size_t pos = message.find("error parsing regexp");
    const std::string detail = pos == std::string::npos ? message : message.substr(pos);
    return InvalidArgument(
        fmt::format("{}invalid label matcher {}: invalid regular expression {}: {}", kInvalid,
                    index, quoted_value, detail),
        MatcherField(index, "value"));
  }
  return matcher;
}

Status ValidateSilence(const Silence& silence) {
  if (silence.matchers.empty()) {
    return InvalidArgument(fmt::format("{}at least one matcher required", kInvalid), "matchers");
  }
  bool all_match_empty = true;
  for (size_t i = 0; i < silence.matchers.size(); ++i) {
    const Matcher& m = silence.matchers[i];
    PLATOPS_RETURN_IF_ERROR(CheckMatcherText(i, m.type(), m.name(), m.value()));
    all_match_empty = all_match_empty && CountsAsMatchingEmpty(m);
  }
  if (all_match_empty) {
    return InvalidArgument(
        fmt::format("{}at least one matcher must not match the empty string", kInvalid),
        "matchers");
  }
  if (silence.ends_at < silence.starts_at) {
    return InvalidArgument(fmt::format("{}end time must not be before start time", kInvalid),
                           "endsAt");
  }
  if (silence.recurrence) {
    const RecurringSchedule& r = *silence.recurrence;
    if (r.intervals.empty()) {
      return InvalidArgument("recurrence: at least one time interval required",
                             "recurrence.intervals");
    }
    if (r.expires_at && *r.expires_at < silence.starts_at) {
      return InvalidArgument("recurrence: expiry must not be before start time",
                             "recurrence.expiresAt");
    }
  }
  return Status::Ok();
}

bool CanUpdate(const Silence& prev, const Silence& next, Timestamp now) {
  if (prev.matchers != next.matchers || prev.recurrence != next.recurrence) return false;
  switch (StateAt(prev, now)) {
    case SilenceState::kActive: {
      // Alertmanager compares time.Unix(): whole seconds, rounded down.
      using std::chrono::floor;
      using std::chrono::seconds;
      if (floor<seconds>(next.starts_at) != floor<seconds>(prev.starts_at)) return false;
      return !(next.ends_at < now);
    }
    case SilenceState::kPending:
      return !(next.starts_at < now);
    case SilenceState::kExpired:
      return false;
  }
  return false;
}

bool MatchesFilter(const Silence& silence, const std::vector<Matcher>& filter) {
  return std::all_of(filter.begin(), filter.end(), [&](const Matcher& f) {
    return std::find(silence.matchers.begin(), silence.matchers.end(), f) != silence.matchers.end();
  });
}

std::string FormatUuidV4(uint64_t high, uint64_t low) {
  high = (high & ~uint64_t{0xf000}) | uint64_t{0x4000};
  low = (low & ~(uint64_t{0xc0} << 56)) | (uint64_t{0x80} << 56);
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", high >> 32, (high >> 16) & 0xffff,
                     high & 0xffff, low >> 48, low & 0xffffffffffffULL);
}

SilenceSet::SilenceSet(RandomSource random) : random_(std::move(random)) {}

Result<std::string> SilenceSet::NewId() const {
  // A repeat means a broken random source; give up rather than loop.
  for (int attempt = 0; attempt < 4; ++attempt) {
    const uint64_t high = random_();
    const uint64_t low = random_();
    std::string id = FormatUuidV4(high, low);
    if (!silences_.contains(id)) return id;
  }
  return Internal("generate uuid: random source keeps repeating existing ids");
}

void SilenceSet::ExpireAt(Silence& silence, Timestamp now) const {
  switch (StateAt(silence, now)) {
    case SilenceState::kActive:
      silence.ends_at = now;
      break;
    case SilenceState::kPending:
      silence.starts_at = now;
      silence.ends_at = now;
      break;
    case SilenceState::kExpired:
      return;
  }
  silence.updated_at = now;
}

Result<std::string> SilenceSet::Set(Silence silence, Timestamp now) {
  if (!(silence.starts_at < silence.ends_at)) {
    return InvalidArgument("Failed to create silence: start time must be before end time",
                           "endsAt");
  }
  if (silence.ends_at < now) {
    return InvalidArgument("Failed to create silence: end time can't be in the past", "endsAt");
  }
  auto prev = silences_.end();
  if (!silence.id.empty()) {
    prev = silences_.find(silence.id);
    if (prev == silences_.end()) return Status(NotFound("silence not found"));
  }
  PLATOPS_RETURN_IF_ERROR(ValidateSilence(silence));

  if (prev != silences_.end() && CanUpdate(prev->second, silence, now)) {
    silence.updated_at = now;
    prev->second = std::move(silence);
    return prev->first;
  }
  PLATOPS_ASSIGN_OR_RETURN(std::string id, NewId());
  if (prev != silences_.end()) ExpireAt(prev->second, now);
  silence.id = id;
  silence.starts_at = std::max(silence.starts_at, now);
  silence.updated_at = now;
  silences_.emplace(id, std::move(silence));
  return id;
}

Status SilenceSet::Expire(const std::string& id, Timestamp now) {
  auto it = silences_.find(id);
  if (it == silences_.end()) return NotFound("silence not found");
  if (StateAt(it->second, now) == SilenceState::kExpired) {
    return Conflict(fmt::format("silence {} already expired", id));
  }
  ExpireAt(it->second, now);
  return Status::Ok();
}

Result<Silence> SilenceSet::Get(const std::string& id) const {
  auto it = silences_.find(id);
  if (it == silences_.end()) return Status(NotFound("silence not found"));
  return it->second;
}

std::vector<Silence> SilenceSet::List(Timestamp now, const std::vector<Matcher>& filter) const {
  std::vector<Silence> out;
  for (const auto& [id, silence] : silences_) {
    if (MatchesFilter(silence, filter)) out.push_back(silence);
  }
  // Sort key: state, then the time that state is ordered by, then id.
  auto key = [now](const Silence& s) {
    const SilenceState state = StateAt(s, now);
    Timestamp::rep t = 0;
    switch (state) {
      case SilenceState::kActive:
        t = s.ends_at.time_since_epoch().count();
        break;
      case SilenceState::kPending:
        t = s.starts_at.time_since_epoch().count();
        break;
      case SilenceState::kExpired:
        t = -s.ends_at.time_since_epoch().count();
        break;
    }
    return std::make_tuple(StateOrder(state), t);
  };
  std::sort(out.begin(), out.end(), [&](const Silence& a, const Silence& b) {
    const auto ka = key(a);
    const auto kb = key(b);
    if (ka != kb) return ka < kb;
    return a.id < b.id;
  });
  return out;
}

std::vector<std::string> SilenceSet::Mutes(const LabelSet& alert, Timestamp now) const {
  std::vector<std::string> ids;
  for (const auto& [id, silence] : silences_) {
    if (IsMuting(silence, now) && MatchesAll(silence.matchers, alert)) ids.push_back(id);
  }
  return ids;
}

size_t SilenceSet::CountMatching(const std::string& id, const std::vector<LabelSet>& alerts) const {
  auto it = silences_.find(id);
  if (it == silences_.end()) return 0;
  return static_cast<size_t>(std::count_if(alerts.begin(), alerts.end(), [&](const LabelSet& a) {
    return MatchesAll(it->second.matchers, a);
  }));
}

size_t SilenceSet::GC(Timestamp now, std::chrono::milliseconds retention) {
  return std::erase_if(silences_,
                       [&](const auto& entry) { return entry.second.ends_at + retention <= now; });
}

std::optional<Timestamp> SilenceSet::NextChange(Timestamp now) const {
  std::optional<Timestamp> next;
  auto consider = [&](Timestamp t) {
    if (now < t && (!next || t < *next)) next = t;
  };
  for (const auto& [id, silence] : silences_) {
    consider(silence.starts_at);
    consider(silence.ends_at);
    if (!silence.recurrence || StateAt(silence, now) != SilenceState::kActive) continue;
    const RecurringSchedule& r = *silence.recurrence;
    if (r.expires_at && *r.expires_at <= now) continue;
    if (r.expires_at) consider(*r.expires_at);
    const std::optional<TimePoint> change = alerting::NextChange(r.intervals, TimePoint(now));
    consider(change
                 ? std::chrono::ceil<std::chrono::milliseconds>(*change)
                 : now + std::chrono::duration_cast<std::chrono::milliseconds>(kNextChangeHorizon));
  }
  return next;
}

Status SilenceSet::Restore(Silence silence) {
  if (silence.id.empty()) return InvalidArgument("id required", "id");
  PLATOPS_RETURN_IF_ERROR(ValidateSilence(silence));
  std::string id = silence.id;
  silences_.insert_or_assign(std::move(id), std::move(silence));
  return Status::Ok();
}

}  // namespace platops::alerting
