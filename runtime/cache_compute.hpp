#pragma once

#include <functional>
#include <memory>

#include <absl/status/statusor.h>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include "runtime/shared_bytes.hpp"

namespace weft {

/// Computes a missing cache value (cache::get_or_compute). Runs off the
/// cache shard's actor, in an actor of its own, at most once per key at a
/// time however many callers missed. May be slow; an error or an exception
/// goes to every waiter and nothing is cached.
using cache_compute_function = std::function<absl::StatusOr<shared_bytes>()>;

/// Carries a compute function to a cache shard in
/// `(cache_compute_atom, key, cache_compute, ttl)`. Process-local: not
/// serializable.
struct cache_compute {
  /// shared_ptr: the shard hands the function to the actor that runs it
  /// while the caller's message may still hold it.
  std::shared_ptr<const cache_compute_function> fn;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cache_compute&) {
  return f(caf::meta::type_name("cache_compute"));
}

} // namespace weft

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weft::cache_compute)
