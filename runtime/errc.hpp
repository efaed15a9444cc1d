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

  // Precise protocol violations (docs/protocol.md, "Error codes"). Each one
  // costs the offending message or connection, never the process.

  /// The connection did not start with weft's preface (magic bytes).
  bad_preface = 15,
  /// The peer speaks a protocol major version we do not.
  unsupported_version = 16,
  /// A frame's length exceeds the receiver's max frame size.
  frame_too_large = 17,
  /// A frame's fields or payload layout are invalid for its type.
  malformed_frame = 18,
  /// A message header exceeds the receiver's max header size.
  header_too_large = 19,
  /// A message's total size exceeds the receiver's max message size.
  message_too_large = 20,
  /// The peer opened more concurrent messages than allowed.
  too_many_messages = 21,
  /// The peer sent more than its flow-control window allowed.
  flow_control_error = 22,
  /// A message id has the wrong parity, goes backwards, or is unknown.
  bad_message_id = 23,
  /// A message's chunks do not add up to its announced total size.
  size_mismatch = 24,
  /// Nothing arrived on the connection for the idle timeout.
  idle_timeout = 25,
  /// The peer did not answer a heartbeat ping in time.
  heartbeat_timeout = 26,
  /// The peer cancelled messages faster than the cancel rate limit allows.
  cancel_flood = 27,
  /// The peer made us queue too many control frames (e.g. pongs) unread.
  control_flood = 28,
  /// The peer is shutting down and did not process this message; retryable.
  going_away = 29,

  // Application codes added later (the wire values above never change).

  /// The request is valid but the state does not allow it now (e.g. a
  /// compare-and-set whose expected version is stale); retry after reading.
  failed_precondition = 30,
};

/// Returns the snake_case name of `code`, e.g. "deadline_exceeded".
absl::string_view to_string(errc code) noexcept;

/// Converts a code received from a peer (wire or message field); codes
/// this version does not know become `internal`.
errc errc_from_code(std::uint32_t code) noexcept;

/// Parses a name produced by to_string; returns false for unknown names.
bool from_string(absl::string_view name, errc& out) noexcept;

} // namespace weft

// Makes weft::errc convertible to caf::error with the category atom "weft".
CAF_ERROR_CODE_ENUM(weft::errc, "weft")
