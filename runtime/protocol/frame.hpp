#pragma once

#include <cstdint>

#include "runtime/protocol/wire_format.hpp"
#include "runtime/shared_bytes.hpp"

namespace weft::protocol {

/// One decoded frame. The payload shares the received bytes (no copy when a
/// frame arrived within one read).
struct frame {
  /// The raw type byte; may be a type this version does not know.
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
  std::uint32_t id = 0;
  shared_bytes payload;

  bool is(frame_type t) const noexcept {
    return type == static_cast<std::uint8_t>(t);
  }
};

/// The peer's protocol version, from its preface.
struct preface_info {
  std::uint8_t major = 0;
  std::uint8_t minor = 0;
};

} // namespace weft::protocol
