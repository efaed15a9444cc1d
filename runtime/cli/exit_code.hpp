#pragma once

#include <string>

#include <absl/status/status.h>

namespace weft::cli {

/// The exit codes of the `weft` tool (docs/cli.md, "Exit codes").
enum class exit_code : int {
  /// The call succeeded, or every ping was answered.
  ok = 0,
  /// The node answered with an error, the deadline passed, a ping was lost,
  /// or the reply could not be written.
  remote_error = 1,
  /// The command line is wrong (or a --file cannot be read).
  usage = 2,
  /// The node cannot be reached, or the connection was lost.
  connection = 3,
  /// Stopped by SIGINT / SIGTERM (128 + SIGINT).
  interrupted = 130,
  /// stdout was closed by its reader (128 + SIGPIPE), like a killed `cat`.
  broken_pipe = 141,
};

/// Returns `code` as the process exit status.
constexpr int to_int(exit_code code) noexcept {
  return static_cast<int>(code);
}

/// The line printed for a failed call:
/// `error: <code name> (<code number>): <message>`.
std::string error_line(const absl::Status& status);

/// How a failed call or ping ends the process: `unavailable` while the
/// client is no longer connected is a lost connection (3); anything else
/// is an error answer (1).
exit_code exit_code_of(const absl::Status& status, bool still_connected);

} // namespace weft::cli
