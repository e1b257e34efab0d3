#include "store/store_test_util.h"

#include <unistd.h>

#include <atomic>
#include <random>
#include <stdexcept>
#include <system_error>

namespace platops::store {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  std::random_device random;
  for (int attempt = 0; attempt < 100; ++attempt) {
    path_ = std::filesystem::temp_directory_path() /
            ("platops-store-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" +
             std::to_string(random()));
    if (std::filesystem::create_directory(path_)) return;
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace platops::store
