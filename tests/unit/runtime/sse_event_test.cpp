// Server-Sent Events as text (runtime/sse_event.hpp).
#include <gtest/gtest.h>

#include "runtime/error_bridge.hpp"
#include "runtime/sse_event.hpp"

namespace weft {
namespace {

TEST(SseEventTest, WritesFieldsThenOneDataLinePerLine) {
  sse_event ev;
  ev.id = "7";
  ev.event = "count";
  ev.retry_ms = 1500;
  ev.data = "one\ntwo";
  auto text = encode_sse(ev);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text,
            "id: 7\nevent: count\nretry: 1500\ndata: one\ndata: two\n\n");
}

TEST(SseEventTest, EveryLineBreakOfTheDataStartsADataLine) {
  sse_event ev;
  ev.data = "a\r\nb\rid: forged\n";
  auto text = encode_sse(ev);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "data: a\ndata: b\ndata: id: forged\ndata: \n\n");
}

TEST(SseEventTest, RefusesAnIdOrTypeOfSeveralLines) {
  sse_event forged_id;
  forged_id.id = "1\nevent: x";
  EXPECT_EQ(code_of(encode_sse(forged_id).status()), errc::invalid_argument);
  sse_event forged_type;
  forged_type.event = "a\rb";
  EXPECT_EQ(code_of(encode_sse(forged_type).status()), errc::invalid_argument);
}

TEST(SseEventTest, EmptyDataIsOneEmptyDataLine) {
  auto text = encode_sse(sse_event{});
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "data: \n\n");
}

} // namespace
} // namespace weft
