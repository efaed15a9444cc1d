#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "runtime/errc.hpp"

namespace weft::binary {

/// Counters of one binary gateway, updated by its listener and connection
/// actors and read by tests, logs and (later) metrics from any thread.
struct gateway_stats {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::int64_t> active{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> replies{0};
  /// Pushes queued to clients, and connections closed as slow consumers.
  std::atomic<std::uint64_t> pushes{0};
  std::atomic<std::uint64_t> slow_consumers{0};
  /// Requests dispatched to handlers and not answered yet (all connections).
  std::atomic<std::int64_t> inflight{0};
  /// Partially received messages held by sessions (all connections).
  std::atomic<std::int64_t> open_inbound{0};
  /// Bytes reserved for partially received in-memory messages.
  std::atomic<std::int64_t> inbound_memory{0};
  /// Connections and messages that ended with each weft::errc code.
  std::array<std::atomic<std::uint64_t>, 64> connection_errors{};
  std::array<std::atomic<std::uint64_t>, 64> message_rejections{};

  std::uint64_t connection_errors_of(errc code) const noexcept {
    return connection_errors[static_cast<std::size_t>(code) % 64].load();
  }
};

} // namespace weft::binary
