// Payloads in memory and in files: read() and read_into() give the same
// bytes at any offset, and refuse to read past the end.

#include "runtime/payload.hpp"

#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

namespace weft {
namespace {

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>('a' + (i * 7) % 26);
  return s;
}

class PayloadTest : public ::testing::Test {
protected:
  void SetUp() override {
    text_ = pattern(100'000);
    // One file per test and process: ctest runs the tests side by side.
    path_ = ::testing::TempDir() + "/payload_test_"
            + ::testing::UnitTest::GetInstance()->current_test_info()->name()
            + "_" + std::to_string(::getpid());
    std::ofstream{path_, std::ios::binary} << text_;
  }

  void TearDown() override {
    std::remove(path_.c_str());
  }

  std::string text_;
  std::string path_;
};

TEST_F(PayloadTest, FileAndMemoryReadTheSameBytes) {
  auto file = payload::from_file(path_);
  ASSERT_TRUE(file.ok()) << file.status();
  payload memory{shared_bytes::copy_of(text_)};
  for (const auto* body : {&*file, &memory}) {
    ASSERT_EQ(body->size(), text_.size());
    for (std::size_t offset : {0ul, 1ul, 4095ul, 65536ul, 99'990ul}) {
      std::size_t n = std::min<std::size_t>(10, text_.size() - offset);
      auto piece = body->read(offset, n);
      ASSERT_TRUE(piece.ok()) << piece.status();
      EXPECT_EQ(piece->view(), text_.substr(offset, n)) << offset;
      std::vector<std::uint8_t> buf(n, 0xff);
      ASSERT_TRUE(body->read_into(offset, absl::MakeSpan(buf)).ok());
      EXPECT_EQ(std::string(buf.begin(), buf.end()), text_.substr(offset, n));
    }
    // The whole body through one buffer, piece by piece.
    std::string whole;
    std::vector<std::uint8_t> buf(30'000);
    for (std::size_t offset = 0; offset < text_.size();) {
      auto n = std::min(buf.size(), text_.size() - offset);
      ASSERT_TRUE(body->read_into(offset, absl::MakeSpan(buf.data(), n)).ok());
      whole.append(buf.begin(), buf.begin() + static_cast<long>(n));
      offset += n;
    }
    EXPECT_EQ(whole, text_);
  }
}

TEST_F(PayloadTest, ReadsPastTheEndFail) {
  auto file = payload::from_file(path_);
  ASSERT_TRUE(file.ok());
  std::vector<std::uint8_t> buf(2);
  EXPECT_FALSE(file->read_into(text_.size() - 1, absl::MakeSpan(buf)).ok());
  EXPECT_FALSE(file->read(text_.size() + 1, 0).ok());
  EXPECT_TRUE(file->read_into(text_.size(), absl::MakeSpan(buf.data(), 0)).ok());
}

TEST_F(PayloadTest, AFileThatShrankIsAnIoError) {
  auto file = payload::from_file(path_);
  ASSERT_TRUE(file.ok());
  std::ofstream{path_, std::ios::binary | std::ios::trunc} << "short";
  std::vector<std::uint8_t> buf(100);
  auto st = file->read_into(1000, absl::MakeSpan(buf));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("shorter than announced"), std::string::npos)
    << st;
  EXPECT_FALSE(file->read(1000, 100).ok());
}

} // namespace
} // namespace weft
