#include "runtime/protocol/binary_framer.hpp"

#include <algorithm>

#include "runtime/protocol/frame_decoder.hpp"
#include "runtime/protocol/wire_format.hpp"

namespace weft::protocol {

absl::StatusOr<io::frame_cut>
binary_framer::next(absl::Span<const std::uint8_t> buffered) {
  if (failed_)
    return io::frame_cut{buffered.size(), 0};
  unit_size size;
  auto st = measure_unit(buffered, expect_preface_, max_frame_size_,
                                   size);
  if (!st.ok()) {
    // Hand over what shows the violation (at most a frame header); the
    // session decodes the same bytes and fails with the precise code.
    failed_ = true;
    return io::frame_cut{
      std::min(buffered.size(), frame_header_size), 0};
  }
  if (size.complete == 0)
    return io::frame_cut{0, size.need};
  expect_preface_ = false;
  return io::frame_cut{size.complete, 0};
}

} // namespace weft::protocol
