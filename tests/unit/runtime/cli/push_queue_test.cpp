#include "runtime/cli/push_queue.hpp"

#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace weft::cli {
namespace {

push_message push_to(std::string route) {
  push_message msg;
  msg.route = std::move(route);
  return msg;
}

TEST(PushQueueTest, TakeReturnsEveryWaitingPushOldestFirst) {
  push_queue queue;
  EXPECT_TRUE(queue.put(push_to("a")));
  EXPECT_TRUE(queue.put(push_to("b")));
  auto batch = queue.take(absl::ZeroDuration());
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].route, "a");
  EXPECT_EQ(batch[1].route, "b");
  EXPECT_TRUE(queue.take(absl::ZeroDuration()).empty());
}

TEST(PushQueueTest, AFullQueueDropsAndCounts) {
  push_queue queue{2};
  EXPECT_TRUE(queue.put(push_to("a")));
  EXPECT_TRUE(queue.put(push_to("b")));
  EXPECT_FALSE(queue.put(push_to("c")));
  EXPECT_EQ(queue.dropped(), 1u);
  EXPECT_EQ(queue.take(absl::ZeroDuration()).size(), 2u);
  EXPECT_TRUE(queue.put(push_to("d"))) << "room again once taken";
  EXPECT_EQ(queue.dropped(), 1u);
}

TEST(PushQueueTest, TakeWakesForAPushFromAnotherThread) {
  push_queue queue;
  std::thread producer{[&] {
    queue.put(push_to("late"));
  }};
  // Bounded by the timeout, not by a sleep: returns as soon as it arrives.
  auto batch = queue.take(absl::Seconds(10));
  producer.join();
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].route, "late");
}

TEST(PushQueueTest, TakeWithoutPushesReturnsEmptyAfterTheTimeout) {
  push_queue queue;
  EXPECT_TRUE(queue.take(absl::Milliseconds(20)).empty());
}

} // namespace
} // namespace weft::cli
