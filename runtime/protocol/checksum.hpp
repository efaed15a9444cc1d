#pragma once

#include <cstdint>

#include <absl/types/span.h>

namespace weft::protocol {

/// Streaming CRC-64/XZ (ECMA-182, reflected; ISA-L's crc64_ecma_refl) over
/// a message's header bytes then its body bytes (docs/protocol.md §4.3).
/// Feed pieces in order, in any sizes.
class checksum {
public:
  void update(absl::Span<const std::uint8_t> bytes);

  std::uint64_t digest() const noexcept {
    return crc_;
  }

  /// One-shot CRC-64 of `header` followed by `body`.
  static std::uint64_t of(absl::Span<const std::uint8_t> header,
                          absl::Span<const std::uint8_t> body);

private:
  std::uint64_t crc_ = 0;
};

} // namespace weft::protocol
