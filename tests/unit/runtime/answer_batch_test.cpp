// answer_batch: one reply per request, in order, from either form of
// answer (a StatusOr, or a response written in place).

#include <gtest/gtest.h>

#include "runtime/answer_batch.hpp"
#include "runtime/errc.hpp"

namespace weft {
namespace {

request_batch three_requests() {
  request_batch batch;
  for (std::uint32_t id : {7u, 9u, 11u}) {
    auto& req = batch.items.emplace_back();
    req.message_id = id;
    req.content_type = "text/plain";
    req.body = payload{shared_bytes::copy_of(std::to_string(id))};
  }
  return batch;
}

void expect_answers(const reply_batch& out) {
  ASSERT_EQ(out.items.size(), 3u);
  EXPECT_EQ(out.items[0].message_id, 7u);
  EXPECT_EQ(out.items[0].code, 0);
  EXPECT_EQ(out.items[0].rsp.content_type, "text/plain");
  EXPECT_EQ(out.items[0].rsp.body.read_all(8)->view(), "7");
  // The failed one carries its code and text and no response.
  EXPECT_EQ(out.items[1].message_id, 9u);
  EXPECT_EQ(out.items[1].code, static_cast<std::uint8_t>(errc::not_found));
  EXPECT_EQ(out.items[1].message, "no 9");
  EXPECT_EQ(out.items[1].rsp.body.size(), 0u);
  EXPECT_TRUE(out.items[1].rsp.content_type.empty());
  EXPECT_EQ(out.items[2].message_id, 11u);
  EXPECT_EQ(out.items[2].code, 0);
  EXPECT_EQ(out.items[2].rsp.body.read_all(8)->view(), "11");
}

TEST(AnswerBatchTest, AnswersFromStatusOr) {
  auto batch = three_requests();
  auto out = answer_batch(batch, [](request& req) -> absl::StatusOr<response> {
    if (req.message_id == 9)
      return make_status(errc::not_found, "no 9");
    response rsp;
    rsp.body = std::move(req.body);
    rsp.content_type = req.content_type;
    return rsp;
  });
  expect_answers(out);
}

TEST(AnswerBatchTest, AnswersInPlace) {
  auto batch = three_requests();
  auto out = answer_batch(batch, [](request& req, response& rsp) {
    rsp.body = std::move(req.body);
    rsp.content_type = req.content_type;
    if (req.message_id == 9)
      // Whatever it wrote before failing is dropped.
      return make_status(errc::not_found, "no 9");
    return absl::OkStatus();
  });
  expect_answers(out);
}

} // namespace
} // namespace weft
