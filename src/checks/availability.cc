#include "checks/availability.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <initializer_list>

#include "base/time_util.h"

namespace platops::checks {

namespace {

using std::chrono::milliseconds;

// Sorted, non-empty, pairwise disjoint and non-touching intervals.
using Spans = std::vector<Interval>;

Spans Normalize(std::vector<Interval> v) {
  std::erase_if(v, [](const Interval& i) { return i.start >= i.end; });
  std::sort(v.begin(), v.end(),
            [](const Interval& a, const Interval& b) { return a.start < b.start; });
  Spans out;
  for (const Interval& i : v) {
    if (!out.empty() && i.start <= out.back().end) {
      out.back().end = std::max(out.back().end, i.end);
    } else {
      out.push_back(i);
    }
  }
  return out;
}

milliseconds Length(const Spans& s) {
  milliseconds total{0};
  for (const Interval& i : s) total += i.end - i.start;
  return total;
}

// The length of the intersection of two normalized span sets.
milliseconds OverlapLength(const Spans& a, const Spans& b) {
  milliseconds total{0};
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const Timestamp start = std::max(a[i].start, b[j].start);
    const Timestamp end = std::min(a[i].end, b[j].end);
    if (start < end) total += end - start;
    if (a[i].end < b[j].end) {
      ++i;
    } else {
      ++j;
    }
  }
  return total;
}

// The window's effective end: `to` capped by `now`, never before `from`.
Timestamp WindowEnd(Timestamp from, Timestamp to, Timestamp now) {
  return std::max(from, std::min(to, now));
}

// Fills the totals of `r` from the spans the subject existed and r.outages (which lie inside them:
// a check is never CRITICAL before its first history entry).
void Summarize(AvailabilityReport& r, const Spans& existed,
               const std::vector<Interval>& maintenance) {
  const Spans maint = Normalize(maintenance);
  std::vector<Interval> down_raw;
  down_raw.reserve(r.outages.size());
  for (const Outage& o : r.outages) down_raw.push_back({o.start, o.end});
  const Spans down = Normalize(std::move(down_raw));

  r.maintenance = OverlapLength(existed, maint);
  r.monitored = Length(existed) - r.maintenance;
  r.down = Length(down) - OverlapLength(down, maint);
  if (r.monitored > milliseconds(0)) {
    r.uptime_percent = 100.0 * static_cast<double>((r.monitored - r.down).count()) /
                       static_cast<double>(r.monitored.count());
  }
}

// Seconds with millisecond precision and no trailing zeros: "2580", "0.25".
std::string Seconds(milliseconds d) {
  const long long ms = d.count() < 0 ? -d.count() : d.count();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%lld.%03lld", d.count() < 0 ? "-" : "", ms / 1000, ms % 1000);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// 100 * (monitored - down) / monitored with four decimals, rounded down in integer arithmetic so
// 99.89999...% never prints as 99.9000.
std::string UptimePercent(milliseconds monitored, milliseconds down) {
  if (monitored <= milliseconds(0)) return "";
  const int64_t m = monitored.count();
  const int64_t up = std::clamp<int64_t>(m - down.count(), 0, m);
  // Millionths of the ratio; up < m keeps the remainder's product within range for any window
  // shorter than ~290 years.
  const int64_t millionths = (up / m) * 1000000 + (up % m) * 1000000 / m;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%04lld", static_cast<long long>(millionths / 10000),
                static_cast<long long>(millionths % 10000));
  return buf;
}

std::string CsvField(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

void AppendRow(std::string& out, std::initializer_list<std::string> fields) {
  bool first = true;
  for (const std::string& f : fields) {
    if (!first) out += ',';
    first = false;
    out += CsvField(f);
  }
  out += "\r\n";
}

}  // namespace

std::vector<Outage> DownIntervals(const std::vector<StateChange>& history, Timestamp from,
                                  Timestamp to) {
  std::vector<Outage> out;
  const size_t n = history.size();
  for (size_t i = 0; i < n; ++i) {
    if (history[i].hard_state != probe::Outcome::kCritical) continue;
    if (i > 0 && history[i - 1].hard_state == probe::Outcome::kCritical) continue;  // same run
    size_t j = i + 1;
    while (j < n && history[j].hard_state == probe::Outcome::kCritical) ++j;
    const bool open = j == n;
    const Timestamp start = std::max(history[i].at, from);
    const Timestamp end = open ? to : std::min(history[j].at, to);
    if (start >= end) continue;
    out.push_back({start, end, history[i].message, open || history[j].at > to});
  }
  return out;
}

AvailabilityReport Availability(const std::vector<StateChange>& history,
                                const std::vector<Interval>& maintenance, Timestamp from,
                                Timestamp to, Timestamp now) {
  AvailabilityReport r;
  r.from = from;
  r.to = WindowEnd(from, to, now);
  Spans existed;
  if (!history.empty()) {
    const Timestamp begin = std::max(from, history.front().at);
    if (begin < r.to) existed.push_back({begin, r.to});
  }
  r.outages = DownIntervals(history, r.from, r.to);
  Summarize(r, existed, maintenance);
  return r;
}

AvailabilityReport ServiceAvailability(
    const std::vector<std::pair<std::string, std::vector<StateChange>>>& checks,
    const std::vector<Interval>& maintenance, Timestamp from, Timestamp to, Timestamp now) {
  AvailabilityReport r;
  r.from = from;
  r.to = WindowEnd(from, to, now);
  std::vector<Interval> existed;
  std::vector<Outage> all;
  for (const auto& [id, history] : checks) {
    if (history.empty()) continue;
    existed.push_back({std::max(from, history.front().at), r.to});
    for (Outage& o : DownIntervals(history, r.from, r.to)) {
      o.cause = o.cause.empty() ? id : id + ": " + o.cause;
      all.push_back(std::move(o));
    }
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const Outage& a, const Outage& b) { return a.start < b.start; });
  std::vector<std::vector<std::string>> causes;  // per merged outage, distinct, in start order
  for (Outage& o : all) {
    if (r.outages.empty() || o.start > r.outages.back().end) {
      causes.push_back({o.cause});
      r.outages.push_back(std::move(o));
      continue;
    }
    Outage& last = r.outages.back();
    last.end = std::max(last.end, o.end);
    last.ongoing = last.ongoing || o.ongoing;
    if (std::find(causes.back().begin(), causes.back().end(), o.cause) == causes.back().end()) {
      causes.back().push_back(std::move(o.cause));
    }
  }
  for (size_t i = 0; i < r.outages.size(); ++i) {
    std::string joined;
    for (const std::string& c : causes[i]) joined += (joined.empty() ? "" : "; ") + c;
    r.outages[i].cause = std::move(joined);
  }
  Summarize(r, Normalize(std::move(existed)), maintenance);
  return r;
}

std::string AvailabilityCsv(const std::string& subject, const AvailabilityReport& r) {
  std::string out;
  AppendRow(out, {"subject", "kind", "start", "end", "duration_seconds", "ongoing", "cause",
                  "monitored_seconds", "maintenance_seconds", "down_seconds", "uptime_percent"});
  for (const Outage& o : r.outages) {
    AppendRow(out,
              {subject, "outage", FormatRfc3339(o.start), FormatRfc3339(o.end),
               Seconds(o.end - o.start), o.ongoing ? "true" : "false", o.cause, "", "", "", ""});
  }
  AppendRow(out, {subject, "summary", FormatRfc3339(r.from), FormatRfc3339(r.to),
                  Seconds(r.to - r.from), "", "", Seconds(r.monitored), Seconds(r.maintenance),
                  Seconds(r.down), UptimePercent(r.monitored, r.down)});
  return out;
}

}  // namespace platops::checks
