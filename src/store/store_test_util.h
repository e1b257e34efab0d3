#pragma once
// Test helpers for store/: a temporary directory removed on destruction.
// Thread-safety: externally synchronized.

#include <filesystem>
#include <string>

namespace platops::store {

class TempDir {
 public:
  // Creates <temp>/platops-store-<pid>-<counter>-<random>.
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace platops::store
