#include "runtime/protocol/checksum.hpp"

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

namespace weft::protocol {

struct checksum::state {
  XXH3_state_t xxh;
};

checksum::checksum() : state_(std::make_unique<state>()) {
  XXH3_64bits_reset(&state_->xxh);
}

checksum::~checksum() = default;
checksum::checksum(checksum&&) noexcept = default;
checksum& checksum::operator=(checksum&&) noexcept = default;

void checksum::update(absl::Span<const std::uint8_t> bytes) {
  if (!bytes.empty())
    XXH3_64bits_update(&state_->xxh, bytes.data(), bytes.size());
}

std::uint64_t checksum::digest() const {
  return XXH3_64bits_digest(&state_->xxh);
}

std::uint64_t checksum::of(absl::Span<const std::uint8_t> header,
                           absl::Span<const std::uint8_t> body) {
  if (header.empty())
    return XXH3_64bits(body.data(), body.size());
  checksum sum;
  sum.update(header);
  sum.update(body);
  return sum.digest();
}

} // namespace weft::protocol
