#include "runtime/io/length_prefix_framer.hpp"

#include <limits>

#include <absl/strings/str_cat.h>

#include "runtime/error_bridge.hpp"

namespace weft::io {

absl::StatusOr<frame_cut>
length_prefix_framer::next(absl::Span<const std::uint8_t> buffered) {
  if (buffered.size() < header_size)
    return frame_cut{0, header_size};
  std::size_t length
    = (std::size_t{buffered[0]} << 24) | (std::size_t{buffered[1]} << 16)
      | (std::size_t{buffered[2]} << 8) | std::size_t{buffered[3]};
  if (length > max_payload_)
    return make_status(errc::protocol_error,
                       absl::StrCat("length prefix ", length,
                                    " exceeds the limit of ", max_payload_));
  std::size_t total = header_size + length;
  if (buffered.size() < total)
    return frame_cut{0, total};
  return frame_cut{total, 0};
}

std::vector<std::uint8_t>
length_prefix_framer::encode(absl::string_view payload) {
  // Callers are tests and benchmarks; a payload over 4 GiB is their bug.
  auto length = static_cast<std::uint32_t>(payload.size());
  std::vector<std::uint8_t> unit;
  unit.reserve(header_size + payload.size());
  unit.push_back(static_cast<std::uint8_t>(length >> 24));
  unit.push_back(static_cast<std::uint8_t>(length >> 16));
  unit.push_back(static_cast<std::uint8_t>(length >> 8));
  unit.push_back(static_cast<std::uint8_t>(length));
  unit.insert(unit.end(), payload.begin(), payload.end());
  return unit;
}

framer_factory length_prefix_framer::factory(std::size_t max_payload) {
  return [max_payload]() -> std::unique_ptr<framer> {
    return std::make_unique<length_prefix_framer>(max_payload);
  };
}

} // namespace weft::io
