#pragma once

#include "runtime/io/framer.hpp"

namespace weft::http::internal {

/// Hands whatever was read to the connection actor at once: HTTP framing
/// needs the parser's state, which lives in the actor (request_reader).
class pass_through_framer : public io::framer {
public:
  absl::StatusOr<io::frame_cut>
  next(absl::Span<const std::uint8_t> buffered) override {
    return io::frame_cut{buffered.size(), 0};
  }
};

} // namespace weft::http::internal
