#pragma once

#include <csignal>

#include "runtime/cli/cli_args.hpp"
#include "runtime/cli/exit_code.hpp"

namespace weft::cli {

/// Runs `weft call`: connects (no reconnect), sends one request, writes the
/// reply body to stdout or --out and errors to stderr. With --json, a JSON
/// reply printed to stdout gets a final newline if it lacks one. Main
/// thread only;
/// `interrupts` are signals blocked in every thread that cancel the call
/// when they arrive (the main thread polls them with sigtimedwait).
exit_code run_call(const cli_args& args, const sigset_t& interrupts);

} // namespace weft::cli
