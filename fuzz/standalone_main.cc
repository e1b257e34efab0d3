// Runs a libFuzzer target without libFuzzer: every file of the corpus directories given, then
// `--mutations=N` deterministic mutations of them (bit flips, truncations, splices, repeats).
// Finds no new paths by itself; it keeps the targets building and checks them under the
// sanitizers in every `make test`.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  std::vector<std::string> inputs;
  long mutations = 1000;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--mutations=", 0) == 0) {
      mutations = std::stol(arg.substr(12));
      continue;
    }
    std::filesystem::path p(arg);
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p)) files.push_back(e.path());
    } else {
      files.push_back(p);
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      inputs.push_back(ss.str());
    }
  }
  if (inputs.empty()) inputs.push_back("");
  for (const auto& s : inputs)
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  std::mt19937_64 rng(12345);
  for (long m = 0; m < mutations; ++m) {
    std::string s = inputs[rng() % inputs.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 6) {
        case 0:
          if (!s.empty()) s[rng() % s.size()] ^= static_cast<char>(1u << (rng() % 8));
          break;
        case 1:
          if (!s.empty()) s.resize(rng() % s.size());
          break;
        case 2:
          s.insert(rng() % (s.size() + 1), 1, static_cast<char>(rng() % 256));
          break;
        case 3: {
          const std::string& other = inputs[rng() % inputs.size()];
          if (!other.empty()) {
            size_t from = rng() % other.size();
            s.insert(rng() % (s.size() + 1), other.substr(from, rng() % (other.size() - from + 1)));
          }
          break;
        }
        case 4:
          if (!s.empty()) {
            size_t at = rng() % s.size();
            s.insert(at, s.substr(at, 1 + rng() % 16));
          }
          break;
        case 5: {
          static const char* kTokens[] = {"{", "}", "[", "]", "\"", ":", ",", "null", "-", "\n",
                                          "\\u0000", "1e999", "&", "*a", "!!", "---", "\xff"};
          s.insert(rng() % (s.size() + 1), kTokens[rng() % (sizeof kTokens / sizeof *kTokens)]);
          break;
        }
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  std::printf("%zu corpus inputs and %ld mutations ran without a crash\n", inputs.size(), mutations);
  return 0;
}
