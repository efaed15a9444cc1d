// SETTINGS payloads: round trip, defaults, unknown ids, ranges, lengths.

#include "runtime/protocol/protocol_settings.hpp"

#include <string>

#include <gtest/gtest.h>

#include "runtime/error_bridge.hpp"
#include "runtime/protocol/wire_format.hpp"

namespace weft::protocol {
namespace {

std::vector<std::uint8_t> entry(std::uint16_t id, std::uint32_t value) {
  std::vector<std::uint8_t> out(setting_entry_size);
  store_u16(out.data(), id);
  store_u32(out.data() + 2, value);
  return out;
}

std::vector<std::uint8_t> join(std::initializer_list<std::vector<std::uint8_t>>
                                 parts) {
  std::vector<std::uint8_t> out;
  for (const auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(ProtocolSettingsTest, RoundTripsEveryValue) {
  protocol_settings s;
  s.max_frame_size = 1024;
  s.max_message_size = 0xffffffff;
  s.max_header_size = 256;
  s.max_concurrent_messages = 1;
  s.initial_message_window = 0x7fffffff;
  s.initial_connection_window = 65536;
  s.heartbeat_interval_ms = 0;
  s.idle_timeout_ms = 123;
  auto payload = encode_settings_payload(s);
  EXPECT_EQ(payload.size(), 8 * setting_entry_size);
  auto back = decode_settings_payload(payload);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, s);
}

TEST(ProtocolSettingsTest, DefaultsAreValidAndRoundTrip) {
  EXPECT_TRUE(validate(protocol_settings{}).ok());
  auto back = decode_settings_payload(encode_settings_payload({}));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, protocol_settings{});
}

TEST(ProtocolSettingsTest, AnEmptyPayloadMeansEveryDefault) {
  auto back = decode_settings_payload({});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, protocol_settings{});
}

TEST(ProtocolSettingsTest, MissingEntriesKeepTheirDefaults) {
  auto back = decode_settings_payload(join({entry(0x01, 2048), entry(0x08, 0)}));
  ASSERT_TRUE(back.ok());
  protocol_settings expected;
  expected.max_frame_size = 2048;
  expected.idle_timeout_ms = 0;
  EXPECT_EQ(*back, expected);
}

TEST(ProtocolSettingsTest, UnknownIdentifiersAreIgnored) {
  auto back = decode_settings_payload(
    join({entry(0x00, 1), entry(0x09, 0xffffffff), entry(0xffff, 7),
          entry(0x03, 512)}));
  ASSERT_TRUE(back.ok());
  protocol_settings expected;
  expected.max_header_size = 512;
  EXPECT_EQ(*back, expected);
}

TEST(ProtocolSettingsTest, RejectsLengthsThatAreNotMultiplesOfSix) {
  for (std::size_t n : {1u, 5u, 7u, 11u, 13u}) {
    std::vector<std::uint8_t> payload(n, 0);
    auto back = decode_settings_payload(payload);
    ASSERT_FALSE(back.ok()) << n;
    EXPECT_EQ(code_of(back.status()), errc::malformed_frame);
  }
}

TEST(ProtocolSettingsTest, RejectsValuesOutsideTheirRange) {
  struct bad {
    std::uint16_t id;
    std::uint32_t value;
  };
  for (auto b : {bad{0x01, 1023}, bad{0x01, 16'777'216}, bad{0x02, 0},
                 bad{0x03, 255}, bad{0x03, 1024 * 1024 + 1}, bad{0x04, 0},
                 bad{0x04, 0x80000000}, bad{0x05, 1023},
                 bad{0x05, 0x80000000}, bad{0x06, 65535},
                 bad{0x06, 0x80000000}, bad{0x07, 0x80000000},
                 bad{0x08, 0xffffffff}}) {
    auto back = decode_settings_payload(entry(b.id, b.value));
    ASSERT_FALSE(back.ok()) << b.id << "=" << b.value;
    EXPECT_EQ(code_of(back.status()), errc::malformed_frame);
  }
}

TEST(ProtocolSettingsTest, AcceptsTheEdgesOfEveryRange) {
  struct edge {
    std::uint16_t id;
    std::uint32_t value;
  };
  for (auto e : {edge{0x01, 1024}, edge{0x01, 16'777'215}, edge{0x02, 1},
                 edge{0x03, 256}, edge{0x03, 1024 * 1024}, edge{0x04, 1},
                 edge{0x04, 0x7fffffff}, edge{0x05, 1024},
                 edge{0x06, 65536}, edge{0x07, 0}, edge{0x08, 0x7fffffff}})
    EXPECT_TRUE(decode_settings_payload(entry(e.id, e.value)).ok())
      << e.id << "=" << e.value;
}

TEST(ProtocolSettingsTest, TheLastOfRepeatedEntriesWins) {
  auto back = decode_settings_payload(
    join({entry(0x01, 2048), entry(0x01, 4096)}));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->max_frame_size, 4096u);
}

} // namespace
} // namespace weft::protocol
