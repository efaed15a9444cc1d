#pragma once

#include <csignal>
#include <string>

#include "runtime/cli/cli_args.hpp"
#include "runtime/cli/exit_code.hpp"
#include "weft/routes.pb.h"

namespace weft::cli {

/// Runs `weft schemas`: calls the node's `weft.routes` route with an empty
/// body and prints the weft.wire.RouteListing it answers with
/// format_route_listing() on stdout; errors go to stderr. Main thread only;
/// one of `interrupts` (blocked in every thread) cancels the call.
exit_code run_schemas(const cli_args& args, const sigset_t& interrupts);

/// The listing as text, one line per route in the node's order, columns
/// aligned:
///   `ROUTE  REQUEST_TYPE -> REPLY_TYPE  (form[, N workers][, dispatch])`
/// Control characters sent by the node are shown as '?'. Pure, for tests.
std::string format_route_listing(const weft::wire::RouteListing& listing);

} // namespace weft::cli
