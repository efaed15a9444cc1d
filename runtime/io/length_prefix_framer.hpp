#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <absl/strings/string_view.h>

#include "runtime/io/framer.hpp"

namespace weft::io {

/// The simplest framer: each unit is a 32-bit big-endian payload length
/// followed by the payload. Used by the reactor's tests and benchmarks; the
/// real protocols bring their own framers.
///
/// ```
///  0               4                      4 + length
///  +---------------+----------------------+
///  | length (u32be)| payload (length B)   |
///  +---------------+----------------------+
/// ```
class length_prefix_framer : public framer {
public:
  /// Bytes of the length prefix.
  static constexpr std::size_t header_size = 4;

  /// Accepts payloads of up to `max_payload` bytes; a longer announced
  /// length is a protocol error, reported before anything is allocated.
  explicit length_prefix_framer(std::size_t max_payload)
    : max_payload_(max_payload) {}

  /// See framer::next. Called on the reactor thread only.
  absl::StatusOr<frame_cut>
  next(absl::Span<const std::uint8_t> buffered) override;

  /// Returns `payload` with its length prefix (a whole unit). Any thread.
  static std::vector<std::uint8_t> encode(absl::string_view payload);

  /// Makes a factory of framers accepting payloads up to `max_payload`.
  static framer_factory factory(std::size_t max_payload);

private:
  std::size_t max_payload_;
};

} // namespace weft::io
