// Replays the session fuzz target over its seed corpus (and any crash
// inputs added to it), so every build checks the fuzzer's findings.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size);

namespace {

std::string corpus_dir() {
  if (const char* env = std::getenv("WEFT_FUZZ_CORPUS"))
    return env;
  return WEFT_FUZZ_CORPUS_DIR;
}

std::vector<std::string> corpus_files(const std::string& dir) {
  std::vector<std::string> out;
  if (auto* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d))
      if (e->d_name[0] != '.')
        out.push_back(dir + "/" + e->d_name);
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SessionFuzzReplayTest, EveryCorpusFileRunsCleanly) {
  auto files = corpus_files(corpus_dir());
  ASSERT_GE(files.size(), 10u) << "no corpus in " << corpus_dir();
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    std::ifstream in{path, std::ios::binary};
    std::vector<char> bytes{std::istreambuf_iterator<char>{in},
                            std::istreambuf_iterator<char>{}};
    EXPECT_EQ(LLVMFuzzerTestOneInput(
                reinterpret_cast<const std::uint8_t*>(bytes.data()),
                bytes.size()),
              0);
  }
}

TEST(SessionFuzzReplayTest, EmptyAndTinyInputsRunCleanly) {
  const std::uint8_t bytes[] = {0x00, 0x01, 0x02, 0x03, 0xff};
  for (std::size_t n = 0; n <= sizeof(bytes); ++n)
    EXPECT_EQ(LLVMFuzzerTestOneInput(bytes, n), 0);
}

} // namespace
