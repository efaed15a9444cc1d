#include "runtime/protocol/checksum.hpp"

#include <string>

#include <gtest/gtest.h>

namespace weft::protocol {
namespace {

absl::Span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(ChecksumTest, MatchesTheCrc64XzCheckValue) {
  EXPECT_EQ(checksum::of({}, bytes_of("123456789")), 0x995DC9BBDF1939FAull);
}

TEST(ChecksumTest, EmptyInputIsZero) {
  EXPECT_EQ(checksum::of({}, {}), 0u);
}

TEST(ChecksumTest, PiecesInAnySizesGiveTheSameDigest) {
  std::string text = "a header, then a body that arrives in chunks";
  auto whole = checksum::of({}, bytes_of(text));
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    checksum sum;
    sum.update(bytes_of(text.substr(0, cut)));
    sum.update(bytes_of(text.substr(cut)));
    EXPECT_EQ(sum.digest(), whole) << "cut at " << cut;
  }
}

TEST(ChecksumTest, OneFlippedBitChangesTheDigest) {
  std::string text(4096, 'x');
  auto clean = checksum::of({}, bytes_of(text));
  for (std::size_t bit = 0; bit < text.size() * 8; bit += 97) {
    auto flipped = text;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_NE(checksum::of({}, bytes_of(flipped)), clean) << bit;
  }
}

} // namespace
} // namespace weft::protocol
