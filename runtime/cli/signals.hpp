#pragma once

#include <csignal>

#include <absl/time/time.h>

namespace weft::cli {

/// Blocks SIGINT and SIGTERM in the calling thread and, by inheritance, in
/// every thread started after it (CAF's and the reactor's), and ignores
/// SIGPIPE (a closed stdout becomes EPIPE). Call first thing in main.
/// Returns the blocked set, to be polled with wait_for_signal.
sigset_t block_interrupts();

/// Waits up to `timeout` (zero: just looks) for one of `set`; returns the
/// signal number taken, or 0. Main thread only.
int wait_for_signal(const sigset_t& set, absl::Duration timeout);

} // namespace weft::cli
