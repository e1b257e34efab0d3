#pragma once
// Blocks: immutable on-disk directories holding every series of a time range — `chunks` (dense
// chunks, each with a CRC-32C), `index` (symbols, series, postings; CRC-32C over the file) and
// `meta.json`. Read through mmap. Layout: docs/metrics-format.md. BlockWriter writes one,
// Block opens one and serves queries.
// Thread-safety: a BlockWriter is used by one thread. A Block is immutable and may be queried from
// any number of threads; queriers hold a shared_ptr so the block outlives them.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "metrics/labels.h"
#include "metrics/sample.h"
#include "metrics/storage.h"

namespace platops::metrics {

struct BlockMeta {
  std::string id;        // The directory name.
  int64_t min_time = 0;  // Inclusive.
  int64_t max_time = 0;  // Exclusive, as in Prometheus.
  uint64_t num_series = 0;
  uint64_t num_samples = 0;
  uint64_t num_chunks = 0;
  int level = 1;                     // 1 for a block cut from the head, +1 per compaction.
  std::vector<std::string> sources;  // Ids of the level-1 blocks merged into this one.
};

// The most samples one on-disk chunk holds.
inline constexpr size_t kBlockChunkSamples = 1024;

class BlockWriter {
 public:
  // Writes into `dir` (created; must not exist). Nothing is visible until Finish renames it.
  static Result<std::unique_ptr<BlockWriter>> Create(std::string dir);
  ~BlockWriter();

  // Adds one series. REQUIRES: labels strictly greater than the previous series' labels;
  // samples strictly increasing in time, all in [min_time, max_time) of the block.
  Status AddSeries(const Labels& labels, std::span<const Sample> samples);
  // Writes the index and meta.json, fsyncs everything and renames the directory to
  // `final_dir` atomically. `meta`'s id is set from final_dir's last component.
  Result<BlockMeta> Finish(const std::string& final_dir, BlockMeta meta);

 private:
  struct Impl;
  explicit BlockWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Block : public std::enable_shared_from_this<Block> {
 public:
  // Opens and verifies a block directory: meta.json parses, the index checksum matches, the
  // chunks file is present and large enough. Any failure is an error naming the file.
  static Result<std::shared_ptr<Block>> Open(const std::string& dir);
  ~Block();

  const BlockMeta& meta() const { return meta_; }
  const std::string& dir() const { return dir_; }
  // Bytes on disk (index + chunks + meta).
  uint64_t size_bytes() const { return size_bytes_; }

  // A querier over [mint, maxt] (inclusive).
  std::unique_ptr<Querier> NewQuerier(int64_t mint, int64_t maxt);
  // Series are numbered 0 .. num_series()-1 in label order.
  uint64_t num_series() const;
  // The labels and every sample of series `id` (for compaction); an error for a corrupt entry or
  // chunk, naming the file.
  Status ReadSeries(uint64_t id, Labels& labels, std::vector<Sample>& samples) const;

 private:
  struct Impl;
  friend class BlockQuerier;
  friend class BlockSeries;
  Block() = default;

  std::string dir_;
  BlockMeta meta_;
  uint64_t size_bytes_ = 0;
  std::unique_ptr<Impl> impl_;
};

// meta.json text and back.
std::string BlockMetaToJson(const BlockMeta& meta);
Result<BlockMeta> BlockMetaFromJson(std::string_view json);

}  // namespace platops::metrics
