#pragma once

#include <cstddef>

#include <absl/time/time.h>

namespace weft::io {

/// Per-connection settings of a channel, fixed when the channel is made
/// (by listen() for accepted sockets, by connect() for outgoing ones).
struct channel_options {
  /// Smallest read buffer; a read asks the kernel for at least this much.
  std::size_t min_read_bytes = 16 * 1024;
  /// Most bytes read from one socket per readiness event, so that one busy
  /// connection cannot starve the others of its reactor.
  std::size_t max_read_bytes_per_event = 1024 * 1024;
  /// Largest unit a framer may announce through `frame_cut::need`; a larger
  /// one closes the connection with protocol_error before any allocation.
  std::size_t max_unit_bytes = 64 * 1024 * 1024;
  /// Read back-pressure: once this many bytes were handed to the owner and
  /// not yet reported with channel::consumed(), the reactor stops reading
  /// the socket until consumed() brings the count back under it.
  std::size_t max_unconsumed = 4 * 1024 * 1024;
  /// TCP_NOTSENT_LOWAT: keeps the kernel's unsent queue small so that the
  /// owner's priority decisions stay late. 0 leaves the kernel default.
  std::size_t notsent_lowat = 128 * 1024;
  /// The owner receives io_sent when the bytes queued for writing fall to
  /// this many or fewer (0: when the queue drains to empty).
  std::size_t sent_low_watermark = 0;
  /// Sets TCP_NODELAY (no Nagle delay: the owner batches on its own).
  bool tcp_nodelay = true;
  /// How long close() may wait for queued bytes to be written before the
  /// connection is aborted instead.
  absl::Duration close_timeout = absl::Seconds(10);
  /// On the peer's EOF between units, stop reading and send the owner
  /// (io_eof_atom) instead of closing, so that it can still answer (an HTTP
  /// client may half-close after its request); the owner then close()s.
  bool half_close = false;
};

} // namespace weft::io
