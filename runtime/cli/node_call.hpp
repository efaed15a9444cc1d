#pragma once

#include <csignal>
#include <memory>
#include <optional>
#include <string>

#include <absl/time/time.h>

#include "runtime/cli/cli_args.hpp"
#include "runtime/cli/exit_code.hpp"
#include "runtime/cli/progress_bar.hpp"
#include "runtime/client/client.hpp"

namespace weft::cli {

/// Connects once (no reconnect) to the node at `args.host`:`args.port`,
/// with `opts` for every other setting. On failure prints the error line on
/// stderr and returns nullptr; the command then exits with
/// exit_code::connection. Main thread only.
std::unique_ptr<client> connect_to_node(const cli_args& args,
                                        client_options opts = {});

/// `args.host`:`args.port` as written on the command line, an IPv6 host in
/// brackets: `127.0.0.1:7700`, `[::1]:7700`.
std::string node_address(const cli_args& args);

/// How the wait for one call ended.
struct awaited_reply {
  /// Set when the wait gave up before the call ended: `interrupted` after a
  /// signal, `remote_error` past the local deadline safety net. The call was
  /// cancelled at the node and the reason printed on stderr; `result` is
  /// then meaningless.
  std::optional<exit_code> stopped;
  /// The call's own outcome, when `stopped` is unset.
  call_result result;
};

/// Waits for `pending`, sent through `cli` at `start` with deadline
/// `timeout` (zero: none), redrawing `bar` and polling `interrupts`
/// (signals blocked in every thread) every 100 ms; `bar` is cleared before
/// anything is printed and when the wait ends. Main thread only.
awaited_reply await_reply(client& cli, pending_call& pending,
                          absl::Time start, absl::Duration timeout,
                          const sigset_t& interrupts, progress_bar& bar);

} // namespace weft::cli
