#include "testing/temp_store.h"

#include <stdexcept>

#include "base/crypto.h"

namespace platops::testing {

namespace fs = std::filesystem;

TempDir::TempDir() : path_(fs::temp_directory_path() / ("platops-test-" + RandomHex(8))) {
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

TempStore::TempStore(const std::vector<store::Migration>& migrations)
    : dir_(fs::temp_directory_path() / ("platops-test-" + RandomHex(8))) {
  fs::create_directories(dir_);
  Reopen(migrations);
}

TempStore::~TempStore() {
  store_.reset();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void TempStore::Reopen(const std::vector<store::Migration>& migrations) {
  store_.reset();
  store::SqliteOptions opts;
  opts.path = db_path();
  opts.sync_full = false;
  auto s = store::OpenSqliteStore(opts);
  if (!s.ok()) throw std::runtime_error(s.status().ToString());
  store_ = std::move(*s);
  Status st = store_->Migrate(migrations);
  if (!st.ok()) throw std::runtime_error(st.ToString());
}

}  // namespace platops::testing
