#include "metrics/block.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "metrics/crc32c.h"
#include "metrics/dense_chunk.h"
#include "metrics/matcher.h"

namespace platops::metrics {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kIndexMagic = "PLIX";
constexpr std::string_view kChunksMagic = "PLCH";
constexpr uint8_t kFormatVersion = 1;
constexpr size_t kFooterSize = 6 * 8 + 4 + 4;

void PutUvarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void PutVarint(std::string& out, int64_t v) {
  PutUvarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
void PutFixed32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void PutFixed64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t GetFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
uint64_t GetFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

// Bounds-checked reading of varints from a byte range; a bad read sets ok = false.
struct Reader {
  const char* p;
  const char* end;
  bool ok = true;

  uint64_t Uvarint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) break;
      auto byte = static_cast<uint8_t>(*p++);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (byte < 0x80) return v;
    }
    ok = false;
    return 0;
  }
  int64_t Varint() {
    uint64_t u = Uvarint();
    return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
  }
  std::string_view Bytes(uint64_t n) {
    if (static_cast<uint64_t>(end - p) < n) {
      ok = false;
      return {};
    }
    std::string_view s(p, n);
    p += n;
    return s;
  }
};

Status ErrnoError(const std::string& what, const std::string& path) {
  return Internal(what + " " + path + ": " + std::strerror(errno));
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status FsyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return ErrnoError("fsync", path);
  return Status::Ok();
}

Status WriteFileSynced(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("create", path);
  Status st = WriteAll(fd, data, path);
  if (st.ok() && ::fsync(fd) != 0) st = ErrnoError("fsync", path);
  ::close(fd);
  return st;
}

// A read-only mapping of a whole file.
class MappedFile {
 public:
  static Result<std::unique_ptr<MappedFile>> Open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("open", path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      Status s = ErrnoError("stat", path);
      ::close(fd);
      return s;
    }
    auto file = std::unique_ptr<MappedFile>(new MappedFile());
    file->size_ = static_cast<size_t>(st.st_size);
    if (file->size_ > 0) {
      void* p = ::mmap(nullptr, file->size_, PROT_READ, MAP_SHARED, fd, 0);
      if (p == MAP_FAILED) {
        Status s = ErrnoError("mmap", path);
        ::close(fd);
        return s;
      }
      file->data_ = static_cast<const char*>(p);
    }
    ::close(fd);
    return file;
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  }
  std::string_view bytes() const { return {data_, size_}; }

 private:
  MappedFile() = default;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

struct ChunkMeta {
  int64_t min_t = 0;
  int64_t max_t = 0;
  uint64_t offset = 0;  // In the chunks file.
  uint64_t length = 0;  // Without the trailing CRC.
};

}  // namespace

// ---- Writer ----

struct BlockWriter::Impl {
  std::string dir;
  std::string chunks_path;
  int chunks_fd = -1;
  uint64_t chunks_offset = 0;
  std::string chunk_buf;  // Pending bytes of the chunks file.
  Labels last_labels;
  bool have_last = false;
  struct SeriesEntry {
    Labels labels;
    std::vector<ChunkMeta> chunks;
  };
  std::vector<SeriesEntry> series;
  uint64_t num_samples = 0;
  uint64_t num_chunks = 0;
  int64_t min_t = INT64_MAX;
  int64_t max_t = INT64_MIN;

  ~Impl() {
    if (chunks_fd >= 0) ::close(chunks_fd);
  }

  Status Flush(bool force) {
    if (chunk_buf.empty() || (!force && chunk_buf.size() < (1 << 20))) return Status::Ok();
    PLATOPS_RETURN_IF_ERROR(WriteAll(chunks_fd, chunk_buf, chunks_path));
    chunk_buf.clear();
    return Status::Ok();
  }
};

BlockWriter::BlockWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BlockWriter::~BlockWriter() = default;

Result<std::unique_ptr<BlockWriter>> BlockWriter::Create(std::string dir) {
  std::error_code ec;
  if (!fs::create_directories(dir, ec) || ec) {
    return Internal("create block directory " + dir + ": " +
                    (ec ? ec.message() : std::string("already exists")));
  }
  auto impl = std::make_unique<Impl>();
  impl->dir = std::move(dir);
  impl->chunks_path = impl->dir + "/chunks";
  impl->chunks_fd = ::open(impl->chunks_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (impl->chunks_fd < 0) return ErrnoError("create", impl->chunks_path);
  impl->chunk_buf.append(kChunksMagic);
  impl->chunk_buf.push_back(static_cast<char>(kFormatVersion));
  impl->chunks_offset = impl->chunk_buf.size();
  return std::unique_ptr<BlockWriter>(new BlockWriter(std::move(impl)));
}

Status BlockWriter::AddSeries(const Labels& labels, std::span<const Sample> samples) {
  Impl& w = *impl_;
  if (w.have_last && !(w.last_labels < labels)) {
    return InvalidArgument("block series out of order: " + ToString(labels) + " after " +
                           ToString(w.last_labels));
  }
  if (samples.empty()) return Status::Ok();
  w.last_labels = labels;
  w.have_last = true;
  Impl::SeriesEntry entry{labels, {}};
  for (size_t i = 0; i < samples.size(); i += kBlockChunkSamples) {
    auto part = samples.subspan(i, std::min(kBlockChunkSamples, samples.size() - i));
    std::string bytes = EncodeDense(part);
    ChunkMeta meta{part.front().t, part.back().t, w.chunks_offset, bytes.size()};
    w.chunk_buf += bytes;
    PutFixed32(w.chunk_buf, Crc32c(bytes));
    w.chunks_offset += bytes.size() + 4;
    entry.chunks.push_back(meta);
    ++w.num_chunks;
  }
  w.num_samples += samples.size();
  w.min_t = std::min(w.min_t, samples.front().t);
  w.max_t = std::max(w.max_t, samples.back().t);
  w.series.push_back(std::move(entry));
  return w.Flush(false);
}

Result<BlockMeta> BlockWriter::Finish(const std::string& final_dir, BlockMeta meta) {
  Impl& w = *impl_;
  PLATOPS_RETURN_IF_ERROR(w.Flush(true));
  if (::fsync(w.chunks_fd) != 0) return ErrnoError("fsync", w.chunks_path);
  ::close(w.chunks_fd);
  w.chunks_fd = -1;

  // Symbols: every name and value, sorted, so symbol order is string order.
  std::set<std::string_view> symbol_set;
  for (const auto& s : w.series) {
    for (const auto& l : s.labels) {
      symbol_set.insert(l.name);
      symbol_set.insert(l.value);
    }
  }
  std::vector<std::string_view> symbols(symbol_set.begin(), symbol_set.end());
  auto sym = [&](std::string_view s) {
    return static_cast<uint32_t>(std::lower_bound(symbols.begin(), symbols.end(), s) -
                                 symbols.begin());
  };

  std::string index;
  index.append(kIndexMagic);
  index.push_back(static_cast<char>(kFormatVersion));
  std::vector<uint64_t> symbol_offsets;
  symbol_offsets.reserve(symbols.size());
  for (auto s : symbols) {
    symbol_offsets.push_back(index.size());
    PutUvarint(index, s.size());
    index.append(s);
  }
  std::vector<uint64_t> series_offsets;
  series_offsets.reserve(w.series.size());
  // (name sym, value sym) -> series indices, built while writing series.
  std::map<std::pair<uint32_t, uint32_t>, std::vector<uint32_t>> postings;
  for (size_t i = 0; i < w.series.size(); ++i) {
    const auto& s = w.series[i];
    series_offsets.push_back(index.size());
    PutUvarint(index, s.labels.size());
    for (const auto& l : s.labels) {
      uint32_t n = sym(l.name);
      uint32_t v = sym(l.value);
      PutUvarint(index, n);
      PutUvarint(index, v);
      postings[{n, v}].push_back(static_cast<uint32_t>(i));
    }
    PutUvarint(index, s.chunks.size());
    int64_t prev_max = 0;
    uint64_t prev_end = 0;
    for (size_t c = 0; c < s.chunks.size(); ++c) {
      const auto& m = s.chunks[c];
      PutVarint(index, c == 0 ? m.min_t : m.min_t - prev_max);
      PutUvarint(index, static_cast<uint64_t>(m.max_t - m.min_t));
      PutUvarint(index, c == 0 ? m.offset : m.offset - prev_end);
      PutUvarint(index, m.length);
      prev_max = m.max_t;
      prev_end = m.offset + m.length + 4;
    }
  }
  std::vector<std::tuple<uint32_t, uint32_t, uint64_t>> postings_table;
  postings_table.reserve(postings.size());
  for (const auto& [key, list] : postings) {
    postings_table.emplace_back(key.first, key.second, index.size());
    PutUvarint(index, list.size());
    uint32_t prev = 0;
    for (uint32_t id : list) {
      PutUvarint(index, id - prev);
      prev = id;
    }
  }
  const uint64_t sym_table = index.size();
  for (uint64_t off : symbol_offsets) PutFixed64(index, off);
  const uint64_t series_table = index.size();
  for (uint64_t off : series_offsets) PutFixed64(index, off);
  const uint64_t postings_table_off = index.size();
  for (const auto& [n, v, off] : postings_table) {
    PutFixed32(index, n);
    PutFixed32(index, v);
    PutFixed64(index, off);
  }
  PutFixed64(index, sym_table);
  PutFixed64(index, symbols.size());
  PutFixed64(index, series_table);
  PutFixed64(index, series_offsets.size());
  PutFixed64(index, postings_table_off);
  PutFixed64(index, postings_table.size());
  PutFixed32(index, Crc32c(index));
  index.append(kIndexMagic);
  PLATOPS_RETURN_IF_ERROR(WriteFileSynced(w.dir + "/index", index));

  meta.id = fs::path(final_dir).filename().string();
  meta.num_series = w.series.size();
  meta.num_samples = w.num_samples;
  meta.num_chunks = w.num_chunks;
  if (meta.sources.empty()) meta.sources = {meta.id};
  PLATOPS_RETURN_IF_ERROR(WriteFileSynced(w.dir + "/meta.json", BlockMetaToJson(meta)));
  PLATOPS_RETURN_IF_ERROR(FsyncPath(w.dir, true));
  std::error_code ec;
  fs::rename(w.dir, final_dir, ec);
  if (ec) return Internal("rename " + w.dir + " to " + final_dir + ": " + ec.message());
  PLATOPS_RETURN_IF_ERROR(FsyncPath(fs::path(final_dir).parent_path().string(), true));
  return meta;
}

// ---- Reader ----

struct Block::Impl {
  std::unique_ptr<MappedFile> index;
  std::unique_ptr<MappedFile> chunks;
  std::string_view ix;  // index bytes
  uint64_t sym_table = 0, num_symbols = 0;
  uint64_t series_table = 0, num_series = 0;
  uint64_t postings_table = 0, num_postings = 0;

  std::string_view Symbol(uint64_t id, bool& ok) const {
    if (id >= num_symbols) {
      ok = false;
      return {};
    }
    uint64_t off = GetFixed64(ix.data() + sym_table + id * 8);
    if (off >= ix.size()) {
      ok = false;
      return {};
    }
    Reader r{ix.data() + off, ix.data() + sym_table};
    uint64_t n = r.Uvarint();
    auto s = r.Bytes(n);
    ok = ok && r.ok;
    return s;
  }
  // The id of `s`, or -1 when it is not a symbol.
  int64_t FindSymbol(std::string_view s) const {
    uint64_t lo = 0, hi = num_symbols;
    bool ok = true;
    while (lo < hi) {
      uint64_t mid = (lo + hi) / 2;
      auto m = Symbol(mid, ok);
      if (!ok) return -1;
      if (m < s) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo < num_symbols && Symbol(lo, ok) == s && ok) return static_cast<int64_t>(lo);
    return -1;
  }
  struct PostingsEntry {
    uint32_t name;
    uint32_t value;
    uint64_t offset;
  };
  PostingsEntry Entry(uint64_t i) const {
    const char* p = ix.data() + postings_table + i * 16;
    return {GetFixed32(p), GetFixed32(p + 4), GetFixed64(p + 8)};
  }
  bool ReadPostings(uint64_t offset, std::vector<uint32_t>& out) const {
    if (offset >= sym_table) return false;
    Reader r{ix.data() + offset, ix.data() + sym_table};
    uint64_t n = r.Uvarint();
    if (!r.ok || n > num_series) return false;
    uint32_t id = 0;
    for (uint64_t i = 0; i < n; ++i) {
      id += static_cast<uint32_t>(r.Uvarint());
      if (!r.ok || id >= num_series) return false;
      out.push_back(id);
    }
    return true;
  }
  bool ReadSeries(uint64_t id, Labels* labels, std::vector<ChunkMeta>& chunks) const {
    if (id >= num_series) return false;
    uint64_t off = GetFixed64(ix.data() + series_table + id * 8);
    if (off >= sym_table) return false;
    Reader r{ix.data() + off, ix.data() + sym_table};
    uint64_t nl = r.Uvarint();
    if (!r.ok || nl > 1024) return false;
    bool ok = true;
    if (labels != nullptr) labels->clear();
    for (uint64_t i = 0; i < nl; ++i) {
      uint64_t n = r.Uvarint();
      uint64_t v = r.Uvarint();
      if (labels != nullptr) labels->push_back({std::string(Symbol(n, ok)), std::string(Symbol(v, ok))});
    }
    uint64_t nc = r.Uvarint();
    if (!r.ok || !ok || nc > (1u << 24)) return false;
    chunks.clear();
    int64_t prev_max = 0;
    uint64_t prev_end = 0;
    for (uint64_t c = 0; c < nc; ++c) {
      ChunkMeta m;
      int64_t d = r.Varint();
      m.min_t = c == 0 ? d : prev_max + d;
      m.max_t = m.min_t + static_cast<int64_t>(r.Uvarint());
      uint64_t off_delta = r.Uvarint();
      m.offset = c == 0 ? off_delta : prev_end + off_delta;
      m.length = r.Uvarint();
      prev_max = m.max_t;
      prev_end = m.offset + m.length + 4;
      chunks.push_back(m);
    }
    return r.ok;
  }
  // Appends the samples of chunk `m` to `out`; on error `out` is left as it was.
  Status ReadChunkAppend(const ChunkMeta& m, std::vector<Sample>& out) const {
    std::string_view data = chunks->bytes();
    if (m.offset + m.length + 4 > data.size() || m.offset < kChunksMagic.size() + 1) {
      return InvalidArgument("chunk at offset " + std::to_string(m.offset) + " is beyond the end of the chunks file");
    }
    std::string_view bytes = data.substr(m.offset, m.length);
    if (Crc32c(bytes) != GetFixed32(data.data() + m.offset + m.length)) {
      return InvalidArgument("chunk at offset " + std::to_string(m.offset) + ": checksum mismatch");
    }
    return DecodeDenseAppend(bytes, out);
  }
  Result<std::vector<Sample>> ReadChunk(const ChunkMeta& m) const {
    std::vector<Sample> out;
    PLATOPS_RETURN_IF_ERROR(ReadChunkAppend(m, out));
    return out;
  }
};

Block::~Block() = default;

Result<std::shared_ptr<Block>> Block::Open(const std::string& dir) {
  auto block = std::shared_ptr<Block>(new Block());
  block->dir_ = dir;
  block->impl_ = std::make_unique<Impl>();
  Impl& b = *block->impl_;
  std::string meta_path = dir + "/meta.json";
  {
    auto meta_file = MappedFile::Open(meta_path);
    if (!meta_file.ok()) return meta_file.status();
    auto meta = BlockMetaFromJson(meta_file.value()->bytes());
    if (!meta.ok()) return InvalidArgument(meta_path + ": " + meta.status().message());
    block->meta_ = std::move(meta).value();
    block->size_bytes_ += meta_file.value()->bytes().size();
  }
  PLATOPS_ASSIGN_OR_RETURN(b.index, MappedFile::Open(dir + "/index"));
  PLATOPS_ASSIGN_OR_RETURN(b.chunks, MappedFile::Open(dir + "/chunks"));
  b.ix = b.index->bytes();
  block->size_bytes_ += b.ix.size() + b.chunks->bytes().size();
  const std::string index_path = dir + "/index";
  if (b.ix.size() < kIndexMagic.size() + 1 + kFooterSize || !b.ix.starts_with(kIndexMagic) ||
      !b.ix.ends_with(kIndexMagic)) {
    return InvalidArgument(index_path + ": truncated or not a platops index");
  }
  const char* footer = b.ix.data() + b.ix.size() - kFooterSize;
  if (Crc32c(b.ix.substr(0, b.ix.size() - 8)) != GetFixed32(footer + 48)) {
    return InvalidArgument(index_path + ": checksum mismatch");
  }
  b.sym_table = GetFixed64(footer);
  b.num_symbols = GetFixed64(footer + 8);
  b.series_table = GetFixed64(footer + 16);
  b.num_series = GetFixed64(footer + 24);
  b.postings_table = GetFixed64(footer + 32);
  b.num_postings = GetFixed64(footer + 40);
  const uint64_t footer_off = b.ix.size() - kFooterSize;
  if (b.sym_table + b.num_symbols * 8 != b.series_table ||
      b.series_table + b.num_series * 8 != b.postings_table ||
      b.postings_table + b.num_postings * 16 != footer_off) {
    return InvalidArgument(index_path + ": inconsistent section table");
  }
  std::string_view cb = b.chunks->bytes();
  if (cb.size() < kChunksMagic.size() + 1 || !cb.starts_with(kChunksMagic)) {
    return InvalidArgument(dir + "/chunks: truncated or not a platops chunks file");
  }
  // The last series' last chunk must lie inside the chunks file.
  if (b.num_series > 0) {
    std::vector<ChunkMeta> chunks;
    if (!b.ReadSeries(b.num_series - 1, nullptr, chunks)) {
      return InvalidArgument(index_path + ": corrupt series entry");
    }
    if (!chunks.empty() && chunks.back().offset + chunks.back().length + 4 > cb.size()) {
      return InvalidArgument(dir + "/chunks: truncated (" + std::to_string(cb.size()) +
                             " bytes, the index refers to " +
                             std::to_string(chunks.back().offset + chunks.back().length + 4) + ")");
    }
  }
  return block;
}

namespace {

class ChunkListIterator : public SampleIterator {
 public:
  // Appends a chunk's samples to the vector; on error leaves it as it was.
  using Loader = std::function<Status(const ChunkMeta&, std::vector<Sample>&)>;
  ChunkListIterator(std::vector<ChunkMeta> chunks, Loader load, int64_t mint, int64_t maxt)
      : chunks_(std::move(chunks)), load_(std::move(load)), mint_(mint), maxt_(maxt) {}

  bool Next() override {
    if (done_) return false;
    if (!started_) return Seek(mint_);
    ++pos_;
    while (pos_ >= samples_.size()) {
      if (!LoadNext()) return false;
    }
    return Check();
  }
  bool Seek(int64_t t) override {
    if (done_) return false;
    t = std::max(t, mint_);
    if (started_ && pos_ < samples_.size() && samples_[pos_].t >= t) return true;
    started_ = true;
    while (true) {
      if (pos_ < samples_.size() && samples_.back().t >= t) {
        pos_ = static_cast<size_t>(
            std::lower_bound(samples_.begin() + static_cast<ptrdiff_t>(pos_), samples_.end(), t,
                             [](const Sample& s, int64_t x) { return s.t < x; }) -
            samples_.begin());
        return Check();
      }
      // Skip chunks that end before t without decoding them.
      while (next_chunk_ < chunks_.size() && chunks_[next_chunk_].max_t < t) ++next_chunk_;
      if (!LoadNext()) return false;
    }
  }
  Sample At() const override { return samples_[pos_]; }
  Status status() const override { return status_; }
  bool AppendUntil(int64_t maxt, std::vector<Sample>& out) override {
    const int64_t limit = std::min(maxt, maxt_);
    while (true) {
      const auto begin = samples_.begin() + static_cast<ptrdiff_t>(pos_);
      const auto end = samples_.back().t <= limit
                           ? samples_.end()
                           : std::upper_bound(begin, samples_.end(), limit,
                                              [](int64_t x, const Sample& s) { return x < s.t; });
      out.insert(out.end(), begin, end);
      pos_ = static_cast<size_t>(end - samples_.begin());
      if (pos_ < samples_.size()) return Check();
      // Chunks wholly within the limit are decoded straight into `out`.
      while (next_chunk_ < chunks_.size() && chunks_[next_chunk_].max_t <= limit) {
        Status st = load_(chunks_[next_chunk_++], out);
        if (!st.ok()) {
          status_ = std::move(st);
          return Finish();
        }
      }
      while (pos_ >= samples_.size()) {
        if (!LoadNext()) return false;
      }
    }
  }

 private:
  bool LoadNext() {
    if (next_chunk_ >= chunks_.size()) return Finish();
    samples_.clear();
    pos_ = 0;
    Status st = load_(chunks_[next_chunk_++], samples_);
    if (!st.ok()) {
      status_ = std::move(st);
      return Finish();
    }
    return true;
  }
  bool Check() {
    if (samples_[pos_].t > maxt_) return Finish();
    return true;
  }
  bool Finish() {
    done_ = true;
    return false;
  }

  std::vector<ChunkMeta> chunks_;
  Loader load_;
  int64_t mint_;
  int64_t maxt_;
  size_t next_chunk_ = 0;
  std::vector<Sample> samples_;
  size_t pos_ = 0;
  bool started_ = false;
  bool done_ = false;
  Status status_;
};

}  // namespace

class BlockSeries : public Series {
 public:
  BlockSeries(std::shared_ptr<const Block> block, Labels labels, std::vector<ChunkMeta> chunks,
              int64_t mint, int64_t maxt)
      : block_(std::move(block)),
        labels_(std::move(labels)),
        chunks_(std::move(chunks)),
        mint_(mint),
        maxt_(maxt) {}
  const Labels& labels() const override { return labels_; }
  std::unique_ptr<SampleIterator> Iterator() const override {
    auto block = block_;
    return std::make_unique<ChunkListIterator>(
        chunks_,
        [block](const ChunkMeta& m, std::vector<Sample>& out) {
          return block->impl_->ReadChunkAppend(m, out);
        },
        mint_, maxt_);
  }

 private:
  std::shared_ptr<const Block> block_;
  Labels labels_;
  std::vector<ChunkMeta> chunks_;
  int64_t mint_;
  int64_t maxt_;
};

class BlockQuerier : public Querier {
 public:
  BlockQuerier(std::shared_ptr<const Block> block, int64_t mint, int64_t maxt)
      : block_(std::move(block)), mint_(mint), maxt_(maxt) {}

  Result<std::vector<std::unique_ptr<Series>>> Select(
      std::span<const Matcher> matchers) override {
    PLATOPS_ASSIGN_OR_RETURN(auto ids, Postings(matchers, true));
    std::vector<std::unique_ptr<Series>> out;
    const auto& b = *block_->impl_;
    std::vector<ChunkMeta> chunks;
    for (uint32_t id : ids) {
      Labels labels;
      if (!b.ReadSeries(id, &labels, chunks)) return Corrupt();
      std::erase_if(chunks, [&](const ChunkMeta& m) { return m.max_t < mint_ || m.min_t > maxt_; });
      if (!Overlaps(chunks)) continue;
      out.push_back(std::make_unique<BlockSeries>(block_, std::move(labels), chunks, mint_, maxt_));
    }
    return out;
  }

  Result<std::vector<std::string>> LabelNames(std::span<const Matcher> matchers) override {
    PLATOPS_ASSIGN_OR_RETURN(auto ids, Postings(matchers, false));
    std::set<std::string> names;
    const auto& b = *block_->impl_;
    std::vector<ChunkMeta> chunks;
    for (uint32_t id : ids) {
      Labels labels;
      if (!b.ReadSeries(id, &labels, chunks)) return Corrupt();
      if (!Overlaps(chunks)) continue;
      for (auto& l : labels) names.insert(std::move(l.name));
    }
    return std::vector<std::string>(names.begin(), names.end());
  }

  Result<std::vector<std::string>> LabelValues(std::string_view name,
                                               std::span<const Matcher> matchers) override {
    PLATOPS_ASSIGN_OR_RETURN(auto ids, Postings(matchers, false));
    std::set<std::string> values;
    const auto& b = *block_->impl_;
    std::vector<ChunkMeta> chunks;
    for (uint32_t id : ids) {
      Labels labels;
      if (!b.ReadSeries(id, &labels, chunks)) return Corrupt();
      if (!Overlaps(chunks)) continue;
      std::string_view v = Get(labels, name);
      if (!v.empty()) values.emplace(v);
    }
    return std::vector<std::string>(values.begin(), values.end());
  }

 private:
  Status Corrupt() const { return Internal(block_->dir() + "/index: corrupt series entry"); }
  // Whether a sample lies in [mint, maxt]; only a chunk spanning the whole range is decoded (a
  // corrupt one counts as overlapping, so its error surfaces when read).
  bool Overlaps(const std::vector<ChunkMeta>& chunks) const {
    for (const auto& m : chunks) {
      if (m.max_t < mint_ || m.min_t > maxt_) continue;
      // min_t and max_t are the first and last samples' times: one in range settles it.
      if (m.min_t >= mint_ || m.max_t <= maxt_) return true;
      auto samples = block_->impl_->ReadChunk(m);
      if (!samples.ok()) return true;
      for (const auto& s : samples.value()) {
        if (s.t >= mint_ && s.t <= maxt_) return true;
      }
    }
    return false;
  }

  // Sorted series ids matching every matcher (all series when `matchers` is empty and
  // !require_non_empty).
  Result<std::vector<uint32_t>> Postings(std::span<const Matcher> matchers,
                                         bool require_non_empty) const {
    PLATOPS_ASSIGN_OR_RETURN(auto compiled, CompileMatchers(matchers));
    const auto& b = *block_->impl_;
    bool have = false;
    std::vector<uint32_t> result;
    for (const auto& m : compiled) {
      if (m.MatchesEmpty()) continue;
      std::vector<uint32_t> ids;
      if (!ValuesMatching(m, true, ids)) return Corrupt();
      if (!have) {
        result = std::move(ids);
        have = true;
      } else {
        std::vector<uint32_t> both;
        std::set_intersection(result.begin(), result.end(), ids.begin(), ids.end(),
                              std::back_inserter(both));
        result = std::move(both);
      }
      if (result.empty()) return result;
    }
    if (!have) {
      if (require_non_empty) {
        return InvalidArgument("vector selector must contain at least one non-empty matcher");
      }
      result.resize(b.num_series);
      for (uint32_t i = 0; i < b.num_series; ++i) result[i] = i;
    }
    for (const auto& m : compiled) {
      if (!m.MatchesEmpty()) continue;
      std::vector<uint32_t> remove;
      if (!ValuesMatching(m, false, remove)) return Corrupt();
      std::vector<uint32_t> rest;
      std::set_difference(result.begin(), result.end(), remove.begin(), remove.end(),
                          std::back_inserter(rest));
      result = std::move(rest);
    }
    return result;
  }

  // The union of the postings of the values of m's label for which Matches == want.
  bool ValuesMatching(const CompiledMatcher& m, bool want, std::vector<uint32_t>& out) const {
    const auto& b = *block_->impl_;
    int64_t name = b.FindSymbol(m.name());
    if (name < 0) return true;
    auto n = static_cast<uint32_t>(name);
    uint64_t lo = 0, hi = b.num_postings;
    while (lo < hi) {
      uint64_t mid = (lo + hi) / 2;
      if (b.Entry(mid).name < n) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    bool ok = true;
    size_t lists = 0;
    for (uint64_t i = lo; i < b.num_postings; ++i) {
      auto e = b.Entry(i);
      if (e.name != n) break;
      std::string_view value = b.Symbol(e.value, ok);
      if (!ok) return false;
      if (m.Matches(value) != want) continue;
      if (!b.ReadPostings(e.offset, out)) return false;
      ++lists;
    }
    if (lists > 1) {
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
    }
    return true;
  }

  std::shared_ptr<const Block> block_;
  int64_t mint_;
  int64_t maxt_;
};

std::unique_ptr<Querier> Block::NewQuerier(int64_t mint, int64_t maxt) {
  return std::make_unique<BlockQuerier>(shared_from_this(), mint, maxt);
}

uint64_t Block::num_series() const { return impl_->num_series; }

Status Block::ReadSeries(uint64_t id, Labels& labels, std::vector<Sample>& samples) const {
  std::vector<ChunkMeta> chunks;
  if (!impl_->ReadSeries(id, &labels, chunks)) {
    return Internal(dir_ + "/index: corrupt series entry " + std::to_string(id));
  }
  samples.clear();
  for (const auto& m : chunks) {
    auto r = impl_->ReadChunk(m);
    if (!r.ok()) return Internal(dir_ + "/chunks: " + r.status().message());
    samples.insert(samples.end(), r.value().begin(), r.value().end());
  }
  return Status::Ok();
}

std::string BlockMetaToJson(const BlockMeta& meta) {
  boost::json::object o;
  o["version"] = 1;
  o["id"] = meta.id;
  o["min_time"] = meta.min_time;
  o["max_time"] = meta.max_time;
  o["num_series"] = meta.num_series;
  o["num_samples"] = meta.num_samples;
  o["num_chunks"] = meta.num_chunks;
  o["level"] = meta.level;
  boost::json::array sources;
  for (const auto& s : meta.sources) sources.emplace_back(s);
  o["sources"] = std::move(sources);
  return boost::json::serialize(o) + "\n";
}

Result<BlockMeta> BlockMetaFromJson(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return InvalidArgument("meta.json is not a JSON object");
  const auto& o = v.as_object();
  BlockMeta meta;
  bool ok = true;
  auto num = [&](std::string_view key, auto& out) {
    const auto* f = o.if_contains(key);
    if (f == nullptr || !(f->is_int64() || f->is_uint64())) {
      ok = false;
      return;
    }
    out = f->is_int64() ? static_cast<std::decay_t<decltype(out)>>(f->get_int64())
                        : static_cast<std::decay_t<decltype(out)>>(f->get_uint64());
  };
  int version = 0;
  num("version", version);
  num("min_time", meta.min_time);
  num("max_time", meta.max_time);
  num("num_series", meta.num_series);
  num("num_samples", meta.num_samples);
  num("num_chunks", meta.num_chunks);
  num("level", meta.level);
  const auto* id = o.if_contains("id");
  const auto* sources = o.if_contains("sources");
  if (!ok || id == nullptr || !id->is_string() || sources == nullptr || !sources->is_array()) {
    return InvalidArgument("meta.json: a field is missing or not of the right type");
  }
  if (version != 1) return InvalidArgument("meta.json: unknown block version");
  meta.id = std::string(id->get_string());
  for (const auto& src : sources->get_array()) {
    if (!src.is_string()) return InvalidArgument("meta.json: sources must be strings");
    meta.sources.emplace_back(src.get_string());
  }
  if (meta.max_time < meta.min_time) return InvalidArgument("meta.json: max_time < min_time");
  return meta;
}

}  // namespace platops::metrics
