#include "runtime/shared_bytes.hpp"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

namespace weft {
namespace {

TEST(SharedBytesTest, AllocateHandsTheFilledBytesOver) {
  auto bytes = shared_bytes::allocate(5, [](absl::Span<std::uint8_t> out) {
    ASSERT_EQ(out.size(), 5u);
    std::memcpy(out.data(), "hello", 5);
  });
  EXPECT_EQ(bytes.view(), "hello");
  EXPECT_EQ(bytes.capacity_held(), 5u);
}

TEST(SharedBytesTest, AllocateOfNothingIsEmpty) {
  bool called = false;
  auto bytes = shared_bytes::allocate(
    0, [&](absl::Span<std::uint8_t>) { called = true; });
  EXPECT_TRUE(bytes.empty());
  EXPECT_FALSE(called);
  EXPECT_EQ(bytes.capacity_held(), 0u);
}

TEST(SharedBytesTest, SlicesShareTheStorageAndReportIt) {
  auto whole = shared_bytes{std::vector<std::uint8_t>{'a', 'b', 'c', 'd'}};
  auto mid = whole.slice(1, 2);
  EXPECT_EQ(mid.view(), "bc");
  EXPECT_EQ(mid.data(), whole.data() + 1);
  EXPECT_EQ(mid.capacity_held(), 4u);
  auto inner = mid.slice(1, 1);
  EXPECT_EQ(inner.view(), "c");
  EXPECT_EQ(inner.data(), whole.data() + 2);
}

TEST(SharedBytesTest, NarrowKeepsTheStorageAndItsOtherViews) {
  auto whole = shared_bytes::copy_of("abcdef");
  auto view = whole;
  view.narrow(2, 3);
  EXPECT_EQ(view.view(), "cde");
  EXPECT_EQ(view.data(), whole.data() + 2);
  EXPECT_EQ(view.capacity_held(), 6u);
  EXPECT_EQ(whole.view(), "abcdef");
  whole = shared_bytes{};
  view.narrow(1, 0);
  EXPECT_TRUE(view.empty());
  EXPECT_EQ(view.capacity_held(), 6u); // still owns the bytes
  view.narrow(0, 0);
  EXPECT_EQ(view.capacity_held(), 6u);
}

TEST(SharedBytesTest, AdoptsAnArrayFilledInPlace) {
  auto array = std::make_shared_for_overwrite<std::uint8_t[]>(3);
  std::memcpy(array.get(), "xyz", 3);
  shared_bytes bytes{std::move(array), 3};
  EXPECT_EQ(bytes.view(), "xyz");
  EXPECT_EQ(bytes.slice(2, 1).view(), "z");
}

TEST(SharedBytesTest, ViewsOutliveTheOriginal) {
  shared_bytes tail;
  {
    auto whole = shared_bytes::copy_of("head tail");
    tail = whole.slice(5, 4);
  }
  EXPECT_EQ(tail.to_string(), "tail");
}

TEST(SharedBytesTest, EmptyValuesCompareEqual) {
  EXPECT_EQ(shared_bytes{}, shared_bytes::copy_of(""));
  EXPECT_EQ(shared_bytes{}.data(), nullptr);
  EXPECT_EQ(shared_bytes{}.capacity_held(), 0u);
}

} // namespace
} // namespace weft
