#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include <absl/status/statusor.h>
#include <absl/types/span.h>

namespace weft::io {

/// What a framer found in the buffered bytes: either one complete unit of
/// `complete` bytes at the front, or (complete == 0) that more bytes are
/// needed, `need` being the total size of the next unit if already known.
struct frame_cut {
  /// Length of the complete unit at the front of the buffer; 0 if none yet.
  std::size_t complete = 0;
  /// Total bytes the next unit needs, counted from its first byte (0 while
  /// the unit's size is unknown). Only read when `complete` is 0.
  std::size_t need = 0;
};

/// Cuts a byte stream into protocol units (frames, lines, messages) without
/// knowing anything about sockets: the reactor asks it where each unit ends
/// and hands whole units to the connection's actor. One instance per
/// connection; called only on that connection's reactor thread, so an
/// implementation may keep per-connection state without locks.
class framer {
public:
  virtual ~framer() = default;

  /// Looks at the buffered bytes (starting at a unit boundary); returns the
  /// length of the next complete unit (complete > 0), or complete == 0 with
  /// `need` = total bytes the next unit needs (0 if unknown yet), or an error
  /// status that closes the connection with `errc::protocol_error` carrying
  /// the status message. The bytes are untrusted: check every length against
  /// a limit and never assert on them. Called on the reactor thread only.
  virtual absl::StatusOr<frame_cut>
  next(absl::Span<const std::uint8_t> buffered) = 0;
};

/// Makes the framer of one new connection. Called on a reactor thread (for
/// accepted sockets) or on the thread calling reactor_pool::connect, possibly
/// concurrently: it must be safe to call from several threads at once.
using framer_factory = std::function<std::unique_ptr<framer>()>;

} // namespace weft::io
