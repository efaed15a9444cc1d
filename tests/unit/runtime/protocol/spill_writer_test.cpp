// spill_writer: pieces land in order, finish() waits for them, errors
// reach the writer's user, and going away drops the rest.

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "runtime/protocol/spill_writer.hpp"
#include "tests/unit/runtime/protocol/session_pair.hpp"

namespace weft::protocol {
namespace {

std::string contents_of(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  char buf[65536];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

/// A file in a fresh directory, opened with `flags` (the test closes it).
class SpillWriterTest : public ::testing::Test {
protected:
  int open_file(int flags) {
    return ::open(path.c_str(), flags | O_CREAT | O_CLOEXEC, 0600);
  }

  testing::temp_dir dir;
  std::string path = dir.path() + "/file";
};

TEST_F(SpillWriterTest, WritesEveryPieceInOrderBeforeFinishReturns) {
  int fd = open_file(O_WRONLY);
  ASSERT_GE(fd, 0);
  std::string expected;
  {
    spill_writer writer{fd, path};
    for (int i = 0; i < 512; ++i) {
      std::string piece(4096, static_cast<char>('a' + i % 26));
      expected += piece;
      ASSERT_TRUE(writer.write(shared_bytes::copy_of(piece)).ok());
    }
    ASSERT_TRUE(writer.finish().ok());
    EXPECT_EQ(writer.queued(), 0u);
  }
  ::close(fd);
  EXPECT_EQ(contents_of(path), expected);
}

TEST_F(SpillWriterTest, AWriteErrorReachesTheUser) {
  // Opened for reading only: every write fails (EBADF).
  int fd = open_file(O_RDONLY);
  ASSERT_GE(fd, 0);
  {
    spill_writer writer{fd, path};
    (void) writer.write(shared_bytes::copy_of("doomed"));
    auto st = writer.finish();
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find(path), absl::string_view::npos);
    EXPECT_FALSE(writer.write(shared_bytes::copy_of("more")).ok());
  }
  ::close(fd);
}

TEST_F(SpillWriterTest, GoingAwayDropsWhatIsQueued) {
  int fd = open_file(O_WRONLY);
  ASSERT_GE(fd, 0);
  {
    spill_writer writer{fd, path};
    for (int i = 0; i < 64; ++i)
      ASSERT_TRUE(
        writer.write(shared_bytes::copy_of(std::string(1 << 20, 'x'))).ok());
    // No finish(): the destructor stops the thread without waiting for
    // the rest (a cancelled message), and the fd is still ours to close.
  }
  EXPECT_EQ(::close(fd), 0);
}

} // namespace
} // namespace weft::protocol
