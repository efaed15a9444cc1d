// Connection errors: each one is a GOAWAY with its code and a closed event.

#include "runtime/protocol/session.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/protocol/wire_format.hpp"
#include "tests/unit/runtime/protocol/session_pair.hpp"

namespace weft::protocol {
namespace {

using kind = session_event::kind;
using testing::be32;
using testing::be64;
using testing::of_kind;
using testing::raw_frame;
using testing::wire_frame;

const absl::Time start = absl::FromUnixSeconds(1000);

/// A server fed hand-made bytes; collects its output and events.
struct peer_under_test {
  explicit peer_under_test(session_options opt = {}, role r = role::server)
    : s(r, std::move(opt), start) {
  }
  void feed(const std::string& bytes, absl::Time at = start) {
    s.on_bytes(shared_bytes::copy_of(bytes), at);
    read();
  }
  void read() {
    out += testing::concat(s.take_output(SIZE_MAX));
    for (auto& ev : s.take_events())
      events.push_back(std::move(ev));
  }
  std::vector<wire_frame> goaways() const {
    std::vector<wire_frame> r;
    for (auto& f : testing::parse_frames(out, true))
      if (f.is(frame_type::goaway))
        r.push_back(f);
    return r;
  }
  session s;
  std::string out;
  std::vector<session_event> events;
};

/// The session closed with `code` after writing GOAWAY `code`.
void expect_connection_error(peer_under_test& p, errc code) {
  p.read();
  EXPECT_TRUE(p.s.closed());
  auto g = p.goaways();
  ASSERT_EQ(g.size(), 1u) << "expected GOAWAY " << to_string(code);
  EXPECT_EQ(testing::code_of_frame(g[0]), code)
    << "GOAWAY " << to_string(testing::code_of_frame(g[0]));
  auto closed = of_kind(p.events, kind::closed);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].code, code) << to_string(closed[0].code);
  // Nothing more happens after a close.
  p.feed(testing::raw_preface_and_settings());
  EXPECT_EQ(of_kind(p.events, kind::closed).size(), 1u);
  EXPECT_TRUE(p.s.take_output(SIZE_MAX).empty());
}

std::string handshake() {
  return testing::raw_preface_and_settings();
}

std::string message(std::uint32_t id, absl::string_view body = "x") {
  auto h = testing::request("echo");
  h.set_id(id);
  h.set_total_size(body.size());
  return raw_frame(frame_type::message, 0, id, testing::message_payload(h, body));
}

std::string begin(std::uint32_t id, std::uint64_t total) {
  return raw_frame(frame_type::begin, 0, id,
                   testing::encoded_header(testing::one_way(), id, total));
}

TEST(SessionErrorsTest, BadPrefaceClosesWithBadPreface) {
  peer_under_test p;
  p.feed("GET / HTTP/1.1\r\n\r\n");
  expect_connection_error(p, errc::bad_preface);
}

TEST(SessionErrorsTest, OtherMajorVersionClosesWithUnsupportedVersion) {
  peer_under_test p;
  p.feed(testing::raw_preface_and_settings({}, 2));
  expect_connection_error(p, errc::unsupported_version);
}

TEST(SessionErrorsTest, OtherMinorVersionIsAccepted) {
  peer_under_test p;
  auto bytes = handshake();
  bytes[9] = 9;
  p.feed(bytes);
  EXPECT_FALSE(p.s.closed());
  EXPECT_TRUE(p.s.ready());
}

TEST(SessionErrorsTest, FirstFrameOtherThanSettingsIsMalformed) {
  peer_under_test p;
  auto pre = handshake().substr(0, preface_size);
  p.feed(pre + raw_frame(frame_type::ping, 0, 0, std::string(8, 'p')));
  expect_connection_error(p, errc::malformed_frame);
}

TEST(SessionErrorsTest, SecondSettingsIsMalformed) {
  peer_under_test p;
  p.feed(handshake());
  p.feed(raw_frame(frame_type::settings, 0, 0, ""));
  expect_connection_error(p, errc::malformed_frame);
}

TEST(SessionErrorsTest, SettingsWithAnOutOfRangeValueIsMalformed) {
  peer_under_test p;
  auto pre = handshake().substr(0, preface_size);
  std::string entry = std::string("\x00\x01", 2) + be32(10);
  p.feed(pre + raw_frame(frame_type::settings, 0, 0, entry));
  expect_connection_error(p, errc::malformed_frame);
}

TEST(SessionErrorsTest, SettingsOfBadLengthIsMalformed) {
  peer_under_test p;
  auto pre = handshake().substr(0, preface_size);
  p.feed(pre + raw_frame(frame_type::settings, 0, 0, "12345"));
  expect_connection_error(p, errc::malformed_frame);
}

TEST(SessionErrorsTest, FrameTooLargeIsRejectedFromItsHeader) {
  session_options opt;
  opt.local.max_frame_size = 1024;
  peer_under_test p{opt};
  p.feed(handshake());
  auto f = raw_frame(frame_type::chunk, 0, 1, std::string(1025, 'x'));
  p.feed(f.substr(0, frame_header_size));
  expect_connection_error(p, errc::frame_too_large);
}

TEST(SessionErrorsTest, MoreThanTheConnectionWindowIsAFlowControlError) {
  session_options opt;
  opt.local.max_frame_size = 200'000;
  opt.local.initial_connection_window = 65'536;
  peer_under_test p{opt};
  p.feed(handshake());
  p.feed(message(1, std::string(70'000, 'x')));
  expect_connection_error(p, errc::flow_control_error);
}

TEST(SessionErrorsTest, MoreThanTheMessageWindowIsAFlowControlError) {
  session_options opt;
  opt.local.initial_message_window = 1024;
  peer_under_test p{opt};
  p.feed(handshake());
  p.feed(begin(1, 10'000));
  // Credit comes back only for consumed bytes: 400 + 600 fit, and the
  // receiver returns 1000 (half the window consumed); 1024 more fit again,
  // but a single frame of 1025 does not.
  p.feed(raw_frame(frame_type::chunk, 0, 1, std::string(400, 'x')));
  p.feed(raw_frame(frame_type::chunk, 0, 1, std::string(600, 'x')));
  EXPECT_FALSE(p.s.closed());
  p.feed(raw_frame(frame_type::chunk, 0, 1, std::string(1025, 'x')));
  expect_connection_error(p, errc::flow_control_error);
}

TEST(SessionErrorsTest, ChunksOfRejectedMessagesAreCreditedNotCountedAgainst) {
  session_options opt;
  opt.local.initial_connection_window = 65'536;
  opt.local.max_message_size = 1000;
  peer_under_test p{opt};
  p.feed(handshake());
  p.feed(begin(1, 500'000)); // rejected: message_too_large
  for (int i = 0; i < 20; ++i)
    p.feed(raw_frame(frame_type::chunk, 0, 1, std::string(10'000, 'x')));
  EXPECT_FALSE(p.s.closed());
  p.read();
  std::uint64_t credit = 0;
  for (auto& f : testing::parse_frames(p.out, true))
    if (f.is(frame_type::window) && f.id == 0)
      credit += load_u32(reinterpret_cast<const std::uint8_t*>(f.payload.data()));
  EXPECT_GE(credit, 200'000u - 65'536u);
}

TEST(SessionErrorsTest, WindowAboveTheMaximumIsAFlowControlError) {
  peer_under_test p;
  p.feed(handshake());
  p.feed(raw_frame(frame_type::window, 0, 0, be32(0x7fffffff)));
  expect_connection_error(p, errc::flow_control_error);
}

TEST(SessionErrorsTest, MessageIdOfTheWrongParityIsABadMessageId) {
  peer_under_test p;
  p.feed(handshake());
  p.feed(message(2));
  expect_connection_error(p, errc::bad_message_id);
}

TEST(SessionErrorsTest, ServerIdOfTheWrongParityIsABadMessageIdAtTheClient) {
  peer_under_test p{{}, role::client};
  p.feed(handshake());
  p.feed(message(3));
  expect_connection_error(p, errc::bad_message_id);
}

TEST(SessionErrorsTest, MessageIdNotIncreasingIsABadMessageId) {
  peer_under_test p;
  p.feed(handshake());
  p.feed(message(5));
  EXPECT_FALSE(p.s.closed());
  p.feed(message(3));
  expect_connection_error(p, errc::bad_message_id);
}

TEST(SessionErrorsTest, RepeatedMessageIdIsABadMessageId) {
  peer_under_test p;
  p.feed(handshake());
  p.feed(begin(1, 100'000));
  p.feed(begin(1, 100'000));
  expect_connection_error(p, errc::bad_message_id);
}

TEST(SessionErrorsTest, ChunkForAnUnknownHigherIdIsABadMessageId) {
  peer_under_test p;
  p.feed(handshake());
  p.feed(message(1));
  p.feed(raw_frame(frame_type::chunk, 0, 3, "abc"));
  expect_connection_error(p, errc::bad_message_id);
}

TEST(SessionErrorsTest, ChunkForALowerClosedIdIsIgnored) {
  peer_under_test p;
  p.feed(handshake());
  p.feed(message(5));
  p.feed(raw_frame(frame_type::chunk, 0, 3, "abc"));
  EXPECT_FALSE(p.s.closed());
}

TEST(SessionErrorsTest, CancelFloodClosesWithCancelFlood) {
  session_options opt;
  opt.cancel_burst = 20;
  opt.cancel_rate = 10;
  peer_under_test p{opt};
  p.feed(handshake());
  std::string cancels;
  for (int i = 0; i < 20; ++i)
    cancels += raw_frame(frame_type::cancel, 0, 99, be32(7));
  p.feed(cancels);
  EXPECT_FALSE(p.s.closed());
  // One second refills ten tokens.
  std::string more;
  for (int i = 0; i < 10; ++i)
    more += raw_frame(frame_type::cancel, 0, 99, be32(7));
  p.feed(more, start + absl::Seconds(1));
  EXPECT_FALSE(p.s.closed());
  p.feed(raw_frame(frame_type::cancel, 0, 99, be32(7)), start + absl::Seconds(1));
  expect_connection_error(p, errc::cancel_flood);
}

TEST(SessionErrorsTest, DefaultCancelBurstIsFiveHundred) {
  peer_under_test p;
  p.feed(handshake());
  std::string cancels;
  for (int i = 0; i < 500; ++i)
    cancels += raw_frame(frame_type::cancel, 0, 99, be32(7));
  p.feed(cancels);
  EXPECT_FALSE(p.s.closed());
  p.feed(raw_frame(frame_type::cancel, 0, 99, be32(7)));
  expect_connection_error(p, errc::cancel_flood);
}

TEST(SessionErrorsTest, PingFloodThatNeverReadsClosesWithControlFlood) {
  peer_under_test p;
  p.s.on_bytes(shared_bytes::copy_of(handshake()), start);
  // The peer never reads: nobody calls take_output.
  std::string pings;
  for (int i = 0; i < 100; ++i)
    pings += raw_frame(frame_type::ping, 0, 0, std::string(8, 'p'));
  p.s.on_bytes(shared_bytes::copy_of(pings), start);
  expect_connection_error(p, errc::control_flood);
}

TEST(SessionErrorsTest, PingsThatAreReadAreNoFlood) {
  peer_under_test p;
  p.feed(handshake());
  for (int i = 0; i < 1000; ++i)
    p.feed(raw_frame(frame_type::ping, 0, 0, std::string(8, 'p')));
  EXPECT_FALSE(p.s.closed());
}

TEST(SessionErrorsTest, IdleTimeoutClosesWithIdleTimeout) {
  session_options opt;
  opt.local.idle_timeout_ms = 5000;
  opt.local.heartbeat_interval_ms = 0;
  peer_under_test p{opt};
  p.feed(handshake());
  EXPECT_EQ(p.s.next_timeout(), start + absl::Seconds(5));
  p.s.on_tick(start + absl::Milliseconds(4999));
  EXPECT_FALSE(p.s.closed());
  p.s.on_tick(start + absl::Seconds(5));
  expect_connection_error(p, errc::idle_timeout);
}

TEST(SessionErrorsTest, UnansweredHeartbeatClosesWithHeartbeatTimeout) {
  session_options opt;
  opt.local.idle_timeout_ms = 0;
  opt.local.heartbeat_interval_ms = 1000;
  peer_under_test p{opt};
  p.feed(handshake());
  EXPECT_EQ(p.s.next_timeout(), start + absl::Seconds(1));
  p.s.on_tick(start + absl::Seconds(1));
  p.read();
  bool pinged = false;
  for (auto& f : testing::parse_frames(p.out, true))
    pinged = pinged || (f.is(frame_type::ping) && f.flags == 0);
  EXPECT_TRUE(pinged);
  EXPECT_FALSE(p.s.closed());
  EXPECT_EQ(p.s.next_timeout(), start + absl::Seconds(2));
  p.s.on_tick(start + absl::Seconds(2));
  expect_connection_error(p, errc::heartbeat_timeout);
}

TEST(SessionErrorsTest, PeerGoAwayWithAnErrorClosesWithItsCode) {
  peer_under_test p;
  p.feed(handshake());
  p.feed(raw_frame(frame_type::goaway, 0, 0,
                   be32(0) + be32(static_cast<std::uint32_t>(errc::internal))
                     + "boom"));
  EXPECT_TRUE(p.s.closed());
  auto closed = of_kind(p.events, kind::closed);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].code, errc::internal);
  EXPECT_EQ(closed[0].text, "boom");
}

TEST(SessionErrorsTest, UnknownFrameTypesAreIgnored) {
  peer_under_test p;
  p.feed(handshake());
  p.feed(raw_frame(0x7f, 0xff, 12345, "from the future"));
  p.feed(message(1));
  EXPECT_FALSE(p.s.closed());
  EXPECT_EQ(of_kind(p.events, kind::message).size(), 1u);
}

// -- malformed layouts ---------------------------------------------------------

struct malformed_case {
  const char* name;
  std::string bytes;
};

std::vector<malformed_case> malformed_cases() {
  auto ping8 = std::string(8, 'p');
  return {
    {"WindowOfThreeBytes", raw_frame(frame_type::window, 0, 0, "abc")},
    {"WindowOfFiveBytes", raw_frame(frame_type::window, 0, 0, "abcde")},
    {"WindowIncrementZero", raw_frame(frame_type::window, 0, 0, be32(0))},
    {"WindowWithTheRBit", raw_frame(frame_type::window, 0, 0, be32(0x80000001))},
    {"PingOfSevenBytes", raw_frame(frame_type::ping, 0, 0, "1234567")},
    {"PingOfNineBytes", raw_frame(frame_type::ping, 0, 0, "123456789")},
    {"PingWithAnId", raw_frame(frame_type::ping, 0, 1, ping8)},
    {"SettingsWithAnId", raw_frame(frame_type::settings, 0, 1, "")},
    {"GoawayWithAnId", raw_frame(frame_type::goaway, 0, 1, be32(0) + be32(0))},
    {"GoawayOfFourBytes", raw_frame(frame_type::goaway, 0, 0, be32(0))},
    {"GoawayTextTooLong",
     raw_frame(frame_type::goaway, 0, 0,
               be32(0) + be32(0) + std::string(1025, 't'))},
    {"CancelOfTwoBytes", raw_frame(frame_type::cancel, 0, 1, "ab")},
    {"CancelReasonTooLong",
     raw_frame(frame_type::cancel, 0, 1, be32(7) + std::string(1025, 'r'))},
    {"CancelWithoutId", raw_frame(frame_type::cancel, 0, 0, be32(7))},
    {"MessageWithoutId", raw_frame(frame_type::message, 0, 0, std::string(12, 0))},
    {"BeginWithoutId", raw_frame(frame_type::begin, 0, 0, "")},
    {"ChunkWithoutId", raw_frame(frame_type::chunk, 0, 0, "abc")},
    {"MessageShorterThanTwelve",
     raw_frame(frame_type::message, 0, 1, std::string(11, 0))},
    {"MessageHeaderLengthPastTheFrame",
     raw_frame(frame_type::message, 0, 1, be32(100) + be64(0))},
    {"MessageHeaderLengthHuge",
     raw_frame(frame_type::message, 0, 1, be32(0xffffffff) + be64(0))},
    {"ReservedBitsSet",
     raw_frame(static_cast<std::uint8_t>(frame_type::ping), 0, 0, ping8, 1)},
  };
}

TEST(SessionErrorsTest, MalformedLayoutsCloseWithMalformedFrame) {
  for (const auto& c : malformed_cases()) {
    SCOPED_TRACE(c.name);
    peer_under_test p;
    p.feed(handshake());
    p.feed(c.bytes);
    expect_connection_error(p, errc::malformed_frame);
  }
}

TEST(SessionErrorsTest, EndChunkShorterThanItsChecksumIsMalformed) {
  peer_under_test p;
  p.feed(handshake());
  p.feed(begin(1, 100'000));
  p.feed(raw_frame(frame_type::chunk, flag_end, 1, "1234567"));
  expect_connection_error(p, errc::malformed_frame);
}

TEST(SessionErrorsTest, ErrorsAreReportedOnceAndSeenAtTheOtherSide) {
  testing::session_pair pair;
  pair.pump();
  pair.server().fail(errc::protocol_error, "test");
  pair.pump();
  EXPECT_TRUE(pair.client().closed());
  auto gone = of_kind(pair.client_events(), kind::goaway);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].code, errc::protocol_error);
  auto closed = of_kind(pair.client_events(), kind::closed);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].code, errc::protocol_error);
}

} // namespace
} // namespace weft::protocol
