#pragma once

#include <atomic>
#include <cstdint>

namespace weft::http {

/// Counters of one HTTP gateway, updated by its listener and connection
/// actors, read by tests and logs from any thread.
struct http_stats {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::int64_t> active{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> responses{0};
  /// Requests refused before any handler ran (malformed, limits, timeouts),
  /// each of which closed its connection.
  std::atomic<std::uint64_t> rejected{0};
};

} // namespace weft::http
