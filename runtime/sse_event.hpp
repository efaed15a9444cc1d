#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <absl/status/statusor.h>

namespace weft {

/// One Server-Sent Event (`text/event-stream`, WHATWG HTML §9.2): what an
/// http_stream sends with send(), and what the gateway writes for a push
/// to a GET /events stream.
struct sse_event {
  /// The payload; each line (ended by LF, CR or CR LF) becomes one
  /// `data:` line, and the browser joins them with LF.
  std::string data;
  /// The `event:` type; empty means "message".
  std::string event;
  /// The `id:`: the browser sends the last one it saw back as
  /// `Last-Event-ID` when it reconnects (http_request::last_event_id).
  std::string id;
  /// The `retry:` reconnection delay in milliseconds, if set.
  std::optional<std::int64_t> retry_ms;
};

/// The event as text, ending with the blank line. Errors: invalid_argument
/// when `event` or `id` hold CR, LF or NUL (they would forge fields).
absl::StatusOr<std::string> encode_sse(const sse_event& ev);

} // namespace weft
