#pragma once

#include <absl/strings/string_view.h>
#include <cstdint>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace weft {

/// Every error weft reports, one code space for actors, codecs and APIs.
/// Values are stable: they travel on the wire (docs/protocol.md) and in logs.
enum class errc : std::uint8_t {
  ok = 0,
  /// An argument or configuration value is malformed or out of range.
  invalid_argument = 1,
  /// A named thing (route, option, file, client) does not exist.
  not_found = 2,
  /// The thing to create exists already.
  already_exists = 3,
  /// A limit (size, count, queue, window) was exceeded.
  limit_exceeded = 4,
  /// The receiver is over capacity; retry later.
  overloaded = 5,
  /// The deadline passed before the work completed.
  deadline_exceeded = 6,
  /// The operation was cancelled by either side.
  cancelled = 7,
  /// The peer violated the protocol; the connection pays for it.
  protocol_error = 8,
  /// Data failed an integrity check.
  checksum_mismatch = 9,
  /// The component is draining or stopped and accepts no new work.
  unavailable = 10,
  /// A handler failed; the message says how.
  handler_failed = 11,
  /// An operating-system call failed; the message carries errno's text.
  io_error = 12,
  /// The caller is not allowed to do this.
  permission_denied = 13,
  /// A bug in weft: an invariant did not hold.
  internal = 14,
};

/// Returns the snake_case name of `code`, e.g. "deadline_exceeded".
absl::string_view to_string(errc code) noexcept;

/// Parses a name produced by to_string; returns false for unknown names.
bool from_string(absl::string_view name, errc& out) noexcept;

} // namespace weft

// Makes weft::errc convertible to caf::error with the category atom "weft".
CAF_ERROR_CODE_ENUM(weft::errc, "weft")
