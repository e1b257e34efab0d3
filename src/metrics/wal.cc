#include "metrics/wal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "metrics/crc32c.h"
#include "metrics/file_io.h"

namespace platops::metrics {
namespace {

namespace fs = std::filesystem;

// Frame: u8 type, u32 LE payload length, u32 LE CRC-32C of the first 5 bytes then the payload.
constexpr size_t kFrameHeaderSize = 9;
constexpr uint8_t kFrameRecord = 1;
constexpr uint8_t kFrameCheckpointEnd = 2;   // Last frame of a checkpoint: u64 LE record count.
constexpr int kMaxSegmentNumber = 99999999;  // Eight digits.
constexpr size_t kReadChunk = size_t{1} << 20;
constexpr size_t kCheckpointWriteChunk = size_t{1} << 20;
constexpr std::string_view kCheckpointPrefix = "checkpoint.";
constexpr std::string_view kTmpSuffix = ".tmp";
constexpr const char* kCheckpointFile = "records";
constexpr const char* kDroppedDir = "dropped";

using FrameHeader = std::array<char, kFrameHeaderSize>;

void StoreLittleEndian32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t LoadLittleEndian32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}
uint64_t LoadLittleEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

// REQUIRES: payload.size() <= kMaxWalRecordBytes.
FrameHeader MakeFrameHeader(uint8_t type, std::string_view payload) {
  FrameHeader h;
  h[0] = static_cast<char>(type);
  StoreLittleEndian32(h.data() + 1, static_cast<uint32_t>(payload.size()));
  const uint32_t crc = Crc32c(payload, Crc32c(std::string_view(h.data(), 5)));
  StoreLittleEndian32(h.data() + 5, crc);
  return h;
}

void AppendFrame(std::string& out, uint8_t type, std::string_view payload) {
  const FrameHeader h = MakeFrameHeader(type, payload);
  out.append(h.data(), h.size());
  out.append(payload);
}

std::string SegmentName(int n) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%08d", n);
  return buf;
}
std::string CheckpointName(int n) { return std::string(kCheckpointPrefix) + SegmentName(n); }

// The number of an 8-digit name, or 0.
int ParseNumber(std::string_view s) {
  if (s.size() != 8) return 0;
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return n;
}

constexpr std::string_view kComponent = "wal";

Status ErrnoStatus(std::string_view op, const std::string& path, int err) {
  return ErrnoError(kComponent, op, path, err);
}
Status FsStatus(std::string_view op, const fs::path& path, const std::error_code& ec) {
  return Internal("wal: " + std::string(op) + " " + path.string() + ": " + ec.message());
}

struct Listing {
  std::vector<int> segments;     // Ascending.
  std::vector<int> checkpoints;  // Ascending; complete ones only.
  std::vector<std::string> tmp;  // Unfinished checkpoint directories.
};

Result<Listing> ListDir(const std::string& dir) {
  Listing listing;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return FsStatus("list", dir, ec);
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (const int n = ParseNumber(name); n > 0) {
      if (it->is_regular_file(type_ec)) listing.segments.push_back(n);
    } else if (name.starts_with(kCheckpointPrefix) && it->is_directory(type_ec)) {
      std::string_view rest = std::string_view(name).substr(kCheckpointPrefix.size());
      if (rest.ends_with(kTmpSuffix)) {
        listing.tmp.push_back(name);
      } else if (const int c = ParseNumber(rest); c > 0) {
        listing.checkpoints.push_back(c);
      }
    }
  }
  if (ec) return FsStatus("list", dir, ec);
  std::sort(listing.segments.begin(), listing.segments.end());
  std::sort(listing.checkpoints.begin(), listing.checkpoints.end());
  return listing;
}

// Moves `name` (a file or directory of the WAL) into <dir>/dropped/, replacing an older copy.
Status MoveAside(const std::string& dir, const std::string& name) {
  std::error_code ec;
  const fs::path dropped = fs::path(dir) / kDroppedDir;
  fs::create_directories(dropped, ec);
  if (ec) return FsStatus("create", dropped, ec);
  const fs::path target = dropped / name;
  fs::remove_all(target, ec);
  if (ec) return FsStatus("remove", target, ec);
  fs::rename(fs::path(dir) / name, target, ec);
  if (ec) return FsStatus("rename", fs::path(dir) / name, ec);
  return Status::Ok();
}

// Forward-only buffered reads of one file; views stay valid until the next Read.
class FileReader {
 public:
  FileReader(const InputFile& file, std::string& buffer) : file_(file), buf_(buffer) {}

  // REQUIRES: offset + n <= size, offset not below that of an earlier call.
  Result<std::string_view> Read(uint64_t offset, size_t n) {
    if (offset >= buf_offset_ && offset + n <= buf_offset_ + buf_len_) {
      return std::string_view(buf_.data() + (offset - buf_offset_), n);
    }
    size_t keep = 0;
    if (offset >= buf_offset_ && offset < buf_offset_ + buf_len_) {
      keep = buf_offset_ + buf_len_ - offset;
      std::memmove(buf_.data(), buf_.data() + (offset - buf_offset_), keep);
    }
    buf_offset_ = offset;
    buf_len_ = keep;
    if (buf_.size() < std::max(n, kReadChunk)) buf_.resize(std::max(n, kReadChunk));
    const size_t fill =
        keep + static_cast<size_t>(
                   std::min<uint64_t>(buf_.size() - keep, file_.size() - offset - keep));
    PLATOPS_RETURN_IF_ERROR(
        file_.ReadAt(buf_offset_ + buf_len_, fill - buf_len_, buf_.data() + buf_len_));
    buf_len_ = fill;
    return std::string_view(buf_.data(), n);
  }

 private:
  const InputFile& file_;
  std::string& buf_;
  uint64_t buf_offset_ = 0;
  size_t buf_len_ = 0;
};

struct ScanResult {
  uint64_t good_end = 0;  // End of the last intact frame.
  uint64_t records = 0;
  uint64_t payload_bytes = 0;
  std::string damage;  // Why the scan stopped before the end of the file; empty if it did not.
};

// Reads the frames of a segment or (with `checkpoint`) a checkpoint file, calling `fn` (if set)
// per record, up to the end or the first damaged frame. Errors: I/O and those of `fn`.
Result<ScanResult> ScanFrames(const InputFile& file, bool checkpoint, std::string& buffer,
                              const std::function<Status(std::string_view)>* fn) {
  FileReader reader(file, buffer);
  const uint64_t size = file.size();
  ScanResult result;
  bool footer = false;
  uint64_t off = 0;
  while (off < size) {
    const uint64_t left = size - off;
    if (footer) {
      result.damage = "data after the checkpoint footer";
      break;
    }
    if (left < kFrameHeaderSize) {
      result.damage = "torn frame header: " + std::to_string(left) + " of " +
                      std::to_string(kFrameHeaderSize) + " bytes";
      break;
    }
    PLATOPS_ASSIGN_OR_RETURN(std::string_view header, reader.Read(off, kFrameHeaderSize));
    const auto type = static_cast<uint8_t>(header[0]);
    const uint32_t length = LoadLittleEndian32(header.data() + 1);
    const uint32_t crc = LoadLittleEndian32(header.data() + 5);
    if (type != kFrameRecord && !(checkpoint && type == kFrameCheckpointEnd)) {
      result.damage = "invalid frame type " + std::to_string(type);
      break;
    }
    if (length > kMaxWalRecordBytes) {
      result.damage = "frame length " + std::to_string(length) + " exceeds the maximum " +
                      std::to_string(kMaxWalRecordBytes);
      break;
    }
    if (length > left - kFrameHeaderSize) {
      result.damage = "torn record: frame of " + std::to_string(kFrameHeaderSize + length) +
                      " bytes, " + std::to_string(left) + " left in the file";
      break;
    }
    PLATOPS_ASSIGN_OR_RETURN(std::string_view frame, reader.Read(off, kFrameHeaderSize + length));
    const std::string_view payload = frame.substr(kFrameHeaderSize);
    if (Crc32c(payload, Crc32c(frame.substr(0, 5))) != crc) {
      result.damage = "checksum mismatch";
      break;
    }
    if (type == kFrameCheckpointEnd) {
      if (length != 8 || LoadLittleEndian64(payload.data()) != result.records) {
        result.damage =
            "checkpoint footer does not match its " + std::to_string(result.records) + " records";
        break;
      }
      footer = true;
    } else {
      if (fn != nullptr) PLATOPS_RETURN_IF_ERROR((*fn)(payload));
      ++result.records;
      result.payload_bytes += length;
    }
    off += kFrameHeaderSize + length;
    result.good_end = off;
  }
  if (!result.damage.empty()) {
    bool zeros = true;
    for (uint64_t o = off; o < size && zeros;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kReadChunk, size - o));
      PLATOPS_ASSIGN_OR_RETURN(std::string_view chunk, reader.Read(o, n));
      zeros = std::all_of(chunk.begin(), chunk.end(), [](char c) { return c == 0; });
      o += n;
    }
    if (zeros) result.damage = "zero-filled tail";
  } else if (checkpoint && !footer) {
    result.damage = "no checkpoint footer (truncated)";
  }
  return result;
}


Status TruncateFile(const std::string& path, uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  Status s;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    s = ErrnoStatus("truncate", path, errno);
  } else if (::fsync(fd) != 0) {
    s = ErrnoStatus("fsync", path, errno);
  }
  ::close(fd);
  return s;
}

uint64_t FileSize(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

}  // namespace

Wal::Wal(std::string dir, WalOptions options) : dir_(std::move(dir)), options_(options) {}

Wal::~Wal() { static_cast<void>(Close()); }

Result<std::unique_ptr<Wal>> Wal::Open(std::string dir, WalOptions options) {
  if (options.segment_size < 64) {
    return InvalidArgument(
        "wal: segment_size must be at least 64, got " + std::to_string(options.segment_size),
        "segment_size");
  }
  if (options.sync_interval.count() <= 0) {
    return InvalidArgument("wal: sync_interval must be positive", "sync_interval");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return FsStatus("create", dir, ec);
  std::unique_ptr<Wal> wal(new Wal(std::move(dir), options));
  PLATOPS_RETURN_IF_ERROR(wal->ScanDirectory());
  return wal;
}

Status Wal::ScanDirectory() {
  PLATOPS_ASSIGN_OR_RETURN(Listing listing, ListDir(dir_));
  std::lock_guard lock(mu_);
  first_segment_ = listing.segments.empty() ? 0 : listing.segments.front();
  last_segment_ = listing.segments.empty() ? 0 : listing.segments.back();
  checkpoint_ = listing.checkpoints.empty() ? 0 : listing.checkpoints.back();
  return Status::Ok();
}

Result<std::optional<WalDrop>> Wal::ReplayCheckpoint(
    int upto, const std::function<Status(std::string_view)>& fn, std::string& buffer,
    WalReplayReport& report) {
  const std::string file = CheckpointName(upto) + "/" + kCheckpointFile;
  const std::string path = dir_ + "/" + file;
  InputFile f(kComponent);
  if (Status s = f.Open(path); !s.ok()) {
    if (s.code() != StatusCode::kNotFound) return s;
    return std::optional<WalDrop>(WalDrop{.file = file,
                                          .segment = upto,
                                          .offset = 0,
                                          .bytes = 0,
                                          .reason = "checkpoint file missing"});
  }
  // Verify everything first: a damaged checkpoint must not feed `fn` anything.
  PLATOPS_ASSIGN_OR_RETURN(ScanResult check,
                           ScanFrames(f, true, buffer, nullptr));
  ScanResult scan = check;
  if (check.damage.empty()) {
    PLATOPS_ASSIGN_OR_RETURN(scan, ScanFrames(f, true, buffer, &fn));
    report.records += scan.records;
    report.bytes += scan.payload_bytes;
    report.checkpoint_records = scan.records;
  }
  if (scan.damage.empty()) return std::optional<WalDrop>();
  return std::optional<WalDrop>(WalDrop{.file = file,
                                        .segment = upto,
                                        .offset = scan.good_end,
                                        .bytes = f.size() - scan.good_end,
                                        .reason = scan.damage});
}

Result<WalReplayReport> Wal::Replay(const std::function<Status(std::string_view record)>& fn,
                                    int from_segment) {
  std::lock_guard admin(admin_mu_);
  {
    std::lock_guard lock(mu_);
    if (closed_) return Unavailable("wal: closed");
    if (writing_started_) return Internal("wal: Replay must come before the first Log or Cut");
    replaying_ = true;
  }
  struct ReplayingReset {
    Wal* wal;
    ~ReplayingReset() {
      std::lock_guard lock(wal->mu_);
      wal->replaying_ = false;
    }
  } reset{this};

  WalReplayReport report;
  std::string buffer;
  bool dir_changed = false;
  PLATOPS_ASSIGN_OR_RETURN(Listing listing, ListDir(dir_));
  for (const std::string& name : listing.tmp) {
    std::error_code ec;
    fs::remove_all(fs::path(dir_) / name, ec);
    if (ec) return FsStatus("remove", fs::path(dir_) / name, ec);
    dir_changed = true;
  }

  // The newest intact checkpoint; damaged ones are moved aside, older ones are obsolete.
  int checkpoint = 0;
  for (auto it = listing.checkpoints.rbegin(); it != listing.checkpoints.rend(); ++it) {
    if (checkpoint == 0 && *it < from_segment) {
      // Covered by the caller's snapshot. Unread, so older ones stay should this one be damaged.
      report.skipped_checkpoint = *it;
      break;
    }
    if (checkpoint != 0) {
      std::error_code ec;
      const fs::path obsolete = fs::path(dir_) / CheckpointName(*it);
      fs::remove_all(obsolete, ec);
      if (ec) return FsStatus("remove", obsolete, ec);
      dir_changed = true;
      continue;
    }
    PLATOPS_ASSIGN_OR_RETURN(std::optional<WalDrop> drop,
                             ReplayCheckpoint(*it, fn, buffer, report));
    if (!drop.has_value()) {
      checkpoint = *it;
      continue;
    }
    report.dropped.push_back(*std::move(drop));
    stats_.corruptions.fetch_add(1, std::memory_order_relaxed);
    PLATOPS_RETURN_IF_ERROR(MoveAside(dir_, CheckpointName(*it)));
    dir_changed = true;
  }
  report.checkpoint = checkpoint;

  std::vector<int> segments;
  for (int n : listing.segments) {
    if (n > checkpoint && n >= from_segment) segments.push_back(n);
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    const int n = segments[i];
    std::string damage_of_rest;
    if (i > 0 && n != segments[i - 1] + 1) {
      damage_of_rest = "segments " + SegmentName(segments[i - 1] + 1) + ".." + SegmentName(n - 1) +
                       " are missing";
      stats_.corruptions.fetch_add(1, std::memory_order_relaxed);
    } else {
      const std::string name = SegmentName(n);
      const std::string path = dir_ + "/" + name;
      InputFile f(kComponent);
      PLATOPS_RETURN_IF_ERROR(f.Open(path));
      PLATOPS_ASSIGN_OR_RETURN(ScanResult scan,
                               ScanFrames(f, false, buffer, &fn));
      report.records += scan.records;
      report.bytes += scan.payload_bytes;
      if (report.first_segment == 0) report.first_segment = n;
      report.last_segment = n;
      if (scan.damage.empty()) continue;
      stats_.corruptions.fetch_add(1, std::memory_order_relaxed);
      report.dropped.push_back(WalDrop{.file = name,
                                       .segment = n,
                                       .offset = scan.good_end,
                                       .bytes = f.size() - scan.good_end,
                                       .reason = scan.damage});
      PLATOPS_RETURN_IF_ERROR(TruncateFile(path, scan.good_end));
      damage_of_rest = "follows the damage in segment " + name;
      ++i;
    }
    for (; i < segments.size(); ++i) {
      const std::string name = SegmentName(segments[i]);
      report.dropped.push_back(WalDrop{.file = name,
                                       .segment = segments[i],
                                       .offset = 0,
                                       .bytes = FileSize(dir_ + "/" + name),
                                       .reason = damage_of_rest});
      PLATOPS_RETURN_IF_ERROR(MoveAside(dir_, name));
      dir_changed = true;
    }
  }
  if (dir_changed) PLATOPS_RETURN_IF_ERROR(SyncDir(kComponent, dir_));
  PLATOPS_RETURN_IF_ERROR(ScanDirectory());
  return report;
}

Status Wal::Log(std::span<const std::string_view> records) {
  if (records.empty()) return Status::Ok();
  // Checksums outside the lock, so concurrent writers compute them in parallel.
  constexpr size_t kInlineHeaders = 16;
  std::array<FrameHeader, kInlineHeaders> inline_headers;
  std::vector<FrameHeader> heap_headers;
  FrameHeader* headers = inline_headers.data();
  if (records.size() > kInlineHeaders) {
    heap_headers.resize(records.size());
    headers = heap_headers.data();
  }
  size_t total = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].size() > kMaxWalRecordBytes) {
      return InvalidArgument("wal: record " + std::to_string(i) + " has " +
                             std::to_string(records[i].size()) + " bytes; the maximum is " +
                             std::to_string(kMaxWalRecordBytes));
    }
    headers[i] = MakeFrameHeader(kFrameRecord, records[i]);
    total += kFrameHeaderSize + records[i].size();
  }

  std::unique_lock lock(mu_);
  if (closed_) return Unavailable("wal: closed");
  if (replaying_) return Unavailable("wal: replay in progress");
  if (!error_.ok()) return error_;
  writing_started_ = true;
  Batch& batch = pending_;
  batch.bytes.reserve(batch.bytes.size() + total);
  for (size_t i = 0; i < records.size(); ++i) {
    batch.bytes.append(headers[i].data(), kFrameHeaderSize);
    batch.bytes.append(records[i]);
    batch.frame_ends.push_back(batch.bytes.size());
  }
  batch.records += records.size();
  return AwaitBatch(lock, pending_seq_);
}

Status Wal::AwaitBatch(std::unique_lock<std::mutex>& lock, uint64_t seq) {
  while (done_seq_ < seq) {
    if (!leader_active_) {
      LeadBatch(lock);
    } else {
      cv_.wait(lock);
    }
  }
  if (failed_seq_ != 0 && seq >= failed_seq_) return error_;
  return Status::Ok();
}

void Wal::LeadBatch(std::unique_lock<std::mutex>& lock) {
  leader_active_ = true;
  Batch batch;
  std::swap(batch, pending_);
  std::swap(pending_, spare_);
  const uint64_t seq = pending_seq_++;
  const bool healthy = error_.ok();
  lock.unlock();
  // Later writers queue into pending_ meanwhile; they become the next batch.
  const Status s = healthy ? WriteBatch(batch) : Status::Ok();
  batch.bytes.clear();
  batch.frame_ends.clear();
  batch.records = 0;
  lock.lock();
  if (healthy && !s.ok()) {
    error_ = s;
    failed_seq_ = seq;
  }
  if (healthy && s.ok() && !options_.sync) unsynced_ = true;
  spare_ = std::move(batch);
  done_seq_ = seq;
  leader_active_ = false;
  cv_.notify_all();
}

void Wal::AcquireLeadership(std::unique_lock<std::mutex>& lock) {
  cv_.wait(lock, [this] { return !leader_active_; });
  leader_active_ = true;
}

void Wal::ReleaseLeadership(std::unique_lock<std::mutex>& lock) {
  (void)lock;
  leader_active_ = false;
  cv_.notify_all();
}

Status Wal::WriteBatch(const Batch& batch) {
  if (fd_ < 0) PLATOPS_RETURN_IF_ERROR(OpenNewSegment());
  // Frames [chunk_start, prev_end) go to the current segment in one write.
  size_t chunk_start = 0;
  size_t prev_end = 0;
  for (const size_t end : batch.frame_ends) {
    const uint64_t before = segment_bytes_ + (prev_end - chunk_start);
    if (before > 0 && segment_bytes_ + (end - chunk_start) > options_.segment_size) {
      if (prev_end > chunk_start) {
        PLATOPS_RETURN_IF_ERROR(WriteAll(batch.bytes.data() + chunk_start, prev_end - chunk_start));
      }
      PLATOPS_RETURN_IF_ERROR(CloseSegment());
      PLATOPS_RETURN_IF_ERROR(OpenNewSegment());
      chunk_start = prev_end;
    }
    prev_end = end;
  }
  PLATOPS_RETURN_IF_ERROR(WriteAll(batch.bytes.data() + chunk_start, prev_end - chunk_start));
  if (options_.sync) {
    std::string path;
    {
      std::lock_guard lock(mu_);
      path = dir_ + "/" + SegmentName(writer_segment_);
    }
    PLATOPS_RETURN_IF_ERROR(TimedSync(fd_, path));
  }
  stats_.records.fetch_add(batch.records, std::memory_order_relaxed);
  stats_.bytes.fetch_add(batch.bytes.size(), std::memory_order_relaxed);
  return Status::Ok();
}

Status Wal::WriteAll(const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd_, data, size);
    stats_.writes.fetch_add(1, std::memory_order_relaxed);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      std::lock_guard lock(mu_);
      return ErrnoStatus("write", dir_ + "/" + SegmentName(writer_segment_), err);
    }
    data += n;
    size -= static_cast<size_t>(n);
    segment_bytes_ += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status Wal::TimedSync(int fd, const std::string& path) {
  const auto start = std::chrono::steady_clock::now();
  const int rc = ::fdatasync(fd);
  const int err = errno;
  const auto elapsed = std::chrono::steady_clock::now() - start;
  stats_.fsyncs.fetch_add(1, std::memory_order_relaxed);
  stats_.fsync_nanos.fetch_add(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()),
      std::memory_order_relaxed);
  if (rc != 0) return ErrnoStatus("fdatasync", path, err);
  return Status::Ok();
}

Status Wal::OpenNewSegment() {
  int number;
  {
    std::lock_guard lock(mu_);
    number = std::max(last_segment_, checkpoint_) + 1;
  }
  const std::string path = dir_ + "/" + SegmentName(number);
  if (number > kMaxSegmentNumber) return Internal("wal: no segment number left after " + path);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create", path, errno);
  {
    std::lock_guard lock(mu_);
    fd_ = fd;
    segment_bytes_ = 0;
    last_segment_ = number;
    if (first_segment_ == 0) first_segment_ = number;
    writer_segment_ = number;
  }
  stats_.segments_created.fetch_add(1, std::memory_order_relaxed);
  return SyncDir(kComponent, dir_);
}

Status Wal::CloseSegment() {
  std::string path;
  {
    std::lock_guard lock(mu_);
    path = dir_ + "/" + SegmentName(writer_segment_);
  }
  Status s = TimedSync(fd_, path);
  ::close(fd_);
  std::lock_guard lock(mu_);
  fd_ = -1;
  unsynced_ = false;
  return s;
}

Status Wal::SyncIfDue(Timestamp now) {
  if (options_.sync) return Status::Ok();
  int fd;
  std::string path;
  {
    std::unique_lock lock(mu_);
    if (closed_ || !unsynced_) return error_;
    if (last_sync_.has_value() && now - *last_sync_ < options_.sync_interval) return Status::Ok();
    cv_.wait(lock, [this] { return !leader_active_; });
    if (fd_ < 0 || !unsynced_) return error_;
    // A duplicate keeps the file open should the next batch switch segments meanwhile.
    fd = ::dup(fd_);
    path = dir_ + "/" + SegmentName(writer_segment_);
    if (fd < 0) return ErrnoStatus("dup", path, errno);
    unsynced_ = false;
    last_sync_ = now;
  }
  Status s = TimedSync(fd, path);
  ::close(fd);
  if (!s.ok()) {
    std::lock_guard lock(mu_);
    if (error_.ok()) {
      error_ = s;
      failed_seq_ = pending_seq_;
    }
  }
  return s;
}

Result<int> Wal::Cut() {
  std::unique_lock lock(mu_);
  if (closed_) return Unavailable("wal: closed");
  if (replaying_) return Unavailable("wal: replay in progress");
  if (!error_.ok()) return error_;
  writing_started_ = true;
  AcquireLeadership(lock);
  lock.unlock();
  Status s;
  if (fd_ < 0) {
    s = OpenNewSegment();
  } else if (segment_bytes_ > 0) {
    s = CloseSegment();
    if (s.ok()) s = OpenNewSegment();
  }
  lock.lock();
  const int number = writer_segment_;
  if (!s.ok() && error_.ok()) {
    error_ = s;
    failed_seq_ = pending_seq_;
  }
  ReleaseLeadership(lock);
  if (!s.ok()) return s;
  return number;
}

std::pair<int, int> Wal::Segments() const {
  std::lock_guard lock(mu_);
  return {first_segment_, last_segment_};
}

Status Wal::TruncateBefore(int segment) {
  std::lock_guard admin(admin_mu_);
  {
    std::lock_guard lock(mu_);
    if (closed_) return Unavailable("wal: closed");
    if (segment > last_segment_) {
      return InvalidArgument("wal: cannot truncate before segment " + std::to_string(segment) +
                             ": the last segment is " + std::to_string(last_segment_));
    }
  }
  PLATOPS_ASSIGN_OR_RETURN(Listing listing, ListDir(dir_));
  int first = 0;
  bool removed = false;
  for (int n : listing.segments) {
    if (n >= segment) {
      if (first == 0) first = n;
      continue;
    }
    const std::string path = dir_ + "/" + SegmentName(n);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("remove", path, errno);
    removed = true;
  }
  if (removed) PLATOPS_RETURN_IF_ERROR(SyncDir(kComponent, dir_));
  std::lock_guard lock(mu_);
  if (first != 0) first_segment_ = first;
  return Status::Ok();
}

Status Wal::WriteCheckpoint(int upto_segment, std::span<const std::string> records) {
  std::lock_guard admin(admin_mu_);
  {
    std::lock_guard lock(mu_);
    if (closed_) return Unavailable("wal: closed");
    const int limit = writer_segment_ != 0 ? writer_segment_ - 1 : last_segment_;
    if (upto_segment < 1 || upto_segment > limit) {
      return InvalidArgument("wal: checkpoint up to segment " + std::to_string(upto_segment) +
                             ": must be 1.." + std::to_string(limit) +
                             " (below the segment being written)");
    }
    if (upto_segment < checkpoint_) {
      return InvalidArgument("wal: checkpoint up to segment " + std::to_string(upto_segment) +
                             " is older than the existing " + CheckpointName(checkpoint_));
    }
  }
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].size() > kMaxWalRecordBytes) {
      return InvalidArgument("wal: checkpoint record " + std::to_string(i) + " has " +
                             std::to_string(records[i].size()) + " bytes; the maximum is " +
                             std::to_string(kMaxWalRecordBytes));
    }
  }
  const std::string name = CheckpointName(upto_segment);
  const fs::path final_dir = fs::path(dir_) / name;
  const fs::path tmp_dir = fs::path(dir_) / (name + std::string(kTmpSuffix));
  std::error_code ec;
  fs::remove_all(tmp_dir, ec);
  if (ec) return FsStatus("remove", tmp_dir, ec);
  fs::create_directory(tmp_dir, ec);
  if (ec) return FsStatus("create", tmp_dir, ec);

  const std::string path = (tmp_dir / kCheckpointFile).string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create", path, errno);
  auto write_all = [&](std::string_view data) -> Status {
    while (!data.empty()) {
      const ssize_t n = ::write(fd, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", path, errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  };
  Status s;
  std::string buffer;
  for (const std::string& record : records) {
    AppendFrame(buffer, kFrameRecord, record);
    if (buffer.size() >= kCheckpointWriteChunk) {
      s = write_all(buffer);
      if (!s.ok()) break;
      buffer.clear();
    }
  }
  if (s.ok()) {
    char count[8];
    for (int i = 0; i < 8; ++i) count[i] = static_cast<char>(uint64_t{records.size()} >> (8 * i));
    AppendFrame(buffer, kFrameCheckpointEnd, std::string_view(count, 8));
    s = write_all(buffer);
  }
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus("fsync", path, errno);
  ::close(fd);
  PLATOPS_RETURN_IF_ERROR(s);
  PLATOPS_RETURN_IF_ERROR(SyncDir(kComponent, tmp_dir.string()));

  // Rewriting the same checkpoint: the old copy goes first (it is not newer than the new one).
  fs::remove_all(final_dir, ec);
  if (ec) return FsStatus("remove", final_dir, ec);
  fs::rename(tmp_dir, final_dir, ec);
  if (ec) return FsStatus("rename", tmp_dir, ec);
  PLATOPS_RETURN_IF_ERROR(SyncDir(kComponent, dir_));
  {
    std::lock_guard lock(mu_);
    checkpoint_ = upto_segment;
  }

  PLATOPS_ASSIGN_OR_RETURN(Listing listing, ListDir(dir_));
  bool removed = false;
  for (int n : listing.checkpoints) {
    if (n >= upto_segment) continue;
    const fs::path old = fs::path(dir_) / CheckpointName(n);
    fs::remove_all(old, ec);
    if (ec) return FsStatus("remove", old, ec);
    removed = true;
  }
  if (removed) PLATOPS_RETURN_IF_ERROR(SyncDir(kComponent, dir_));
  return Status::Ok();
}

Status Wal::Close() {
  std::lock_guard admin(admin_mu_);
  std::unique_lock lock(mu_);
  if (closed_) return Status::Ok();
  closed_ = true;
  // Records queued before closed_ was set are written first.
  while (leader_active_ || !pending_.frame_ends.empty()) {
    if (leader_active_) {
      cv_.wait(lock);
    } else {
      LeadBatch(lock);
    }
  }
  leader_active_ = true;
  const Status error = error_;
  const bool needs_sync = unsynced_ && error.ok();
  const std::string path = dir_ + "/" + SegmentName(writer_segment_);
  lock.unlock();
  Status s;
  if (fd_ >= 0) {
    if (needs_sync) s = TimedSync(fd_, path);
    ::close(fd_);
  }
  lock.lock();
  fd_ = -1;
  unsynced_ = false;
  ReleaseLeadership(lock);
  return error.ok() ? s : error;
}

}  // namespace platops::metrics
