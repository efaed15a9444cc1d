#pragma once

#include <cstdint>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/types/span.h>

namespace weft::protocol {

/// The limits one side announces in its SETTINGS frame (docs/protocol.md
/// §3.1). Defaults are the protocol's defaults.
struct protocol_settings {
  std::uint32_t max_frame_size = 64 * 1024;
  std::uint32_t max_message_size = 1024u * 1024 * 1024;
  std::uint32_t max_header_size = 16 * 1024;
  std::uint32_t max_concurrent_messages = 256;
  std::uint32_t initial_message_window = 1024 * 1024;
  std::uint32_t initial_connection_window = 8 * 1024 * 1024;
  std::uint32_t heartbeat_interval_ms = 15'000;
  std::uint32_t idle_timeout_ms = 60'000;

  friend bool operator==(const protocol_settings&,
                         const protocol_settings&) = default;
};

/// Checks every value against its allowed range; `malformed_frame` if not.
absl::Status validate(const protocol_settings& s);

/// Encodes a SETTINGS payload carrying every value of `s`.
std::vector<std::uint8_t> encode_settings_payload(const protocol_settings& s);

/// Decodes a SETTINGS payload over the defaults; unknown ids are ignored.
absl::StatusOr<protocol_settings>
decode_settings_payload(absl::Span<const std::uint8_t> payload);

} // namespace weft::protocol
