#pragma once

#include <string>

#include <absl/status/status.h>
#include <caf/error.hpp>

#include "runtime/errc.hpp"

namespace weft {

/// The one bridge between actor-side errors (`caf::error`) and API-side
/// errors (`absl::Status`). Round trips keep the exact `errc`: a Status made
/// here carries the code as the payload `weft.errc`. Callable from any thread.

/// Makes a weft error whose context is one string, e.g. for an actor reply.
caf::error make_weft_error(errc code, std::string message);

/// Converts an actor-side error. `caf::sec` codes map to the closest
/// absl code (request_timeout -> DeadlineExceeded, ...); an empty error is OK.
absl::Status to_status(const caf::error& err);

/// Converts an API-side status; codes without a weft payload map by table.
caf::error to_error(const absl::Status& status);

/// Returns the weft code of `status`: its payload if any, else by table.
errc code_of(const absl::Status& status);

/// Returns the weft code of `err`: its own code for the "weft" category,
/// the closest weft code for CAF's system errors, `internal` otherwise.
errc code_of(const caf::error& err);

/// Returns the human-readable message carried by `err` ("" if none).
std::string message_of(const caf::error& err);

/// Makes a Status for `code` with the weft payload attached.
absl::Status make_status(errc code, absl::string_view message);

} // namespace weft
