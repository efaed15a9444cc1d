// Streamed request bodies: a session hands the requests its owner picks
// (body_stream_filter) over as begun / piece / ended events, and returns
// the sender's credit only as the owner reports pieces used.

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/protocol/session.hpp"
#include "runtime/protocol/wire_format.hpp"
#include "tests/unit/runtime/protocol/session_pair.hpp"

namespace weft::protocol {
namespace {

using kind = session_event::kind;
using testing::of_kind;
using testing::random_bytes;
using testing::session_pair;
using testing::wire_frame;

/// Streams the requests for routes that start with "up".
class streams_up final : public body_stream_filter {
public:
  bool streams(const weft::wire::MessageHeader& header) const override {
    ++asked;
    return header.route().rfind("up", 0) == 0;
  }

  mutable int asked = 0;
};

/// What the server's owner saw of one streamed request.
struct received {
  std::vector<session_event> begun;
  std::string body;
  std::vector<std::uint64_t> done;
  std::vector<session_event> ended;
  std::vector<session_event> cancelled;
  std::vector<session_event> whole;
  std::vector<session_event> progress;
};

/// Sorts `events` of `server` into `r`; reports every piece used at once
/// when `consume`, so the sender gets its credit back.
void absorb(session& server, absl::Span<session_event> events, received& r,
            bool consume, absl::Time now) {
  for (auto& ev : events) {
    switch (ev.what) {
      case kind::begun:
        r.begun.push_back(std::move(ev));
        break;
      case kind::piece: {
        EXPECT_FALSE(ev.body.is_file());
        auto bytes = ev.body.bytes();
        auto view = bytes.view();
        r.body.append(view.data(), view.size());
        r.done.push_back(ev.done);
        if (consume)
          server.piece_consumed(ev.id, bytes.size(), now);
        break;
      }
      case kind::ended:
        r.ended.push_back(std::move(ev));
        break;
      case kind::cancelled:
        r.cancelled.push_back(std::move(ev));
        break;
      case kind::message:
        r.whole.push_back(std::move(ev));
        break;
      case kind::progress:
        r.progress.push_back(std::move(ev));
        break;
      default:
        break;
    }
  }
}

/// The server's events so far (session_pair collects them as it pumps).
void take(session_pair& p, received& r, bool consume) {
  auto& events = p.server_events();
  absorb(p.server(), absl::MakeSpan(events), r, consume, p.now());
  events.clear();
}

/// Pumps `p` until quiet, the server's owner using pieces as they come.
void run(session_pair& p, received& r, bool consume = true) {
  for (int round = 0; round < 10'000; ++round) {
    p.pump();
    bool any = !p.server_events().empty();
    take(p, r, consume);
    if (!any && !p.server().wants_write())
      break;
  }
}

std::vector<wire_frame> frames_of(const std::vector<wire_frame>& frames,
                                  frame_type type, std::uint32_t id) {
  std::vector<wire_frame> out;
  for (const auto& f : frames)
    if (f.is(type) && f.id == id)
      out.push_back(f);
  return out;
}

std::uint64_t flow_bytes(const std::vector<wire_frame>& frames,
                         std::uint32_t id) {
  std::uint64_t n = 0;
  for (const auto& f : frames)
    if ((f.is(frame_type::message) || f.is(frame_type::chunk)) && f.id == id)
      n += f.payload.size();
  return n;
}

TEST(SessionStreamTest, ChunkedRequestArrivesAsBegunPiecesAndEnded) {
  streams_up filter;
  session_pair p;
  p.server_side().streams = &filter;
  p.pump();
  auto body = random_bytes(3 * 1024 * 1024 + 17, 1);
  auto header = testing::request("upload");
  (*header.mutable_metadata())["k"] = "v";
  header.set_content_type("application/x-test");
  auto id = *p.client().send(header, payload{body}, p.now());
  received r;
  run(p, r);
  ASSERT_EQ(r.begun.size(), 1u);
  EXPECT_EQ(r.begun[0].id, id);
  EXPECT_EQ(r.begun[0].total, body.size());
  EXPECT_EQ(r.begun[0].header.route(), "upload");
  EXPECT_EQ(r.begun[0].header.content_type(), "application/x-test");
  EXPECT_EQ(r.begun[0].header.metadata().at("k"), "v");
  EXPECT_TRUE(r.whole.empty());
  EXPECT_EQ(r.body, body.to_string());
  ASSERT_FALSE(r.done.empty());
  for (std::size_t i = 1; i < r.done.size(); ++i)
    EXPECT_GT(r.done[i], r.done[i - 1]);
  EXPECT_EQ(r.done.back(), body.size());
  ASSERT_EQ(r.ended.size(), 1u);
  EXPECT_EQ(r.ended[0].id, id);
  EXPECT_EQ(r.ended[0].total, body.size());
  EXPECT_TRUE(r.cancelled.empty());
  // Nothing was assembled, and the request now awaits its answer.
  EXPECT_EQ(p.server().stats().inbound_memory, 0u);
  EXPECT_EQ(p.server().stats().open_inbound, 0u);
  EXPECT_EQ(p.server().stats().awaiting_reply, 1u);
  ASSERT_TRUE(p.server()
                .send_reply(id, "text/plain", "", payload{shared_bytes::copy_of(
                                                    "done")},
                            p.now())
                .ok());
  p.pump();
  auto replies = of_kind(p.client_events(), kind::message);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].header.reply_to(), id);
}

TEST(SessionStreamTest, ProgressOfAStreamedRequestNamesItsRoute) {
  streams_up filter;
  session_pair p;
  p.server_side().streams = &filter;
  p.pump();
  received r;
  // Earlier messages leave their headers in the session's event slots.
  for (int i = 0; i < 8; ++i)
    ASSERT_TRUE(p.client()
                  .send(testing::request("elsewhere"),
                        payload{shared_bytes::copy_of("x")}, p.now())
                  .ok());
  run(p, r);
  ASSERT_EQ(r.whole.size(), 8u);
  auto id = *p.client().send(testing::request("upload"),
                             payload{random_bytes(3 * 1024 * 1024, 9)},
                             p.now());
  run(p, r);
  ASSERT_EQ(r.ended.size(), 1u);
  ASSERT_GE(r.progress.size(), 3u);
  for (const auto& ev : r.progress) {
    EXPECT_EQ(ev.id, id);
    EXPECT_EQ(ev.header.route(), "upload");
    EXPECT_EQ(ev.header.kind(), weft::wire::KIND_REQUEST);
  }
}

TEST(SessionStreamTest, CreditComesBackOnlyAsThePiecesAreUsed) {
  streams_up filter;
  session_options server_opt;
  server_opt.local.initial_message_window = 65'536;
  session_pair p{{}, server_opt};
  p.server_side().streams = &filter;
  p.pump();
  auto body = random_bytes(1024 * 1024, 2);
  auto id = *p.client().send(testing::request("up"), payload{body}, p.now());
  received r;
  run(p, r, false); // the owner holds every piece
  // The sender stopped at the message window: a slow handler bounds what
  // the connection holds for it.
  EXPECT_EQ(flow_bytes(p.client_side().wrote, id), 65'536u);
  EXPECT_EQ(r.body.size(), 65'536u);
  EXPECT_TRUE(frames_of(p.server_side().wrote, frame_type::window, id).empty());
  // Using half the window returns it.
  p.server().piece_consumed(id, 32'768, p.now());
  run(p, r, true);
  EXPECT_FALSE(frames_of(p.server_side().wrote, frame_type::window, id).empty());
  EXPECT_EQ(r.body, body.to_string());
  ASSERT_EQ(r.ended.size(), 1u);
}

TEST(SessionStreamTest, OnlyChunkedRequestsTheFilterPicksAreStreamed) {
  streams_up filter;
  session_pair p;
  p.server_side().streams = &filter;
  p.pump();
  auto big = random_bytes(300'000, 3);
  // One frame: whole, and the filter is not even asked.
  auto small = *p.client().send(testing::request("up"),
                                payload{shared_bytes::copy_of("tiny")},
                                p.now());
  // Chunked, but for another route: whole.
  auto other = *p.client().send(testing::request("echo"), payload{big},
                                p.now());
  // Chunked, but one-way: whole.
  auto one_way = testing::one_way();
  one_way.set_route("up");
  auto oneway_id = *p.client().send(one_way, payload{big}, p.now());
  received r;
  run(p, r);
  EXPECT_TRUE(r.begun.empty());
  ASSERT_EQ(r.whole.size(), 3u);
  EXPECT_EQ(r.whole[0].id, small);
  EXPECT_EQ(r.whole[1].id, other);
  EXPECT_EQ(r.whole[2].id, oneway_id);
  EXPECT_EQ(filter.asked, 1); // the chunked request for "echo"
}

/// Sends an 8 MiB request `h` streamed by `filter` and lets its first
/// 200 KB reach the server's owner (in `r`); returns its id.
std::uint32_t start_upload(session_pair& p, const body_stream_filter& filter,
                           received& r,
                           const weft::wire::MessageHeader& h
                           = testing::request("up")) {
  p.server_side().streams = &filter;
  p.pump();
  auto id = *p.client().send(h, payload{random_bytes(8 * 1024 * 1024, 4)},
                             p.now());
  p.pump_from(p.client_side(), 200'000);
  take(p, r, true);
  EXPECT_EQ(r.begun.size(), 1u);
  EXPECT_FALSE(r.body.empty());
  return id;
}

TEST(SessionStreamTest, SenderCancellingMidStreamTellsTheOwner) {
  streams_up filter;
  session_pair p;
  received r;
  auto id = start_upload(p, filter, r);
  p.client().cancel(id, errc::cancelled, "changed my mind");
  run(p, r);
  ASSERT_EQ(r.cancelled.size(), 1u);
  EXPECT_EQ(r.cancelled[0].id, id);
  EXPECT_FALSE(r.cancelled[0].ours);
  EXPECT_TRUE(r.ended.empty());
  EXPECT_EQ(p.server().stats().open_inbound, 0u);
}

TEST(SessionStreamTest, OwnerCancellingMidStreamFailsTheSendersRequest) {
  streams_up filter;
  session_pair p;
  received r;
  auto id = start_upload(p, filter, r);
  p.server().cancel(id, errc::permission_denied, "no uploads today");
  run(p, r);
  // The owner hears of it too (it may have sent the cancel for a handler).
  ASSERT_EQ(r.cancelled.size(), 1u);
  EXPECT_EQ(r.cancelled[0].code, errc::permission_denied);
  auto failed = of_kind(p.client_events(), kind::cancelled);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].id, id);
  EXPECT_TRUE(failed[0].ours);
  EXPECT_EQ(failed[0].code, errc::permission_denied);
  EXPECT_EQ(failed[0].text, "no uploads today");
  EXPECT_TRUE(r.ended.empty());
  EXPECT_FALSE(p.server().closed());
}

TEST(SessionStreamTest, DeadlinePassingMidStreamTellsTheOwner) {
  streams_up filter;
  session_pair p;
  auto h = testing::request("up");
  h.set_deadline_ms(100);
  received r;
  auto id = start_upload(p, filter, r, h);
  p.advance(absl::Milliseconds(100));
  p.server().on_tick(p.now());
  take(p, r, true);
  ASSERT_EQ(r.cancelled.size(), 1u);
  EXPECT_EQ(r.cancelled[0].id, id);
  EXPECT_EQ(r.cancelled[0].code, errc::deadline_exceeded);
  EXPECT_EQ(p.server().stats().open_inbound, 0u);
}

TEST(SessionStreamTest, OwnerUsingNoPieceForTheRequestTimeoutFailsIt) {
  streams_up filter;
  session_options server_opt;
  server_opt.request_timeout = absl::Seconds(1);
  session_pair p{{}, server_opt};
  p.server_side().streams = &filter;
  p.pump();
  auto id = *p.client().send(testing::request("up"),
                             payload{random_bytes(8 * 1024 * 1024, 8)},
                             p.now());
  received r;
  run(p, r, false); // a hung handler: it holds every piece
  ASSERT_EQ(r.begun.size(), 1u);
  ASSERT_FALSE(r.body.empty());
  EXPECT_LE(p.server().next_timeout(), p.now() + absl::Seconds(1));
  p.advance(absl::Milliseconds(999));
  p.tick();
  take(p, r, false);
  EXPECT_TRUE(r.cancelled.empty());
  // Using any of it starts the clock again.
  p.server().piece_consumed(id, 1, p.now());
  p.advance(absl::Milliseconds(999));
  p.tick();
  take(p, r, false);
  EXPECT_TRUE(r.cancelled.empty());
  p.advance(absl::Milliseconds(1));
  p.tick();
  take(p, r, false);
  ASSERT_EQ(r.cancelled.size(), 1u);
  EXPECT_EQ(r.cancelled[0].code, errc::deadline_exceeded);
  p.pump();
  auto failed = of_kind(p.client_events(), kind::cancelled);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].id, id);
  EXPECT_EQ(failed[0].code, errc::deadline_exceeded);
  EXPECT_EQ(p.server().stats().open_inbound, 0u);
}

TEST(SessionStreamTest, ChecksumMismatchAbortsTheStreamAfterItsPieces) {
  streams_up filter;
  session server{role::server, session_options{}, absl::FromUnixSeconds(1)};
  auto now = absl::FromUnixSeconds(1);
  std::string in = testing::raw_preface_and_settings();
  in += testing::raw_frame(frame_type::begin, 0, 1,
                           testing::encoded_header(testing::request("up"), 1,
                                                   10));
  in += testing::raw_frame(frame_type::chunk, 0, 1, "01234");
  in += testing::raw_frame(frame_type::chunk, flag_end, 1,
                           "56789" + testing::be64(12345));
  server.on_bytes(shared_bytes::copy_of(in), now, &filter);
  received r;
  absorb(server, server.take_events(), r, true, now);
  ASSERT_EQ(r.begun.size(), 1u);
  // The pieces came before the end could be checked: only `ended` makes
  // the body good, and it never comes.
  EXPECT_EQ(r.body, "0123456789");
  EXPECT_TRUE(r.ended.empty());
  ASSERT_EQ(r.cancelled.size(), 1u);
  EXPECT_EQ(r.cancelled[0].code, errc::checksum_mismatch);
  EXPECT_FALSE(r.cancelled[0].ours);
  auto frames = testing::parse_frames(
    testing::concat(server.take_output(SIZE_MAX)), true);
  auto cancels = frames_of(frames, frame_type::cancel, 1);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(testing::code_of_frame(cancels[0]), errc::checksum_mismatch);
  EXPECT_FALSE(server.closed());
}

TEST(SessionStreamTest, StreamedBodiesAreIdenticalAtAnySplitOfTheStream) {
  streams_up filter;
  for (auto mode : {testing::cut_mode::random, testing::cut_mode::byte_by_byte}) {
    session_options client_opt;
    client_opt.chunk_size = 1000;
    session_pair p{client_opt, {}, 42};
    p.cut = mode;
    p.server_side().streams = &filter;
    p.pump();
    auto body = random_bytes(mode == testing::cut_mode::random ? 500'000 : 5'000,
                             7);
    ASSERT_TRUE(
      p.client().send(testing::request("up"), payload{body}, p.now()).ok());
    received r;
    run(p, r);
    ASSERT_EQ(r.ended.size(), 1u);
    EXPECT_EQ(r.body, body.to_string());
  }
}

} // namespace
} // namespace weft::protocol
