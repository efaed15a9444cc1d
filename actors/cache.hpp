#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <caf/duration.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "actors/cache_options.hpp"
#include "actors/cache_shard.hpp"
#include "runtime/logger.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

/// A TTL cache sharded over several cache_shard actors by key hash, so its
/// work spreads over CAF's worker threads without locks. This object only
/// routes: it holds the shards' handles and owns them (they go down when it
/// is destroyed). Move-only. Its const methods may be called from any
/// thread, concurrently. See docs/services.md.
///
/// From an actor, send to shard_for(key) or use the request_* helpers and
/// `.then(...)`; from a plain thread, use the blocking helpers (each makes
/// a caf::scoped_actor: about a few microseconds; use actors for volume).
class cache {
public:
  /// Spawns the shards in `sys`, which must outlive this object. Errors:
  /// invalid_argument for a zero max_entries or max_bytes.
  static absl::StatusOr<cache> start(caf::actor_system& sys, cache_options opts,
                                     logger log);

  cache(cache&& other) noexcept;
  cache& operator=(cache&& other) noexcept;
  cache(const cache&) = delete;
  cache& operator=(const cache&) = delete;

  /// Takes the shards down (see stop).
  ~cache();

  /// Sends every shard an exit. Afterwards the blocking helpers fail with
  /// unavailable, and shard_for, shards and the request_* helpers must not
  /// be used: stop only once no actor sends through this object any more.
  /// Waiters of a compute in flight get an error from CAF.
  void stop();

  /// The index of the shard that owns `key`.
  std::size_t shard_index(absl::string_view key) const noexcept;

  /// The shard that owns `key`.
  const cache_shard_actor& shard_for(absl::string_view key) const noexcept {
    return shards_[shard_index(key)];
  }

  /// Every shard, e.g. to ask each for its stats.
  const std::vector<cache_shard_actor>& shards() const noexcept {
    return shards_;
  }

  // -- from actors: `self->request(...)` to the key's shard; chain .then ---
  // The default timeout is infinite: CAF 0.17 keeps every request timeout
  // in its clock until it expires, a cost per request at high rates, and a
  // local shard that goes down answers pending requests with an error.

  /// Requests the live value of `key`: shared_bytes, or not_found.
  template <class Self>
  auto request_get(Self* self, std::string key,
                   caf::duration timeout = caf::infinite) const {
    const auto& shard = shard_for(key);
    return self->request(shard, timeout, cache_get_atom_v, std::move(key));
  }

  /// Requests storing `value` under `key` with `ttl` (<= 0: none): ok_atom.
  template <class Self>
  auto request_set(Self* self, std::string key, shared_bytes value,
                   caf::timespan ttl,
                   caf::duration timeout = caf::infinite) const {
    const auto& shard = shard_for(key);
    return self->request(shard, timeout, cache_put_atom_v, std::move(key),
                         std::move(value), ttl);
  }

  /// Requests removing `key`: bool, whether a live entry was removed.
  template <class Self>
  auto request_erase(Self* self, std::string key,
                     caf::duration timeout = caf::infinite) const {
    const auto& shard = shard_for(key);
    return self->request(shard, timeout, cache_erase_atom_v, std::move(key));
  }

  /// Requests the live value of `key`, else `compute`'s (single flight).
  template <class Self>
  auto request_get_or_compute(Self* self, std::string key,
                              cache_compute compute, caf::timespan ttl,
                              caf::duration timeout = caf::infinite) const {
    const auto& shard = shard_for(key);
    return self->request(shard, timeout, cache_compute_atom_v, std::move(key),
                         std::move(compute), ttl);
  }

  // -- from plain threads: blocking, up to cache_options::call_timeout -----
  // Not from inside an actor: blocking a CAF worker thread can deadlock.

  /// The live value of `key`; NotFound on a miss.
  absl::StatusOr<shared_bytes> get(absl::string_view key) const;

  /// Stores `value` under `key`, expiring after `ttl` (<= 0: never).
  absl::Status set(absl::string_view key, shared_bytes value,
                   caf::timespan ttl = caf::timespan{0}) const;

  /// Removes `key`; whether a live entry was there.
  absl::StatusOr<bool> erase(absl::string_view key) const;

  /// The live value of `key`, else runs `compute` (once for all concurrent
  /// misses of the key, off the shard) and stores its value with `ttl`.
  /// The compute function's error goes to every waiter; nothing is stored.
  absl::StatusOr<shared_bytes>
  get_or_compute(absl::string_view key, cache_compute_function compute,
                 caf::timespan ttl = caf::timespan{0}) const;

  /// The counters summed over the shards.
  absl::StatusOr<cache_stats> stats() const;

private:
  cache(caf::actor_system& sys, std::vector<cache_shard_actor> shards,
        caf::timespan call_timeout);

  // Not owned: the actor system outlives the cache (start's contract); the
  // blocking helpers need it for their scoped actors.
  caf::actor_system* sys_ = nullptr;
  std::vector<cache_shard_actor> shards_;
  caf::timespan call_timeout_{0};
};

} // namespace weft
