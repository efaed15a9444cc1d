#include "gateways/http/status_codes.hpp"

namespace weft::http {

int status_of(errc code) noexcept {
  switch (code) {
    case errc::ok:
      return 200;
    case errc::invalid_argument:
    case errc::protocol_error:
    case errc::checksum_mismatch:
    case errc::bad_preface:
    case errc::malformed_frame:
    case errc::bad_message_id:
    case errc::size_mismatch:
    case errc::flow_control_error:
      return 400;
    case errc::permission_denied:
      return 403;
    case errc::not_found:
      return 404;
    case errc::idle_timeout:
      return 408;
    case errc::already_exists:
    case errc::failed_precondition:
      return 409;
    case errc::limit_exceeded:
    case errc::message_too_large:
    case errc::frame_too_large:
      return 413;
    case errc::header_too_large:
      return 431;
    case errc::too_many_messages:
    case errc::cancel_flood:
    case errc::control_flood:
      return 429;
    case errc::cancelled:
      return 499;
    case errc::handler_failed:
    case errc::internal:
    case errc::io_error:
      return 500;
    case errc::unsupported_version:
      return 505;
    case errc::overloaded:
    case errc::unavailable:
    case errc::going_away:
      return 503;
    case errc::deadline_exceeded:
    case errc::heartbeat_timeout:
      return 504;
  }
  return 500;
}

absl::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

} // namespace weft::http
