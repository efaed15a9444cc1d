#pragma once

#include <cstddef>
#include <cstdint>

#include <absl/status/status.h>
#include <absl/types/span.h>

#include "runtime/protocol/frame.hpp"
#include "runtime/shared_bytes.hpp"
#include "runtime/small_fifo.hpp"

namespace weft::protocol {

/// How much of a byte stream makes up the next unit (preface or frame):
/// `complete` bytes when it is all there, else 0 with `need` = the bytes the
/// unit needs in total (0 while even that is unknown).
struct unit_size {
  std::size_t complete = 0;
  std::size_t need = 0;
};

/// Measures the next unit at the front of `buffered` without consuming it:
/// the preface when `expect_preface`, else a frame. Fails with
/// `bad_preface` as soon as a byte of the magic is wrong, and with
/// `frame_too_large` or `malformed_frame` (reserved bits set) from the
/// header alone, before any payload is read.
/// Used by the reactor to cut whole frames; pure function.
absl::Status measure_unit(absl::Span<const std::uint8_t> buffered,
                          bool expect_preface, std::uint32_t max_frame_size,
                          unit_size& out);

/// Incremental decoder of one direction of a connection: bytes in, then
/// "need more", the preface, a frame, or an error out. Sans-I/O; used by one
/// thread (the connection's actor). After an error it stays failed.
class frame_decoder {
public:
  enum class result { need_more, preface, frame, error };

  /// Decodes frames of at most `max_frame_size` payload bytes, starting with
  /// a preface when `expect_preface`.
  explicit frame_decoder(std::uint32_t max_frame_size,
                         bool expect_preface = true);

  /// Appends received bytes; the decoder keeps a reference, not a copy.
  void feed(shared_bytes bytes);

  /// Decodes the next unit. On `preface` / `frame`, the unit is in
  /// preface() / frame(); on `error`, error() says why.
  result next();

  const preface_info& preface() const noexcept {
    return preface_;
  }

  /// The last decoded frame; moved out by take_frame().
  protocol::frame take_frame() noexcept {
    return std::move(frame_);
  }

  const absl::Status& error() const noexcept {
    return error_;
  }

  /// Frees the segment queue's capacity when nothing is buffered.
  void trim() noexcept {
    segments_.release_if_empty();
  }

  /// Bytes fed but not decoded yet.
  std::size_t buffered() const noexcept {
    return buffered_;
  }

private:
  /// Copies `n` bytes from the front into `out` without consuming them.
  void peek(std::uint8_t* out, std::size_t n) const;

  /// Removes `n` bytes from the front and returns them, zero-copy when they
  /// lie in one fed segment.
  shared_bytes take(std::size_t n);

  /// Removes `n` bytes from the front (already peeked).
  void skip(std::size_t n);

  result fail(absl::Status st);

  std::uint32_t max_frame_size_;
  bool expect_preface_;
  small_fifo<shared_bytes> segments_;
  std::size_t buffered_ = 0;
  preface_info preface_;
  protocol::frame frame_;
  absl::Status error_;
};

} // namespace weft::protocol
