#pragma once

#include <string>
#include <utility>
#include <vector>

#include <absl/strings/string_view.h>
#include <google/protobuf/struct.pb.h>

#include "runtime/body_codec.hpp"
#include "runtime/payload.hpp"
#include "runtime/request.hpp"

namespace weft {

/// What an HTTP route's handler answers: a status, headers and a body
/// (text, JSON, bytes or a file). The gateway adds Date, Content-Length
/// and Connection itself.
///
///     return weft::http_response::json(R"({"id":7})").with_status(201);
struct http_response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  /// Extra headers, in order. Names must be tokens and values must not
  /// contain CR, LF or NUL; the gateway drops any that do not.
  std::vector<std::pair<std::string, std::string>> headers;
  payload body;

  /// A `text/plain; charset=utf-8` response.
  static http_response text(absl::string_view text, int status = 200);
  /// An `application/json` response from JSON text.
  static http_response json(absl::string_view json_text, int status = 200);
  /// An `application/json` response printed from `value`.
  static http_response json(const google::protobuf::Value& value,
                            int status = 200);
  /// Raw bytes of the given content type.
  static http_response bytes(absl::string_view data,
                             std::string content_type
                             = "application/octet-stream");
  /// A file on disk, streamed by the gateway (the file is not owned).
  static http_response file(payload file_body,
                            std::string content_type
                            = "application/octet-stream");

  http_response& with_status(int code) & {
    status = code;
    return *this;
  }
  http_response&& with_status(int code) && {
    status = code;
    return std::move(*this);
  }
  http_response& with_header(std::string name, std::string value) & {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  http_response&& with_header(std::string name, std::string value) && {
    headers.emplace_back(std::move(name), std::move(value));
    return std::move(*this);
  }

  /// The weft response that carries it to the gateway: the status under
  /// metadata `:status`, headers under their names.
  response to_response() &&;
};

/// HTTP responses travel as raw responses (see http_response::to_response),
/// so that reply_to<http_response> answers an asynchronous HTTP handler.
template <>
struct body_codec<http_response> {
  static std::string type_name() {
    return "bytes";
  }
  static const google::protobuf::Message* prototype() {
    return nullptr;
  }
  static absl::StatusOr<response> encode(const http_response& reply) {
    return http_response{reply}.to_response();
  }
};

} // namespace weft
