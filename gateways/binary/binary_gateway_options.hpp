#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <absl/time/time.h>

#include "runtime/io/channel_options.hpp"
#include "runtime/protocol/session.hpp"

namespace weft::binary {

/// Settings of the binary-protocol gateway (defaults: docs/protocol.md §9).
struct binary_gateway_options {
  /// Interface and port to listen on; port 0 picks a free port.
  std::string host = "127.0.0.1";
  std::uint16_t port = 7700;
  /// Protocol limits announced to clients, spill and chunking.
  protocol::session_options session;
  /// Socket-level settings of each connection. Reads are handed over in
  /// batches of at most 256 KiB: a batch is processed in one go, so an
  /// urgent frame read behind bulk data waits for at most one batch.
  io::channel_options channel = [] {
    io::channel_options c;
    c.max_read_bytes_per_event = 256 * 1024;
    return c;
  }();
  /// Longest a handler may take when the request carries no deadline.
  absl::Duration handler_timeout = absl::Seconds(60);
  /// Requests of one connection dispatched and not answered; past it the
  /// connection stops reading (TCP back-pressure on the client).
  std::size_t max_inflight_requests = 1024;
  /// Bytes a connection hands to its reactor ahead of the socket. Small, so
  /// that priority decisions are made late: an urgent message waits behind
  /// at most this much (plus the kernel's unsent bytes).
  std::size_t write_ahead = 256 * 1024;
  /// Pushes (and replies) a connection may hold unsent for a client that
  /// does not read; a push past it closes the connection (slow consumer,
  /// code overloaded) so it cannot hold memory or slow other clients.
  std::size_t max_push_backlog = 1024;
};

} // namespace weft::binary
