#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <absl/strings/string_view.h>

#include "runtime/errc.hpp"

namespace weft::http {

/// What goes into a response head besides the status line.
struct response_head {
  int status = 200;
  /// Empty: no Content-Type header.
  absl::string_view content_type;
  std::uint64_t content_length = 0;
  /// "Transfer-Encoding: chunked" instead of a Content-Length (streams).
  bool chunked = false;
  /// Neither: the body ends when the connection closes (a stream to an
  /// HTTP/1.0 client, which knows no chunked encoding).
  bool until_close = false;
  /// "Connection: close" (the connection ends after this response).
  bool close = false;
  /// "Connection: keep-alive" (an HTTP/1.0 client asked for it).
  bool keep_alive_10 = false;
  /// For 405 and OPTIONS: the Allow header's value.
  absl::string_view allow;
  /// The request's id (X-Request-Id), if it has one.
  absl::string_view request_id;
  /// Extra headers from the handler (response metadata): entries whose
  /// name starts with ':' are skipped, a value holding several lines gives
  /// one header per line, and invalid names or values are dropped.
  const std::map<std::string, std::string>* extra = nullptr;
};

/// Writes the status line and headers of a response, with Date and
/// Content-Length (omitted for 1xx, 204 and 304), ending with the empty
/// line.
std::string write_head(const response_head& head, absl::string_view date);

/// A token as RFC 9110 defines header names.
bool valid_header_name(absl::string_view name);
/// No CR, LF or NUL (nor other control characters but HTAB).
bool valid_header_value(absl::string_view value);

/// The JSON body of an error answer: {"code":"not_found","message":"..."}.
std::string error_json(errc code, absl::string_view message);

} // namespace weft::http
