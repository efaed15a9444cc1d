#pragma once

#include <chrono>
#include <cstddef>

#include <caf/timespan.hpp>

namespace weft {

/// Limits and timings of a cache (actors/cache.hpp). The size bounds are
/// for the whole cache; each of its shards gets an equal share (rounded
/// up), and spawn_cache_shard takes them as that one shard's bounds.
struct cache_options {
  /// Shard actors; keys are spread over them by hash. 0 picks one per CAF
  /// scheduler thread.
  std::size_t shards = 0;
  /// Entries held at most; past it the least recently used entry goes.
  /// Must be positive.
  std::size_t max_entries = 100'000;
  /// Bytes held at most, counting each entry's key size plus the bytes its
  /// value keeps alive (shared_bytes::capacity_held: a small slice of a
  /// large buffer pins, and is charged for, the whole buffer). Per-entry
  /// bookkeeping (about 150 bytes) is not counted. Must be positive.
  std::size_t max_bytes = std::size_t{64} << 20;
  /// How often each shard sweeps expired entries; 0 turns sweeping off
  /// (expired entries then go only when read or when room is needed).
  caf::timespan sweep_interval = std::chrono::seconds(1);
  /// Expired entries removed per sweep message; more are removed by
  /// further messages, so a big sweep never stalls a shard for long.
  std::size_t sweep_batch = 10'000;
  /// get_or_compute: waiters get deadline_exceeded if a compute function
  /// takes longer (the function itself keeps running; its late result is
  /// dropped). 0: no limit.
  caf::timespan compute_timeout{0};
  /// get_or_compute: run compute functions in detached actors (a thread
  /// each) instead of on CAF's worker threads; for functions that block.
  bool detached_compute = false;
  /// The blocking helpers of `cache` (plain threads) give up after this
  /// and return deadline_exceeded.
  caf::timespan call_timeout = std::chrono::seconds(30);
};

} // namespace weft
