#pragma once

#include <string>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "actors/cache_options.hpp"
#include "runtime/logger.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

/// One shard of a cache: an actor owning the entries of the keys that hash
/// to it (actors/cache.hpp routes keys). Entries expire after their TTL (a
/// TTL of 0 or less never expires), are checked on every read, and are swept
/// in the background; past its size bounds the least recently used entry
/// is evicted. Time is CAF's actor clock. See docs/services.md.
using cache_shard_actor = caf::typed_actor<
  /// The live value of a key; not_found on a miss or an expired entry.
  caf::replies_to<cache_get_atom, std::string>::with<shared_bytes>,
  /// Stores a value with a TTL (<= 0: none), replacing any old one.
  /// limit_exceeded if the entry alone is larger than the shard's max_bytes.
  caf::replies_to<cache_put_atom, std::string, shared_bytes,
                  caf::timespan>::with<ok_atom>,
  /// Removes a key; answers whether a live entry was there.
  caf::replies_to<cache_erase_atom, std::string>::with<bool>,
  /// The live value, else the compute function's result, stored with the
  /// TTL. Concurrent misses for one key share one run of the function
  /// (single flight) and all get its value or its error.
  caf::replies_to<cache_compute_atom, std::string, cache_compute,
                  caf::timespan>::with<shared_bytes>,
  /// Answers the shard's counters.
  caf::replies_to<cache_stats_atom>::with<cache_stats>,
  /// Internal: the shard's sweep timer. Sent by the shard to itself only.
  caf::reacts_to<sweep_atom>>;

/// Spawns one cache shard in `sys`. `opts.max_entries` and `opts.max_bytes`
/// are this shard's own bounds. Callable from any thread.
cache_shard_actor spawn_cache_shard(caf::actor_system& sys,
                                    const cache_options& opts, logger log);

} // namespace weft
