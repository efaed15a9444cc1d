#include "runtime/small_fifo.hpp"

#include <cstdint>
#include <deque>
#include <random>

#include <gtest/gtest.h>

#include "runtime/shared_bytes.hpp"

namespace weft {
namespace {

TEST(SmallFifoTest, AllocatesNothingUntilTheFirstPush) {
  small_fifo<std::uint32_t> q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.capacity(), 0u);
  q.push_back(7);
  EXPECT_EQ(q.capacity(), 4u);
  EXPECT_EQ(q.front(), 7u);
}

TEST(SmallFifoTest, KeepsOrderAcrossWrapAndGrowth) {
  small_fifo<std::uint32_t> q;
  std::uint32_t next_in = 0;
  std::uint32_t next_out = 0;
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < round % 7 + 1; ++i)
      q.push_back(next_in++);
    for (int i = 0; i < round % 5 && !q.empty(); ++i) {
      EXPECT_EQ(q.front(), next_out++);
      q.pop_front();
    }
  }
  EXPECT_EQ(q.size(), next_in - next_out);
  for (std::size_t i = 0; i < q.size(); ++i)
    EXPECT_EQ(q[i], next_out + i);
}

TEST(SmallFifoTest, PushFrontPutsAnElementBack) {
  small_fifo<std::uint32_t> q;
  q.push_back(2);
  q.push_back(3);
  q.push_front(1);
  q.push_front(0);
  q.push_front(9); // grows while the head has wrapped
  ASSERT_EQ(q.size(), 5u);
  std::uint32_t expected[] = {9, 0, 1, 2, 3};
  for (auto x : expected) {
    EXPECT_EQ(q.front(), x);
    q.pop_front();
  }
  EXPECT_TRUE(q.empty());
}

TEST(SmallFifoTest, BehavesLikeADequeUnderRandomOperations) {
  small_fifo<std::uint32_t> q;
  std::deque<std::uint32_t> model;
  std::mt19937 gen{1};
  for (std::uint32_t step = 0; step < 20000; ++step) {
    switch (gen() % 4) {
      case 0:
      case 1:
        q.push_back(step);
        model.push_back(step);
        break;
      case 2:
        q.push_front(step);
        model.push_front(step);
        break;
      default:
        if (!model.empty()) {
          ASSERT_EQ(q.front(), model.front());
          q.pop_front();
          model.pop_front();
        }
    }
    ASSERT_EQ(q.size(), model.size());
  }
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_GT(q.capacity(), 0u); // kept for reuse
}

TEST(SmallFifoTest, PopReleasesWhatTheSlotHeld) {
  small_fifo<shared_bytes> q;
  auto bytes = shared_bytes::copy_of("payload");
  q.push_back(bytes.slice(0, 3));
  q.pop_front();
  // Only `bytes` itself still refers to the storage: a popped slot holds
  // nothing, so received buffers are not pinned by an empty queue.
  auto again = bytes.slice(0, 3);
  EXPECT_EQ(again.view(), "pay");
}

TEST(SmallFifoTest, ReleaseIfEmptyFreesSlotsOnlyWhenEmpty) {
  small_fifo<std::uint32_t> q;
  q.push_back(1);
  q.push_back(2);
  q.release_if_empty();
  EXPECT_GT(q.capacity(), 0u); // not empty: kept
  q.pop_front();
  q.pop_front();
  q.release_if_empty();
  EXPECT_EQ(q.capacity(), 0u);
  // Still usable afterwards.
  q.push_back(3);
  EXPECT_EQ(q.front(), 3u);
}

TEST(SmallFifoTest, MovesLeaveTheSourceEmpty) {
  small_fifo<std::uint32_t> a;
  a.push_back(1);
  a.push_back(2);
  small_fifo<std::uint32_t> b{std::move(a)};
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(a.size(), 0u); // NOLINT(bugprone-use-after-move): defined state
  a = std::move(b);
  EXPECT_EQ(a.front(), 1u);
}

} // namespace
} // namespace weft
