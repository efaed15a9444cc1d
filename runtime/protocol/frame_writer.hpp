#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
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
  /// A MESSAGE frame of a small body (under copy_below), copied whole into
  /// the block and checksummed there in one pass: what message() does with
  /// checksum::of(header, body), without joining the pieces twice.
  void small_message(std::uint32_t id, absl::Span<const std::uint8_t> header,
                     absl::Span<const std::uint8_t> body);
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

  /// Appends everything written so far to `out`, in order.
  void take_into(std::vector<shared_bytes>& out);

private:
  void header(std::uint32_t length, std::uint8_t type, std::uint8_t flags,
              std::uint32_t id);
  void append(absl::Span<const std::uint8_t> bytes);
  void append_u32(std::uint32_t x);
  void append_u64(std::uint64_t x);
  void append_slice(const shared_bytes& bytes);
  /// Makes room for `n` more small bytes in block_.
  void reserve_small(std::size_t n);
  /// Moves the small bytes written since the last flush to `out`.
  void flush_small(std::vector<shared_bytes>& out);

  // Small frames and headers are written into one shared block, handed
  // over as a slice of it without a copy: one allocation per burst of
  // frames instead of a growing vector plus its owner. shared_ptr: the
  // handed-over slices share the block. Dropped at each take, so an idle
  // writer holds nothing.
  std::shared_ptr<std::uint8_t[]> block_;
  std::uint32_t block_size_ = 0;
  /// block_[flushed_, used_) is written and not handed over yet.
  std::uint32_t flushed_ = 0;
  std::uint32_t used_ = 0;
  /// Size of the next block: about as large as the last burst.
  std::uint32_t next_block_ = 0;
  std::vector<shared_bytes> out_;
  std::size_t size_ = 0;
  std::uint32_t frames_ = 0;
  /// A block filled up since the last take (next_block_ was doubled).
  bool grew_ = false;
};

} // namespace weft::protocol
