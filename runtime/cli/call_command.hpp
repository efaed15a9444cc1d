#pragma once

#include <csignal>

#include "runtime/cli/cli_args.hpp"
#include "runtime/cli/exit_code.hpp"

namespace weft::cli {

/// Runs `weft call`: connects (no reconnect), sends one request, writes the
/// reply body to stdout or --out and errors to stderr. Main thread only;
/// `interrupts` are signals blocked in every thread that cancel the call
/// when they arrive (the main thread polls them with sigtimedwait).
exit_code run_call(const cli_args& args, const sigset_t& interrupts);

} // namespace weft::cli
