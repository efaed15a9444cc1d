#pragma once

#include <cstdint>

#include "runtime/io/framer.hpp"

namespace weft::protocol {

/// Cuts the binary protocol's byte stream (either direction) into its
/// preface and whole frames for the reactor (docs/protocol.md §2–3). Used
/// by the gateway's connections and by the client; it implements the
/// reactor's framer interface (a header-only dependency on runtime/io). Bytes that violate the format
/// (wrong magic, an oversized length) are not an error here: they are handed
/// on as a unit so that the connection's session answers with the precise
/// error code in a GOAWAY before closing. Reactor thread only.
class binary_framer : public io::framer {
public:
  explicit binary_framer(std::uint32_t max_frame_size)
    : max_frame_size_(max_frame_size) {
  }

  absl::StatusOr<io::frame_cut>
  next(absl::Span<const std::uint8_t> buffered) override;

private:
  std::uint32_t max_frame_size_;
  bool expect_preface_ = true;
  /// Set after a violation: everything after it is passed on unparsed.
  bool failed_ = false;
};

} // namespace weft::protocol
