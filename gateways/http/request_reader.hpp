#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <absl/strings/string_view.h>

#include "gateways/http/http_gateway_options.hpp"

namespace weft::http {

namespace internal {
class beast_request_parser;
} // namespace internal

/// The head of one HTTP request as read by request_reader.
struct request_head {
  std::string method;
  /// The request target as sent (origin form: path and query).
  std::string target;
  /// 10 for HTTP/1.0, 11 for HTTP/1.1.
  int version = 11;
  /// In arrival order; names lower-cased.
  std::vector<std::pair<std::string, std::string>> headers;
  bool keep_alive = true;
  bool expect_continue = false;
  bool chunked = false;
  std::optional<std::uint64_t> content_length;
  std::string content_type;
};

/// Reads HTTP/1.1 requests from a byte stream, one at a time, with
/// Boost.Beast's parser (docs/architecture.md, "HTTP gateway") plus the
/// checks Beast leaves to us (one Content-Length of digits only, no
/// obs-fold, no Transfer-Encoding in HTTP/1.0, header count, target
/// length, body limit per route). Sans-I/O: bytes in, "need more" / head /
/// complete request / error out. Used by one connection actor.
class request_reader {
public:
  enum class state {
    /// Feed more bytes.
    need_more,
    /// The head is read: look at head(), then call read_body().
    head,
    /// The whole request is read: take head() and body(), then next().
    complete,
    /// The request is malformed or over a limit: answer error_status()
    /// and close the connection.
    failed,
  };

  explicit request_reader(const http_limits& limits);
  ~request_reader();
  request_reader(const request_reader&) = delete;
  request_reader& operator=(const request_reader&) = delete;

  /// Parses from `in` (the unconsumed bytes, starting where the previous
  /// call stopped); returns how many bytes it used. Stops after the head
  /// (state head) and after a complete request. The head must arrive in
  /// one buffer: keep what was not used and pass it again with more.
  std::size_t feed(absl::string_view in);

  /// After state head: reads the body, refusing more than `max_body`
  /// bytes (413). The state becomes complete at once for an empty body.
  void read_body(std::uint64_t max_body);

  /// Fails the request now with `status` (e.g. 413 once the route is
  /// known); the state becomes failed.
  void fail(int status, std::string reason);

  /// Starts the next request of the connection.
  void next();

  state current() const noexcept {
    return state_;
  }
  /// True once some byte of the current request was read.
  bool started() const noexcept {
    return started_;
  }
  const request_head& head() const noexcept {
    return head_;
  }
  request_head& head() noexcept {
    return head_;
  }
  std::string& body() noexcept {
    return body_;
  }
  int error_status() const noexcept {
    return error_status_;
  }
  const std::string& error_reason() const noexcept {
    return error_reason_;
  }

private:
  friend class internal::beast_request_parser;

  void fail_from_parser(int beast_error);

  const http_limits& limits_;
  std::unique_ptr<internal::beast_request_parser> parser_;
  state state_ = state::need_more;
  bool started_ = false;
  request_head head_;
  std::string body_;
  std::uint64_t max_body_ = 0;
  /// Set by the parser's callbacks: a check of ours failed.
  int error_status_ = 0;
  std::string error_reason_;
};

} // namespace weft::http
