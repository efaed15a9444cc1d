// The test framer of the reactor, fed at every split point.

#include "runtime/io/length_prefix_framer.hpp"

#include <string>

#include <gtest/gtest.h>

#include "runtime/error_bridge.hpp"

namespace weft::io {
namespace {

absl::Span<const std::uint8_t> prefix(const std::vector<std::uint8_t>& bytes,
                                      std::size_t n) {
  return absl::MakeConstSpan(bytes.data(), n);
}

TEST(LengthPrefixFramerTest, EncodesBigEndianLength) {
  auto unit = length_prefix_framer::encode("abc");
  ASSERT_EQ(unit.size(), 7u);
  EXPECT_EQ(unit[0], 0);
  EXPECT_EQ(unit[3], 3);
  EXPECT_EQ(unit[4], 'a');
}

TEST(LengthPrefixFramerTest, AsksForHeaderThenWholeUnitAtEverySplit) {
  length_prefix_framer framer{1024};
  auto unit = length_prefix_framer::encode(std::string(100, 'x'));
  for (std::size_t n = 0; n < unit.size(); ++n) {
    auto cut = framer.next(prefix(unit, n));
    ASSERT_TRUE(cut.ok()) << cut.status();
    EXPECT_EQ(cut->complete, 0u) << "at " << n;
    EXPECT_EQ(cut->need, n < 4 ? 4u : unit.size()) << "at " << n;
  }
  auto cut = framer.next(prefix(unit, unit.size()));
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->complete, unit.size());
}

TEST(LengthPrefixFramerTest, CutsOnlyTheFirstOfTwoUnits) {
  length_prefix_framer framer{1024};
  auto bytes = length_prefix_framer::encode("first");
  auto second = length_prefix_framer::encode("second unit");
  bytes.insert(bytes.end(), second.begin(), second.end());
  auto cut = framer.next(absl::MakeConstSpan(bytes));
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->complete, 9u);
}

TEST(LengthPrefixFramerTest, AcceptsEmptyPayload) {
  length_prefix_framer framer{0};
  auto unit = length_prefix_framer::encode("");
  auto cut = framer.next(absl::MakeConstSpan(unit));
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->complete, 4u);
}

TEST(LengthPrefixFramerTest, RejectsOversizedLengthFromHeaderAlone) {
  length_prefix_framer framer{1000};
  std::vector<std::uint8_t> header{0xff, 0xff, 0xff, 0xff};
  auto cut = framer.next(absl::MakeConstSpan(header));
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(code_of(cut.status()), errc::protocol_error);
  EXPECT_NE(cut.status().message().find("exceeds"), absl::string_view::npos);
}

TEST(LengthPrefixFramerTest, FactoryMakesIndependentFramers) {
  auto factory = length_prefix_framer::factory(8);
  auto a = factory();
  auto b = factory();
  ASSERT_NE(a, nullptr);
  EXPECT_NE(a.get(), b.get());
  auto unit = length_prefix_framer::encode("123456789");
  EXPECT_FALSE(a->next(absl::MakeConstSpan(unit)).ok());
}

} // namespace
} // namespace weft::io
