// The frame writer: small frames packed into shared blocks, large bodies
// referenced, order and sizes kept across blocks and takes.

#include "runtime/protocol/frame_writer.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/protocol/checksum.hpp"
#include "runtime/protocol/wire_format.hpp"
#include "tests/unit/runtime/protocol/session_pair.hpp"

namespace weft::protocol {
namespace {

using testing::be32;
using testing::be64;
using testing::concat;
using testing::raw_frame;

std::string window_frame(std::uint32_t id, std::uint32_t increment) {
  return raw_frame(frame_type::window, 0, id, be32(increment));
}

std::string chunk_frame(std::uint32_t id, absl::string_view body) {
  return raw_frame(frame_type::chunk, 0, id, body);
}

TEST(FrameWriterTest, PacksABurstLargerThanABlockInOrder) {
  frame_writer w;
  std::string expected;
  // 10,000 frames of 16 bytes: far more than the largest block.
  for (std::uint32_t i = 1; i <= 10'000; ++i) {
    w.window(i, i * 3);
    expected += window_frame(i, i * 3);
  }
  EXPECT_EQ(w.size(), expected.size());
  EXPECT_EQ(w.frames(), 10'000u);
  auto out = w.take();
  EXPECT_EQ(concat(out), expected);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(w.frames(), 0u);
  EXPECT_TRUE(w.take().empty());
}

TEST(FrameWriterTest, ReferencesLargeBodiesBetweenSmallFrames) {
  frame_writer w;
  auto small = shared_bytes::copy_of("tiny");
  auto large
    = shared_bytes::copy_of(std::string(frame_writer::copy_below, 'x'));
  w.chunk(3, small, false, 0);
  w.chunk(3, large, false, 0);
  w.window(0, 7);
  auto out = w.take();
  ASSERT_EQ(out.size(), 3u); // header + tiny body, the large body, the rest
  EXPECT_EQ(out[1].data(), large.data());
  EXPECT_EQ(concat(out), chunk_frame(3, "tiny") + chunk_frame(3, large.view())
                           + window_frame(0, 7));
}

TEST(FrameWriterTest, TakenBytesStayIntactWhileMoreIsWritten) {
  frame_writer w;
  w.window(1, 1);
  auto first = w.take();
  auto first_bytes = concat(first);
  for (std::uint32_t i = 0; i < 1'000; ++i)
    w.window(2, 2);
  auto second = w.take();
  EXPECT_EQ(concat(first), first_bytes);
  EXPECT_EQ(concat(first), window_frame(1, 1));
  EXPECT_EQ(concat(second).size(), 1'000 * window_frame(2, 2).size());
}

TEST(FrameWriterTest, TakeIntoAppendsToWhatIsThere) {
  frame_writer control;
  frame_writer data;
  control.window(0, 9);
  data.chunk(5, shared_bytes::copy_of("body"), true, 42);
  std::vector<shared_bytes> out;
  control.take_into(out);
  data.take_into(out);
  EXPECT_EQ(concat(out), window_frame(0, 9)
                           + raw_frame(frame_type::chunk, flag_end, 5,
                                       "body" + be64(42)));
  EXPECT_TRUE(control.empty());
  EXPECT_TRUE(data.empty());
}

TEST(FrameWriterTest, SmallMessageIsByteForByteAMessageFrame) {
  // Header and body sizes around the block bounds, empty ones included.
  for (std::size_t hsize :
       {std::size_t{0}, std::size_t{1}, std::size_t{9}, std::size_t{250}}) {
    for (std::size_t bsize :
         {std::size_t{0}, std::size_t{16}, std::size_t{300},
          frame_writer::copy_below - 1}) {
      std::string hdr(hsize, 'h');
      auto body = shared_bytes::copy_of(std::string(bsize, 'b'));
      auto hspan = absl::Span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(hdr.data()), hdr.size());
      frame_writer plain;
      frame_writer small;
      for (std::uint32_t id = 1; id < 40; id += 2) {
        plain.message(id, hspan, body, checksum::of(hspan, body.span()));
        small.small_message(id, hspan, body.span());
      }
      EXPECT_EQ(small.size(), plain.size());
      EXPECT_EQ(small.frames(), plain.frames());
      EXPECT_EQ(concat(small.take()), concat(plain.take()))
        << hsize << " header bytes, " << bsize << " body bytes";
    }
  }
}

} // namespace
} // namespace weft::protocol
