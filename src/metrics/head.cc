#include "metrics/head.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <new>
#include <optional>

#include "base/strings.h"

namespace platops::metrics {
namespace {

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

uint64_t GetVarint(std::string_view s, size_t& pos) {
  uint64_t v = 0;
  for (int shift = 0; pos < s.size() && shift < 64; shift += 7) {
    auto byte = static_cast<uint8_t>(s[pos++]);
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (byte < 0x80) break;
  }
  return v;
}

// Labels packed as (varint length, bytes) name/value pairs: one allocation per series.
std::string Pack(const Labels& labels) {
  size_t size = 0;
  for (const auto& l : labels) size += l.name.size() + l.value.size() + 2;
  std::string out;
  out.reserve(size);
  for (const auto& l : labels) {
    PutVarint(out, l.name.size());
    out += l.name;
    PutVarint(out, l.value.size());
    out += l.value;
  }
  return out;
}

Labels Unpack(std::string_view packed) {
  Labels out;
  size_t pos = 0;
  while (pos < packed.size()) {
    Label l;
    size_t n = GetVarint(packed, pos);
    l.name.assign(packed.substr(pos, n));
    pos += n;
    n = GetVarint(packed, pos);
    l.value.assign(packed.substr(pos, n));
    pos += n;
    out.push_back(std::move(l));
  }
  return out;
}

// Appends a key for packed labels whose byte order (memcmp, then length) is the order of the
// label sets: each name and value with 0x00 escaped as 0x00 0xff, ended by 0x00 0x00, so a
// shorter string, and a label set that is a prefix of another, sorts first.
void AppendSortKey(std::string_view packed, std::string& out) {
  size_t pos = 0;
  while (pos < packed.size()) {
    const size_t n = GetVarint(packed, pos);
    const std::string_view part = packed.substr(pos, n);
    pos += n;
    for (size_t i = 0; i < part.size();) {
      const size_t zero = part.find('\0', i);
      const size_t stop = zero == std::string_view::npos ? part.size() : zero;
      out.append(part.substr(i, stop - i));
      if (stop == part.size()) break;
      out += '\0';
      out += '\xff';
      i = stop + 1;
    }
    out += '\0';
    out += '\0';
  }
}

// Valid as Prometheus requires of stored series: a metric name, names unique and non-empty,
// values non-empty, everything UTF-8.
bool ValidLabels(const Labels& labels) {
  if (labels.empty() || Get(labels, kMetricName).empty()) return false;
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto& l = labels[i];
    if (l.name.empty() || l.value.empty()) return false;
    if (i > 0 && !(labels[i - 1].name < l.name)) return false;
    if (!IsValidUtf8(l.value)) return false;
  }
  return true;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::vector<SeriesRef> Union(std::vector<const std::vector<SeriesRef>*>& lists) {
  if (lists.empty()) return {};
  if (lists.size() == 1) return *lists[0];
  std::vector<SeriesRef> out;
  size_t total = 0;
  for (const auto* l : lists) total += l->size();
  out.reserve(total);
  for (const auto* l : lists) out.insert(out.end(), l->begin(), l->end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void Subtract(std::vector<SeriesRef>& from, const std::vector<SeriesRef>& remove) {
  std::vector<SeriesRef> out;
  out.reserve(from.size());
  std::set_difference(from.begin(), from.end(), remove.begin(), remove.end(),
                      std::back_inserter(out));
  from = std::move(out);
}

void Intersect(std::vector<SeriesRef>& into, const std::vector<SeriesRef>& other) {
  std::vector<SeriesRef> out;
  out.reserve(std::min(into.size(), other.size()));
  std::set_intersection(into.begin(), into.end(), other.begin(), other.end(),
                        std::back_inserter(out));
  into = std::move(out);
}

}  // namespace

// The fields an append touches come first, and the struct starts a cache line, so one append
// reads two lines (which AppendBatch prefetches).
struct alignas(64) Head::MemSeries {
  XorChunk open;
  int64_t open_min_t = 0;
  int64_t open_end = 0;  // The chunk range boundary the open chunk may not reach.
  int64_t max_t = std::numeric_limits<int64_t>::min();
  uint64_t last_bits = 0;
  SeriesRef ref = 0;
  std::vector<ChunkData> closed;
  uint64_t hash = 0;
  std::string packed;  // Pack(labels).
  // Appenders holding samples for this series not yet committed; Truncate keeps pinned series.
  std::atomic<uint32_t> pins{0};

  bool empty() const { return closed.empty() && open.num_samples() == 0; }
  int64_t min_t() const {
    if (!closed.empty()) return closed.front().min_t;
    return open.num_samples() > 0 ? open_min_t : std::numeric_limits<int64_t>::max();
  }
};

namespace {

// Open addressing (linear probing) from a label hash to series: one cache line per probe instead
// of a node per entry.
template <typename S>
class HashIndex {
 public:
  // The series with this hash for which `same(series)` holds, or nullptr.
  template <typename Same>
  S* Find(uint64_t hash, const Same& same) const {
    if (slots_.empty()) return nullptr;
    const size_t mask = slots_.size() - 1;
    for (size_t i = Mix(hash) & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.s == nullptr) return nullptr;
      if (slot.s != Tombstone() && slot.hash == hash && same(*slot.s)) return slot.s;
    }
  }
  void Insert(uint64_t hash, S* s) {
    if ((used_ + 1) * 2 > slots_.size()) Rehash(std::max<size_t>(16, live_ * 4));
    const size_t mask = slots_.size() - 1;
    size_t i = Mix(hash) & mask;
    while (slots_[i].s != nullptr && slots_[i].s != Tombstone()) i = (i + 1) & mask;
    if (slots_[i].s == nullptr) ++used_;
    slots_[i] = {hash, s};
    ++live_;
  }
  void Erase(uint64_t hash, S* s) {
    if (slots_.empty()) return;
    const size_t mask = slots_.size() - 1;
    for (size_t i = Mix(hash) & mask; slots_[i].s != nullptr; i = (i + 1) & mask) {
      if (slots_[i].s == s) {
        slots_[i].s = Tombstone();
        --live_;
        return;
      }
    }
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    S* s = nullptr;
  };
  static S* Tombstone() { return reinterpret_cast<S*>(uintptr_t{1}); }
  // Stripes are chosen by hash % 256, so the low bits are the same within one table.
  static size_t Mix(uint64_t h) { return static_cast<size_t>((h * 0x9E3779B97F4A7C15ULL) >> 20); }
  void Rehash(size_t min_size) {
    size_t size = 16;
    while (size < min_size) size *= 2;
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(size, Slot{});
    used_ = live_ = 0;
    for (const auto& slot : old) {
      if (slot.s != nullptr && slot.s != Tombstone()) Insert(slot.hash, slot.s);
    }
  }

  std::vector<Slot> slots_;
  size_t used_ = 0;  // Live entries and tombstones.
  size_t live_ = 0;
};

// A fast 64-bit hash of a label set, computed without packing it.
uint64_t HashLabels(const Labels& labels) {
  uint64_t h = 0x243F6A8885A308D3ULL;
  auto mix = [&h](uint64_t w) {
    h ^= w;
    h *= 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
  };
  auto bytes = [&mix](std::string_view s) {
    mix(s.size());
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      mix(w);
    }
    if (i < s.size()) {
      uint64_t w = 0;
      std::memcpy(&w, s.data() + i, s.size() - i);
      mix(w);
    }
  };
  for (const auto& l : labels) {
    bytes(l.name);
    bytes(l.value);
  }
  return h;
}

// Whether `packed` is Pack(labels), without unpacking.
bool PackedEquals(std::string_view packed, const Labels& labels) {
  size_t pos = 0;
  for (const auto& l : labels) {
    for (const std::string* part : {&l.name, &l.value}) {
      if (pos >= packed.size()) return false;
      size_t n = GetVarint(packed, pos);
      if (n != part->size() || packed.compare(pos, n, *part) != 0) return false;
      pos += n;
    }
  }
  return pos == packed.size();
}

}  // namespace

struct Head::Stripe {
  // Guards `by_ref` and the sample state of the series in it (those with ref % 256 == index).
  mutable std::mutex ref_mu;
  // Series by ref / kStripes; owns them. nullptr for removed refs.
  std::vector<MemSeries*> by_ref;
  // Guards `by_hash` (series whose hash % 256 == index). Lock order: hash_mu, then any ref_mu.
  mutable std::mutex hash_mu;
  HashIndex<MemSeries> by_hash;

  // The storage of the series in by_ref, GUARDED_BY(ref_mu). Slabs keep a stripe's series
  // together in memory, in creation order, so that bulk appends walking a stripe in ref order
  // read memory nearly in sequence; the places of removed series are reused.
  static constexpr size_t kSlabSeries = 64;
  std::vector<std::unique_ptr<MemSeries[]>> slabs;
  size_t slab_used = kSlabSeries;
  std::vector<MemSeries*> free_places;

  MemSeries* Allocate() {
    if (!free_places.empty()) {
      MemSeries* s = free_places.back();
      free_places.pop_back();
      return s;
    }
    if (slab_used == kSlabSeries) {
      slabs.push_back(std::make_unique<MemSeries[]>(kSlabSeries));
      slab_used = 0;
    }
    return &slabs.back()[slab_used++];
  }
  void Release(MemSeries* s) {
    s->~MemSeries();
    new (s) MemSeries();
    free_places.push_back(s);
  }
  template <typename Fn>
  void ForEach(const Fn& fn) const {
    for (MemSeries* s : by_ref) {
      if (s != nullptr) fn(*s);
    }
  }
};

Head::Head(HeadOptions options)
    : options_(options), stripes_(std::make_unique<Stripe[]>(kStripes)) {}

Head::~Head() = default;

Head::Stripe& Head::StripeOf(SeriesRef ref) const { return stripes_[ref % kStripes]; }

Head::MemSeries* Head::Find(SeriesRef ref) const {
  auto& stripe = StripeOf(ref);
  size_t slot = ref / kStripes;
  return slot < stripe.by_ref.size() ? stripe.by_ref[slot] : nullptr;
}

void Head::PutRef(MemSeries* s) {
  auto& stripe = StripeOf(s->ref);
  size_t slot = s->ref / kStripes;
  if (stripe.by_ref.size() <= slot) stripe.by_ref.resize(slot + 1, nullptr);
  stripe.by_ref[slot] = s;
}

AppendError Head::Lookup(const Labels& labels, SeriesRef& ref, bool& created, MemSeries** out) {
  created = false;
  const uint64_t hash = HashLabels(labels);
  Stripe& hs = stripes_[hash % kStripes];
  {
    std::lock_guard lock(hs.hash_mu);
    MemSeries* found = hs.by_hash.Find(
        hash, [&labels](const MemSeries& s) { return PackedEquals(s.packed, labels); });
    if (found != nullptr) {
      ref = found->ref;
      if (out != nullptr) {
        found->pins.fetch_add(1, std::memory_order_relaxed);
        *out = found;
      }
      return AppendError::kNone;
    }
    if (!ValidLabels(labels)) return AppendError::kInvalidLabels;
    if (options_.max_series > 0 && num_series_.load() >= options_.max_series) {
      return AppendError::kLimit;
    }
    ref = next_ref_.fetch_add(1);
    std::string packed = Pack(labels);
    Stripe& rs = StripeOf(ref);
    std::lock_guard ref_lock(rs.ref_mu);
    MemSeries* series = rs.Allocate();
    series->ref = ref;
    series->hash = hash;
    series->packed = std::move(packed);
    if (out != nullptr) {
      series->pins.store(1, std::memory_order_relaxed);
      *out = series;
    }
    hs.by_hash.Insert(hash, series);
    PutRef(series);
  }
  created = true;
  num_series_.fetch_add(1);
  series_created_.fetch_add(1);
  AddToIndex(ref, labels);
  return AppendError::kNone;
}

AppendError Head::GetOrCreate(const Labels& labels, SeriesRef& ref, bool& created) {
  return Lookup(labels, ref, created, nullptr);
}

SeriesRef Head::CreateWithRef(SeriesRef ref, const Labels& labels) {
  SeriesRef next = next_ref_.load();
  while (next <= ref && !next_ref_.compare_exchange_weak(next, ref + 1)) {
  }
  const uint64_t hash = HashLabels(labels);
  Stripe& hs = stripes_[hash % kStripes];
  {
    std::lock_guard lock(hs.hash_mu);
    Stripe& rs = StripeOf(ref);
    std::lock_guard ref_lock(rs.ref_mu);
    if (Find(ref) != nullptr) return ref;
    const MemSeries* same = hs.by_hash.Find(
        hash, [&labels](const MemSeries& s) { return PackedEquals(s.packed, labels); });
    if (same != nullptr) return same->ref;
    MemSeries* series = rs.Allocate();
    series->ref = ref;
    series->hash = hash;
    series->packed = Pack(labels);
    hs.by_hash.Insert(hash, series);
    PutRef(series);
  }
  num_series_.fetch_add(1);
  series_created_.fetch_add(1);
  AddToIndex(ref, labels);
  return ref;
}

void Head::AddToIndex(SeriesRef ref, const Labels& labels) {
  std::unique_lock lock(index_mu_);
  auto add = [ref](std::vector<SeriesRef>& list) {
    // Refs are handed out in increasing order, so this is nearly always a push_back.
    if (list.empty() || list.back() < ref) {
      list.push_back(ref);
    } else {
      list.insert(std::lower_bound(list.begin(), list.end(), ref), ref);
    }
  };
  for (const auto& l : labels) {
    auto name_it = postings_.find(l.name);
    if (name_it == postings_.end()) name_it = postings_.try_emplace(l.name).first;
    add(name_it->second[l.value]);
  }
  add(all_refs_);
}

Labels Head::SeriesLabels(SeriesRef ref) const {
  auto& stripe = StripeOf(ref);
  std::lock_guard lock(stripe.ref_mu);
  const MemSeries* s = Find(ref);
  return s ? Unpack(s->packed) : Labels{};
}

namespace {

AppendError CheckSeries(int64_t max_t, uint64_t last_bits, int64_t min_valid, int64_t t,
                        double v, bool& duplicate_same) {
  duplicate_same = false;
  if (t < min_valid) return AppendError::kOutOfBounds;
  if (max_t == std::numeric_limits<int64_t>::min() || t > max_t) return AppendError::kNone;
  if (t < max_t) return AppendError::kOutOfOrder;
  if (std::bit_cast<uint64_t>(v) == last_bits) {
    duplicate_same = true;
    return AppendError::kNone;
  }
  return AppendError::kDuplicate;
}

}  // namespace

AppendError Head::Check(SeriesRef ref, int64_t t, double v) const {
  auto& stripe = StripeOf(ref);
  std::lock_guard lock(stripe.ref_mu);
  const MemSeries* s = Find(ref);
  if (s == nullptr) return AppendError::kInvalidLabels;
  bool same;
  return CheckSeries(s->max_t, s->last_bits, min_valid_time(), t, v, same);
}

AppendError Head::Append(SeriesRef ref, int64_t t, double v) {
  auto& stripe = StripeOf(ref);
  std::lock_guard lock(stripe.ref_mu);
  MemSeries* s = Find(ref);
  if (s == nullptr) return AppendError::kInvalidLabels;
  return AppendLocked(*s, t, v);
}

AppendError Head::AppendLocked(MemSeries& series, int64_t t, double v) {
  MemSeries* s = &series;
  bool same;
  AppendError err = CheckSeries(s->max_t, s->last_bits, min_valid_time(), t, v, same);
  if (err != AppendError::kNone || same) return err;
  if (s->open.num_samples() > 0 &&
      (s->open.num_samples() >= options_.samples_per_chunk || t >= s->open_end)) {
    const std::string_view bytes = s->open.bytes();
    s->closed.push_back({s->open_min_t, s->max_t, std::string(bytes)});
    // The next chunk is likely about as large: reserve that much up front.
    s->open = XorChunk(bytes.size() + bytes.size() / 8);
  }
  if (s->open.num_samples() == 0) {
    s->open_min_t = t;
    s->open_end = (FloorDiv(t, options_.chunk_range_ms) + 1) * options_.chunk_range_ms;
  }
  // Cannot fail: t is strictly increasing and the chunk holds fewer than kMaxSamples.
  (void)s->open.Append(t, v);
  s->max_t = t;
  s->last_bits = std::bit_cast<uint64_t>(v);
  return AppendError::kNone;
}

bool Head::Contains(SeriesRef ref) const {
  auto& stripe = StripeOf(ref);
  std::lock_guard lock(stripe.ref_mu);
  return Find(ref) != nullptr;
}

Head::BatchResult Head::AppendBatch(std::span<const RefSample> samples, BatchScratch& scratch) {
  BatchResult result;
  if (samples.empty()) return result;
  // A stable counting sort by stripe: one lock per stripe, each series' samples kept in order,
  // and the loop below reads the samples sequentially.
  std::array<uint32_t, kStripes + 1> starts{};
  for (const RefSample& s : samples) ++starts[s.ref % kStripes + 1];
  for (size_t i = 1; i <= kStripes; ++i) starts[i] += starts[i - 1];
  std::vector<RefSample>& sorted = scratch.by_stripe;
  std::vector<RefSample>& by_slot = scratch.by_slot;
  std::vector<uint32_t>& slot_starts = scratch.slot_starts;
  sorted.resize(samples.size());
  {
    std::array<uint32_t, kStripes> next;
    std::copy(starts.begin(), starts.end() - 1, next.begin());
    for (const RefSample& s : samples) sorted[next[s.ref % kStripes]++] = s;
  }
  // Series are scattered over memory: load each a few samples ahead of its append (its struct,
  // then the chunk bytes the append writes), so the cache misses overlap.
  constexpr size_t kSeriesAhead = 16;
  constexpr size_t kBytesAhead = 8;
  for (size_t stripe_index = 0; stripe_index < kStripes; ++stripe_index) {
    const size_t begin = starts[stripe_index];
    const size_t end = starts[stripe_index + 1];
    if (begin == end) continue;
    Stripe& stripe = stripes_[stripe_index];
    std::lock_guard lock(stripe.ref_mu);
    MemSeries* const* by_ref = stripe.by_ref.data();
    const size_t slots = stripe.by_ref.size();
    const RefSample* run = sorted.data() + begin;
    const size_t n = end - begin;
    if (n > slots && slots > 0) {
      // More samples than series: several per series. Group them by series (stable, so each
      // keeps its order) to load each series once per batch rather than once per sample.
      slot_starts.assign(slots + 2, 0);
      for (size_t k = 0; k < n; ++k) ++slot_starts[std::min(run[k].ref / kStripes, slots) + 1];
      for (size_t i = 1; i < slot_starts.size(); ++i) slot_starts[i] += slot_starts[i - 1];
      by_slot.resize(n);
      for (size_t k = 0; k < n; ++k) {
        by_slot[slot_starts[std::min(run[k].ref / kStripes, slots)]++] = run[k];
      }
      run = by_slot.data();
    }
    auto find = [&](size_t k) -> MemSeries* {
      const size_t slot = run[k].ref / kStripes;
      return slot < slots ? by_ref[slot] : nullptr;
    };
    for (size_t k = 0; k < n; ++k) {
      if (k + kSeriesAhead < n) {
        if (const MemSeries* ahead = find(k + kSeriesAhead); ahead != nullptr) {
          __builtin_prefetch(ahead, 1);
          __builtin_prefetch(reinterpret_cast<const char*>(ahead) + 64, 1);
        }
      }
      if (k + kBytesAhead < n) {
        if (const MemSeries* ahead = find(k + kBytesAhead); ahead != nullptr) {
          ahead->open.PrefetchTail();
        }
      }
      const RefSample& s = run[k];
      MemSeries* series = find(k);
      const AppendError err =
          series == nullptr ? AppendError::kInvalidLabels : AppendLocked(*series, s.t, s.v);
      if (err == AppendError::kNone) {
        ++result.appended;
        result.max_t = std::max(result.max_t, s.t);
      } else {
        ++result.rejected[static_cast<int>(err)];
      }
    }
  }
  return result;
}

AppendError Head::Prepare(const Labels& labels, SeriesRef& ref, int64_t t, double v,
                          bool& created, SeriesHandle& handle) {
  created = false;
  if (ref != 0) {
    auto& stripe = StripeOf(ref);
    std::lock_guard lock(stripe.ref_mu);
    if (MemSeries* s = Find(ref); s != nullptr) {
      bool same;
      AppendError err = CheckSeries(s->max_t, s->last_bits, min_valid_time(), t, v, same);
      if (err != AppendError::kNone) return err;
      s->pins.fetch_add(1, std::memory_order_relaxed);
      handle.p = s;
      return AppendError::kNone;
    }
    ref = 0;  // Dropped from the head since: look it up by labels.
  }
  MemSeries* s = nullptr;
  AppendError err = Lookup(labels, ref, created, &s);
  if (err != AppendError::kNone) return err;
  auto& stripe = StripeOf(ref);
  std::lock_guard lock(stripe.ref_mu);
  bool same;
  err = CheckSeries(s->max_t, s->last_bits, min_valid_time(), t, v, same);
  if (err != AppendError::kNone) {
    s->pins.fetch_sub(1, std::memory_order_relaxed);
    return err;
  }
  handle.p = s;
  return AppendError::kNone;
}

AppendError Head::AppendPinned(SeriesHandle handle, int64_t t, double v) {
  auto* s = static_cast<MemSeries*>(handle.p);
  auto& stripe = StripeOf(s->ref);
  std::lock_guard lock(stripe.ref_mu);
  AppendError err = AppendLocked(*s, t, v);
  s->pins.fetch_sub(1, std::memory_order_relaxed);
  return err;
}

void Head::Unpin(SeriesHandle handle) {
  auto* s = static_cast<MemSeries*>(handle.p);
  auto& stripe = StripeOf(s->ref);
  std::lock_guard lock(stripe.ref_mu);
  s->pins.fetch_sub(1, std::memory_order_relaxed);
}

Result<std::vector<SeriesRef>> Head::Select(std::span<const CompiledMatcher> matchers) const {
  std::shared_lock lock(index_mu_);
  std::vector<SeriesRef> result;
  bool have = false;
  // Positive lists first: each matcher that does not match "" restricts to its postings.
  for (const auto& m : matchers) {
    if (m.MatchesEmpty()) continue;
    std::vector<const std::vector<SeriesRef>*> lists;
    auto name_it = postings_.find(m.name());
    if (name_it != postings_.end()) {
      const auto& values = name_it->second;
      if (m.is_set() && !m.negated()) {
        for (const auto& v : m.set_values()) {
          auto it = values.find(v);
          if (it != values.end()) lists.push_back(&it->second);
        }
      } else {
        auto it = m.prefix().empty() ? values.begin() : values.lower_bound(m.prefix());
        for (; it != values.end(); ++it) {
          if (!m.prefix().empty() && !it->first.starts_with(m.prefix())) break;
          if (m.Matches(it->first)) lists.push_back(&it->second);
        }
      }
    }
    std::vector<SeriesRef> refs = Union(lists);
    if (!have) {
      result = std::move(refs);
      have = true;
    } else {
      Intersect(result, refs);
    }
    if (result.empty()) return result;
  }
  if (!have) result = all_refs_;
  // Matchers that accept "" (absent label): remove the series whose value does not match.
  for (const auto& m : matchers) {
    if (!m.MatchesEmpty()) continue;
    auto name_it = postings_.find(m.name());
    if (name_it == postings_.end()) continue;
    std::vector<const std::vector<SeriesRef>*> lists;
    for (const auto& [value, refs] : name_it->second) {
      if (!m.Matches(value)) lists.push_back(&refs);
    }
    if (!lists.empty()) Subtract(result, Union(lists));
  }
  return result;
}

namespace {

class HeadIterator : public SampleIterator {
 public:
  HeadIterator(const std::vector<ChunkData>& chunks, int64_t mint, int64_t maxt)
      : chunks_(chunks), mint_(mint), maxt_(maxt) {}

  bool Next() override {
    if (done_) return false;
    if (!started_) {
      started_ = true;
      return Seek(mint_);
    }
    while (true) {
      if (it_.has_value() && it_->Next()) return Accept();
      if (it_.has_value() && !it_->status().ok()) return Fail();
      if (!OpenNext()) return false;
    }
  }

  bool Seek(int64_t t) override {
    if (done_) return false;
    if (started_ && it_.has_value() && At().t >= t && positioned_) return true;
    started_ = true;
    t = std::max(t, mint_);
    // Skip whole chunks that end before t.
    while (true) {
      if (!it_.has_value() || chunks_[index_].max_t < t) {
        if (it_.has_value()) ++index_;
        while (index_ < chunks_.size() && chunks_[index_].max_t < t) ++index_;
        if (index_ >= chunks_.size()) return Finish();
        it_.emplace(chunks_[index_].bytes);
      }
      if (it_->Seek(t)) return Accept();
      if (!it_->status().ok()) return Fail();
      ++index_;
      if (index_ >= chunks_.size()) return Finish();
      it_.emplace(chunks_[index_].bytes);
    }
  }

  Sample At() const override { return it_->At(); }
  Status status() const override { return status_; }
  bool AppendUntil(int64_t maxt, std::vector<Sample>& out) override {
    const int64_t limit = std::min(maxt, maxt_);
    while (true) {
      do {
        const Sample s = it_->At();
        if (s.t > limit) return s.t > maxt_ ? Finish() : true;
        out.push_back(s);
      } while (it_->Next());
      if (!it_->status().ok()) return Fail();
      while (true) {  // On to the next chunk with a sample.
        if (!OpenNext()) return false;
        if (it_->Next()) break;
        if (!it_->status().ok()) return Fail();
      }
    }
  }

 private:
  bool OpenNext() {
    if (it_.has_value()) ++index_;
    if (index_ >= chunks_.size()) return Finish();
    it_.emplace(chunks_[index_].bytes);
    return true;
  }
  bool Accept() {
    if (it_->At().t > maxt_) return Finish();
    positioned_ = true;
    return true;
  }
  bool Finish() {
    done_ = true;
    positioned_ = false;
    return false;
  }
  bool Fail() {
    status_ = it_->status();
    return Finish();
  }

  const std::vector<ChunkData>& chunks_;
  int64_t mint_;
  int64_t maxt_;
  size_t index_ = 0;
  std::optional<XorIterator> it_;
  bool started_ = false;
  bool positioned_ = false;
  bool done_ = false;
  Status status_;
};

class HeadSeries : public Series {
 public:
  HeadSeries(Labels labels, std::vector<ChunkData> chunks, int64_t mint, int64_t maxt)
      : labels_(std::move(labels)), chunks_(std::move(chunks)), mint_(mint), maxt_(maxt) {}
  const Labels& labels() const override { return labels_; }
  std::unique_ptr<SampleIterator> Iterator() const override {
    return std::make_unique<HeadIterator>(chunks_, mint_, maxt_);
  }

 private:
  Labels labels_;
  std::vector<ChunkData> chunks_;
  int64_t mint_;
  int64_t maxt_;
};

// Whether any chunk holds a sample in [mint, maxt]. A chunk's min_t and max_t are its first and
// last samples' times, so only a chunk spanning the whole range is decoded.
bool HasSampleIn(const std::vector<ChunkData>& chunks, int64_t mint, int64_t maxt) {
  for (const auto& c : chunks) {
    if (c.max_t < mint || c.min_t > maxt) continue;
    if (c.min_t >= mint || c.max_t <= maxt) return true;
    XorIterator it(c.bytes);
    if (it.Seek(mint) && it.At().t <= maxt) return true;
  }
  return false;
}

bool NeedsNonEmpty(std::span<const CompiledMatcher> matchers) {
  return std::none_of(matchers.begin(), matchers.end(),
                      [](const CompiledMatcher& m) { return !m.MatchesEmpty(); });
}

}  // namespace

class HeadQuerier : public Querier {
 public:
  HeadQuerier(Head& head, int64_t mint, int64_t maxt) : head_(head), mint_(mint), maxt_(maxt) {}

  Result<std::vector<std::unique_ptr<Series>>> Select(
      std::span<const Matcher> matchers) override {
    PLATOPS_ASSIGN_OR_RETURN(auto compiled, CompileMatchers(matchers));
    if (NeedsNonEmpty(compiled)) {
      return InvalidArgument("vector selector must contain at least one non-empty matcher");
    }
    PLATOPS_ASSIGN_OR_RETURN(auto refs, head_.Select(compiled));
    return head_.Materialize(refs, mint_, maxt_);
  }

  Result<std::vector<std::string>> LabelNames(std::span<const Matcher> matchers) override {
    PLATOPS_ASSIGN_OR_RETURN(auto compiled, CompileMatchers(matchers));
    PLATOPS_ASSIGN_OR_RETURN(auto refs, head_.Select(compiled));
    return head_.LabelNamesOf(refs, mint_, maxt_, matchers.empty());
  }

  Result<std::vector<std::string>> LabelValues(std::string_view name,
                                               std::span<const Matcher> matchers) override {
    PLATOPS_ASSIGN_OR_RETURN(auto compiled, CompileMatchers(matchers));
    PLATOPS_ASSIGN_OR_RETURN(auto refs, head_.Select(compiled));
    return head_.LabelValuesOf(name, refs, mint_, maxt_);
  }

 private:
  Head& head_;
  int64_t mint_;
  int64_t maxt_;
};

std::unique_ptr<Querier> Head::NewQuerier(int64_t mint, int64_t maxt) {
  return std::make_unique<HeadQuerier>(*this, mint, maxt);
}

std::vector<std::unique_ptr<Series>> Head::Materialize(std::span<const SeriesRef> refs,
                                                       int64_t mint, int64_t maxt) const {
  // The series are sorted by keys that compare as their labels, side by side in one buffer,
  // before any is unpacked: comparing label sets scattered over the heap costs cache misses.
  struct Found {
    std::string packed;
    size_t key_offset;
    size_t key_size;
    std::vector<ChunkData> chunks;
  };
  std::vector<Found> found;
  found.reserve(refs.size());
  std::string keys;
  for (SeriesRef ref : refs) {
    auto& stripe = StripeOf(ref);
    std::vector<ChunkData> chunks;
    std::string packed;
    {
      std::lock_guard lock(stripe.ref_mu);
      const MemSeries* s = Find(ref);
      if (s == nullptr || s->empty() || s->max_t < mint || s->min_t() > maxt) continue;
      for (const auto& c : s->closed) {
        if (c.max_t >= mint && c.min_t <= maxt) chunks.push_back(c);
      }
      if (s->open.num_samples() > 0 && s->max_t >= mint && s->open_min_t <= maxt) {
        chunks.push_back({s->open_min_t, s->max_t, std::string(s->open.bytes())});
      }
      packed = s->packed;
    }
    if (!HasSampleIn(chunks, mint, maxt)) continue;
    const size_t offset = keys.size();
    AppendSortKey(packed, keys);
    found.push_back({std::move(packed), offset, keys.size() - offset, std::move(chunks)});
  }
  std::vector<uint32_t> order(found.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  const std::string_view all = keys;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return all.substr(found[a].key_offset, found[a].key_size) <
           all.substr(found[b].key_offset, found[b].key_size);
  });
  std::vector<std::unique_ptr<Series>> out;
  out.reserve(found.size());
  for (uint32_t i : order) {
    Found& f = found[i];
    out.push_back(std::make_unique<HeadSeries>(Unpack(f.packed), std::move(f.chunks), mint, maxt));
  }
  return out;
}

bool Head::InRange(SeriesRef ref, int64_t mint, int64_t maxt, std::string* packed) const {
  auto& stripe = StripeOf(ref);
  std::lock_guard lock(stripe.ref_mu);
  const MemSeries* s = Find(ref);
  if (s == nullptr || s->empty() || s->max_t < mint || s->min_t() > maxt) return false;
  if (s->min_t() < mint || s->max_t > maxt) {
    // Straddles a bound: look for a sample inside.
    bool found = false;
    for (const auto& c : s->closed) {
      if (c.max_t < mint || c.min_t > maxt) continue;
      XorIterator it(c.bytes);
      if (it.Seek(mint) && it.At().t <= maxt) found = true;
      if (found) break;
    }
    if (!found && s->open.num_samples() > 0) {
      XorIterator it = s->open.NewIterator();
      found = it.Seek(mint) && it.At().t <= maxt;
    }
    if (!found) return false;
  }
  if (packed != nullptr) *packed = s->packed;
  return true;
}

std::vector<std::string> Head::LabelNamesOf(std::span<const SeriesRef> refs, int64_t mint,
                                            int64_t maxt, bool all) const {
  std::vector<std::string> names;
  if (all) {
    // Every name in the index that has at least one series in range.
    std::vector<std::pair<std::string, std::vector<SeriesRef>>> candidates;
    {
      std::shared_lock lock(index_mu_);
      for (const auto& [name, values] : postings_) {
        std::vector<const std::vector<SeriesRef>*> lists;
        for (const auto& [v, r] : values) lists.push_back(&r);
        candidates.emplace_back(name, Union(lists));
      }
    }
    for (auto& [name, list] : candidates) {
      for (SeriesRef ref : list) {
        if (InRange(ref, mint, maxt, nullptr)) {
          names.push_back(name);
          break;
        }
      }
    }
    return names;
  }
  std::string packed;
  for (SeriesRef ref : refs) {
    if (!InRange(ref, mint, maxt, &packed)) continue;
    for (auto& l : Unpack(packed)) names.push_back(std::move(l.name));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::vector<std::string> Head::LabelValuesOf(std::string_view name,
                                             std::span<const SeriesRef> refs, int64_t mint,
                                             int64_t maxt) const {
  // Walk the value lists of `name`, keeping values with a selected series in range.
  std::vector<std::pair<std::string, std::vector<SeriesRef>>> candidates;
  {
    std::shared_lock lock(index_mu_);
    auto it = postings_.find(name);
    if (it == postings_.end()) return {};
    for (const auto& [value, list] : it->second) {
      std::vector<SeriesRef> both;
      std::set_intersection(list.begin(), list.end(), refs.begin(), refs.end(),
                            std::back_inserter(both));
      if (!both.empty()) candidates.emplace_back(value, std::move(both));
    }
  }
  std::vector<std::string> values;
  for (auto& [value, list] : candidates) {
    for (SeriesRef ref : list) {
      if (InRange(ref, mint, maxt, nullptr)) {
        values.push_back(value);
        break;
      }
    }
  }
  return values;
}

std::vector<SeriesChunks> Head::CollectRange(int64_t mint, int64_t maxt) const {
  std::vector<SeriesChunks> out;
  for (size_t i = 0; i < kStripes; ++i) {
    auto& stripe = stripes_[i];
    std::lock_guard lock(stripe.ref_mu);
    stripe.ForEach([&](const MemSeries& ms) {
      const MemSeries* s = &ms;
      SeriesChunks sc;
      for (const auto& c : s->closed) {
        if (c.min_t >= mint && c.max_t < maxt) sc.chunks.push_back(c);
      }
      if (s->open.num_samples() > 0 && s->open_min_t >= mint && s->max_t < maxt) {
        sc.chunks.push_back({s->open_min_t, s->max_t, std::string(s->open.bytes())});
      }
      if (sc.chunks.empty()) return;
      sc.labels = Unpack(s->packed);
      out.push_back(std::move(sc));
    });
  }
  std::sort(out.begin(), out.end(),
            [](const SeriesChunks& a, const SeriesChunks& b) { return a.labels < b.labels; });
  return out;
}

size_t Head::Truncate(int64_t mint) {
  int64_t cur = min_valid_time_.load();
  while (cur < mint && !min_valid_time_.compare_exchange_weak(cur, mint)) {
  }
  std::vector<std::pair<SeriesRef, uint64_t>> dead;
  for (size_t i = 0; i < kStripes; ++i) {
    auto& stripe = stripes_[i];
    std::lock_guard lock(stripe.ref_mu);
    for (MemSeries* s : stripe.by_ref) {
      if (s == nullptr) continue;
      std::erase_if(s->closed, [mint](const ChunkData& c) { return c.max_t < mint; });
      if (s->open.num_samples() > 0 && s->max_t < mint) s->open = XorChunk();
      if (s->empty() && s->pins.load() == 0) dead.emplace_back(s->ref, s->hash);
    }
  }
  std::vector<SeriesRef> removed;
  for (auto [ref, hash] : dead) {
    Stripe& hs = stripes_[hash % kStripes];
    std::lock_guard hash_lock(hs.hash_mu);
    Stripe& rs = StripeOf(ref);
    std::lock_guard ref_lock(rs.ref_mu);
    MemSeries* s = Find(ref);
    // Written to or pinned by an appender meanwhile.
    if (s == nullptr || !s->empty() || s->pins.load() != 0) continue;
    hs.by_hash.Erase(hash, s);
    rs.by_ref[ref / kStripes] = nullptr;
    rs.Release(s);
    removed.push_back(ref);
  }
  if (removed.empty()) return 0;
  std::sort(removed.begin(), removed.end());
  {
    std::unique_lock lock(index_mu_);
    for (auto name_it = postings_.begin(); name_it != postings_.end();) {
      auto& values = name_it->second;
      for (auto v = values.begin(); v != values.end();) {
        Subtract(v->second, removed);
        v = v->second.empty() ? values.erase(v) : std::next(v);
      }
      name_it = values.empty() ? postings_.erase(name_it) : std::next(name_it);
    }
    Subtract(all_refs_, removed);
  }
  num_series_.fetch_sub(removed.size());
  series_removed_.fetch_add(removed.size());
  return removed.size();
}

HeadStats Head::Stats() const {
  HeadStats st;
  st.num_series = num_series_.load();
  st.series_created = series_created_.load();
  st.series_removed = series_removed_.load();
  st.min_time = std::numeric_limits<int64_t>::max();
  st.max_time = std::numeric_limits<int64_t>::min();
  for (size_t i = 0; i < kStripes; ++i) {
    auto& stripe = stripes_[i];
    std::lock_guard lock(stripe.ref_mu);
    stripe.ForEach([&st](const MemSeries& s) {
      if (s.empty()) return;
      st.min_time = std::min(st.min_time, s.min_t());
      st.max_time = std::max(st.max_time, s.max_t);
      st.chunks += s.closed.size() + (s.open.num_samples() > 0 ? 1 : 0);
    });
  }
  return st;
}

Head::Cardinality Head::TopCardinality(size_t limit) const {
  Cardinality c;
  auto top = [limit](std::vector<std::pair<std::string, size_t>>& v) {
    auto by_count = [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    };
    if (v.size() > limit) {
      std::partial_sort(v.begin(), v.begin() + static_cast<ptrdiff_t>(limit), v.end(), by_count);
      v.resize(limit);
    } else {
      std::sort(v.begin(), v.end(), by_count);
    }
  };
  std::shared_lock lock(index_mu_);
  for (const auto& [name, values] : postings_) {
    c.values_by_label.emplace_back(name, values.size());
    for (const auto& [value, refs] : values) {
      if (name == kMetricName) c.series_by_metric.emplace_back(value, refs.size());
      c.series_by_label_pair.emplace_back(name + "=" + value, refs.size());
    }
  }
  top(c.series_by_metric);
  top(c.values_by_label);
  top(c.series_by_label_pair);
  return c;
}

void Head::ForEachSeriesState(const std::function<void(const SeriesStateView&)>& fn) const {
  size_t slots = 0;
  for (size_t i = 0; i < kStripes; ++i) {
    std::lock_guard lock(stripes_[i].ref_mu);
    slots = std::max(slots, stripes_[i].by_ref.size());
  }
  // Slot-major, stripe-minor is ascending ref order (ref = slot * kStripes + stripe).
  for (size_t slot = 0; slot < slots; ++slot) {
    for (size_t i = 0; i < kStripes; ++i) {
      const Stripe& stripe = stripes_[i];
      std::lock_guard lock(stripe.ref_mu);
      if (slot >= stripe.by_ref.size() || stripe.by_ref[slot] == nullptr) continue;
      const MemSeries& s = *stripe.by_ref[slot];
      const Labels labels = Unpack(s.packed);
      fn(SeriesStateView{.ref = s.ref,
                         .labels = labels,
                         .closed = s.closed,
                         .open = s.open,
                         .open_min_t = s.open_min_t,
                         .open_end = s.open_end,
                         .max_t = s.max_t,
                         .last_bits = s.last_bits});
    }
  }
}

Status Head::RestoreSeries(SeriesState&& state) {
  if (state.ref == 0) return InvalidArgument("head: series ref 0");
  if (!ValidLabels(state.labels)) {
    return InvalidArgument("head: series " + std::to_string(state.ref) + ": invalid labels " +
                           ToString(state.labels));
  }
  const uint64_t hash = HashLabels(state.labels);
  Stripe& hs = stripes_[hash % kStripes];
  {
    std::lock_guard lock(hs.hash_mu);
    const Labels& labels = state.labels;
    if (hs.by_hash.Find(hash, [&labels](const MemSeries& s) {
          return PackedEquals(s.packed, labels);
        }) != nullptr) {
      return InvalidArgument("head: series " + std::to_string(state.ref) + ": labels " +
                             ToString(state.labels) + " belong to another series");
    }
    Stripe& rs = StripeOf(state.ref);
    std::lock_guard ref_lock(rs.ref_mu);
    if (Find(state.ref) != nullptr) {
      return InvalidArgument("head: series " + std::to_string(state.ref) + " exists twice");
    }
    MemSeries* series = rs.Allocate();
    series->ref = state.ref;
    series->hash = hash;
    series->packed = Pack(state.labels);
    series->closed = std::move(state.closed);
    series->open = std::move(state.open);
    series->open_min_t = state.open_min_t;
    series->open_end = state.open_end;
    series->max_t = state.max_t;
    series->last_bits = state.last_bits;
    hs.by_hash.Insert(hash, series);
    PutRef(series);
  }
  ReserveRefsBelow(state.ref + 1);
  num_series_.fetch_add(1);
  series_created_.fetch_add(1);
  AddToIndex(state.ref, state.labels);
  return Status::Ok();
}

void Head::ReserveRefsBelow(SeriesRef next) {
  SeriesRef cur = next_ref_.load();
  while (cur < next && !next_ref_.compare_exchange_weak(cur, next)) {
  }
}

void Head::ForEachSeries(const std::function<void(SeriesRef, const Labels&)>& fn) const {
  std::vector<std::pair<SeriesRef, std::string>> all;
  for (size_t i = 0; i < kStripes; ++i) {
    auto& stripe = stripes_[i];
    std::lock_guard lock(stripe.ref_mu);
    stripe.ForEach([&all](const MemSeries& s) { all.emplace_back(s.ref, s.packed); });
  }
  std::sort(all.begin(), all.end());
  for (const auto& [ref, packed] : all) fn(ref, Unpack(packed));
}

}  // namespace platops::metrics
