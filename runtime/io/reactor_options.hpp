#pragma once

#include <cstddef>

#include <absl/time/time.h>

#include "runtime/logger.hpp"

namespace weft::io {

/// Settings of a reactor_pool.
struct reactor_options {
  /// Reactor threads, one epoll loop each; 0 means one per core.
  std::size_t threads = 0;
  /// listen(2) backlog of every listener.
  int listen_backlog = 1024;
  /// Most connections a listener accepts per readiness event before the
  /// reactor serves its other sockets.
  std::size_t max_accepts_per_event = 64;
  /// How long a listener stops accepting after a resource error (EMFILE,
  /// ENFILE, ENOBUFS, ENOMEM), so that a full fd table cannot spin the loop.
  absl::Duration accept_backoff = absl::Milliseconds(100);
  /// Where reactor threads log (accept errors, closes on errors).
  logger log{log_level::warn};
};

} // namespace weft::io
