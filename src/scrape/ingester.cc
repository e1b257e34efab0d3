#include "scrape/ingester.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstring>

#include "base/strings.h"
#include "metrics/sample.h"

namespace platops::scrape {

namespace {

using metrics::AppendError;
using metrics::Label;
using metrics::Labels;

// Prometheus's timeLimitAppender: samples more than 10 minutes ahead of the scrape are refused.
constexpr int64_t kMaxAheadMs = 10 * 60 * 1000;
constexpr std::string_view kExportedPrefix = "exported_";
constexpr std::array<std::string_view, 5> kReportNames = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling", "scrape_series_added"};

enum CharClass : uint8_t { kMetricStart = 1, kMetricChar = 2, kBlank = 4 };

constexpr std::array<uint8_t, 256> kClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    bool digit = c >= '0' && c <= '9';
    uint8_t v = 0;
    if (alpha) v |= kMetricStart | kMetricChar;
    if (digit) v |= kMetricChar;
    if (c == ' ' || c == '\t') v |= kBlank;
    t[static_cast<size_t>(c)] = v;
  }
  return t;
}();

inline bool Is(char c, uint8_t cls) { return (kClass[static_cast<unsigned char>(c)] & cls) != 0; }

inline const char* SkipBlanks(const char* p, const char* end) {
  while (p < end && Is(*p, kBlank)) ++p;
  return p;
}

uint64_t HashKey(std::string_view key) { return std::hash<std::string_view>{}(key); }

double StaleNaN() { return std::bit_cast<double>(metrics::kStaleNanBits); }

bool IsValidMetricName(std::string_view s) {
  if (s.empty() || !Is(s[0], kMetricStart)) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return Is(c, kMetricChar); });
}

// At most `n` UTF-8 characters of `s`, as Go's %.<n>s prints it.
std::string_view TruncateRunes(std::string_view s, size_t n) {
  size_t runes = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && runes++ == n) return s.substr(0, i);
  }
  return s;
}

// Inserts `label` into sorted `labels` at its place. REQUIRES: its name is absent.
void InsertSorted(Labels& labels, Label label) {
  auto it = std::lower_bound(labels.begin(), labels.end(), label.name,
                             [](const Label& l, const std::string& n) { return l.name < n; });
  labels.insert(it, std::move(label));
}

// ingest::ParseFloatValue, with the common case (a digit first: no sign, Inf, NaN or hex to
// consider) read directly.
std::optional<double> ParseValue(const char* b, const char* e) {
  if (b < e && e - b <= 15) {
    // Up to 15 digits is an integer a double holds exactly: counters, mostly.
    int64_t n = 0;
    const char* p = b;
    while (p < e && *p >= '0' && *p <= '9') n = n * 10 + (*p++ - '0');
    if (p == e) return static_cast<double>(n);
  }
  if (*b >= '0' && *b <= '9') {
    double v = 0;
    auto [ptr, ec] = std::from_chars(b, e, v, std::chars_format::general);
    if (ec == std::errc() && ptr == e) return v;
  }
  return ingest::ParseFloatValue(std::string_view(b, static_cast<size_t>(e - b)));
}

// The 0.0.4 timestamp rule of ingest's parser: integer ms, digit first or '-' and a digit.
std::optional<int64_t> ParseTimestamp(const char* b, const char* e) {
  if (b == e) return std::nullopt;
  bool digit_first = *b >= '0' && *b <= '9';
  bool minus_digit = e - b > 1 && b[0] == '-' && b[1] >= '0' && b[1] <= '9';
  if (!digit_first && !minus_digit) return std::nullopt;
  int64_t ms = 0;
  auto [ptr, ec] = std::from_chars(b, e, ms);
  if (ec != std::errc() || ptr != e) return std::nullopt;
  return ms;
}

}  // namespace

std::string_view FailureReasonName(FailureReason reason) {
  switch (reason) {
    case FailureReason::kNone:
      return "";
    case FailureReason::kFetch:
      return "fetch";
    case FailureReason::kTimeout:
      return "timeout";
    case FailureReason::kHttpStatus:
      return "http_status";
    case FailureReason::kBodySizeLimit:
      return "body_size_limit";
    case FailureReason::kParse:
      return "parse";
    case FailureReason::kSampleLimit:
      return "sample_limit";
    case FailureReason::kLabelLimit:
      return "label_limit";
    case FailureReason::kInvalidSeries:
      return "invalid_series";
    case FailureReason::kTargetLimit:
      return "target_limit";
  }
  return "";
}

struct Ingester::Run {
  metrics::Appender* app = nullptr;
  int64_t t = 0;
  SteadyTime started;
  ScrapeResult r;
  uint64_t limit_count = 0;
  bool sample_limit_hit = false;
  size_t touched = 0;    // Cache entries whose last_iter became this scrape.
  size_t retracked = 0;  // Entries of prev_tracked_ tracked again in this scrape.
  Status error;          // A failure that stops the scrape.
  FailureReason reason = FailureReason::kNone;
  Labels scratch;
};

Ingester::Ingester(IngestConfig config) : config_(std::move(config)) {
  line_callback_ = [this](ingest::Sample&& s) {
    line_sample_ = std::move(s);
    line_has_sample_ = true;
    return true;
  };
  for (size_t i = 0; i < kReportNames.size(); ++i) {
    Labels l = config_.target_labels;
    l.push_back({std::string(metrics::kMetricName), std::string(kReportNames[i])});
    report_labels_[i] = metrics::Normalize(std::move(l));
  }
}

Ingester::~Ingester() = default;

// ---- parsing ------------------------------------------------------------------------------------

Status Ingester::ParseLine(std::string_view line, int64_t line_no) {
  line_has_sample_ = false;
  auto parsed = ingest::Parse(ingest::Format::kPrometheus004, line, line_callback_);
  if (parsed.ok()) return Status::Ok();
  // The parser numbers the lines of what it was given: one line.
  std::string msg = parsed.status().message();
  constexpr std::string_view kFirst = "line 1: ";
  if (msg.starts_with(kFirst)) msg = fmt::format("line {}: {}", line_no, msg.substr(kFirst.size()));
  return InvalidArgument(std::move(msg));
}

// The 0.0.4 fast path. Each line's series text ("name" or "name{...}", blanks included) is found
// with a cheap scan; a cached text needs only its value and timestamp read. Whatever the scan does
// not recognise, and every cache miss, goes to ingest's full parser for that one line, so the
// syntax accepted and the errors reported are exactly the parser's.
Status Ingester::ParsePrometheus(Run& run, std::string_view body) {
  const char* p = body.data();
  const char* const end = p + body.size();
  int64_t line_no = 0;
  while (p < end) {
    ++line_no;
    const char* const line_start = p;
    const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p));
    const char* const line_end = nl ? static_cast<const char*>(nl) : end;
    const char* const next = nl ? line_end + 1 : end;
    const std::string_view line(line_start, static_cast<size_t>(next - line_start));
    p = SkipBlanks(p, line_end);
    if (p == line_end) {
      p = next;
      continue;
    }
    // The full parser for one line: a sample under a canonical key, or a comment checked.
    auto slow = [&]() -> bool {
      Status st = ParseLine(line, line_no);
      if (!st.ok()) {
        run.error = std::move(st);
        run.reason = FailureReason::kParse;
        return false;
      }
      if (!line_has_sample_) return true;
      key_buf_.assign(1, '\xff');
      for (const auto& l : line_sample_.labels) {
        key_buf_ += l.name;
        key_buf_ += '\xff';
        key_buf_ += l.value;
        key_buf_ += '\xff';
      }
      return Process(run, key_buf_, kNoSlot, line_sample_.value, line_sample_.timestamp_ms,
                     [&](Labels& out) {
                       out.swap(line_sample_.labels);
                       return true;
                     });
    };

    if (*p == '#') {
      // Only "# HELP name text" and "# TYPE name type" mean something (and can be wrong).
      const char* c = p + 1;
      if (c < line_end && Is(*c, kBlank)) {
        c = SkipBlanks(c, line_end);
        std::string_view rest(c, static_cast<size_t>(line_end - c));
        if ((rest.starts_with("HELP") || rest.starts_with("TYPE")) && rest.size() > 4 &&
            Is(rest[4], kBlank)) {
          if (!slow()) return run.error;
        }
      }
      p = next;
      continue;
    }

    const char* const series = p;
    if (!nl || !Is(*p, kMetricStart)) {
      if (!slow()) return run.error;
      p = next;
      continue;
    }
    // The line the previous scrape had next: its key compared in place, no scanning. A bare name
    // matches only when nothing of a name or a label set follows it.
    uint32_t hint = kNoSlot;
    const char* key_end = nullptr;
    bool regular = true;
    if (predict_ < prev_seq_.size()) {
      const SeqItem& s = prev_seq_[predict_];
      const char* k = series + s.len;
      if (s.slot != kNoSlot && k < line_end &&
          std::memcmp(series, prev_keys_.data() + s.off, s.len) == 0) {
        bool same = k[-1] == '}';
        if (!same && !Is(*k, kMetricChar)) {
          const char* b = SkipBlanks(k, line_end);
          same = b == line_end || *b != '{';
        }
        if (same) {
          hint = s.slot;
          key_end = k;
        }
      }
    }
    if (hint == kNoSlot) {
      ++p;
      while (p < line_end && Is(*p, kMetricChar)) ++p;
      key_end = p;
      const char* q = SkipBlanks(p, line_end);
      if (q < line_end && *q == '{') {
        p = q + 1;
        regular = false;
        while (p < line_end) {
          char ch = *p;
          if (ch == '"') {
            ++p;
            while (p < line_end && *p != '"') p += *p == '\\' ? 2 : 1;
            if (p >= line_end) break;
            ++p;
          } else if (ch == '}') {
            ++p;
            regular = true;
            break;
          } else {
            ++p;
          }
        }
        key_end = p;
      }
    }
    double value = 0;
    std::optional<int64_t> ts;
    if (regular) {
      p = SkipBlanks(key_end, line_end);
      const char* v0 = p;
      while (p < line_end && !Is(*p, kBlank) && *p != '{') ++p;
      std::optional<double> v;
      if (p > v0 && (p == line_end || *p != '{')) v = ParseValue(v0, p);
      if (!v) {
        regular = false;
      } else {
        value = *v;
        p = SkipBlanks(p, line_end);
        if (p < line_end) {
          const char* t0 = p;
          while (p < line_end && !Is(*p, kBlank)) ++p;
          ts = ParseTimestamp(t0, p);
          if (!ts || SkipBlanks(p, line_end) != line_end) regular = false;
        }
      }
    }
    if (!regular) {
      if (!slow()) return run.error;
      p = next;
      continue;
    }
    const std::string_view key(series, static_cast<size_t>(key_end - series));
    bool ok = Process(run, key, hint, value, ts, [&](Labels& out) {
      Status st = ParseLine(line, line_no);
      if (!st.ok() || !line_has_sample_) {
        run.error = st.ok() ? InvalidArgument(fmt::format("line {}: no sample", line_no)) : st;
        run.reason = FailureReason::kParse;
        return false;
      }
      out.swap(line_sample_.labels);
      return true;
    });
    if (!ok) return run.error;
    p = next;
  }
  return Status::Ok();
}

Status Ingester::ParseOpenMetrics(Run& run, std::string_view body) {
  ingest::SampleCallback on_sample = [&](ingest::Sample&& s) {
    key_buf_.assign(1, '\xff');
    for (const auto& l : s.labels) {
      key_buf_ += l.name;
      key_buf_ += '\xff';
      key_buf_ += l.value;
      key_buf_ += '\xff';
    }
    return Process(run, key_buf_, kNoSlot, s.value, s.timestamp_ms, [&](Labels& out) {
      out.swap(s.labels);
      return true;
    });
  };
  auto parsed = ingest::Parse(ingest::Format::kOpenMetrics1, body, on_sample);
  if (!run.error.ok()) return run.error;
  if (!parsed.ok()) {
    run.reason = FailureReason::kParse;
    return parsed.status();
  }
  return Status::Ok();
}

// ---- the cache ---------------------------------------------------------------------------------

uint32_t Ingester::Lookup(std::string_view key) {
  // Targets write their series in the same order every time: the line after the last match is
  // checked against the previous scrape's key arena, a sequential read, before any hashing.
  if (predict_ < prev_seq_.size()) {
    const SeqItem& s = prev_seq_[predict_];
    if (s.len == key.size() && s.slot != kNoSlot &&
        std::memcmp(prev_keys_.data() + s.off, key.data(), key.size()) == 0) {
      ++predict_;
      return s.slot;
    }
  }
  const uint32_t slot = IndexFind(key, HashKey(key));
  if (slot != kNoSlot && hot_[slot].pos_iter + 1 == iter_) predict_ = hot_[slot].pos + 1;
  return slot;
}

uint32_t Ingester::IndexFind(std::string_view key, uint64_t hash) const {
  if (index_.empty()) return kNoSlot;
  const uint32_t mask = static_cast<uint32_t>(index_.size() - 1);
  const auto lo = static_cast<uint32_t>(hash);
  for (uint32_t i = lo & mask;; i = (i + 1) & mask) {
    const Bucket& b = index_[i];
    if (b.slot1 == 0) return kNoSlot;
    if (b.hash_lo == lo && cold_[b.slot1 - 1].key == key) return b.slot1 - 1;
  }
}

void Ingester::IndexInsert(uint32_t slot) {
  const uint32_t mask = static_cast<uint32_t>(index_.size() - 1);
  const auto lo = static_cast<uint32_t>(cold_[slot].hash);
  uint32_t i = lo & mask;
  while (index_[i].slot1 != 0) i = (i + 1) & mask;
  index_[i] = {slot + 1, lo};
}

void Ingester::IndexErase(uint32_t slot) {
  const uint32_t mask = static_cast<uint32_t>(index_.size() - 1);
  uint32_t i = static_cast<uint32_t>(cold_[slot].hash) & mask;
  while (index_[i].slot1 != slot + 1) i = (i + 1) & mask;
  // Backward-shift deletion (Knuth's algorithm R): no tombstones, probes stay short.
  for (;;) {
    index_[i] = Bucket{};
    uint32_t j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (index_[j].slot1 == 0) return;
      const uint32_t home = index_[j].hash_lo & mask;
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) break;
    }
    index_[i] = index_[j];
    i = j;
  }
}

void Ingester::IndexRebuild(size_t capacity) {
  index_.assign(capacity, Bucket{});
  for (uint32_t slot = 0; slot < hot_.size(); ++slot)
    if (hot_[slot].last_iter != 0) IndexInsert(slot);
}

uint32_t Ingester::NewSlot(std::string_view key, uint64_t hash) {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
    hot_[slot] = Hot{};
  } else {
    slot = static_cast<uint32_t>(hot_.size());
    hot_.emplace_back();
    cold_.emplace_back();
  }
  Cold& c = cold_[slot];
  c.key.assign(key);
  c.hash = hash;
  c.labels.clear();
  hot_[slot].last_iter = iter_;
  ++live_;
  if (live_ * 2 > index_.size()) {
    IndexRebuild(std::max<size_t>(64, index_.size() * 2));
  } else {
    IndexInsert(slot);
  }
  return slot;
}

void Ingester::FreeSlot(uint32_t slot) {
  hot_[slot] = Hot{};
  cold_[slot].key.clear();
  cold_[slot].labels.clear();
  free_.push_back(slot);
  --live_;
}

// ---- one sample ---------------------------------------------------------------------------------

template <typename LabelsFn>
bool Ingester::Process(Run& run, std::string_view key, uint32_t hint, double v,
                       const std::optional<int64_t>& ts, LabelsFn&& labels) {
  const bool honored = config_.honor_timestamps && ts.has_value();
  const int64_t t = honored ? *ts : run.t;
  uint32_t slot = hint;
  if (slot == kNoSlot) {
    slot = Lookup(key);
  } else {
    ++predict_;
  }
  const bool cached = slot != kNoSlot;
  bool already = false;
  if (cached) {
    ++run.r.scraped;
    Hot& h = hot_[slot];
    already = h.last_iter == iter_;
    if (!already) {
      h.last_iter = iter_;
      ++run.touched;
    }
    if (!h.dropped) ++run.r.cache_hits;
  } else {
    ++run.r.cache_misses;
    Labels& lset = run.scratch;
    lset.clear();
    if (!labels(lset)) return false;  // A line the parser refuses is not a sample read.
    ++run.r.scraped;
    const bool keep = Mutate(lset);
    if (keep) {
      if (Status st = Validate(lset); !st.ok()) {
        run.reason = st.code() == StatusCode::kResourceExhausted ? FailureReason::kLabelLimit
                                                                 : FailureReason::kInvalidSeries;
        run.error = InvalidArgument(st.message());
        return false;
      }
    }
    slot = NewSlot(key, HashKey(key));
    ++run.touched;
    if (keep) {
      cold_[slot].labels = std::move(lset);
    } else {
      hot_[slot].dropped = true;
    }
  }
  Hot& h = hot_[slot];
  h.pos = static_cast<uint32_t>(cur_seq_.size());
  h.pos_iter = iter_;
  cur_seq_.push_back({cur_keys_.size(), static_cast<uint32_t>(key.size()), slot});
  cur_keys_.append(key);
  if (h.dropped) return true;

  // Prometheus's appender chain: a duplicate within the scrape, then sample_limit (counting every
  // attempt), then the 10-minute future limit; the store comes in AppendPending.
  if (already && !honored) {
    ++run.r.duplicate;
  } else if (config_.sample_limit > 0 && ++run.limit_count > config_.sample_limit) {
    run.sample_limit_hit = true;
  } else if (t > run.t + kMaxAheadMs) {
    ++run.r.out_of_bounds;
  } else {
    pending_.push_back({t, v, slot, cached, honored});
  }
  ++run.r.post_relabel;
  return true;
}

// The store's half of a scrape, after the whole body is read: the appends run back to back, so
// the store's series stay in cache instead of competing with the body and the key arenas.
Status Ingester::AppendPending(Run& run) {
  for (const Pending& p : pending_) {
    Hot& h = hot_[p.slot];
    const Labels& lset = cold_[p.slot].labels;
    metrics::SeriesRef ref = h.ref;
    const AppendError err = run.app->Append(ref, lset, p.t, p.v);
    h.ref = ref;
    switch (err) {
      case AppendError::kNone:
        ++run.r.appended;
        if (!p.honored) Track(run, p.slot);
        if (!p.cached) ++run.r.series_added;
        break;
      case AppendError::kOutOfOrder:
        ++run.r.out_of_order;
        break;
      case AppendError::kDuplicate:
        ++run.r.duplicate;
        break;
      case AppendError::kOutOfBounds:
        ++run.r.out_of_bounds;
        break;
      case AppendError::kLimit:
        ++run.r.store_limit;
        break;
      case AppendError::kInvalidLabels:
        pending_.clear();
        run.reason = FailureReason::kInvalidSeries;
        return InvalidArgument("the metrics store refused the series " +
                               Abbreviate(metrics::ToString(lset), 200));
    }
  }
  pending_.clear();
  return Status::Ok();
}

bool Ingester::Mutate(Labels& lset) {
  const Labels& target = config_.target_labels;
  if (config_.honor_labels) {
    for (const auto& l : target)
      if (metrics::Get(lset, l.name).empty()) InsertSorted(lset, l);
  } else if (!target.empty()) {
    // Target labels win; an exposed value they replace is kept as exported_<name>.
    conflicts_.clear();
    for (const auto& l : target) {
      auto it = std::lower_bound(lset.begin(), lset.end(), l.name,
                                 [](const Label& x, const std::string& n) { return x.name < n; });
      if (it != lset.end() && it->name == l.name) {
        conflicts_.push_back({l.name, std::move(it->value)});
        it->value = l.value;
      } else {
        lset.insert(it, l);
      }
    }
    if (!conflicts_.empty()) {
      std::stable_sort(conflicts_.begin(), conflicts_.end(), [](const Label& a, const Label& b) {
        return a.name.size() < b.name.size();
      });
      for (auto& c : conflicts_) {
        std::string name = std::string(kExportedPrefix) + c.name;
        while (!metrics::Get(lset, name).empty()) name.insert(0, kExportedPrefix);
        InsertSorted(lset, {std::move(name), std::move(c.value)});
      }
    }
  }
  if (!config_.metric_relabel_configs.empty() &&
      !ingest::Relabel(config_.metric_relabel_configs, lset))
    return false;
  return !lset.empty();
}

Status Ingester::Validate(const Labels& lset) const {
  const std::string_view name = metrics::Get(lset, metrics::kMetricName);
  if (name.empty()) return InvalidArgument("missing metric name (__name__ label)");
  // The parser and target relabeling only produce valid names and values; metric relabeling may
  // write anything.
  bool valid = true;
  if (!config_.metric_relabel_configs.empty()) {
    valid = IsValidMetricName(name);
    for (const auto& l : lset)
      valid = valid && ingest::IsValidLabelName(l.name) && IsValidUtf8(l.value);
  }
  if (!valid)
    return InvalidArgument("invalid metric name or label names: " +
                           Abbreviate(metrics::ToString(lset), 200));
  const auto limit_error = [](std::string msg) {
    return Status(StatusCode::kResourceExhausted, std::move(msg));
  };
  const std::string_view metric = TruncateRunes(name, 50);
  if (config_.label_limit > 0 && lset.size() > config_.label_limit)
    return limit_error(
        fmt::format("label_limit exceeded (metric: {}, number of labels: {}, limit: {})", metric,
                    lset.size(), config_.label_limit));
  for (const auto& l : lset) {
    if (config_.label_name_length_limit > 0 && l.name.size() > config_.label_name_length_limit)
      return limit_error(fmt::format(
          "label_name_length_limit exceeded (metric: {}, label name: {}, length: {}, limit: {})",
          metric, TruncateRunes(l.name, 50), l.name.size(), config_.label_name_length_limit));
    if (config_.label_value_length_limit > 0 && l.value.size() > config_.label_value_length_limit)
      return limit_error(fmt::format(
          "label_value_length_limit exceeded (metric: {}, label name: {}, value: {}, length: {}, "
          "limit: {})",
          metric, TruncateRunes(l.name, 50), QuoteForMessage(TruncateRunes(l.value, 50)), l.value.size(),
          config_.label_value_length_limit));
  }
  return Status::Ok();
}

void Ingester::Track(Run& run, uint32_t slot) {
  Hot& h = hot_[slot];
  if (h.tracked_iter == iter_) return;
  if (h.tracked_iter + 1 == iter_) ++run.retracked;
  h.tracked_iter = iter_;
  cur_tracked_.push_back(slot);
}

void Ingester::UntrackCurrent() {
  for (uint32_t slot : cur_tracked_) hot_[slot].tracked_iter = 0;
  cur_tracked_.clear();
}

metrics::Appender& Ingester::AppenderFor(metrics::Storage& storage) {
  if (app_ == nullptr || storage_ != &storage) {
    app_ = storage.NewAppender();
    storage_ = &storage;
  }
  return *app_;
}

// ---- the end of a scrape ------------------------------------------------------------------------

void Ingester::WriteStale(Run& run) {
  // Every series of the previous scrape appended to again: nothing went away.
  if (run.retracked == prev_tracked_.size()) return;
  const double stale = StaleNaN();
  for (uint32_t slot : prev_tracked_) {
    Hot& h = hot_[slot];
    if (h.tracked_iter == iter_) continue;
    // Out of order or duplicate means a newer sample exists: the marker is not needed.
    if (run.app->Append(h.ref, cold_[slot].labels, run.t, stale) == AppendError::kNone)
      ++run.r.stale_markers;
  }
}

void Ingester::Report(Run& run, bool up) {
  run.r.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - run.started).count();
  const double values[5] = {
      up ? 1.0 : 0.0, run.r.duration_seconds, static_cast<double>(run.r.scraped),
      static_cast<double>(run.r.post_relabel), static_cast<double>(run.r.series_added)};
  for (size_t i = 0; i < kReportNames.size(); ++i) {
    // A refusal (out of order after a clock step back) only loses this report sample.
    (void)run.app->Append(report_refs_[i], report_labels_[i], run.t, values[i]);
  }
  reported_ = true;
}

void Ingester::IterDone(bool success, size_t touched) {
  const size_t count = live_;
  bool flush = success && touched < count;
  if (success) {
    successful_count_ = count;
  } else if (count > successful_count_ * 2 + 1000) {
    // Failed scrapes with changing series would grow the cache without bound.
    flush = true;
  }
  if (flush) {
    std::vector<uint32_t> gone;
    for (uint32_t slot = 0; slot < hot_.size(); ++slot) {
      const uint64_t last = hot_[slot].last_iter;
      if (last != 0 && last != iter_) gone.push_back(slot);
    }
    const bool rebuild = gone.size() * 4 > live_;
    for (uint32_t slot : gone) {
      if (!rebuild) IndexErase(slot);
      FreeSlot(slot);
    }
    if (rebuild) IndexRebuild(std::max<size_t>(64, index_.size()));
  }
  prev_tracked_.swap(cur_tracked_);
  cur_tracked_.clear();
  prev_seq_.swap(cur_seq_);
  cur_seq_.clear();
  prev_keys_.swap(cur_keys_);
  cur_keys_.clear();
  predict_ = 0;
  ++iter_;
}

ScrapeResult Ingester::Ingest(metrics::Storage& storage, std::string_view body,
                              std::string_view content_type, int64_t t, SteadyTime started) {
  Run run;
  run.t = t;
  run.started = started;
  metrics::Appender& app = AppenderFor(storage);
  run.app = &app;
  const ingest::Format format = ingest::FormatForContentType(content_type);
  Status st = format == ingest::Format::kOpenMetrics1 ? ParseOpenMetrics(run, body)
                                                      : ParsePrometheus(run, body);
  if (st.ok() && run.sample_limit_hit) {
    st = InvalidArgument("sample limit exceeded");
    run.reason = FailureReason::kSampleLimit;
  }
  // Also after a failure, so the counts reported are those of the samples read before it, as in
  // Prometheus; the appends are rolled back below.
  const FailureReason parse_reason = run.reason;
  Status appended = AppendPending(run);
  if (st.ok() && !appended.ok()) {
    st = std::move(appended);
  } else {
    run.reason = parse_reason;
  }
  if (st.ok()) {
    WriteStale(run);
    Report(run, true);
    run.r.commit = app.Commit();
    // An empty body keeps the cache, as in Prometheus.
    IterDone(!body.empty(), run.touched);
    return std::move(run.r);
  }
  // A failed scrape stores nothing of its body: roll back, then write what a failure writes.
  app.Rollback();
  UntrackCurrent();
  run.retracked = 0;
  run.r.failure = run.reason == FailureReason::kNone ? FailureReason::kParse : run.reason;
  run.r.error = st.message();
  run.r.appended = 0;
  WriteStale(run);
  Report(run, false);
  run.r.commit = app.Commit();
  IterDone(false, run.touched);
  return std::move(run.r);
}

ScrapeResult Ingester::Fail(metrics::Storage& storage, FailureReason reason, std::string error,
                            int64_t t, SteadyTime started) {
  Run run;
  run.t = t;
  run.started = started;
  run.r.failure = reason;
  run.r.error = std::move(error);
  run.app = &AppenderFor(storage);
  WriteStale(run);
  Report(run, false);
  run.r.commit = run.app->Commit();
  IterDone(false, 0);
  return std::move(run.r);
}

int64_t Ingester::WriteEndOfRunStale(metrics::Storage& storage, int64_t t, bool report) {
  Run run;
  run.t = t;
  run.app = &AppenderFor(storage);
  WriteStale(run);
  if (report && reported_) {
    for (size_t i = 0; i < kReportNames.size(); ++i) {
      if (run.app->Append(report_refs_[i], report_labels_[i], t, StaleNaN()) == AppendError::kNone)
        ++run.r.stale_markers;
    }
  }
  prev_tracked_.clear();
  if (!run.app->Commit().ok()) return 0;
  return run.r.stale_markers;
}

}  // namespace platops::scrape
