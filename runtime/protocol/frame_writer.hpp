#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <absl/strings/string_view.h>
#include <absl/types/span.h>

#include "runtime/errc.hpp"
#include "runtime/protocol/protocol_settings.hpp"
#include "runtime/shared_bytes.hpp"

namespace weft::protocol {

/// Encodes frames into a list of slices ready for writev: small frames and
/// headers are packed into shared buffers, large bodies are referenced, not
/// copied. Sans-I/O; used by one thread. Callers pass valid values (the
/// session checks limits before it writes).
class frame_writer {
public:
  /// Bodies at least this large are referenced instead of copied.
  static constexpr std::size_t copy_below = 2048;

  void preface();
  void settings(const protocol_settings& s);
  /// A MESSAGE frame: header bytes, body, checksum.
  void message(std::uint32_t id, absl::Span<const std::uint8_t> header,
               const shared_bytes& body, std::uint64_t checksum);
  /// A BEGIN frame carrying `header`.
  void begin(std::uint32_t id, absl::Span<const std::uint8_t> header);
  /// A CHUNK frame; with `end`, `checksum` follows the body bytes.
  void chunk(std::uint32_t id, const shared_bytes& body, bool end,
             std::uint64_t checksum);
  void cancel(std::uint32_t id, errc code, absl::string_view reason);
  void window(std::uint32_t id, std::uint32_t increment);
  void ping(bool ack, const std::array<std::uint8_t, 8>& opaque);
  void goaway(std::uint32_t last_id, errc code, absl::string_view text);

  /// Bytes written and not taken yet.
  std::size_t size() const noexcept {
    return size_;
  }

  bool empty() const noexcept {
    return size_ == 0;
  }

  /// Frames written and not taken yet.
  std::size_t frames() const noexcept {
    return frames_;
  }

  /// Hands over everything written so far, in order.
  std::vector<shared_bytes> take();

private:
  void header(std::uint32_t length, std::uint8_t type, std::uint8_t flags,
              std::uint32_t id);
  void append(absl::Span<const std::uint8_t> bytes);
  void append_u32(std::uint32_t x);
  void append_u64(std::uint64_t x);
  void append_slice(const shared_bytes& bytes);
  void flush_small();

  std::vector<std::uint8_t> small_;
  std::vector<shared_bytes> out_;
  std::size_t size_ = 0;
  std::size_t frames_ = 0;
};

} // namespace weft::protocol
