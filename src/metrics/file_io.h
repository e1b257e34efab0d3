#pragma once
// POSIX file helpers shared by the store's own files (WAL, head snapshot, store directory,
// backfill). Errors are Internal "<component>: <op> <path>: <reason>" (no prefix for an empty
// component). Thread-safety: an InputFile may be read from several threads at once (pread).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace platops::metrics {

Status ErrnoError(std::string_view component, std::string_view op, const std::string& path,
                  int err);

// fsyncs a directory, so that the entries created, renamed or removed in it are durable.
Status SyncDir(std::string_view component, const std::string& dir);

// A file open for reading, with its size at open; closes on destruction.
class InputFile {
 public:
  explicit InputFile(std::string_view component) : component_(component) {}
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // NotFound when the file does not exist. Advises the kernel that reads are sequential.
  Status Open(const std::string& path);
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }
  // Reads exactly `n` bytes at `offset` into `out`; the file ending early is an error.
  Status ReadAt(uint64_t offset, size_t n, char* out) const;
  Status ReadAt(uint64_t offset, size_t n, std::string& out) const {
    out.resize(n);
    return ReadAt(offset, n, out.data());
  }

 private:
  std::string component_;
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace platops::metrics
