#include "metrics/head_replayer.h"

#include <algorithm>
#include <utility>

namespace platops::metrics {
namespace {

// Batches queued per worker before Apply waits: bounds the memory replay holds.
constexpr size_t kMaxQueuedBatches = 2;
// Refs below this are remembered in a bitmap (128 MiB at most); larger ones ask the head.
constexpr SeriesRef kKnownLimit = SeriesRef{1} << 30;

}  // namespace

struct HeadReplayer::Worker {
  std::mutex mu;
  std::condition_variable cv;                 // Batches queued, room in the queue, or done.
  std::deque<std::vector<RefSample>> queue;   // GUARDED_BY(mu)
  std::vector<std::vector<RefSample>> spare;  // GUARDED_BY(mu), applied batches for reuse
  bool done = false;                          // GUARDED_BY(mu), no batch will follow
  HeadReplayTotals totals;     // Written by the worker thread; read after it is joined.
  Head::BatchScratch scratch;  // The worker thread's.
  std::thread thread;
};

HeadReplayer::HeadReplayer(Head& head, HeadReplayOptions options) : head_(head), options_(options) {
  const size_t n = options_.workers > 0 ? static_cast<size_t>(options_.workers) : 0;
  series_ = head_.Stats().num_series;
  pending_.resize(std::max<size_t>(n, 1));
  for (size_t i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>());
  flush_at_ = BatchSize();
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->thread = std::thread([this, worker] { Run(*worker); });
  }
}

HeadReplayer::~HeadReplayer() {
  for (auto& w : workers_) {
    {
      std::lock_guard lock(w->mu);
      w->done = true;
    }
    w->cv.notify_all();
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

void HeadReplayer::Run(Worker& worker) {
  std::vector<RefSample> batch;
  while (true) {
    {
      std::unique_lock lock(worker.mu);
      worker.cv.wait(lock, [&worker] { return !worker.queue.empty() || worker.done; });
      if (worker.queue.empty()) return;
      batch = std::move(worker.queue.front());
      worker.queue.pop_front();
    }
    worker.cv.notify_all();
    const Head::BatchResult r = head_.AppendBatch(batch, worker.scratch);
    worker.totals.replayed += r.appended;
    for (uint64_t n : r.rejected) worker.totals.skipped += n;
    worker.totals.max_t = std::max(worker.totals.max_t, r.max_t);
    batch.clear();
    std::lock_guard lock(worker.mu);
    worker.spare.push_back(std::move(batch));
  }
}

bool HeadReplayer::Known(SeriesRef ref) {
  if (ref < kKnownLimit) {
    const size_t word = static_cast<size_t>(ref >> 6);
    if (word < known_.size() && ((known_[word] >> (ref & 63)) & 1) != 0) return true;
  }
  if (!head_.Contains(ref)) return false;
  MarkKnown(ref);
  return true;
}

void HeadReplayer::MarkKnown(SeriesRef ref) {
  if (ref >= kKnownLimit) return;
  const size_t word = static_cast<size_t>(ref >> 6);
  if (word >= known_.size()) known_.resize(std::max(word + 1, known_.size() * 2), 0);
  known_[word] |= uint64_t{1} << (ref & 63);
}

size_t HeadReplayer::BatchSize() const {
  const size_t workers = std::max<size_t>(workers_.size(), 1);
  return std::max<size_t>(options_.batch_samples,
                          static_cast<size_t>(series_) * options_.rounds_per_batch / workers);
}

void HeadReplayer::Dispatch(const RefSample& s) {
  const size_t w = workers_.empty() ? 0 : (s.ref % Head::kStripes) % workers_.size();
  pending_[w].push_back(s);
  if (pending_[w].size() >= flush_at_) Flush(w);
}

void HeadReplayer::Account(const Head::BatchResult& r) {
  totals_.replayed += r.appended;
  for (uint64_t n : r.rejected) totals_.skipped += n;
  totals_.max_t = std::max(totals_.max_t, r.max_t);
}

void HeadReplayer::Flush(size_t w) {
  if (pending_[w].empty()) return;
  if (workers_.empty()) {
    Account(head_.AppendBatch(pending_[w], scratch_));
    pending_[w].clear();
    return;
  }
  Worker& worker = *workers_[w];
  std::vector<RefSample> next;
  {
    std::unique_lock lock(worker.mu);
    worker.cv.wait(lock, [&worker] { return worker.queue.size() < kMaxQueuedBatches; });
    worker.queue.push_back(std::move(pending_[w]));
    if (!worker.spare.empty()) {
      next = std::move(worker.spare.back());
      worker.spare.pop_back();
    }
  }
  worker.cv.notify_all();
  // Growing a fresh vector by doubling would copy and fault in its pages repeatedly.
  if (next.capacity() < flush_at_) next.reserve(flush_at_);
  pending_[w] = std::move(next);
}

void HeadReplayer::Apply(std::string_view record) {
  auto type = GetWalRecordType(record);
  if (!type.ok()) {
    ++totals_.undecodable_records;
    return;
  }
  if (type.value() == WalRecordType::kSeries) {
    if (!DecodeSeriesRecordInto(record, series_buf_).ok()) {
      ++totals_.undecodable_records;
      return;
    }
    series_ += series_buf_.size();
    flush_at_ = BatchSize();
    for (const WalSeries& s : series_buf_) {
      const SeriesRef holder = head_.CreateWithRef(s.ref, s.labels);
      if (holder != s.ref) {
        // The labels live under another ref already: samples logged under this one go there.
        aliases_[s.ref] = holder;
      } else if (!aliases_.empty()) {
        aliases_.erase(s.ref);
      }
      MarkKnown(s.ref);
      if (parked_.empty()) continue;
      auto it = parked_.find(s.ref);
      if (it == parked_.end()) continue;
      const std::vector<RefSample> waiting = std::move(it->second);
      parked_.erase(it);
      for (RefSample p : waiting) {
        p.ref = holder;
        Dispatch(p);
      }
    }
    return;
  }
  if (!DecodeSamplesRecordInto(record, samples_buf_).ok()) {
    ++totals_.undecodable_records;
    return;
  }
  for (const WalSample& s : samples_buf_) {
    RefSample r{.ref = s.ref, .t = s.t, .v = s.v};
    bool known = false;
    if (!aliases_.empty()) {
      if (auto a = aliases_.find(s.ref); a != aliases_.end()) {
        r.ref = a->second;
        known = true;
      }
    }
    if (known || Known(s.ref)) {
      Dispatch(r);
    } else {
      parked_[s.ref].push_back(r);
    }
  }
}

HeadReplayTotals HeadReplayer::Finish() {
  if (finished_) return totals_;
  finished_ = true;
  for (size_t w = 0; w < pending_.size(); ++w) Flush(w);
  for (auto& w : workers_) {
    {
      std::lock_guard lock(w->mu);
      w->done = true;
    }
    w->cv.notify_all();
    w->thread.join();
    totals_.replayed += w->totals.replayed;
    totals_.skipped += w->totals.skipped;
    totals_.max_t = std::max(totals_.max_t, w->totals.max_t);
  }
  for (const auto& [ref, list] : parked_) totals_.skipped += list.size();
  parked_.clear();
  return totals_;
}

}  // namespace platops::metrics
