#pragma once
// TempStore: a migrated SQLite store in a fresh temporary directory, removed on destruction.
// For tests only. Thread-safety: as Store.

#include <filesystem>
#include <memory>
#include <vector>

#include "store/sqlite_store.h"

namespace platops::testing {

class TempStore {
 public:
  explicit TempStore(const std::vector<store::Migration>& migrations);
  ~TempStore();
  store::Store& store() { return *store_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::string db_path() const { return (dir_ / "platops.db").string(); }
  // Closes and reopens the same file (a restart).
  void Reopen(const std::vector<store::Migration>& migrations);
  void Close() { store_.reset(); }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
};

// A fresh empty temporary directory, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace platops::testing
