#pragma once

#include <cstdint>
#include <memory>

#include <absl/types/span.h>

namespace weft::protocol {

/// Streaming XXH3-64 (seed 0) over a message's header bytes then its body
/// bytes (docs/protocol.md §4.3). Feed pieces in order, in any sizes.
class checksum {
public:
  checksum();
  ~checksum();
  checksum(checksum&&) noexcept;
  checksum& operator=(checksum&&) noexcept;

  void update(absl::Span<const std::uint8_t> bytes);
  std::uint64_t digest() const;

  /// One-shot XXH3-64 of `header` followed by `body`.
  static std::uint64_t of(absl::Span<const std::uint8_t> header,
                          absl::Span<const std::uint8_t> body);

private:
  struct state;
  // unique_ptr: xxHash's streaming state is 576 bytes with 64-byte
  // alignment; keeping it off the object keeps messages small and movable.
  std::unique_ptr<state> state_;
};

} // namespace weft::protocol
