#pragma once

#include <cstddef>

#include <absl/time/time.h>

#include "runtime/logger.hpp"

namespace weft::io {

/// Settings of a reactor_pool.
struct reactor_options {
  /// When the actor system runs weft's scheduler (embed_reactors), run one
  /// reactor on each of its workers instead of on threads of their own;
  /// `threads` and `relay` then do not apply. Falls back to threads when the
  /// system runs CAF's scheduler or another pool has the workers.
  bool on_workers = true;
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
  /// Hand what a reactor has for actors (reads, writes done, closes) to CAF
  /// once per turn of its loop, through a relay actor, instead of once per
  /// message. Worth it when the reactor shares its core with CAF's workers
  /// (+21% HTTP requests/s on one core): each hand-off otherwise wakes a
  /// worker that preempts the reactor. With cores to spare it costs a hop
  /// (-7% on the 16-in-flight echo on two cores); docs/benchmarks.md.
  bool relay = false;
  /// With reactors on the workers: after a worker hands a burst of writes
  /// to its sockets, it yields its CPU (sched_yield) once, so that a
  /// process those writes woke on the same CPU (a client or proxy on the
  /// same host) reads them now instead of after the worker's time slice.
  /// Nothing else runnable there: a ~0.2 us system call per burst.
  /// Two-core echo, load generator on the same host: +12-19% messages/s
  /// at 16 in flight, +25% HTTP requests/s (docs/benchmarks.md).
  bool yield_after_writes = true;
  /// Where reactor threads log (accept errors, closes on errors).
  logger log{log_level::warn};
};

} // namespace weft::io
