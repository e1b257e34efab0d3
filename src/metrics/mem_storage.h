#pragma once
// MemStorage: a plain in-memory Storage (a sorted map of series to sample vectors, matchers
// checked by scanning). It is the reference the real store is tested against and the store of
// `platops promql test` scripts; it is not meant for volume.
// Thread-safety: all methods may be called from any thread (one mutex); a Querier copies the
// series it selects, so it stays valid while the storage changes.

#include <map>
#include <mutex>

#include "metrics/storage.h"

namespace platops::metrics {

class MemStorage : public Storage {
 public:
  // Adds samples directly (no Appender), keeping each series sorted by time; a sample at an
  // existing timestamp replaces it. `labels` must be Normalize()d.
  void Add(const Labels& labels, Sample sample);
  // Removes everything.
  void Clear();
  size_t num_series() const;

  std::unique_ptr<Appender> NewAppender() override;
  Result<std::unique_ptr<Querier>> NewQuerier(int64_t mint, int64_t maxt) override;

 private:
  friend class MemAppender;
  mutable std::mutex mu_;
  std::map<Labels, std::vector<Sample>> series_;
};

}  // namespace platops::metrics
