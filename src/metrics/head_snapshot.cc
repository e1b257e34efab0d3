#include "metrics/head_snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "metrics/crc32c.h"
#include "metrics/file_io.h"
#include "metrics/varint.h"

namespace platops::metrics {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "PLHS";
constexpr uint8_t kVersion = 1;
constexpr size_t kFileHeaderSize = 5;   // Magic and version.
constexpr size_t kFrameHeaderSize = 8;  // u32 LE length, u32 LE CRC-32C of the payload.
constexpr uint64_t kMaxFramePayload = uint64_t{1} << 30;
// A series frame is closed once its payload passes this; one series may make it larger.
constexpr size_t kFrameTarget = size_t{1} << 20;
// The writer hands the file this much at a time.
constexpr size_t kWriteChunk = size_t{8} << 20;

enum class FrameType : uint8_t { kMeta = 1, kSeries = 2, kEnd = 3 };

void PutVarint(std::string& out, int64_t v) { AppendUvarint(out, ZigZag(v)); }
void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void PutBytes(std::string& out, std::string_view b) {
  AppendUvarint(out, b.size());
  out.append(b);
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

// Reads the fields of one frame's payload; every getter fails (false) instead of reading past it.
class Cursor {
 public:
  explicit Cursor(std::string_view data)
      : p_(data.data()), begin_(data.data()), end_(p_ + data.size()) {}

  bool Uvarint(uint64_t& v) { return GetUvarint(p_, end_, v); }
  bool Varint(int64_t& v) {
    uint64_t u;
    if (!Uvarint(u)) return false;
    v = UnZigZag(u);
    return true;
  }
  bool U8(uint8_t& v) {
    if (p_ >= end_) return false;
    v = static_cast<uint8_t>(*p_++);
    return true;
  }
  bool U64(uint64_t& v) {
    if (end_ - p_ < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(p_[i])} << (8 * i);
    p_ += 8;
    return true;
  }
  bool Bytes(std::string_view& b) {
    uint64_t n;
    if (!Uvarint(n) || n > static_cast<uint64_t>(end_ - p_)) return false;
    b = std::string_view(p_, n);
    p_ += n;
    return true;
  }
  bool done() const { return p_ == end_; }
  size_t offset() const { return static_cast<size_t>(p_ - begin_); }

 private:
  const char* p_;
  const char* begin_;
  const char* end_;
};

constexpr std::string_view kComponent = "head snapshot";

Status ErrnoStatus(std::string_view op, const std::string& path, int err) {
  return ErrnoError(kComponent, op, path, err);
}

// Frames built in memory and written in large pieces.
class FrameWriter {
 public:
  FrameWriter(int fd, const std::string& path) : fd_(fd), path_(path) {}

  // Starts a frame; its payload is appended to payload() until EndFrame.
  void BeginFrame(FrameType type) {
    frame_start_ = buf_.size();
    buf_.append(kFrameHeaderSize, '\0');
    buf_.push_back(static_cast<char>(type));
  }
  std::string& payload() { return buf_; }
  size_t payload_size() const { return buf_.size() - frame_start_ - kFrameHeaderSize; }
  Status EndFrame() {
    const size_t size = payload_size();
    if (size > kMaxFramePayload) {
      return Internal("head snapshot: a frame of " + std::to_string(size) +
                      " bytes exceeds the maximum " + std::to_string(kMaxFramePayload));
    }
    const std::string_view payload(buf_.data() + frame_start_ + kFrameHeaderSize, size);
    PutU32(buf_.data() + frame_start_, static_cast<uint32_t>(size));
    PutU32(buf_.data() + frame_start_ + 4, Crc32c(payload));
    ++frames_;
    if (buf_.size() >= kWriteChunk) return Drain();
    return Status::Ok();
  }
  Status Drain() {
    std::string_view data = buf_;
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
      written_ += static_cast<uint64_t>(n);
    }
    buf_.clear();
    return Status::Ok();
  }
  uint64_t frames() const { return frames_; }
  uint64_t written() const { return written_; }

 private:
  const int fd_;
  const std::string& path_;
  std::string buf_;
  size_t frame_start_ = 0;
  uint64_t frames_ = 0;
  uint64_t written_ = 0;
};

uint64_t ChunkSamples(std::string_view bytes) {
  if (bytes.size() < 2) return 0;
  return (uint64_t{static_cast<uint8_t>(bytes[0])} << 8) | static_cast<uint8_t>(bytes[1]);
}

void EncodeSeries(const Head::SeriesStateView& s, std::string& out, HeadSnapshotStats& stats) {
  AppendUvarint(out, s.ref);
  AppendUvarint(out, s.labels.size());
  for (const Label& l : s.labels) {
    PutBytes(out, l.name);
    PutBytes(out, l.value);
  }
  PutVarint(out, s.max_t);
  PutU64(out, s.last_bits);
  AppendUvarint(out, s.closed.size());
  for (const ChunkData& c : s.closed) {
    PutVarint(out, c.min_t);
    PutVarint(out, c.max_t);
    PutBytes(out, c.bytes);
    stats.samples += ChunkSamples(c.bytes);
  }
  stats.chunks += s.closed.size();
  if (s.open.num_samples() == 0) {
    AppendUvarint(out, 0);
  } else {
    PutBytes(out, s.open.bytes());
    const XorChunk::AppendState st = s.open.append_state();
    PutVarint(out, s.open_min_t);
    PutVarint(out, s.open_end);
    out.push_back(static_cast<char>(st.free_bits));
    PutVarint(out, st.last_t);
    AppendUvarint(out, st.last_delta);
    PutU64(out, st.last_v_bits);
    out.push_back(static_cast<char>(st.have_window ? 1 : 0));
    out.push_back(static_cast<char>(st.leading));
    out.push_back(static_cast<char>(st.trailing));
    ++stats.chunks;
    stats.samples += static_cast<uint64_t>(s.open.num_samples());
  }
  ++stats.series;
}

// Parses one series entry; `error` says what was wrong when it returns false.
bool DecodeSeries(Cursor& c, Head::SeriesState& s, HeadSnapshotStats& stats, std::string& error) {
  uint64_t ref;
  uint64_t count;
  if (!c.Uvarint(ref) || !c.Uvarint(count)) return (error = "truncated series header"), false;
  s.ref = ref;
  s.labels.clear();
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view name;
    std::string_view value;
    if (!c.Bytes(name) || !c.Bytes(value)) return (error = "truncated label"), false;
    s.labels.push_back(Label{std::string(name), std::string(value)});
  }
  uint64_t closed;
  if (!c.Varint(s.max_t) || !c.U64(s.last_bits) || !c.Uvarint(closed)) {
    return (error = "truncated series state"), false;
  }
  s.closed.clear();
  for (uint64_t i = 0; i < closed; ++i) {
    ChunkData chunk;
    std::string_view bytes;
    if (!c.Varint(chunk.min_t) || !c.Varint(chunk.max_t) || !c.Bytes(bytes)) {
      return (error = "truncated chunk " + std::to_string(i)), false;
    }
    if (bytes.size() < 2 || chunk.min_t > chunk.max_t) {
      return (error = "impossible chunk " + std::to_string(i)), false;
    }
    chunk.bytes.assign(bytes);
    stats.samples += ChunkSamples(bytes);
    s.closed.push_back(std::move(chunk));
  }
  stats.chunks += closed;
  std::string_view open;
  if (!c.Bytes(open)) return (error = "truncated open chunk"), false;
  s.open = XorChunk();
  s.open_min_t = 0;
  s.open_end = 0;
  if (!open.empty()) {
    XorChunk::AppendState st;
    uint8_t free_bits;
    uint8_t window;
    uint8_t leading;
    uint8_t trailing;
    if (!c.Varint(s.open_min_t) || !c.Varint(s.open_end) || !c.U8(free_bits) ||
        !c.Varint(st.last_t) || !c.Uvarint(st.last_delta) || !c.U64(st.last_v_bits) ||
        !c.U8(window) || !c.U8(leading) || !c.U8(trailing)) {
      return (error = "truncated open chunk state"), false;
    }
    st.free_bits = free_bits;
    st.have_window = window == 1;
    st.leading = leading;
    st.trailing = trailing;
    if (window > 1) return (error = "open chunk window flag " + std::to_string(window)), false;
    auto restored = XorChunk::Restore(open, st);
    if (!restored.ok()) return (error = restored.status().message()), false;
    s.open = std::move(restored).value();
    if (s.open.num_samples() == 0) return (error = "open chunk without samples"), false;
    ++stats.chunks;
    stats.samples += static_cast<uint64_t>(s.open.num_samples());
  }
  ++stats.series;
  return true;
}


}  // namespace

Result<HeadSnapshotStats> WriteHeadSnapshot(const Head& head, const HeadSnapshotMeta& meta,
                                            const std::string& path) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create", tmp, errno);
  HeadSnapshotStats stats;
  FrameWriter w(fd, tmp);
  std::string& out = w.payload();
  out.append(kMagic);
  out.push_back(static_cast<char>(kVersion));
  w.BeginFrame(FrameType::kMeta);
  AppendUvarint(out, static_cast<uint64_t>(meta.wal_segment));
  PutVarint(out, meta.min_valid_time);
  PutVarint(out, meta.max_logged_t);
  AppendUvarint(out, meta.next_ref);
  Status s = w.EndFrame();
  uint64_t series_frames = 0;
  bool in_frame = false;
  head.ForEachSeriesState([&](const Head::SeriesStateView& series) {
    if (!s.ok()) return;
    if (!in_frame) {
      w.BeginFrame(FrameType::kSeries);
      in_frame = true;
    }
    EncodeSeries(series, out, stats);
    if (w.payload_size() >= kFrameTarget) {
      s = w.EndFrame();
      in_frame = false;
      ++series_frames;
    }
  });
  if (s.ok() && in_frame) {
    s = w.EndFrame();
    ++series_frames;
  }
  if (s.ok()) {
    w.BeginFrame(FrameType::kEnd);
    AppendUvarint(out, stats.series);
    AppendUvarint(out, series_frames);
    s = w.EndFrame();
  }
  if (s.ok()) s = w.Drain();
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus("fsync", tmp, errno);
  if (::close(fd) != 0 && s.ok()) s = ErrnoStatus("close", tmp, errno);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoStatus("rename", tmp, errno);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  PLATOPS_RETURN_IF_ERROR(SyncDir(kComponent, fs::path(path).parent_path().string()));
  stats.bytes = w.written();
  return stats;
}

namespace {

// One frame on its way through LoadHeadSnapshot: read by the loading thread, checked and decoded
// by a decoder thread, applied to the head by the loading thread in file order.
struct FrameJob {
  uint64_t index = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
  uint32_t crc = 0;
  std::string payload;  // Read by the decoder.
  // Filled by the decoder.
  bool done = false;
  std::string error;  // Empty when the frame is intact (series frames: and decodes).
  std::vector<Head::SeriesState> series;
  HeadSnapshotStats stats;
};

void DecodeFrame(const InputFile& f, FrameJob& job) {
  // The series the head took from this job last time are freed here, off the loading thread.
  job.series.clear();
  if (Status s = f.ReadAt(job.offset + kFrameHeaderSize, job.length, job.payload); !s.ok()) {
    job.error = s.message();
    return;
  }
  if (Crc32c(job.payload) != job.crc) {
    job.error = "checksum mismatch";
    return;
  }
  if (static_cast<uint8_t>(job.payload[0]) != static_cast<uint8_t>(FrameType::kSeries)) return;
  Cursor c(std::string_view(job.payload).substr(1));
  while (!c.done()) {
    const size_t at = c.offset() + 1;
    Head::SeriesState state;
    std::string error;
    if (!DecodeSeries(c, state, job.stats, error)) {
      job.error = "series at payload byte " + std::to_string(at) + ": " + error;
      return;
    }
    job.series.push_back(std::move(state));
  }
}

// Decoder threads over a queue of jobs; joined on destruction.
class FrameDecoders {
 public:
  FrameDecoders(const InputFile& f, int threads) : f_(f) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
  }
  // Drops the jobs not started (an early return after damage) and joins the threads.
  ~FrameDecoders() {
    {
      std::lock_guard lock(mu_);
      queue_.clear();
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  bool threaded() const { return !threads_.empty(); }
  void Submit(FrameJob* job) {
    if (threads_.empty()) {
      DecodeFrame(f_, *job);
      job->done = true;
      return;
    }
    {
      std::lock_guard lock(mu_);
      queue_.push_back(job);
    }
    cv_.notify_all();
  }
  void Wait(FrameJob* job) {
    if (threads_.empty()) return;
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [job] { return job->done; });
  }

 private:
  void Run() {
    while (true) {
      FrameJob* job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = queue_.front();
        queue_.pop_front();
      }
      DecodeFrame(f_, *job);
      {
        std::lock_guard lock(mu_);
        job->done = true;
      }
      done_cv_.notify_all();
    }
  }

  const InputFile& f_;
  std::mutex mu_;
  std::condition_variable cv_;       // Jobs queued or stop.
  std::condition_variable done_cv_;  // A job finished.
  std::deque<FrameJob*> queue_;      // GUARDED_BY(mu_)
  bool stop_ = false;                // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace

Result<LoadedHeadSnapshot> LoadHeadSnapshot(const std::string& path, Head& head,
                                            int decode_threads) {
  InputFile f(kComponent);
  PLATOPS_RETURN_IF_ERROR(f.Open(path));
  auto damaged = [&path](uint64_t frame, uint64_t offset, const std::string& what) {
    return InvalidArgument("head snapshot " + path + ": frame " + std::to_string(frame) +
                           " at byte " + std::to_string(offset) + ": " + what);
  };
  std::string header;
  if (f.size() < kFileHeaderSize) return damaged(0, 0, "shorter than the file header");
  PLATOPS_RETURN_IF_ERROR(f.ReadAt(0, kFileHeaderSize, header));
  if (std::string_view(header).substr(0, 4) != kMagic) return damaged(0, 0, "not a head snapshot");
  if (static_cast<uint8_t>(header[4]) != kVersion) {
    return damaged(0, 4, "unknown version " + std::to_string(static_cast<uint8_t>(header[4])));
  }
  LoadedHeadSnapshot loaded;
  uint64_t series_frames = 0;
  bool ended = false;
  // Applies a decoded frame to the head, in file order.
  auto apply = [&](FrameJob& job) -> Status {
    if (!job.error.empty()) return damaged(job.index, job.offset, job.error);
    if (ended) return damaged(job.index, job.offset, "data after the end frame");
    Cursor c(job.payload);
    uint8_t type = 0;
    (void)c.U8(type);  // The payload is not empty.
    if (job.index == 0 && type != static_cast<uint8_t>(FrameType::kMeta)) {
      return damaged(job.index, job.offset, "the first frame is not the meta frame");
    }
    if (type == static_cast<uint8_t>(FrameType::kMeta)) {
      if (job.index != 0) return damaged(job.index, job.offset, "a second meta frame");
      uint64_t segment;
      uint64_t next_ref;
      HeadSnapshotMeta& m = loaded.meta;
      if (!c.Uvarint(segment) || !c.Varint(m.min_valid_time) || !c.Varint(m.max_logged_t) ||
          !c.Uvarint(next_ref) || !c.done() || segment > 99'999'999) {
        return damaged(job.index, job.offset, "malformed meta frame");
      }
      m.wal_segment = static_cast<int>(segment);
      m.next_ref = next_ref;
    } else if (type == static_cast<uint8_t>(FrameType::kSeries)) {
      for (Head::SeriesState& state : job.series) {
        Status s = head.RestoreSeries(std::move(state));
        if (!s.ok()) return damaged(job.index, job.offset, s.message());
      }
      loaded.stats.series += job.stats.series;
      loaded.stats.chunks += job.stats.chunks;
      loaded.stats.samples += job.stats.samples;
      ++series_frames;
    } else if (type == static_cast<uint8_t>(FrameType::kEnd)) {
      uint64_t series;
      uint64_t frames;
      if (!c.Uvarint(series) || !c.Uvarint(frames) || !c.done()) {
        return damaged(job.index, job.offset, "malformed end frame");
      }
      if (series != loaded.stats.series || frames != series_frames) {
        return damaged(job.index, job.offset,
                       "the end frame counts " + std::to_string(series) + " series in " +
                           std::to_string(frames) + " frames, the file holds " +
                           std::to_string(loaded.stats.series) + " in " +
                           std::to_string(series_frames));
      }
      ended = true;
    } else {
      return damaged(job.index, job.offset, "unknown frame type " + std::to_string(type));
    }
    return Status::Ok();
  };

  // Frames in flight: read ahead while the decoders work and this thread fills the head.
  constexpr size_t kWindow = 6;
  std::vector<FrameJob> jobs(kWindow);  // Outlives the decoders, which are joined first.
  FrameDecoders decoders(f, decode_threads);
  uint64_t submitted = 0;
  uint64_t applied = 0;
  uint64_t offset = kFileHeaderSize;
  std::string frame_header;
  while (applied < submitted || offset < f.size()) {
    if (ended && applied == submitted)
      return damaged(submitted, offset, "data after the end frame");
    if (offset < f.size() && submitted - applied < kWindow) {
      // Read the next frame into a free job.
      if (f.size() - offset < kFrameHeaderSize) {
        // Report it after the frames before it (one of them may be the damage's cause).
        if (applied == submitted) return damaged(submitted, offset, "torn frame header");
      } else {
        PLATOPS_RETURN_IF_ERROR(f.ReadAt(offset, kFrameHeaderSize, frame_header));
        const uint32_t length = GetU32(frame_header.data());
        if (length == 0 || length > kMaxFramePayload ||
            length > f.size() - offset - kFrameHeaderSize) {
          if (applied == submitted) {
            return damaged(
                submitted, offset,
                "frame length " + std::to_string(length) + " exceeds the file or the maximum");
          }
        } else {
          FrameJob& job = jobs[submitted % kWindow];
          job.index = submitted;
          job.offset = offset;
          job.length = length;
          job.crc = GetU32(frame_header.data() + 4);
          job.done = false;
          job.error.clear();
          job.stats = HeadSnapshotStats{};
          decoders.Submit(&job);
          ++submitted;
          offset += kFrameHeaderSize + length;
          continue;
        }
      }
    }
    if (applied == submitted) break;
    FrameJob& job = jobs[applied % kWindow];
    decoders.Wait(&job);
    PLATOPS_RETURN_IF_ERROR(apply(job));
    ++applied;
  }
  if (offset < f.size()) return damaged(submitted, offset, "torn frame");
  if (!ended) return damaged(submitted, offset, "no end frame (truncated)");
  head.ReserveRefsBelow(loaded.meta.next_ref);
  loaded.stats.bytes = f.size();
  return loaded;
}

}  // namespace platops::metrics
