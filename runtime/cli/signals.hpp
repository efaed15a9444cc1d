#pragma once

#include <csignal>

#include "runtime/shutdown_signals.hpp"

namespace weft::cli {

/// block_shutdown_signals(), and SIGPIPE ignored (a closed stdout becomes
/// EPIPE). Call first thing in main. Returns the blocked set, to be polled
/// with wait_for_signal (runtime/shutdown_signals.hpp).
sigset_t block_interrupts();

using weft::wait_for_signal;

} // namespace weft::cli
