#include "metrics/backfill.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "base/time_util.h"
#include "ingest/text_parser.h"
#include "metrics/db.h"
#include "metrics/file_io.h"

namespace platops::metrics {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kBaseRangeMs = int64_t{2} * 3600 * 1000;       // DbOptions::block_range_ms.
constexpr int64_t kMaxRangeMs = int64_t{31} * 24 * 3600 * 1000;  // Db's largest compaction range.
constexpr std::string_view kStagingName = ".tmp-backfill";  // Db::Load removes ".tmp*" leftovers.

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && (a < 0) != (b < 0)) --q;
  return q;
}

std::string TimeText(int64_t t) {
  return std::to_string(t) + " (" + FormatRfc3339(Timestamp(std::chrono::milliseconds(t))) + ")";
}

// An unambiguous key of a label set: length-prefixed names and values.
void AppendKey(std::string& key, const Labels& labels) {
  key.clear();
  for (const auto& l : labels) {
    for (const std::string* s : {&l.name, &l.value}) {
      uint64_t n = s->size();
      while (n >= 0x80) {
        key.push_back(static_cast<char>((n & 0x7f) | 0x80));
        n >>= 7;
      }
      key.push_back(static_cast<char>(n));
      key.append(*s);
    }
  }
}

// The line numbers of the samples the parser hands on, in order. An OpenMetrics body has no
// empty lines, every line starting with '#' is metadata and every other line is exactly one
// sample, handed on after the whole line parsed; so the n-th sample is on the n-th such line.
class SampleLines {
 public:
  explicit SampleLines(std::string_view text) : text_(text) {}
  int64_t Next() {
    while (pos_ < text_.size()) {
      size_t end = text_.find('\n', pos_);
      if (end == std::string_view::npos) end = text_.size();
      ++line_;
      const bool metadata = text_[pos_] == '#';
      pos_ = end + 1;
      if (!metadata) return line_;
    }
    return line_;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int64_t line_ = 0;
};

class Errors {
 public:
  explicit Errors(size_t max) : max_(std::max<size_t>(max, 1)) {}
  // Records an error; false once the limit is reached (stop reading).
  bool Add(int64_t line, std::string message) {
    if (list_.size() < max_) list_.push_back({line, std::move(message)});
    return list_.size() < max_;
  }
  bool empty() const { return list_.empty(); }
  std::vector<BackfillError> Take() {
    std::stable_sort(
        list_.begin(), list_.end(),
        [](const BackfillError& a, const BackfillError& b) { return a.line < b.line; });
    return std::move(list_);
  }

 private:
  size_t max_;
  std::vector<BackfillError> list_;
};

// "line 12: message" (the parser's error form) as an error with its line.
BackfillError FromParseError(const Status& status) {
  std::string_view m = status.message();
  int64_t line = 0;
  if (m.starts_with("line ")) {
    const char* begin = m.data() + 5;
    auto [end, ec] = std::from_chars(begin, m.data() + m.size(), line);
    if (ec == std::errc() && std::string_view(end, m.data() + m.size()).starts_with(": ")) {
      return {line, std::string(end + 2, m.data() + m.size())};
    }
  }
  return {0, std::string(m)};
}

// The time ranges the store already holds: its blocks (sorted by min_time) and its head.
class Occupied {
 public:
  Occupied(std::vector<BlockMeta> blocks, int64_t head_min)
      : blocks_(std::move(blocks)), head_min_(head_min) {
    std::sort(blocks_.begin(), blocks_.end(),
              [](const BlockMeta& a, const BlockMeta& b) { return a.min_time < b.min_time; });
    int64_t m = INT64_MIN;
    for (const auto& b : blocks_) {
      m = std::max(m, b.max_time);
      prefix_max_.push_back(m);
    }
  }
  int64_t head_min() const { return head_min_; }
  // The block holding time t, or nullptr.
  const BlockMeta* BlockAt(int64_t t) const {
    auto k = static_cast<size_t>(
        std::upper_bound(blocks_.begin(), blocks_.end(), t,
                         [](int64_t x, const BlockMeta& b) { return x < b.min_time; }) -
        blocks_.begin());
    if (k == 0 || prefix_max_[k - 1] <= t) return nullptr;
    for (size_t i = k; i-- > 0;) {
      if (blocks_[i].max_time > t) return &blocks_[i];
    }
    return nullptr;
  }
  // A block overlapping [mint, maxt), or nullptr.
  const BlockMeta* Overlapping(int64_t mint, int64_t maxt) const {
    for (const auto& b : blocks_) {
      if (b.min_time < maxt && b.max_time > mint) return &b;
    }
    return nullptr;
  }

 private:
  std::vector<BlockMeta> blocks_;
  std::vector<int64_t> prefix_max_;
  int64_t head_min_;
};

// What the first read learns about one aligned range.
struct RangeStats {
  uint64_t samples = 0;
  int64_t min_t = INT64_MAX;
  int64_t max_t = INT64_MIN;
  int64_t first_line = 0;
};

struct SeriesData {
  Labels labels;
  std::vector<Sample> samples;
};

// The samples of one aligned range, per series.
struct RangeData {
  std::unordered_map<std::string, uint32_t> ids;
  std::vector<SeriesData> series;
};

// Two different values for one series and time.
struct Conflict {
  std::string key;
  Labels labels;
  int64_t t;
};

// Removes the staging directory unless its blocks were all moved into the store.
struct StagingDir {
  std::string path;
  ~StagingDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

Status ValidateOptions(const BackfillOptions& o) {
  bool valid = false;
  for (int64_t r = kBaseRangeMs; r <= kMaxRangeMs; r *= 3)
    valid = valid || r == o.block_duration_ms;
  if (!valid) {
    return InvalidArgument(
        "block duration must be 2h, 6h, 18h, 54h, 162h or 486h (the ranges the "
        "store compacts into), got " +
            FormatDuration(std::chrono::milliseconds(o.block_duration_ms)),
        "block_duration");
  }
  if (o.max_samples_in_memory == 0) {
    return InvalidArgument("must be positive", "max_samples_in_memory");
  }
  return Status::Ok();
}

class Backfiller {
 public:
  Backfiller(std::string_view text, std::string store_dir, const BackfillOptions& options)
      : text_(text), dir_(std::move(store_dir)), options_(options), errors_(options.max_errors) {}

  Result<BackfillReport> Run() {
    PLATOPS_RETURN_IF_ERROR(ValidateOptions(options_));
    auto db = Db::Open(dir_, DbOptions{});
    if (!db.ok()) {
      if (db.status().code() == StatusCode::kUnavailable) {
        return Unavailable("metrics store " + dir_ +
                           " is locked (its LOCK file is held): a running platops has it open; "
                           "stop it or import into another data directory");
      }
      return db.status();
    }
    // Held open (and so locked) until the blocks are in place.
    db_ = std::move(db).value();
    std::vector<BlockMeta> blocks;
    for (const auto& b : db_->Blocks()) blocks.push_back(b->meta());
    HeadStats hs = db_->head().Stats();
    occupied_ = std::make_unique<Occupied>(std::move(blocks),
                                           hs.min_time <= hs.max_time ? hs.min_time : INT64_MAX);

    CheckInput();
    if (errors_.empty()) CheckRanges();
    if (!errors_.empty()) return Failed();

    staging_.path = dir_ + "/blocks/" + std::string(kStagingName);
    std::error_code ec;
    fs::remove_all(staging_.path, ec);
    std::vector<std::pair<int64_t, int64_t>> batches;  // First and last range of each.
    uint64_t in_batch = 0;
    for (const auto& [range, st] : ranges_) {
      if (batches.empty() || in_batch + st.samples > options_.max_samples_in_memory) {
        batches.push_back({range, range});
        in_batch = 0;
      }
      batches.back().second = range;
      in_batch += st.samples;
    }
    for (const auto& [first, last] : batches) {
      PLATOPS_RETURN_IF_ERROR(WriteBatch(first, last));
      if (!errors_.empty()) return Failed();
    }
    PLATOPS_RETURN_IF_ERROR(Publish());
    report_.series = series_keys_.size();
    if (!report_.blocks.empty()) {
      report_.min_time = report_.blocks.front().min_time;
      report_.max_time = report_.blocks.back().max_time - 1;
    }
    return std::move(report_);
  }

 private:
  BackfillReport Failed() {
    BackfillReport failed;
    failed.errors = errors_.Take();
    return failed;
  }

  // First read: every sample is checked and counted per aligned range.
  void CheckInput() {
    SampleLines lines(text_);
    Labels prev;
    std::string key;
    auto on_sample = [&](ingest::Sample&& s) -> bool {
      const int64_t line = lines.Next();
      if (!s.timestamp_ms) {
        return errors_.Add(line, "sample has no timestamp (backfill needs one on every sample)");
      }
      const int64_t t = *s.timestamp_ms;
      if (t > options_.now_ms) {
        return errors_.Add(line, "timestamp " + TimeText(t) + " is in the future (now is " +
                                     TimeText(options_.now_ms) + ")");
      }
      if (const BlockMeta* b = occupied_->BlockAt(t)) {
        return errors_.Add(line, "timestamp " + TimeText(t) + " falls in block " + b->id +
                                     ", which the store already holds");
      }
      if (t >= occupied_->head_min()) {
        return errors_.Add(line, "timestamp " + TimeText(t) +
                                     " is not older than the store's recent samples (its head "
                                     "starts at " +
                                     TimeText(occupied_->head_min()) + ")");
      }
      RangeStats& r = ranges_[FloorDiv(t, options_.block_duration_ms)];
      if (r.samples++ == 0) r.first_line = line;
      r.min_t = std::min(r.min_t, t);
      r.max_t = std::max(r.max_t, t);
      if (s.labels != prev) {
        AppendKey(key, s.labels);
        series_keys_.insert(key);
        prev = s.labels;
      }
      return true;
    };
    auto parsed = ingest::Parse(ingest::Format::kOpenMetrics1, text_, on_sample);
    if (!parsed.ok()) {
      BackfillError e = FromParseError(parsed.status());
      (void)errors_.Add(e.line, std::move(e.message));
    }
  }

  // Each range becomes a block from its first to its last sample, which may not span a block of
  // the store either.
  void CheckRanges() {
    for (const auto& [range, st] : ranges_) {
      if (const BlockMeta* b = occupied_->Overlapping(st.min_t, st.max_t + 1)) {
        const bool go_on = errors_.Add(
            st.first_line, "the samples from " + TimeText(st.min_t) + " to " + TimeText(st.max_t) +
                               " would form a block around block " + b->id +
                               ", which the store already holds; import the samples before and "
                               "after it separately");
        if (!go_on) return;
      }
    }
  }

  // Reads the samples of ranges [first, last], sorts them and writes one block per range.
  Status WriteBatch(int64_t first, int64_t last) {
    std::map<int64_t, RangeData> data;
    Labels prev;
    RangeData* prev_range = nullptr;
    uint32_t prev_id = 0;
    int64_t prev_index = 0;
    std::string key;
    bool changed = false;
    auto on_sample = [&](ingest::Sample&& s) -> bool {
      if (!s.timestamp_ms) {
        changed = true;
        return false;
      }
      const int64_t t = *s.timestamp_ms;
      const int64_t index = FloorDiv(t, options_.block_duration_ms);
      if (index < first || index > last) return true;
      if (prev_range == nullptr || index != prev_index || s.labels != prev) {
        prev_range = &data[index];
        AppendKey(key, s.labels);
        auto [it, inserted] =
            prev_range->ids.try_emplace(key, static_cast<uint32_t>(prev_range->series.size()));
        if (inserted) prev_range->series.push_back({s.labels, {}});
        prev_id = it->second;
        prev_index = index;
        prev = s.labels;
      }
      prev_range->series[prev_id].samples.push_back({t, s.value});
      return true;
    };
    auto parsed = ingest::Parse(ingest::Format::kOpenMetrics1, text_, on_sample);
    if (!parsed.ok() || changed) return Internal("the input changed between two reads");

    std::vector<Conflict> conflicts;
    for (auto& [index, range] : data) {
      std::vector<uint32_t> order(range.series.size());
      for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
      std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        return range.series[a].labels < range.series[b].labels;
      });
      for (SeriesData& s : range.series) {
        auto& v = s.samples;
        std::stable_sort(v.begin(), v.end(),
                         [](const Sample& a, const Sample& b) { return a.t < b.t; });
        size_t out = 0;
        for (size_t i = 0; i < v.size(); ++i) {
          if (out > 0 && v[out - 1].t == v[i].t) {
            if (v[out - 1] == v[i]) {
              ++report_.duplicates;
            } else if (conflicts.empty() || conflicts.back().t != v[i].t ||
                       conflicts.back().labels != s.labels) {
              std::string k;
              AppendKey(k, s.labels);
              conflicts.push_back({std::move(k), s.labels, v[i].t});
            }
            continue;
          }
          v[out++] = v[i];
        }
        v.resize(out);
      }
      if (!conflicts.empty()) continue;
      auto st = ranges_.find(index);
      if (st == ranges_.end()) return Internal("the input changed between two reads");
      PLATOPS_RETURN_IF_ERROR(WriteBlock(range, order, st->second));
      range = RangeData();
    }
    if (!conflicts.empty()) ReportConflicts(conflicts);
    return Status::Ok();
  }

  Status WriteBlock(const RangeData& range, const std::vector<uint32_t>& order,
                    const RangeStats& st) {
    BlockMeta meta{.min_time = st.min_t, .max_time = st.max_t + 1, .level = 1};
    const std::string id =
        std::to_string(meta.min_time) + "-" + std::to_string(meta.max_time) + "-l1";
    PLATOPS_ASSIGN_OR_RETURN(auto writer, BlockWriter::Create(staging_.path + "/.tmp-" + id));
    for (uint32_t i : order) {
      PLATOPS_RETURN_IF_ERROR(writer->AddSeries(range.series[i].labels, range.series[i].samples));
    }
    PLATOPS_ASSIGN_OR_RETURN(BlockMeta written, writer->Finish(staging_.path + "/" + id, meta));
    report_.samples += written.num_samples;
    report_.blocks.push_back(std::move(written));
    return Status::Ok();
  }

  // Finds the lines of conflicting samples (a third read, only on this error path).
  void ReportConflicts(const std::vector<Conflict>& conflicts) {
    std::unordered_set<int64_t> times;
    std::map<std::pair<std::string, int64_t>, std::vector<int64_t>> lines_of;
    for (const auto& c : conflicts) {
      times.insert(c.t);
      lines_of[{c.key, c.t}];
    }
    SampleLines lines(text_);
    std::string key;
    auto on_sample = [&](ingest::Sample&& s) -> bool {
      const int64_t line = lines.Next();
      if (!s.timestamp_ms || !times.contains(*s.timestamp_ms)) return true;
      AppendKey(key, s.labels);
      auto it = lines_of.find({key, *s.timestamp_ms});
      if (it != lines_of.end()) it->second.push_back(line);
      return true;
    };
    (void)ingest::Parse(ingest::Format::kOpenMetrics1, text_, on_sample);
    for (const auto& c : conflicts) {
      const auto& at = lines_of[{c.key, c.t}];
      std::string where;
      for (int64_t l : at) where += (where.empty() ? "" : ", ") + std::to_string(l);
      if (!errors_.Add(at.empty() ? 0 : at.front(), "series " + ToString(c.labels) +
                                                        " has different values at " +
                                                        TimeText(c.t) + " (lines " + where + ")")) {
        return;
      }
    }
  }

  // Moves the staged blocks into the store, all or (when a name is taken) none.
  Status Publish() {
    const std::string blocks_dir = dir_ + "/blocks";
    for (const auto& b : report_.blocks) {
      std::error_code ec;
      if (fs::exists(blocks_dir + "/" + b.id, ec)) {
        return Internal("block " + blocks_dir + "/" + b.id + " already exists");
      }
    }
    for (const auto& b : report_.blocks) {
      std::error_code ec;
      fs::rename(staging_.path + "/" + b.id, blocks_dir + "/" + b.id, ec);
      if (ec) return Internal("rename " + staging_.path + "/" + b.id + ": " + ec.message());
    }
    return SyncDir("", blocks_dir);
  }

  std::string_view text_;
  const std::string dir_;
  const BackfillOptions options_;
  Errors errors_;
  std::unique_ptr<Occupied> occupied_;
  std::map<int64_t, RangeStats> ranges_;  // By index of the aligned range.
  std::unordered_set<std::string> series_keys_;
  std::unique_ptr<Db> db_;
  StagingDir staging_;  // Removed before db_ closes.
  BackfillReport report_;
};

}  // namespace

Result<BackfillReport> Backfill(std::string_view text, const std::string& store_dir,
                                const BackfillOptions& options) {
  Backfiller backfiller(text, store_dir, options);
  return backfiller.Run();
}

}  // namespace platops::metrics
