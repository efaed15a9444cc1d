#include "runtime/protocol/checksum.hpp"

#include <isa-l/crc64.h>

namespace weft::protocol {

void checksum::update(absl::Span<const std::uint8_t> bytes) {
  if (!bytes.empty())
    crc_ = crc64_ecma_refl(crc_, bytes.data(), bytes.size());
}

std::uint64_t checksum::of(absl::Span<const std::uint8_t> header,
                           absl::Span<const std::uint8_t> body) {
  checksum sum;
  sum.update(header);
  sum.update(body);
  return sum.digest();
}

} // namespace weft::protocol
