// SPDX-License-Identifier: BSD-3-Clause
// The main of a fuzz target's replay test in ordinary builds: feeds every file under the given
// files or folders (corpus and regressions) to LLVMFuzzerTestOneInput once, as libFuzzer
// would. A property the target checks aborts the test. No files at all is a failure too.
// A folder named "open" holds inputs that still fail in a parser another branch fixes
// (fuzz/regressions/*/open/README.md): skipped, and counted, until moved up one folder.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

int replay(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
    return 1;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::printf("replay: %s (%zu bytes)\n", file.c_str(), bytes.size());
  std::fflush(stdout);  // the name is out before a crash
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  int files = 0, failures = 0, open = 0;
  for (int i = 1; i < argc; ++i) {
    const fs::path root(argv[i]);
    if (fs::is_regular_file(root)) {
      failures += replay(root);
      ++files;
      continue;
    }
    if (!fs::is_directory(root)) continue;  // a target without regressions yet
    std::vector<fs::path> paths;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_directory() && it->path().filename() == "open") {
        for (const auto& entry : fs::directory_iterator(it->path())) open += entry.path().extension() != ".md" ? 1 : 0;
        it.disable_recursion_pending();
      } else if (it->is_regular_file() && it->path().filename().string()[0] != '.' && it->path().extension() != ".md") {
        paths.push_back(it->path());
      }
    }
    std::sort(paths.begin(), paths.end());
    for (const auto& path : paths) {
      failures += replay(path);
      ++files;
    }
  }
  std::printf("replay: %d inputs, %d unreadable, %d open (not replayed)\n", files, failures, open);
  return files == 0 || failures > 0 ? 1 : 0;
}
