#include "runtime/errc.hpp"

#include <array>

namespace weft {

namespace {

constexpr std::array<absl::string_view, 31> names = {
  "ok",
  "invalid_argument",
  "not_found",
  "already_exists",
  "limit_exceeded",
  "overloaded",
  "deadline_exceeded",
  "cancelled",
  "protocol_error",
  "checksum_mismatch",
  "unavailable",
  "handler_failed",
  "io_error",
  "permission_denied",
  "internal",
  "bad_preface",
  "unsupported_version",
  "frame_too_large",
  "malformed_frame",
  "header_too_large",
  "message_too_large",
  "too_many_messages",
  "flow_control_error",
  "bad_message_id",
  "size_mismatch",
  "idle_timeout",
  "heartbeat_timeout",
  "cancel_flood",
  "control_flood",
  "going_away",
  "failed_precondition",
};

} // namespace

absl::string_view to_string(errc code) noexcept {
  auto index = static_cast<size_t>(code);
  return index < names.size() ? names[index] : absl::string_view{"unknown"};
}

errc errc_from_code(std::uint32_t code) noexcept {
  return code < names.size() ? static_cast<errc>(code) : errc::internal;
}

bool from_string(absl::string_view name, errc& out) noexcept {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) {
      out = static_cast<errc>(i);
      return true;
    }
  }
  return false;
}

} // namespace weft
