#include "runtime/protocol/checksum.hpp"

#include <cstring>

#include <isa-l/crc64.h>

namespace weft::protocol {

void checksum::update(absl::Span<const std::uint8_t> bytes) {
  if (!bytes.empty())
    crc_ = crc64_ecma_refl(crc_, bytes.data(), bytes.size());
}

std::uint64_t checksum::of(absl::Span<const std::uint8_t> header,
                           absl::Span<const std::uint8_t> body) {
  // ISA-L's folding pays a fixed cost per call, which dominates for the
  // few bytes of a small message: one call over both pieces when they are
  // adjacent (a received MESSAGE frame) or fit a small stack buffer.
  constexpr std::size_t small = 256;
  if (!header.empty() && !body.empty()) {
    if (header.data() + header.size() == body.data())
      return crc64_ecma_refl(0, header.data(), header.size() + body.size());
    if (header.size() + body.size() <= small) {
      std::uint8_t joined[small];
      std::memcpy(joined, header.data(), header.size());
      std::memcpy(joined + header.size(), body.data(), body.size());
      return crc64_ecma_refl(0, joined, header.size() + body.size());
    }
  }
  checksum sum;
  sum.update(header);
  sum.update(body);
  return sum.digest();
}

} // namespace weft::protocol
