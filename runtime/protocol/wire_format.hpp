#pragma once

// Constants and byte-order helpers of the binary protocol, version 1.0.
// The layouts are drawn in docs/protocol.md; this header is their one
// definition in code.
//
//  Frame header (12 bytes, big-endian):
//  +---------------+-------+-------+-------------+---------------+
//  | Length (32)   | Type  | Flags | Reserved(16)| Message Id(32)|
//  +---------------+-------+-------+-------------+---------------+

#include <array>
#include <cstddef>
#include <cstdint>

namespace weft::protocol {

/// The 8 magic bytes that open the preface.
inline constexpr std::array<std::uint8_t, 8> magic = {0x89, 'W',  'E',  'F',
                                                      'T',  '\r', '\n', 0x1A};
/// Magic + major + minor + 2 reserved bytes.
inline constexpr std::size_t preface_size = 12;
inline constexpr std::uint8_t version_major = 1;
inline constexpr std::uint8_t version_minor = 0;

inline constexpr std::size_t frame_header_size = 12;
/// Bytes of the CRC-64 checksum that ends every message.
inline constexpr std::size_t checksum_size = 8;
/// The MESSAGE frame's u32 header length field.
inline constexpr std::size_t header_length_size = 4;
/// Longest CANCEL reason and GOAWAY debug text.
inline constexpr std::size_t max_reason_size = 1024;
/// Largest flow-control window.
inline constexpr std::uint32_t max_window = 0x7fffffff;

enum class frame_type : std::uint8_t {
  settings = 0x01,
  message = 0x02,
  begin = 0x03,
  chunk = 0x04,
  cancel = 0x05,
  window = 0x06,
  ping = 0x07,
  goaway = 0x08,
};

/// Flag of CHUNK: the last chunk, ending with the checksum.
inline constexpr std::uint8_t flag_end = 0x01;
/// Flag of PING: the answer.
inline constexpr std::uint8_t flag_ack = 0x01;

enum class setting_id : std::uint16_t {
  max_frame_size = 0x01,
  max_message_size = 0x02,
  max_header_size = 0x03,
  max_concurrent_messages = 0x04,
  initial_message_window = 0x05,
  initial_connection_window = 0x06,
  heartbeat_interval_ms = 0x07,
  idle_timeout_ms = 0x08,
};

inline constexpr std::size_t setting_entry_size = 6;

/// Reads a big-endian u16 / u32 / u64 from at least that many bytes.
inline std::uint16_t load_u16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

inline std::uint32_t load_u32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16)
         | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

inline std::uint64_t load_u64(const std::uint8_t* p) noexcept {
  return (std::uint64_t{load_u32(p)} << 32) | load_u32(p + 4);
}

/// Writes a big-endian u16 / u32 / u64.
inline void store_u16(std::uint8_t* p, std::uint16_t x) noexcept {
  p[0] = static_cast<std::uint8_t>(x >> 8);
  p[1] = static_cast<std::uint8_t>(x);
}

inline void store_u32(std::uint8_t* p, std::uint32_t x) noexcept {
  p[0] = static_cast<std::uint8_t>(x >> 24);
  p[1] = static_cast<std::uint8_t>(x >> 16);
  p[2] = static_cast<std::uint8_t>(x >> 8);
  p[3] = static_cast<std::uint8_t>(x);
}

inline void store_u64(std::uint8_t* p, std::uint64_t x) noexcept {
  store_u32(p, static_cast<std::uint32_t>(x >> 32));
  store_u32(p + 4, static_cast<std::uint32_t>(x));
}

} // namespace weft::protocol
