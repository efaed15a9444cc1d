// Two sessions back to back: messages, priorities, flow control, cancel,
// deadlines, checksums, spill files, limits, go-away and ping.

#include "runtime/protocol/session.hpp"

#include <cstdlib>
#include <dirent.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/error_bridge.hpp"
#include "runtime/protocol/wire_format.hpp"
#include "tests/unit/runtime/protocol/session_pair.hpp"

namespace weft::protocol {
namespace {

using kind = session_event::kind;
using testing::cut_mode;
using testing::of_kind;
using testing::random_bytes;
using testing::session_pair;
using testing::temp_dir;
using testing::wire_frame;

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

/// Frames of `type` among `frames`.
std::vector<wire_frame> frames_of(const std::vector<wire_frame>& frames,
                                  frame_type type) {
  std::vector<wire_frame> out;
  for (const auto& f : frames)
    if (f.is(type))
      out.push_back(f);
  return out;
}

/// Flow-controlled bytes (MESSAGE and CHUNK payloads) among `frames`.
std::uint64_t flow_bytes(const std::vector<wire_frame>& frames,
                         std::uint32_t id = 0) {
  std::uint64_t n = 0;
  for (const auto& f : frames)
    if ((f.is(frame_type::message) || f.is(frame_type::chunk))
        && (id == 0 || f.id == id))
      n += f.payload.size();
  return n;
}

std::string body_of(const session_event& ev) {
  auto all = ev.body.read_all(1u << 30);
  return all.ok() ? all->to_string() : std::string{"<unreadable>"};
}

// -- connection start and echo ------------------------------------------------

TEST(SessionTest, BothSidesBecomeReadyAfterExchangingSettings) {
  session_pair p;
  EXPECT_FALSE(p.client().ready());
  p.pump();
  EXPECT_TRUE(p.client().ready());
  EXPECT_TRUE(p.server().ready());
  EXPECT_EQ(of_kind(p.client_events(), kind::ready).size(), 1u);
  EXPECT_EQ(of_kind(p.server_events(), kind::ready).size(), 1u);
}

TEST(SessionTest, ClientWritesNoMessageBeforeTheServerSettings) {
  session_pair p;
  p.server_side().hold = true;
  ASSERT_TRUE(p.client().send(testing::request("echo"),
                              payload{shared_bytes::copy_of("hi")}, p.now())
                .ok());
  p.pump_from(p.client_side());
  EXPECT_TRUE(frames_of(p.client_side().wrote, frame_type::message).empty());
  p.server_side().hold = false;
  p.pump();
  EXPECT_EQ(frames_of(p.client_side().wrote, frame_type::message).size(), 1u);
}

TEST(SessionTest, SetsIdAndTotalSizeWhateverTheCallerLeftInTheHeader) {
  session_pair p;
  p.pump();
  auto h = testing::request("echo");
  h.set_id(999);
  h.set_total_size(12345);
  auto id = p.client().send(h, payload{shared_bytes::copy_of("abc")}, p.now());
  ASSERT_TRUE(id.ok());
  auto empty = p.client().send(h, payload{}, p.now());
  ASSERT_TRUE(empty.ok());
  p.pump();
  auto got = of_kind(p.server_events(), kind::message);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].header.id(), *id);
  EXPECT_EQ(got[0].header.total_size(), 3u);
  EXPECT_EQ(body_of(got[0]), "abc");
  EXPECT_EQ(got[1].header.id(), *empty);
  EXPECT_EQ(got[1].header.total_size(), 0u);
  EXPECT_EQ(h.id(), 999u); // the caller's header is left as it was
}

TEST(SessionTest, EchoesASingleFrameRequestWithReplyTo) {
  session_pair p;
  p.pump();
  auto id = p.client().send(testing::request("echo"),
                            payload{shared_bytes::copy_of("hi")}, p.now());
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 1u);
  p.pump();
  auto got = of_kind(p.server_events(), kind::message);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, 1u);
  EXPECT_EQ(got[0].header.route(), "echo");
  EXPECT_EQ(body_of(got[0]), "hi");
  EXPECT_EQ(p.server().stats().awaiting_reply, 1u);
  auto rid = p.server().send(testing::reply_to(1), got[0].body, p.now());
  ASSERT_TRUE(rid.ok());
  EXPECT_EQ(*rid, 2u);
  p.pump();
  auto replies = of_kind(p.client_events(), kind::message);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].header.kind(), weft::wire::KIND_REPLY);
  EXPECT_EQ(replies[0].header.reply_to(), 1u);
  EXPECT_EQ(body_of(replies[0]), "hi");
  EXPECT_EQ(p.server().stats().awaiting_reply, 0u);
  EXPECT_EQ(p.client().stats().outstanding_requests, 0u);
  // Exactly one MESSAGE frame each way: the fast path.
  EXPECT_EQ(frames_of(p.client_side().wrote, frame_type::message).size(), 1u);
  EXPECT_EQ(frames_of(p.server_side().wrote, frame_type::message).size(), 1u);
}

TEST(SessionTest, SendReplyAnswersLikeAReplyHeader) {
  session_pair p;
  p.pump();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(p.client()
                  .send(testing::request("echo"),
                        payload{shared_bytes::copy_of("hi")}, p.now())
                  .ok());
  p.pump();
  auto got = of_kind(p.server_events(), kind::message);
  ASSERT_EQ(got.size(), 3u);
  // One answered with a header, one through send_reply, each with a
  // content type and schema; a second answer to the first is refused.
  auto header = testing::reply_to(got[0].id);
  header.set_content_type("text/plain");
  header.set_schema("x.Y");
  ASSERT_TRUE(p.server().send(header, got[0].body, p.now()).ok());
  ASSERT_TRUE(p.server()
                .send_reply(got[1].id, "text/plain", "x.Y", got[1].body,
                            p.now())
                .ok());
  auto again = p.server().send_reply(got[0].id, "", "", payload{}, p.now());
  EXPECT_FALSE(again.ok());
  EXPECT_EQ(code_of(again.status()), errc::cancelled);
  p.pump();
  auto replies = of_kind(p.client_events(), kind::message);
  ASSERT_EQ(replies.size(), 2u);
  for (const auto& r : replies) {
    EXPECT_EQ(r.header.kind(), weft::wire::KIND_REPLY);
    EXPECT_EQ(r.header.content_type(), "text/plain");
    EXPECT_EQ(r.header.schema(), "x.Y");
    EXPECT_EQ(body_of(r), "hi");
  }
  EXPECT_EQ(replies[0].header.reply_to(), got[0].id);
  EXPECT_EQ(replies[1].header.reply_to(), got[1].id);
  EXPECT_EQ(p.server().stats().awaiting_reply, 1u);
  EXPECT_EQ(p.client().stats().outstanding_requests, 1u);
}

TEST(SessionTest, KeepsWorkingAfterTrimBetweenAndDuringMessages) {
  session_pair p;
  p.pump();
  for (int round = 0; round < 3; ++round) {
    p.server_events().clear();
    p.client_events().clear();
    // Trimmed while idle, and while a request waits for its reply: the
    // tables in use keep their entries.
    p.server().trim();
    p.client().trim();
    auto id = p.client().send(testing::request("echo"),
                              payload{shared_bytes::copy_of("hi")}, p.now());
    ASSERT_TRUE(id.ok());
    p.pump();
    auto got = of_kind(p.server_events(), kind::message);
    ASSERT_EQ(got.size(), 1u);
    p.server().trim();
    p.client().trim();
    EXPECT_EQ(p.server().stats().awaiting_reply, 1u);
    EXPECT_EQ(p.client().stats().outstanding_requests, 1u);
    ASSERT_TRUE(p.server().send(testing::reply_to(got[0].id), got[0].body,
                                p.now()).ok());
    p.pump();
    auto replies = of_kind(p.client_events(), kind::message);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].header.reply_to(), *id);
    EXPECT_EQ(body_of(replies[0]), "hi");
    EXPECT_EQ(p.client().stats().outstanding_requests, 0u);
  }
}

TEST(SessionTest, EchoesFromServerToClientAsPush) {
  session_pair p;
  p.pump();
  weft::wire::MessageHeader push;
  push.set_kind(weft::wire::KIND_PUSH);
  push.set_route("news");
  ASSERT_TRUE(
    p.server().send(push, payload{shared_bytes::copy_of("x")}, p.now()).ok());
  p.pump();
  auto got = of_kind(p.client_events(), kind::message);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].header.kind(), weft::wire::KIND_PUSH);
  EXPECT_EQ(got[0].id, 2u);
}

TEST(SessionTest, EchoesIdenticallyAtEverySplitPointOfTheStream) {
  // Record the client's whole stream for one request, then feed it to fresh
  // servers cut at every point.
  session_pair rec;
  ASSERT_TRUE(rec.client()
                .send(testing::request("echo"),
                      payload{shared_bytes::copy_of("split me")}, rec.now())
                .ok());
  rec.server_side().hold = true;
  rec.pump_from(rec.server_side());
  rec.release(rec.server_side());
  auto stream = testing::concat(rec.client().take_output(SIZE_MAX));
  ASSERT_GT(stream.size(), 40u);
  for (std::size_t at = 0; at <= stream.size(); ++at) {
    session server{role::server, session_options{}, rec.now()};
    server.on_bytes(shared_bytes::copy_of(stream.substr(0, at)), rec.now());
    server.on_bytes(shared_bytes::copy_of(stream.substr(at)), rec.now());
    auto events = of_kind(server.take_events(), kind::message);
    ASSERT_EQ(events.size(), 1u) << "split at " << at;
    EXPECT_EQ(body_of(events[0]), "split me");
    EXPECT_FALSE(server.closed());
  }
}

TEST(SessionTest, EchoesByteByByte) {
  session_pair p;
  p.pump();
  p.cut = cut_mode::byte_by_byte;
  auto body = random_bytes(300'000, 3);
  ASSERT_TRUE(p.client().send(testing::request("echo"), payload{body}, p.now())
                .ok());
  p.pump();
  auto got = of_kind(p.server_events(), kind::message);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body.bytes(), body);
}

// -- chunked messages ---------------------------------------------------------

TEST(SessionTest, ChunkedMessagesArriveByteIdentical) {
  session_pair p;
  p.pump();
  p.cut = cut_mode::random;
  for (std::size_t size : {65'536u, 65'537u, 200'000u, 1'048'576u, 3'000'001u}) {
    auto body = random_bytes(size, size);
    auto id = p.client().send(testing::one_way(), payload{body}, p.now());
    ASSERT_TRUE(id.ok());
    p.pump();
    auto got = of_kind(p.server_events(), kind::message);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.back().id, *id);
    EXPECT_EQ(got.back().header.total_size(), size);
    EXPECT_EQ(got.back().body.bytes(), body) << size;
  }
  EXPECT_GT(frames_of(p.client_side().wrote, frame_type::begin).size(), 4u);
  EXPECT_EQ(p.server().stats().open_inbound, 0u);
  EXPECT_EQ(p.server().stats().inbound_memory, 0u);
}

TEST(SessionTest, CutsChunksAtTheSmallerOfChunkSizeAndPeerFrameSize) {
  session_options server_opt;
  server_opt.local.max_frame_size = 4096;
  session_pair p{{}, server_opt};
  p.pump();
  auto body = random_bytes(20'000, 1);
  ASSERT_TRUE(p.client().send(testing::one_way(), payload{body}, p.now()).ok());
  p.pump();
  for (const auto& f : frames_of(p.client_side().wrote, frame_type::chunk))
    EXPECT_LE(f.payload.size(), 4096u);
  auto got = of_kind(p.server_events(), kind::message);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body.bytes(), body);
}

TEST(SessionTest, ReportsProgressOfLargeInboundMessages) {
  session_pair p;
  p.pump();
  ASSERT_TRUE(p.client()
                .send(testing::one_way(), payload{random_bytes(3 << 20, 1)},
                      p.now())
                .ok());
  p.pump();
  auto progress = of_kind(p.server_events(), kind::progress);
  ASSERT_GE(progress.size(), 3u);
  EXPECT_EQ(progress.back().done, std::uint64_t{3} << 20);
  EXPECT_EQ(progress.back().total, std::uint64_t{3} << 20);
}

TEST(SessionTest, SendsAnEmptyMessage) {
  session_pair p;
  p.pump();
  ASSERT_TRUE(p.client().send(testing::one_way(), payload{}, p.now()).ok());
  p.pump();
  auto got = of_kind(p.server_events(), kind::message);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body.size(), 0u);
}

TEST(SessionTest, StreamsABodyFromAFile) {
  temp_dir dir;
  auto path = dir.path() + "/body";
  auto body = random_bytes(500'000, 9);
  {
    auto* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(body.data(), 1, body.size(), f);
    std::fclose(f);
  }
  auto file = payload::from_file(path);
  ASSERT_TRUE(file.ok());
  session_pair p;
  p.pump();
  ASSERT_TRUE(p.client().send(testing::one_way(), *file, p.now()).ok());
  p.pump();
  auto got = of_kind(p.server_events(), kind::message);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body.bytes(), body);
}

// -- priority -----------------------------------------------------------------

TEST(SessionTest, UrgentMessageOvertakesBulkAfterAtMostOneChunk) {
  session_pair p;
  p.pump();
  auto bulk = p.client().send(testing::one_way(weft::wire::PRIORITY_BULK),
                              payload{random_bytes(8 << 20, 1)}, p.now());
  ASSERT_TRUE(bulk.ok());
  // Let the bulk transfer start.
  for (int i = 0; i < 3; ++i)
    p.pump_from(p.client_side(), 1);
  auto before = p.client_side().wrote.size();
  auto urgent = p.client().send(testing::one_way(weft::wire::PRIORITY_URGENT),
                                payload{random_bytes(1024, 2)}, p.now());
  ASSERT_TRUE(urgent.ok());
  // Take output one frame at a time: the URGENT message must be out after
  // at most one more bulk chunk.
  std::size_t bulk_chunks = 0;
  bool urgent_out = false;
  for (int i = 0; i < 10 && !urgent_out; ++i) {
    p.pump_from(p.client_side(), 1);
    for (auto k = before; k < p.client_side().wrote.size(); ++k) {
      const auto& f = p.client_side().wrote[k];
      if (f.id == *bulk && f.is(frame_type::chunk))
        ++bulk_chunks;
      if (f.id == *urgent && f.is(frame_type::message))
        urgent_out = true;
    }
    before = p.client_side().wrote.size();
  }
  EXPECT_TRUE(urgent_out);
  EXPECT_LE(bulk_chunks, 1u);
  p.pump();
  auto got = of_kind(p.server_events(), kind::message);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, *urgent);
  EXPECT_EQ(got[1].id, *bulk);
}

TEST(SessionTest, HigherClassesGoFirstAmongWaitingMessages) {
  // Sent before the peer's SETTINGS arrived, all four wait in the queues;
  // one take_output then writes them by class.
  session_pair p;
  std::vector<std::uint32_t> ids;
  for (auto prio : {weft::wire::PRIORITY_BULK, weft::wire::PRIORITY_NORMAL,
                    weft::wire::PRIORITY_HIGH, weft::wire::PRIORITY_URGENT})
    ids.push_back(*p.client().send(testing::one_way(prio),
                                   payload{shared_bytes::copy_of("x")},
                                   p.now()));
  p.pump();
  auto got = of_kind(p.server_events(), kind::message);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].id, ids[3]);
  EXPECT_EQ(got[1].id, ids[2]);
  EXPECT_EQ(got[2].id, ids[1]);
  EXPECT_EQ(got[3].id, ids[0]);
}

TEST(SessionTest, SmallMessagesGoOutAtOnceWhenNothingWaits) {
  // With the queues empty, a small message is written at send(): in send
  // order, as MESSAGE frames, before take_output is even called.
  session_pair p;
  p.pump();
  std::vector<std::uint32_t> ids;
  for (auto prio : {weft::wire::PRIORITY_BULK, weft::wire::PRIORITY_URGENT})
    ids.push_back(*p.client().send(testing::one_way(prio),
                                   payload{shared_bytes::copy_of("x")},
                                   p.now()));
  EXPECT_TRUE(p.client().wants_write());
  EXPECT_EQ(p.client().stats().queued_outbound, 0u);
  EXPECT_EQ(p.client().stats().messages_out, 2u);
  p.pump();
  auto got = of_kind(p.server_events(), kind::message);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, ids[0]);
  EXPECT_EQ(got[1].id, ids[1]);
}

TEST(SessionTest, WritingAheadOfTakeOutputStopsAfterOneChunk) {
  // Messages written at send() sit before anything queued later, so their
  // bytes are bounded by one chunk: past it, messages wait in the queues
  // and priorities order them again.
  session_options opts;
  opts.chunk_size = 1024;
  session_pair p{opts, opts};
  p.pump();
  std::string body(200, 'b');
  std::vector<std::uint32_t> bulk;
  for (int i = 0; i < 20; ++i)
    bulk.push_back(*p.client().send(testing::one_way(weft::wire::PRIORITY_BULK),
                                    payload{shared_bytes::copy_of(body)},
                                    p.now()));
  auto queued = p.client().stats().queued_outbound;
  EXPECT_GT(queued, 10u); // about 1024 / 220 were written at once
  EXPECT_LT(queued, 20u);
  auto urgent
    = *p.client().send(testing::one_way(weft::wire::PRIORITY_URGENT),
                       payload{shared_bytes::copy_of("u")}, p.now());
  p.pump();
  auto got = of_kind(p.server_events(), kind::message);
  ASSERT_EQ(got.size(), 21u);
  auto at = std::find_if(got.begin(), got.end(),
                         [&](const auto& ev) { return ev.id == urgent; });
  ASSERT_NE(at, got.end());
  // Behind the bytes written at once, ahead of every queued BULK message.
  EXPECT_EQ(static_cast<std::size_t>(at - got.begin()), 20 - queued);
}

TEST(SessionTest, IdsIncreaseOnTheWireWhenPrioritiesReorderMessages) {
  // The URGENT message (id 7) overtakes older ones; their BEGIN frames go
  // first so that the peer sees ids 1, 3, 5, 7 in order. Sent before the
  // peer's SETTINGS, so that all four wait and priorities reorder them.
  session_pair p;
  for (auto prio : {weft::wire::PRIORITY_BULK, weft::wire::PRIORITY_NORMAL,
                    weft::wire::PRIORITY_HIGH, weft::wire::PRIORITY_URGENT})
    ASSERT_TRUE(p.client()
                  .send(testing::one_way(prio), payload{random_bytes(100, 1)},
                        p.now())
                  .ok());
  p.pump();
  std::uint32_t last = 0;
  for (const auto& f : p.client_side().wrote)
    if (f.is(frame_type::message) || f.is(frame_type::begin)) {
      EXPECT_GT(f.id, last);
      last = f.id;
    }
  EXPECT_EQ(last, 7u);
  EXPECT_FALSE(p.server().closed());
}

TEST(SessionTest, ChunksOfOneClassAreSentRoundRobin) {
  session_pair p;
  p.pump();
  auto a = *p.client().send(testing::one_way(), payload{random_bytes(400'000, 1)},
                            p.now());
  auto b = *p.client().send(testing::one_way(), payload{random_bytes(400'000, 2)},
                            p.now());
  auto c = *p.client().send(testing::one_way(), payload{random_bytes(400'000, 3)},
                            p.now());
  p.pump();
  std::vector<std::uint32_t> order;
  for (const auto& f : frames_of(p.client_side().wrote, frame_type::chunk))
    order.push_back(f.id);
  ASSERT_GE(order.size(), 18u);
  // While all three are open, chunks rotate a, b, c, a, b, c, ...
  for (std::size_t i = 0; i + 3 <= 15; i += 3) {
    EXPECT_EQ(order[i], a) << i;
    EXPECT_EQ(order[i + 1], b) << i;
    EXPECT_EQ(order[i + 2], c) << i;
  }
  EXPECT_EQ(of_kind(p.server_events(), kind::message).size(), 3u);
}

TEST(SessionTest, TakeOutputWritesAtLeastOneFrameWhateverTheBudget) {
  session_pair p;
  p.pump();
  ASSERT_TRUE(p.client()
                .send(testing::one_way(), payload{random_bytes(10, 1)}, p.now())
                .ok());
  EXPECT_TRUE(p.client().wants_write());
  auto out = testing::concat(p.client().take_output(0));
  EXPECT_EQ(testing::parse_frames(out, false).size(), 1u);
  EXPECT_FALSE(p.client().wants_write());
}

// -- flow control -------------------------------------------------------------

TEST(SessionTest, SenderStopsAtTheMessageWindowUntilWindowFramesArrive) {
  session_options server_opt;
  server_opt.local.initial_message_window = 16'384;
  session_pair p{{}, server_opt};
  p.pump();
  p.server_side().hold = true; // withhold the server's WINDOW frames
  auto body = random_bytes(100'000, 5);
  auto id = *p.client().send(testing::one_way(), payload{body}, p.now());
  p.pump();
  EXPECT_EQ(flow_bytes(p.client_side().wrote, id), 16'384u);
  EXPECT_FALSE(p.client().wants_write());
  EXPECT_TRUE(p.client().take_output(SIZE_MAX).empty());
  EXPECT_TRUE(of_kind(p.server_events(), kind::message).empty());
  p.server_side().hold = false;
  p.pump();
  auto got = of_kind(p.server_events(), kind::message);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body.bytes(), body);
}

TEST(SessionTest, SenderStopsAtTheConnectionWindowUntilWindowFramesArrive) {
  session_options server_opt;
  server_opt.local.initial_connection_window = 65'536;
  session_pair p{{}, server_opt};
  p.pump();
  p.server_side().hold = true;
  std::vector<shared_bytes> bodies;
  for (int i = 0; i < 8; ++i) {
    bodies.push_back(random_bytes(20'000, static_cast<std::uint64_t>(i)));
    ASSERT_TRUE(p.client().send(testing::one_way(), payload{bodies.back()},
                                p.now())
                  .ok());
  }
  p.pump();
  auto sent = flow_bytes(p.client_side().wrote);
  EXPECT_LE(sent, 65'536u);
  EXPECT_GT(sent, 65'536u - 20'100u);
  EXPECT_LT(p.client().send_window(), 20'100);
  EXPECT_TRUE(p.client().take_output(SIZE_MAX).empty());
  p.server_side().hold = false;
  p.pump();
  auto got = of_kind(p.server_events(), kind::message);
  ASSERT_EQ(got.size(), 8u);
  for (std::size_t i = 0; i < 8; ++i)
    EXPECT_EQ(got[i].body.bytes(), bodies[i]);
}

TEST(SessionTest, SendsAMessageLargerThanHalfTheConnectionWindowInChunks) {
  // A 60 KB body fits the peer's 128 KiB frames, but a MESSAGE frame that
  // large could wait forever for credit on a 64 KiB connection window.
  session_options server_opt;
  server_opt.local.max_frame_size = 128 * 1024;
  server_opt.local.initial_connection_window = 65'536;
  session_pair p{{}, server_opt};
  p.pump();
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(p.client()
                  .send(testing::one_way(), payload{random_bytes(60'000, 1)},
                        p.now())
                  .ok());
  p.pump();
  EXPECT_EQ(of_kind(p.server_events(), kind::message).size(), 4u);
  EXPECT_FALSE(p.server().closed());
}

TEST(SessionTest, MessageQueuedBeforeSettingsMeetsThePeersLimitsWhenWritten) {
  session_options server_opt;
  server_opt.local.max_message_size = 1000;
  session_pair p{{}, server_opt};
  // Sent before the server's SETTINGS arrived: send() cannot check yet.
  auto id = p.client().send(testing::one_way(), payload{random_bytes(50'000, 1)},
                            p.now());
  ASSERT_TRUE(id.ok());
  p.pump();
  auto cancelled = of_kind(p.client_events(), kind::cancelled);
  ASSERT_EQ(cancelled.size(), 1u);
  EXPECT_EQ(cancelled[0].id, *id);
  EXPECT_EQ(cancelled[0].code, errc::message_too_large);
  EXPECT_TRUE(cancelled[0].ours);
  EXPECT_TRUE(frames_of(p.client_side().wrote, frame_type::begin).empty());
  EXPECT_FALSE(p.server().closed());
}

TEST(SessionTest, HeaderLargerThanThePeersFrameIsRefusedNotSent) {
  // MAX_HEADER_SIZE may exceed MAX_FRAME_SIZE; a BEGIN carrying such a header
  // would be frame_too_large and cost the connection.
  session_options server_opt;
  server_opt.local.max_frame_size = 1024;
  server_opt.local.max_header_size = 4096;
  session_pair p{{}, server_opt};
  p.pump();
  auto h = testing::one_way();
  (*h.mutable_metadata())["k"] = std::string(2000, 'v');
  auto r = p.client().send(h, payload{}, p.now());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.status()), errc::header_too_large);
  p.pump();
  EXPECT_FALSE(p.server().closed());
}

// -- cancel -------------------------------------------------------------------

struct cancel_case {
  bool spill;
  bool by_sender;
};

class SessionCancelTest : public ::testing::TestWithParam<cancel_case> {};

TEST_P(SessionCancelTest, CancelMidTransferFreesTheReceiversState) {
  temp_dir dir;
  session_options server_opt;
  server_opt.spill_dir = dir.path();
  server_opt.spill_threshold = GetParam().spill ? 100'000 : 64 << 20;
  session_pair p{{}, server_opt};
  p.pump();
  auto id = *p.client().send(testing::request("upload"),
                             payload{random_bytes(4 << 20, 1)}, p.now());
  p.server_side().hold = true; // the transfer stalls at the windows
  p.pump();
  ASSERT_EQ(p.server().stats().open_inbound, 1u);
  EXPECT_EQ(dir.files().size(), GetParam().spill ? 1u : 0u);
  EXPECT_EQ(p.server().stats().inbound_memory,
            GetParam().spill ? 0u : std::uint64_t{4} << 20);
  p.server_side().hold = false;
  if (GetParam().by_sender)
    p.client().cancel(id, errc::cancelled, "changed my mind");
  else
    p.server().cancel(id, errc::cancelled, "not wanted");
  p.pump();
  EXPECT_EQ(p.server().stats().open_inbound, 0u);
  EXPECT_EQ(p.server().stats().inbound_memory, 0u);
  EXPECT_TRUE(dir.files().empty());
  EXPECT_TRUE(of_kind(p.server_events(), kind::message).empty());
  EXPECT_EQ(p.client().stats().queued_outbound, 0u);
  EXPECT_EQ(p.client().stats().outstanding_requests, 0u);
  if (GetParam().by_sender) {
    auto ev = of_kind(p.server_events(), kind::cancelled);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_FALSE(ev[0].ours);
    EXPECT_EQ(ev[0].code, errc::cancelled);
  } else {
    auto ev = of_kind(p.client_events(), kind::cancelled);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_TRUE(ev[0].ours);
    EXPECT_EQ(ev[0].id, id);
  }
  // The connection goes on.
  ASSERT_TRUE(p.client()
                .send(testing::one_way(), payload{random_bytes(10, 1)}, p.now())
                .ok());
  p.pump();
  EXPECT_EQ(of_kind(p.server_events(), kind::message).size(), 1u);
  EXPECT_FALSE(p.client().closed());
  EXPECT_FALSE(p.server().closed());
}

INSTANTIATE_TEST_SUITE_P(EitherSideInMemoryOrSpilled, SessionCancelTest,
                         ::testing::Values(cancel_case{false, true},
                                           cancel_case{false, false},
                                           cancel_case{true, true},
                                           cancel_case{true, false}));

TEST(SessionTest, CancelledRequestCancelsTheReplyInProgress) {
  session_pair p;
  p.pump();
  auto id = *p.client().send(testing::request("download"),
                             payload{shared_bytes::copy_of("go")}, p.now());
  p.pump();
  auto reply = *p.server().send(testing::reply_to(id),
                                payload{random_bytes(4 << 20, 1)}, p.now());
  p.client_side().hold = true; // stall the reply at the windows
  p.pump();
  EXPECT_EQ(p.client().stats().open_inbound, 1u);
  p.client_side().hold = false;
  p.client().cancel(id, errc::cancelled, "no longer wanted");
  p.pump();
  EXPECT_EQ(p.server().stats().awaiting_reply, 0u);
  EXPECT_EQ(p.server().stats().queued_outbound, 0u);
  EXPECT_EQ(p.client().stats().open_inbound, 0u);
  EXPECT_EQ(p.client().stats().inbound_memory, 0u);
  auto ev = of_kind(p.server_events(), kind::cancelled);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].id, id);
  EXPECT_FALSE(ev[0].ours);
  EXPECT_TRUE(of_kind(p.client_events(), kind::message).empty());
  (void) reply;
}

TEST(SessionTest, ReceiverRejectingAReplyEndsItsRequest) {
  // The client cancels the server's reply (not the request): the server must
  // forget the request it answered, or a drain would never finish.
  session_pair p;
  p.pump();
  auto id = *p.client().send(testing::request("download"),
                             payload{shared_bytes::copy_of("go")}, p.now());
  p.pump();
  auto reply = *p.server().send(testing::reply_to(id),
                                payload{random_bytes(4 << 20, 1)}, p.now());
  p.client_side().hold = true;
  p.pump();
  p.client_side().hold = false;
  p.client().cancel(reply, errc::cancelled, "too big");
  p.pump();
  EXPECT_EQ(p.server().stats().awaiting_reply, 0u);
  EXPECT_EQ(p.server().stats().queued_outbound, 0u);
  p.server().go_away("bye");
  p.pump();
  EXPECT_TRUE(p.server().closed());
}

TEST(SessionTest, CancellingOurQueuedReplyEndsItsRequest) {
  session_pair p;
  p.pump();
  auto id = *p.client().send(testing::request("x"),
                             payload{shared_bytes::copy_of("go")}, p.now());
  p.pump();
  auto reply = *p.server().send(testing::reply_to(id), payload{}, p.now());
  p.server().cancel(reply, errc::cancelled, "never mind");
  EXPECT_EQ(p.server().stats().awaiting_reply, 0u);
  EXPECT_EQ(p.server().stats().queued_outbound, 0u);
}

TEST(SessionTest, LateReplyToACancelledRequestIsRefused) {
  session_pair p;
  p.pump();
  auto id = *p.client().send(testing::request("slow"), payload{}, p.now());
  p.pump();
  p.client().cancel(id, errc::cancelled, "bored");
  p.pump();
  auto r = p.server().send(testing::reply_to(id), payload{}, p.now());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.status()), errc::cancelled);
}

// -- deadlines ----------------------------------------------------------------

TEST(SessionTest, InboundTransferPastItsDeadlineIsCancelled) {
  session_pair p;
  p.pump();
  auto h = testing::request("upload");
  h.set_deadline_ms(100);
  auto id = *p.client().send(h, payload{random_bytes(4 << 20, 1)}, p.now());
  p.server_side().hold = true;
  p.pump();
  ASSERT_EQ(p.server().stats().open_inbound, 1u);
  EXPECT_LE(p.server().next_timeout(), p.now() + absl::Milliseconds(100));
  p.advance(absl::Milliseconds(99));
  p.server().on_tick(p.now());
  EXPECT_EQ(p.server().stats().open_inbound, 1u);
  p.advance(absl::Milliseconds(1));
  p.server().on_tick(p.now());
  EXPECT_EQ(p.server().stats().open_inbound, 0u);
  EXPECT_EQ(p.server().stats().inbound_memory, 0u);
  p.server_side().hold = false;
  p.pump();
  auto cancels = frames_of(p.server_side().wrote, frame_type::cancel);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].id, id);
  EXPECT_EQ(testing::code_of_frame(cancels[0]), errc::deadline_exceeded);
  auto ev = of_kind(p.client_events(), kind::cancelled);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].code, errc::deadline_exceeded);
  EXPECT_TRUE(ev[0].ours);
  EXPECT_EQ(p.client().stats().outstanding_requests, 0u);
}

TEST(SessionTest, HandledRequestPastItsDeadlineIsAnsweredWithDeadlineExceeded) {
  session_pair p;
  p.pump();
  auto h = testing::request("slow");
  h.set_deadline_ms(100);
  auto id = *p.client().send(h, payload{}, p.now());
  p.pump();
  ASSERT_EQ(of_kind(p.server_events(), kind::message).size(), 1u);
  p.advance(absl::Milliseconds(100));
  p.server().on_tick(p.now());
  auto ev = of_kind(p.server_events(), kind::cancelled);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].id, id);
  EXPECT_EQ(ev[0].code, errc::deadline_exceeded);
  EXPECT_FALSE(ev[0].ours);
  // The handler's late result is dropped.
  auto late = p.server().send(testing::reply_to(id), payload{}, p.now());
  EXPECT_FALSE(late.ok());
  p.pump();
  auto replies = of_kind(p.client_events(), kind::message);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].header.reply_to(), id);
  EXPECT_EQ(replies[0].header.status().code(),
            static_cast<std::uint32_t>(errc::deadline_exceeded));
  EXPECT_EQ(p.server().stats().awaiting_reply, 0u);
  EXPECT_EQ(p.server().stats().queued_outbound, 0u);
}

TEST(SessionTest, AnsweredRequestLeavesAnEarlyTickThatFindsTheNextDeadline) {
  // next_timeout keeps a lower bound of the unanswered requests' deadlines
  // (it visits none of them): an answered request's deadline may still
  // bring one early tick, which then finds the real next one.
  session_pair p;
  p.pump();
  auto quick = testing::request("quick");
  quick.set_deadline_ms(100);
  auto slow = testing::request("slow");
  slow.set_deadline_ms(500);
  auto quick_id = *p.client().send(quick, payload{}, p.now());
  auto slow_id = *p.client().send(slow, payload{}, p.now());
  p.pump();
  ASSERT_EQ(of_kind(p.server_events(), kind::message).size(), 2u);
  auto start = p.now();
  EXPECT_EQ(p.server().next_timeout(), start + absl::Milliseconds(100));
  ASSERT_TRUE(p.server().send(testing::reply_to(quick_id), payload{}, p.now())
                .ok());
  p.pump();
  EXPECT_LE(p.server().next_timeout(), start + absl::Milliseconds(100));
  p.advance(absl::Milliseconds(100));
  p.server().on_tick(p.now());
  EXPECT_TRUE(of_kind(p.server_events(), kind::cancelled).empty());
  EXPECT_EQ(p.server().next_timeout(), start + absl::Milliseconds(500));
  p.advance(absl::Milliseconds(400));
  p.server().on_tick(p.now());
  auto ev = of_kind(p.server_events(), kind::cancelled);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].id, slow_id);
  EXPECT_EQ(ev[0].code, errc::deadline_exceeded);
}

TEST(SessionTest, ChunkedRequestDeadlineCountsFromItsFirstFrame) {
  session_options server_opt;
  server_opt.local.initial_message_window = 16'384;
  session_pair p{{}, server_opt};
  p.pump();
  auto h = testing::request("upload");
  h.set_deadline_ms(1000);
  auto id = *p.client().send(h, payload{random_bytes(100'000, 1)}, p.now());
  p.server_side().hold = true;
  p.pump();
  p.advance(absl::Milliseconds(900));
  p.server_side().hold = false;
  p.pump();
  ASSERT_EQ(of_kind(p.server_events(), kind::message).size(), 1u);
  // 1000 ms after BEGIN, not 1000 ms after the END chunk.
  EXPECT_EQ(p.server().next_timeout(),
            p.now() - absl::Milliseconds(900) + absl::Milliseconds(1000));
  p.advance(absl::Milliseconds(100));
  p.server().on_tick(p.now());
  auto ev = of_kind(p.server_events(), kind::cancelled);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].id, id);
}

TEST(SessionTest, OurOwnRequestPastItsDeadlineIsCancelled) {
  session_pair p;
  p.pump();
  auto h = testing::request("slow");
  h.set_deadline_ms(250);
  auto id = *p.client().send(h, payload{}, p.now());
  p.pump();
  EXPECT_EQ(p.client().next_timeout(), p.now() + absl::Milliseconds(250));
  p.advance(absl::Milliseconds(250));
  p.client().on_tick(p.now());
  auto ev = of_kind(p.client_events(), kind::cancelled);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].id, id);
  EXPECT_TRUE(ev[0].ours);
  EXPECT_EQ(ev[0].code, errc::deadline_exceeded);
  EXPECT_EQ(p.client().stats().outstanding_requests, 0u);
  p.pump();
  // The server is told to drop the work.
  auto sev = of_kind(p.server_events(), kind::cancelled);
  ASSERT_EQ(sev.size(), 1u);
  EXPECT_EQ(sev[0].id, id);
  EXPECT_EQ(p.server().stats().awaiting_reply, 0u);
  // A reply that crossed the CANCEL is dropped by the client.
  session_pair q;
  q.pump();
  auto qid = *q.client().send(h, payload{}, q.now());
  q.pump();
  ASSERT_TRUE(q.server().send(testing::reply_to(qid), payload{}, q.now()).ok());
  q.advance(absl::Milliseconds(300));
  q.client().on_tick(q.now());
  q.pump();
  EXPECT_TRUE(of_kind(q.client_events(), kind::message).empty());
}

// -- checksums ----------------------------------------------------------------

/// Sends one request of `body` from a fresh client, flips bit `bit` of the
/// body bytes on the wire, and returns the pair after pumping.
struct flipped_result {
  bool server_got_message;
  std::vector<session_event> client_cancels;
  std::vector<wire_frame> server_cancels;
  bool server_closed;
};

flipped_result send_with_flipped_bit(const shared_bytes& body,
                                     std::size_t bit, std::uint32_t frame_size) {
  session_options server_opt;
  server_opt.local.max_frame_size = frame_size;
  session_pair p{{}, server_opt};
  p.pump();
  auto id = *p.client().send(testing::request("echo"), payload{body}, p.now());
  auto stream = testing::concat(p.client().take_output(SIZE_MAX));
  auto frames = testing::parse_frames(stream, false);
  // Map body bit `bit` to a stream offset: MESSAGE body follows the header,
  // CHUNK bodies are whole payloads (minus the END checksum).
  std::size_t remaining = bit / 8;
  std::size_t offset = 0;
  bool found = false;
  for (const auto& f : frames) {
    if (f.id != id)
      continue;
    std::size_t start = 0;
    std::size_t len = 0;
    if (f.is(frame_type::message)) {
      auto hl = load_u32(reinterpret_cast<const std::uint8_t*>(f.payload.data()));
      start = 4 + hl;
      len = f.payload.size() - start - checksum_size;
    } else if (f.is(frame_type::chunk)) {
      len = f.payload.size() - ((f.flags & flag_end) ? checksum_size : 0);
    } else {
      continue;
    }
    if (remaining < len) {
      offset = f.payload_offset + start + remaining;
      found = true;
      break;
    }
    remaining -= len;
  }
  EXPECT_TRUE(found);
  stream[offset] = static_cast<char>(stream[offset] ^ (1 << (bit % 8)));
  p.server().on_bytes(shared_bytes::copy_of(stream), p.now());
  p.pump();
  flipped_result r;
  r.server_got_message = !of_kind(p.server_events(), kind::message).empty();
  r.client_cancels = of_kind(p.client_events(), kind::cancelled);
  r.server_cancels = frames_of(p.server_side().wrote, frame_type::cancel);
  r.server_closed = p.server().closed();
  return r;
}

void expect_checksum_mismatch(const flipped_result& r, std::size_t bit) {
  EXPECT_FALSE(r.server_got_message) << "bit " << bit;
  ASSERT_EQ(r.server_cancels.size(), 1u) << "bit " << bit;
  EXPECT_EQ(testing::code_of_frame(r.server_cancels[0]),
            errc::checksum_mismatch);
  ASSERT_EQ(r.client_cancels.size(), 1u) << "bit " << bit;
  EXPECT_EQ(r.client_cancels[0].code, errc::checksum_mismatch);
  EXPECT_TRUE(r.client_cancels[0].ours);
  EXPECT_FALSE(r.server_closed);
}

TEST(SessionTest, FlippingAnyBodyBitOfAMessageIsAChecksumMismatch) {
  auto body = random_bytes(24, 11);
  for (std::size_t bit = 0; bit < body.size() * 8; ++bit)
    expect_checksum_mismatch(send_with_flipped_bit(body, bit, 65536), bit);
}

TEST(SessionTest, FlippingAnyBodyBitOfAChunkIsAChecksumMismatch) {
  // 1024-byte frames: the body travels in three CHUNKs.
  auto body = random_bytes(2500, 12);
  for (std::size_t bit = 0; bit < body.size() * 8; bit += 7)
    expect_checksum_mismatch(send_with_flipped_bit(body, bit, 1024), bit);
  // Every bit of the bytes around the chunk boundaries.
  for (std::size_t byte : {0u, 1015u, 1016u, 1017u, 2031u, 2032u, 2499u})
    for (std::size_t k = 0; k < 8; ++k)
      expect_checksum_mismatch(send_with_flipped_bit(body, byte * 8 + k, 1024),
                               byte * 8 + k);
}

// -- spill ----------------------------------------------------------------------

TEST(SessionTest, SpilledPayloadIsAFileWithIdenticalContentDeletedWhenGone) {
  temp_dir dir;
  session_options server_opt;
  server_opt.spill_dir = dir.path();
  server_opt.spill_threshold = 64 * 1024;
  session_pair p{{}, server_opt};
  p.pump();
  p.cut = cut_mode::random;
  auto body = random_bytes(1'500'000, 21);
  ASSERT_TRUE(p.client().send(testing::one_way(), payload{body}, p.now()).ok());
  p.pump();
  std::string path;
  {
    auto got = of_kind(p.server_events(), kind::message);
    p.server_events().clear();
    ASSERT_EQ(got.size(), 1u);
    ASSERT_TRUE(got[0].body.is_file());
    path = got[0].body.path();
    EXPECT_EQ(path.rfind(dir.path(), 0), 0u);
    EXPECT_TRUE(file_exists(path));
    EXPECT_EQ(got[0].body.size(), body.size());
    auto all = got[0].body.read_all(body.size());
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(*all, body);
    EXPECT_EQ(p.server().stats().inbound_memory, 0u);
  }
  EXPECT_FALSE(file_exists(path));
  EXPECT_TRUE(dir.files().empty());
}

TEST(SessionTest, MessagesPastTheMemoryBudgetSpillEvenWhenSmall) {
  temp_dir dir;
  session_options server_opt;
  server_opt.spill_dir = dir.path();
  server_opt.memory_budget = 150'000;
  server_opt.local.initial_message_window = 16'384;
  session_pair p{{}, server_opt};
  p.pump();
  p.server_side().hold = true;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(p.client()
                  .send(testing::one_way(), payload{random_bytes(100'000, 1)},
                        p.now())
                  .ok());
  p.pump();
  EXPECT_EQ(p.server().stats().open_inbound, 3u);
  EXPECT_LE(p.server().stats().inbound_memory, 150'000u);
  EXPECT_EQ(dir.files().size(), 2u);
  p.server_side().hold = false;
  p.pump();
  auto got = of_kind(p.server_events(), kind::message);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_FALSE(got[0].body.is_file());
  EXPECT_TRUE(got[1].body.is_file());
}

TEST(SessionTest, ClosingRemovesSpillFilesOfPartialMessages) {
  temp_dir dir;
  session_options server_opt;
  server_opt.spill_dir = dir.path();
  server_opt.spill_threshold = 1000;
  session_pair p{{}, server_opt};
  p.pump();
  p.server_side().hold = true;
  ASSERT_TRUE(p.client()
                .send(testing::one_way(), payload{random_bytes(4 << 20, 1)},
                      p.now())
                .ok());
  p.pump();
  EXPECT_EQ(dir.files().size(), 1u);
  p.server().fail(errc::internal, "shutting down");
  EXPECT_TRUE(dir.files().empty());
  EXPECT_EQ(p.server().stats().open_inbound, 0u);
}

// -- limits (rejections that keep the session) ---------------------------------

/// A raw client: valid preface and SETTINGS, then hand-made frames.
struct raw_client {
  explicit raw_client(session_options opt = {})
    : server(role::server, std::move(opt), absl::FromUnixSeconds(1000)) {
    send(testing::raw_preface_and_settings());
  }
  void send(const std::string& bytes) {
    server.on_bytes(shared_bytes::copy_of(bytes), now);
    out += testing::concat(server.take_output(SIZE_MAX));
  }
  std::vector<wire_frame> frames() const {
    return testing::parse_frames(out, true);
  }
  std::vector<wire_frame> frames(frame_type t) const {
    return frames_of(frames(), t);
  }
  session server;
  absl::Time now = absl::FromUnixSeconds(1000);
  std::string out;
};

std::string message_frame(std::uint32_t id, weft::wire::MessageHeader h,
                          absl::string_view body) {
  h.set_id(id);
  h.set_total_size(body.size());
  return testing::raw_frame(frame_type::message, 0, id,
                            testing::message_payload(h, body));
}

std::string begin_frame(std::uint32_t id, weft::wire::MessageHeader h,
                        std::uint64_t total) {
  return testing::raw_frame(frame_type::begin, 0, id,
                            testing::encoded_header(h, id, total));
}

void expect_rejected(const raw_client& c, std::uint32_t id, errc code) {
  auto cancels = c.frames(frame_type::cancel);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].id, id);
  EXPECT_EQ(testing::code_of_frame(cancels[0]), code);
  EXPECT_FALSE(c.server.closed());
  EXPECT_TRUE(c.frames(frame_type::goaway).empty());
}

/// After a rejection, a good message still gets through.
void expect_still_working(raw_client& c, std::uint32_t id) {
  c.send(message_frame(id, testing::request("echo"), "ok"));
  auto got = of_kind(c.server.take_events(), kind::message);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
}

TEST(SessionLimitsTest, RejectsAHeaderAboveMaxHeaderSize) {
  session_options opt;
  opt.local.max_header_size = 256;
  raw_client c{opt};
  auto h = testing::request("echo");
  (*h.mutable_metadata())["big"] = std::string(300, 'm');
  c.send(message_frame(1, h, "x"));
  expect_rejected(c, 1, errc::header_too_large);
  expect_still_working(c, 3);
}

TEST(SessionLimitsTest, RejectsABeginHeaderAboveMaxHeaderSize) {
  session_options opt;
  opt.local.max_header_size = 256;
  raw_client c{opt};
  auto h = testing::request("echo");
  (*h.mutable_metadata())["big"] = std::string(300, 'm');
  c.send(begin_frame(1, h, 100'000));
  c.send(testing::raw_frame(frame_type::chunk, 0, 1, std::string(1000, 'c')));
  expect_rejected(c, 1, errc::header_too_large);
  EXPECT_EQ(c.server.stats().open_inbound, 0u);
  expect_still_working(c, 3);
}

TEST(SessionLimitsTest, RejectsAMessageAboveMaxMessageSize) {
  session_options opt;
  opt.local.max_message_size = 100;
  raw_client c{opt};
  c.send(message_frame(1, testing::request("echo"), std::string(101, 'b')));
  expect_rejected(c, 1, errc::message_too_large);
  expect_still_working(c, 3);
}

TEST(SessionLimitsTest, RejectsABeginAboveMaxMessageSize) {
  session_options opt;
  opt.local.max_message_size = 100'000;
  raw_client c{opt};
  c.send(begin_frame(1, testing::request("echo"), 100'001));
  c.send(testing::raw_frame(frame_type::chunk, 0, 1, std::string(1000, 'c')));
  expect_rejected(c, 1, errc::message_too_large);
  EXPECT_EQ(c.server.stats().open_inbound, 0u);
  EXPECT_EQ(c.server.stats().inbound_memory, 0u);
  expect_still_working(c, 3);
}

TEST(SessionLimitsTest, RejectsMoreThanMaxConcurrentMessages) {
  session_options opt;
  opt.local.max_concurrent_messages = 2;
  raw_client c{opt};
  c.send(begin_frame(1, testing::one_way(), 100'000));
  c.send(begin_frame(3, testing::one_way(), 100'000));
  c.send(begin_frame(5, testing::one_way(), 100'000));
  expect_rejected(c, 5, errc::too_many_messages);
  EXPECT_EQ(c.server.stats().open_inbound, 2u);
  expect_still_working(c, 7);
}

TEST(SessionLimitsTest, SenderHonoursThePeersMaxConcurrentMessages) {
  session_options server_opt;
  server_opt.local.max_concurrent_messages = 2;
  server_opt.local.initial_message_window = 16'384;
  session_pair p{{}, server_opt};
  p.pump();
  p.server_side().hold = true;
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(p.client()
                  .send(testing::one_way(), payload{random_bytes(100'000, 1)},
                        p.now())
                  .ok());
  p.pump();
  EXPECT_EQ(frames_of(p.client_side().wrote, frame_type::begin).size(), 2u);
  EXPECT_FALSE(p.client().wants_write());
  p.server_side().hold = false;
  p.pump();
  EXPECT_EQ(of_kind(p.server_events(), kind::message).size(), 5u);
  EXPECT_TRUE(frames_of(p.server_side().wrote, frame_type::cancel).empty());
}

TEST(SessionLimitsTest, SenderRefusesMessagesAboveThePeersLimits) {
  session_options server_opt;
  server_opt.local.max_message_size = 1000;
  server_opt.local.max_header_size = 256;
  session_pair p{{}, server_opt};
  p.pump();
  auto big = p.client().send(testing::one_way(),
                             payload{random_bytes(1001, 1)}, p.now());
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(code_of(big.status()), errc::message_too_large);
  auto h = testing::one_way();
  (*h.mutable_metadata())["k"] = std::string(300, 'v');
  auto fat = p.client().send(h, payload{}, p.now());
  ASSERT_FALSE(fat.ok());
  EXPECT_EQ(code_of(fat.status()), errc::header_too_large);
  // Ids are not burnt by refused messages.
  EXPECT_EQ(*p.client().send(testing::one_way(), payload{}, p.now()), 1u);
}

TEST(SessionLimitsTest, RejectsSizeMismatchOfChunks) {
  raw_client c;
  c.send(begin_frame(1, testing::one_way(), 100));
  c.send(testing::raw_frame(frame_type::chunk, 0, 1, std::string(101, 'c')));
  expect_rejected(c, 1, errc::size_mismatch);
  raw_client d;
  d.send(begin_frame(1, testing::one_way(), 100));
  d.send(testing::raw_frame(frame_type::chunk, flag_end, 1,
                            std::string(50, 'c') + testing::be64(0)));
  expect_rejected(d, 1, errc::size_mismatch);
  expect_still_working(d, 3);
}

TEST(SessionLimitsTest, RejectsAHeaderThatDoesNotParse) {
  raw_client c;
  std::string junk = "\xff\xff\xff";
  c.send(testing::raw_frame(frame_type::message, 0, 1,
                            testing::be32(3) + junk + testing::be64(0)));
  expect_rejected(c, 1, errc::malformed_frame);
  expect_still_working(c, 3);
}

TEST(SessionLimitsTest, RejectsAHeaderWhoseIdDiffersFromTheFrame) {
  raw_client c;
  auto h = testing::request("echo");
  h.set_id(9);
  c.send(testing::raw_frame(frame_type::message, 0, 1,
                            testing::message_payload(h, "")));
  expect_rejected(c, 1, errc::malformed_frame);
  expect_still_working(c, 3);
}

// -- go-away --------------------------------------------------------------------

TEST(SessionTest, GracefulGoAwayAnswersAcceptedRequestsThenCloses) {
  session_pair p;
  p.pump();
  auto first = *p.client().send(testing::request("a"), payload{}, p.now());
  p.pump();
  ASSERT_EQ(of_kind(p.server_events(), kind::message).size(), 1u);
  p.server().go_away("restart");
  // A request written before the client saw GOAWAY.
  auto second = *p.client().send(testing::request("b"), payload{}, p.now());
  p.pump();
  EXPECT_FALSE(p.server().closed());
  EXPECT_EQ(of_kind(p.server_events(), kind::message).size(), 1u);
  auto goaway = of_kind(p.client_events(), kind::goaway);
  ASSERT_EQ(goaway.size(), 1u);
  EXPECT_EQ(goaway[0].id, first);
  EXPECT_EQ(goaway[0].code, errc::ok);
  auto failed = of_kind(p.client_events(), kind::cancelled);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].id, second);
  EXPECT_EQ(failed[0].code, errc::going_away);
  // New requests fail at once.
  auto third = p.client().send(testing::request("c"), payload{}, p.now());
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(code_of(third.status()), errc::going_away);
  // The accepted request is answered, then both sides close with ok.
  ASSERT_TRUE(p.server()
                .send(testing::reply_to(first),
                      payload{shared_bytes::copy_of("done")}, p.now())
                .ok());
  p.pump();
  auto replies = of_kind(p.client_events(), kind::message);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(body_of(replies[0]), "done");
  EXPECT_TRUE(p.server().closed());
  EXPECT_TRUE(p.client().closed());
  auto sc = of_kind(p.server_events(), kind::closed);
  auto cc = of_kind(p.client_events(), kind::closed);
  ASSERT_EQ(sc.size(), 1u);
  ASSERT_EQ(cc.size(), 1u);
  EXPECT_EQ(sc[0].code, errc::ok);
  EXPECT_EQ(cc[0].code, errc::ok);
}

TEST(SessionTest, GoAwayWaitsForAnInboundTransferUpToTheLastId) {
  session_options server_opt;
  server_opt.local.initial_message_window = 16'384;
  session_pair p{{}, server_opt};
  p.pump();
  auto id = *p.client().send(testing::one_way(),
                             payload{random_bytes(200'000, 1)}, p.now());
  p.server_side().hold = true;
  p.pump();
  p.server_side().hold = false;
  p.server().go_away("bye");
  p.pump();
  auto got = of_kind(p.server_events(), kind::message);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
  EXPECT_TRUE(p.server().closed());
}

TEST(SessionTest, GoAwayWithNothingPendingClosesAtOnceAfterWritingIt) {
  session_pair p;
  p.pump();
  p.server().go_away("bye");
  EXPECT_TRUE(p.server().closed());
  p.pump();
  EXPECT_EQ(frames_of(p.server_side().wrote, frame_type::goaway).size(), 1u);
  EXPECT_TRUE(p.client().closed());
}

TEST(SessionTest, SendAfterCloseIsUnavailable) {
  session_pair p;
  p.pump();
  p.client().fail(errc::internal, "bye");
  auto r = p.client().send(testing::request("x"), payload{}, p.now());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.status()), errc::unavailable);
}

// -- ping ---------------------------------------------------------------------

TEST(SessionTest, PingReportsTheRoundTripTime) {
  session_pair p;
  p.pump();
  p.client().ping(p.now());
  p.pump_from(p.client_side());
  p.advance(absl::Milliseconds(7));
  p.pump_from(p.server_side());
  auto pongs = of_kind(p.client_events(), kind::pong);
  ASSERT_EQ(pongs.size(), 1u);
  EXPECT_EQ(pongs[0].rtt, absl::Milliseconds(7));
  auto pings = frames_of(p.server_side().wrote, frame_type::ping);
  ASSERT_EQ(pings.size(), 1u);
  EXPECT_EQ(pings[0].flags, flag_ack);
}

TEST(SessionTest, HeartbeatPingKeepsAnIdleConnectionAlive) {
  session_options opt;
  opt.local.heartbeat_interval_ms = 1000;
  opt.local.idle_timeout_ms = 2500;
  session_pair p{opt, opt};
  p.pump();
  for (int i = 0; i < 20; ++i) {
    p.advance(absl::Milliseconds(500));
    p.tick();
    p.pump();
  }
  EXPECT_FALSE(p.client().closed());
  EXPECT_FALSE(p.server().closed());
  EXPECT_GE(frames_of(p.client_side().wrote, frame_type::ping).size(), 4u);
}

TEST(SessionTest, PongsAreWrittenAheadOfMessageFrames) {
  session_pair p;
  p.pump();
  ASSERT_TRUE(p.server()
                .send(testing::one_way(), payload{random_bytes(1 << 20, 1)},
                      p.now())
                .ok());
  p.client().ping(p.now());
  p.pump_from(p.client_side());
  auto out = testing::concat(p.server().take_output(SIZE_MAX));
  auto frames = testing::parse_frames(out, false);
  ASSERT_FALSE(frames.empty());
  EXPECT_TRUE(frames[0].is(frame_type::ping));
}

} // namespace
} // namespace weft::protocol

namespace weft::protocol {
namespace {

TEST(SessionTest, RequestWithoutDeadlineGetsTheDefaultRequestTimeout) {
  session_options server_opt;
  server_opt.request_timeout = absl::Milliseconds(500);
  session_pair p{{}, server_opt};
  p.pump();
  auto id = *p.client().send(testing::request("slow"), payload{}, p.now());
  p.pump();
  ASSERT_EQ(of_kind(p.server_events(), kind::message).size(), 1u);
  EXPECT_EQ(p.server().next_timeout(), p.now() + absl::Milliseconds(500));
  p.advance(absl::Milliseconds(500));
  p.server().on_tick(p.now());
  auto ev = of_kind(p.server_events(), kind::cancelled);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].id, id);
  EXPECT_EQ(ev[0].code, errc::deadline_exceeded);
  p.pump();
  auto replies = of_kind(p.client_events(), kind::message);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].header.status().code(),
            static_cast<std::uint32_t>(errc::deadline_exceeded));
}

} // namespace
} // namespace weft::protocol
