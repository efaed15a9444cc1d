#include "runtime/error_bridge.hpp"

#include <absl/strings/cord.h>
#include <caf/atom.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace weft {

namespace {

constexpr absl::string_view payload_url = "weft.errc";

absl::StatusCode to_absl_code(errc code) {
  using absl::StatusCode;
  switch (code) {
    case errc::ok:
      return StatusCode::kOk;
    case errc::invalid_argument:
      return StatusCode::kInvalidArgument;
    case errc::protocol_error:
    case errc::bad_preface:
    case errc::unsupported_version:
    case errc::frame_too_large:
    case errc::malformed_frame:
    case errc::flow_control_error:
    case errc::bad_message_id:
    case errc::size_mismatch:
      return StatusCode::kFailedPrecondition;
    case errc::header_too_large:
    case errc::message_too_large:
    case errc::too_many_messages:
    case errc::cancel_flood:
    case errc::control_flood:
      return StatusCode::kResourceExhausted;
    case errc::idle_timeout:
    case errc::heartbeat_timeout:
    case errc::going_away:
      return StatusCode::kUnavailable;
    case errc::not_found:
      return StatusCode::kNotFound;
    case errc::already_exists:
      return StatusCode::kAlreadyExists;
    case errc::limit_exceeded:
    case errc::overloaded:
      return StatusCode::kResourceExhausted;
    case errc::deadline_exceeded:
      return StatusCode::kDeadlineExceeded;
    case errc::cancelled:
      return StatusCode::kCancelled;
    case errc::checksum_mismatch:
      return StatusCode::kDataLoss;
    case errc::unavailable:
    case errc::io_error:
      return StatusCode::kUnavailable;
    case errc::handler_failed:
      return StatusCode::kUnknown;
    case errc::permission_denied:
      return StatusCode::kPermissionDenied;
    case errc::failed_precondition:
      return StatusCode::kFailedPrecondition;
    case errc::internal:
      return StatusCode::kInternal;
  }
  return StatusCode::kInternal;
}

errc from_absl_code(absl::StatusCode code) {
  using absl::StatusCode;
  switch (code) {
    case StatusCode::kOk:
      return errc::ok;
    case StatusCode::kInvalidArgument:
      return errc::invalid_argument;
    case StatusCode::kNotFound:
    case StatusCode::kUnimplemented:
      return errc::not_found;
    case StatusCode::kAlreadyExists:
      return errc::already_exists;
    case StatusCode::kResourceExhausted:
    case StatusCode::kOutOfRange:
      return errc::limit_exceeded;
    case StatusCode::kDeadlineExceeded:
      return errc::deadline_exceeded;
    case StatusCode::kCancelled:
    case StatusCode::kAborted:
      return errc::cancelled;
    case StatusCode::kDataLoss:
      return errc::checksum_mismatch;
    case StatusCode::kUnavailable:
      return errc::unavailable;
    case StatusCode::kFailedPrecondition:
      return errc::failed_precondition;
    case StatusCode::kPermissionDenied:
    case StatusCode::kUnauthenticated:
      return errc::permission_denied;
    case StatusCode::kUnknown:
      return errc::handler_failed;
    case StatusCode::kInternal:
    default:
      return errc::internal;
  }
}

errc from_sec(caf::sec code) {
  switch (code) {
    case caf::sec::none:
      return errc::ok;
    case caf::sec::request_timeout:
    case caf::sec::connection_timeout:
      return errc::deadline_exceeded;
    case caf::sec::request_receiver_down:
    case caf::sec::no_route_to_receiving_node:
    case caf::sec::cannot_connect_to_node:
    case caf::sec::socket_disconnected:
    case caf::sec::remote_lookup_failed:
      return errc::unavailable;
    case caf::sec::unexpected_message:
    case caf::sec::unexpected_actor_messaging_interface:
    case caf::sec::unknown_type:
      return errc::not_found;
    case caf::sec::invalid_argument:
      return errc::invalid_argument;
    case caf::sec::malformed_basp_message:
    case caf::sec::incompatible_versions:
    case caf::sec::incompatible_application_ids:
      return errc::protocol_error;
    case caf::sec::network_syscall_failed:
    case caf::sec::socket_operation_failed:
    case caf::sec::cannot_open_port:
    case caf::sec::cannot_open_file:
      return errc::io_error;
    case caf::sec::runtime_error:
      return errc::handler_failed;
    default:
      return errc::internal;
  }
}

} // namespace

caf::error make_weft_error(errc code, std::string message) {
  if (code == errc::ok)
    return caf::error{};
  return caf::make_error(code, std::move(message));
}

absl::Status make_status(errc code, absl::string_view message) {
  if (code == errc::ok)
    return absl::OkStatus();
  absl::Status result{to_absl_code(code), message};
  result.SetPayload(payload_url, absl::Cord{to_string(code)});
  return result;
}

errc code_of(const absl::Status& status) {
  if (status.ok())
    return errc::ok;
  if (auto payload = status.GetPayload(payload_url)) {
    errc code;
    if (from_string(std::string{*payload}, code))
      return code;
  }
  return from_absl_code(status.code());
}

errc code_of(const caf::error& err) {
  if (!err)
    return errc::ok;
  if (err.category() == caf::atom("weft"))
    return static_cast<errc>(err.code());
  if (err.category() == caf::atom("system"))
    return from_sec(static_cast<caf::sec>(err.code()));
  return errc::internal;
}

std::string message_of(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  if (ctx.empty())
    return std::string{};
  return caf::to_string(ctx);
}

absl::Status to_status(const caf::error& err) {
  if (!err)
    return absl::OkStatus();
  auto code = code_of(err);
  auto message = message_of(err);
  if (err.category() != caf::atom("weft")) {
    // Keep CAF's own name for the failure, e.g. "system: request_timeout".
    auto text = caf::to_string(err);
    message = message.empty() ? text : text + ": " + message;
  }
  return make_status(code, message);
}

caf::error to_error(const absl::Status& status) {
  return make_weft_error(code_of(status), std::string{status.message()});
}

} // namespace weft
