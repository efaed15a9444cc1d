#pragma once

#include <csignal>

#include <absl/time/time.h>

namespace weft {

/// Blocks SIGINT and SIGTERM in the calling thread and, by inheritance, in
/// every thread started after it (CAF's workers, the reactors): they are
/// then only ever taken by wait_for_signal / sigwait, never by a handler
/// running at a random point. Call first thing in main. Returns the set.
sigset_t block_shutdown_signals();

/// Waits up to `timeout` (zero: just looks) for one of `set`; returns the
/// signal number taken, or 0. For the thread that owns the signals.
int wait_for_signal(const sigset_t& set, absl::Duration timeout);

} // namespace weft
