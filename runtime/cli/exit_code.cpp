#include "runtime/cli/exit_code.hpp"

#include <absl/strings/str_cat.h>

#include "runtime/error_bridge.hpp"

namespace weft::cli {

std::string error_line(const absl::Status& status) {
  auto code = code_of(status);
  return absl::StrCat("error: ", to_string(code), " (", static_cast<int>(code),
                      "): ", status.message());
}

exit_code exit_code_of(const absl::Status& status, bool still_connected) {
  if (status.ok())
    return exit_code::ok;
  // The client reports a dead connection as `unavailable` ("connection
  // lost ...", "not connected"); a node that is draining answers
  // `unavailable` too, but then it is still connected when the reply lands.
  if (code_of(status) == errc::unavailable && !still_connected)
    return exit_code::connection;
  return exit_code::remote_error;
}

} // namespace weft::cli
