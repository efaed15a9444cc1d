#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <absl/time/time.h>

#include "runtime/io/channel_options.hpp"

namespace weft::http {

/// Limits every HTTP connection enforces (defaults: docs/configuration.md,
/// "HTTP gateway"). Each one costs the offending request its connection:
/// the answer is written, then the connection closes.
struct http_limits {
  /// Longest request target (path and query): 414 past it.
  std::size_t max_target_bytes = 8 * 1024;
  /// Largest request head (request line and headers): 431 past it.
  std::size_t max_header_bytes = 16 * 1024;
  /// Most header fields in one request: 431 past it.
  std::size_t max_header_count = 100;
  /// Largest request body (after de-chunking), unless the route's
  /// route_options::max_body_bytes says otherwise: 413, answered as soon as
  /// the head announces more (or a chunk brings it past), without reading
  /// the rest.
  std::uint64_t max_body_bytes = 8 * 1024 * 1024;
  /// A request head must arrive within this time from its first byte: 408.
  absl::Duration header_timeout = absl::Seconds(10);
  /// A keep-alive connection with nothing in progress closes after this.
  absl::Duration idle_timeout = absl::Seconds(60);
  /// A body must arrive at this many bytes per second on average, measured
  /// after body_rate_grace from its start (slow-client defence): 408.
  std::size_t min_body_rate = 1024;
  absl::Duration body_rate_grace = absl::Seconds(5);
  /// Requests of one connection read and not yet answered; past it the
  /// connection stops reading (TCP back-pressure on a pipelining client).
  std::size_t max_pipelined = 32;
  /// Event streams (GET /events): a comment line after this much silence
  /// keeps proxies from closing them, and a stream whose client leaves this
  /// many bytes unread is closed (slow consumer).
  absl::Duration stream_keepalive = absl::Seconds(15);
  std::size_t max_stream_backlog = 1024 * 1024;
};

/// Settings of the HTTP/1.1 gateway.
struct http_gateway_options {
  /// Interface and port to listen on; port 0 picks a free port.
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  http_limits limits;
  /// Longest a handler may take: 504 past it.
  absl::Duration handler_timeout = absl::Seconds(60);
  /// Socket-level settings of each connection.
  io::channel_options channel;
};

} // namespace weft::http
