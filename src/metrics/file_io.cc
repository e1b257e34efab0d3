#include "metrics/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace platops::metrics {
namespace {

std::string Prefix(std::string_view component) {
  return component.empty() ? std::string() : std::string(component) + ": ";
}

}  // namespace

Status ErrnoError(std::string_view component, std::string_view op, const std::string& path,
                  int err) {
  return Internal(Prefix(component) + std::string(op) + " " + path + ": " +
                  std::system_category().message(err));
}

Status SyncDir(std::string_view component, const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(component, "open", dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError(component, "fsync", dir, err);
  return Status::Ok();
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status InputFile::Open(const std::string& path) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    if (errno == ENOENT) return NotFound(Prefix(component_) + path + " does not exist");
    return ErrnoError(component_, "open", path, errno);
  }
  struct stat st;
  if (::fstat(fd_, &st) != 0) return ErrnoError(component_, "stat", path, errno);
  size_ = static_cast<uint64_t>(st.st_size);
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  return Status::Ok();
}

Status InputFile::ReadAt(uint64_t offset, size_t n, char* out) const {
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(component_, "read", path_, errno);
    }
    if (r == 0) {
      return Internal(Prefix(component_) + "read " + path_ + ": the file shrank while being read");
    }
    done += static_cast<size_t>(r);
  }
  return Status::Ok();
}

}  // namespace platops::metrics
