// The frame decoder and measure_unit, fed at every split point.

#include "runtime/protocol/frame_decoder.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/error_bridge.hpp"
#include "runtime/protocol/frame_writer.hpp"
#include "runtime/protocol/wire_format.hpp"
#include "tests/unit/runtime/protocol/session_pair.hpp"

namespace weft::protocol {
namespace {

using testing::concat;
using testing::raw_frame;

struct decoded {
  std::vector<preface_info> prefaces;
  std::vector<frame> frames;
  absl::Status error;
};

shared_bytes bytes_of(absl::string_view s) {
  return shared_bytes::copy_of(s);
}

absl::Span<const std::uint8_t> span_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Drains every unit the decoder can produce now.
void drain(frame_decoder& d, decoded& out) {
  for (;;) {
    switch (d.next()) {
      case frame_decoder::result::need_more:
        return;
      case frame_decoder::result::preface:
        out.prefaces.push_back(d.preface());
        break;
      case frame_decoder::result::frame:
        out.frames.push_back(d.take_frame());
        break;
      case frame_decoder::result::error:
        out.error = d.error();
        return;
    }
  }
}

/// Feeds `stream` cut at the given points.
decoded decode_in_pieces(const std::string& stream,
                         const std::vector<std::size_t>& cuts,
                         std::uint32_t max_frame_size = 65536) {
  frame_decoder d{max_frame_size};
  decoded out;
  std::size_t pos = 0;
  for (auto cut : cuts) {
    d.feed(bytes_of(stream.substr(pos, cut - pos)));
    drain(d, out);
    pos = cut;
  }
  d.feed(bytes_of(stream.substr(pos)));
  drain(d, out);
  return out;
}

/// A preface and one frame of every type, with varied payloads.
std::string every_frame_type() {
  frame_writer w;
  w.preface();
  w.settings(protocol_settings{});
  weft::wire::MessageHeader h = testing::request("echo");
  auto hdr = testing::encoded_header(h, 1, 5);
  w.message(1, span_of(hdr), shared_bytes::copy_of("hello"), 0x1122334455667788);
  auto big_hdr = testing::encoded_header(h, 3, 5000);
  w.begin(3, span_of(big_hdr));
  w.chunk(3, testing::random_bytes(3000, 7), false, 0);
  w.chunk(3, testing::random_bytes(2000, 8), true, 42);
  w.cancel(5, errc::cancelled, "no longer wanted");
  w.window(0, 4096);
  w.window(3, 1);
  w.ping(false, {1, 2, 3, 4, 5, 6, 7, 8});
  w.ping(true, {8, 7, 6, 5, 4, 3, 2, 1});
  w.goaway(7, errc::ok, "bye");
  auto out = concat(w.take());
  // An unknown type with an empty payload, then one with a payload.
  out += raw_frame(0x42, 0xff, 9, "");
  out += raw_frame(0x43, 0, 0, "future");
  return out;
}

void expect_same(const decoded& a, const decoded& b, std::size_t at) {
  ASSERT_EQ(a.error.ok(), b.error.ok()) << "split at " << at;
  ASSERT_EQ(a.prefaces.size(), b.prefaces.size()) << "split at " << at;
  ASSERT_EQ(a.frames.size(), b.frames.size()) << "split at " << at;
  for (std::size_t i = 0; i < a.frames.size(); ++i) {
    EXPECT_EQ(a.frames[i].type, b.frames[i].type) << "split at " << at;
    EXPECT_EQ(a.frames[i].flags, b.frames[i].flags) << "split at " << at;
    EXPECT_EQ(a.frames[i].id, b.frames[i].id) << "split at " << at;
    EXPECT_EQ(a.frames[i].payload, b.frames[i].payload) << "split at " << at;
  }
}

TEST(FrameDecoderTest, DecodesPrefaceAndEveryFrameTypeInOnePiece) {
  auto stream = every_frame_type();
  auto whole = decode_in_pieces(stream, {});
  ASSERT_TRUE(whole.error.ok()) << whole.error;
  ASSERT_EQ(whole.prefaces.size(), 1u);
  EXPECT_EQ(whole.prefaces[0].major, version_major);
  EXPECT_EQ(whole.prefaces[0].minor, version_minor);
  ASSERT_EQ(whole.frames.size(), 13u);
  EXPECT_TRUE(whole.frames[0].is(frame_type::settings));
  EXPECT_TRUE(whole.frames[1].is(frame_type::message));
  EXPECT_EQ(whole.frames[1].id, 1u);
  EXPECT_TRUE(whole.frames[2].is(frame_type::begin));
  EXPECT_TRUE(whole.frames[3].is(frame_type::chunk));
  EXPECT_EQ(whole.frames[3].payload.size(), 3000u);
  EXPECT_EQ(whole.frames[4].flags, flag_end);
  EXPECT_EQ(whole.frames[4].payload.size(), 2008u);
  EXPECT_TRUE(whole.frames[5].is(frame_type::cancel));
  EXPECT_TRUE(whole.frames[6].is(frame_type::window));
  EXPECT_EQ(whole.frames[7].id, 3u);
  EXPECT_TRUE(whole.frames[8].is(frame_type::ping));
  EXPECT_EQ(whole.frames[9].flags, flag_ack);
  EXPECT_TRUE(whole.frames[10].is(frame_type::goaway));
  EXPECT_EQ(whole.frames[11].type, 0x42);
  EXPECT_EQ(whole.frames[12].payload.view(), "future");
}

TEST(FrameDecoderTest, DecodesIdenticallyAtEverySplitPoint) {
  auto stream = every_frame_type();
  auto whole = decode_in_pieces(stream, {});
  for (std::size_t at = 0; at <= stream.size(); ++at)
    expect_same(whole, decode_in_pieces(stream, {at}), at);
}

TEST(FrameDecoderTest, DecodesIdenticallyAtEveryPairOfSplitPointsNearFrames) {
  // Two cuts: every pair within the first 120 bytes (preface, SETTINGS,
  // MESSAGE), where frame boundaries are dense.
  auto stream = every_frame_type();
  auto whole = decode_in_pieces(stream, {});
  for (std::size_t a = 0; a <= 120; ++a)
    for (std::size_t b = a; b <= 120; ++b)
      expect_same(whole, decode_in_pieces(stream, {a, b}), a * 1000 + b);
}

TEST(FrameDecoderTest, DecodesIdenticallyByteByByte) {
  auto stream = every_frame_type();
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < stream.size(); ++i)
    cuts.push_back(i);
  expect_same(decode_in_pieces(stream, {}), decode_in_pieces(stream, cuts), 0);
}

TEST(FrameDecoderTest, KeepsBufferedCountAccurate) {
  auto stream = every_frame_type();
  frame_decoder d{65536};
  d.feed(bytes_of(stream.substr(0, 20)));
  EXPECT_EQ(d.buffered(), 20u);
  EXPECT_EQ(d.next(), frame_decoder::result::preface);
  EXPECT_EQ(d.buffered(), 8u);
  EXPECT_EQ(d.next(), frame_decoder::result::need_more);
  EXPECT_EQ(d.buffered(), 8u);
}

TEST(FrameDecoderTest, RejectsOversizedLengthFromTheHeaderAlone) {
  frame_decoder d{1024, false};
  d.feed(bytes_of(raw_frame(frame_type::chunk, 0, 1, "").substr(0, 4)));
  EXPECT_EQ(d.next(), frame_decoder::result::need_more);
  // Length 1025 in a header with no payload behind it.
  auto header = raw_frame(frame_type::chunk, 0, 1, std::string(1025, 'x'))
                  .substr(0, frame_header_size);
  frame_decoder d2{1024, false};
  d2.feed(bytes_of(header));
  ASSERT_EQ(d2.next(), frame_decoder::result::error);
  EXPECT_EQ(code_of(d2.error()), errc::frame_too_large);
}

TEST(FrameDecoderTest, AcceptsLengthEqualToTheMaximum) {
  frame_decoder d{1024, false};
  d.feed(bytes_of(raw_frame(frame_type::chunk, 0, 1, std::string(1024, 'x'))));
  ASSERT_EQ(d.next(), frame_decoder::result::frame);
  EXPECT_EQ(d.take_frame().payload.size(), 1024u);
}

TEST(FrameDecoderTest, RejectsWrongMagicAtTheFirstWrongByte) {
  std::string good(magic.begin(), magic.end());
  for (std::size_t i = 0; i < magic.size(); ++i) {
    auto bad = good.substr(0, i + 1);
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    frame_decoder d{65536};
    d.feed(bytes_of(bad));
    ASSERT_EQ(d.next(), frame_decoder::result::error) << "byte " << i;
    EXPECT_EQ(code_of(d.error()), errc::bad_preface);
    // measure_unit agrees on exactly the same prefix.
    unit_size size;
    auto st = measure_unit(span_of(bad), true, 65536, size);
    EXPECT_EQ(code_of(st), errc::bad_preface);
    st = measure_unit(span_of(good.substr(0, i + 1)), true, 65536, size);
    EXPECT_TRUE(st.ok());
  }
}

TEST(FrameDecoderTest, RejectsHttpAsBadPreface) {
  frame_decoder d{65536};
  d.feed(bytes_of("G"));
  ASSERT_EQ(d.next(), frame_decoder::result::error);
  EXPECT_EQ(code_of(d.error()), errc::bad_preface);
}

TEST(FrameDecoderTest, IgnoresReservedBitsOfThePreface) {
  auto pre = std::string(magic.begin(), magic.end()) + "\x01\x07\xff\xff";
  frame_decoder d{65536};
  d.feed(bytes_of(pre));
  ASSERT_EQ(d.next(), frame_decoder::result::preface);
  EXPECT_EQ(d.preface().major, 1);
  EXPECT_EQ(d.preface().minor, 7);
}

TEST(FrameDecoderTest, RejectsReservedBitsOfAFrameHeaderFromTheHeaderAlone) {
  for (std::uint16_t reserved :
       {std::uint16_t{0x0001}, std::uint16_t{0x8000}, std::uint16_t{0xffff}}) {
    frame_decoder d{65536, false};
    auto f = raw_frame(0x07, 0, 0, std::string(8, 'p'), reserved);
    d.feed(bytes_of(f.substr(0, frame_header_size)));
    ASSERT_EQ(d.next(), frame_decoder::result::error) << reserved;
    EXPECT_EQ(code_of(d.error()), errc::malformed_frame);
  }
}

TEST(FrameDecoderTest, StaysFailedAfterAnError) {
  frame_decoder d{1024, false};
  d.feed(bytes_of(raw_frame(frame_type::ping, 0, 0, std::string(2000, 'x'))));
  ASSERT_EQ(d.next(), frame_decoder::result::error);
  d.feed(bytes_of(raw_frame(frame_type::ping, 0, 0, std::string(8, 'x'))));
  EXPECT_EQ(d.next(), frame_decoder::result::error);
  EXPECT_EQ(d.next(), frame_decoder::result::error);
  EXPECT_EQ(code_of(d.error()), errc::frame_too_large);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoderTest, SharesTheFedBytesWhenAFrameArrivesInOnePiece) {
  auto f = shared_bytes::copy_of(raw_frame(frame_type::ping, 0, 0, "12345678"));
  frame_decoder d{1024, false};
  d.feed(f);
  ASSERT_EQ(d.next(), frame_decoder::result::frame);
  auto got = d.take_frame();
  EXPECT_EQ(got.payload.data(), f.data() + frame_header_size);
}

TEST(MeasureUnitTest, ReportsNeedAtEveryPrefixOfAFrame) {
  auto f = raw_frame(frame_type::chunk, 0, 1, std::string(100, 'x'));
  for (std::size_t n = 0; n <= f.size(); ++n) {
    unit_size size;
    auto st = measure_unit(span_of(f.substr(0, n)), false, 65536, size);
    ASSERT_TRUE(st.ok()) << st;
    EXPECT_EQ(size.need, n < frame_header_size ? 0u : f.size()) << n;
    EXPECT_EQ(size.complete, n == f.size() ? f.size() : 0u) << n;
  }
}

TEST(MeasureUnitTest, ReportsNeedAtEveryPrefixOfAPreface) {
  auto pre = testing::raw_preface_and_settings().substr(0, preface_size);
  for (std::size_t n = 0; n <= pre.size(); ++n) {
    unit_size size;
    ASSERT_TRUE(measure_unit(span_of(pre.substr(0, n)), true, 65536, size).ok());
    EXPECT_EQ(size.need, preface_size);
    EXPECT_EQ(size.complete, n == preface_size ? preface_size : 0u);
  }
}

TEST(MeasureUnitTest, RejectsOversizedLengthWithoutPayload) {
  auto f = raw_frame(frame_type::chunk, 0, 1, std::string(70000, 'x'));
  unit_size size;
  auto st = measure_unit(span_of(f.substr(0, frame_header_size)), false, 65536,
                         size);
  EXPECT_EQ(code_of(st), errc::frame_too_large);
}

} // namespace
} // namespace weft::protocol
