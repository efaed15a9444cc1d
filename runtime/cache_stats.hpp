#pragma once

#include <cstdint>

#include <caf/meta/type_name.hpp>

namespace weft {

/// A cache shard's counters (or their sum over shards, cache::stats).
/// Counts are totals since the shard was spawned; `entries` and `bytes`
/// are the current numbers.
struct cache_stats {
  /// Reads that found a live entry (get and get_or_compute).
  std::uint64_t hits = 0;
  /// Reads that found nothing or an expired entry.
  std::uint64_t misses = 0;
  /// Live entries removed to stay within the size bound (LRU first).
  std::uint64_t evictions = 0;
  /// Expired entries removed, on read, by the sweep or to make room.
  std::uint64_t expirations = 0;
  /// Compute functions started by get_or_compute (one per key and flight).
  std::uint64_t computes = 0;
  /// Live and not yet swept entries held now.
  std::uint64_t entries = 0;
  /// Bytes charged for them now: key size + bytes held by the value.
  std::uint64_t bytes = 0;

  /// Adds `other`'s counters to these (for summing shards).
  cache_stats& operator+=(const cache_stats& other) {
    hits += other.hits;
    misses += other.misses;
    evictions += other.evictions;
    expirations += other.expirations;
    computes += other.computes;
    entries += other.entries;
    bytes += other.bytes;
    return *this;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cache_stats& x) {
  return f(caf::meta::type_name("cache_stats"), x.hits, x.misses, x.evictions,
           x.expirations, x.computes, x.entries, x.bytes);
}

} // namespace weft
