#pragma once

#include <csignal>

#include "runtime/cli/cli_args.hpp"
#include "runtime/cli/exit_code.hpp"

namespace weft::cli {

/// Runs `weft ping`: one line per PING with its round-trip time on stdout,
/// then a min/avg/max summary, like ping(8). Main thread only; one of
/// `interrupts` (blocked in every thread) ends the series early, still with
/// the summary.
exit_code run_ping(const cli_args& args, const sigset_t& interrupts);

} // namespace weft::cli
