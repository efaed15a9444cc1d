#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <caf/actor.hpp>

#include "runtime/middleware.hpp"
#include "runtime/schema_registry.hpp"
#include "runtime/route_spec.hpp"
#include "runtime/route_table_ref.hpp"

namespace weft {

/// The load of one route's pool: requests in flight per handler actor and
/// in total. Shared by every edge that dispatches to the route; atomics
/// only, no locks. Counts are taken by route_dispatcher::prepare and
/// given back when the request leaves its edge (answered, cancelled or its
/// connection gone).
class pool_load {
public:
  pool_load(std::size_t workers, std::size_t max_queue);

  /// Takes a place for one request on `worker`; false (and nothing taken)
  /// when the pool already has max_queue requests in flight.
  bool try_acquire(std::size_t worker) noexcept;

  void release(std::size_t worker) noexcept;

  /// Whether `extra` more requests (counted elsewhere, not applied yet)
  /// plus one would stay within max_queue. Takes nothing.
  bool admits(std::int64_t extra) const noexcept {
    return total_.load(std::memory_order_relaxed) + extra < max_queue_;
  }

  /// Applies `n` places taken (or, negative, given back) on `worker` at
  /// once: route_dispatcher's batched counting.
  void adjust(std::size_t worker, std::int64_t n) noexcept;

  /// The worker with the fewest requests in flight (the first on ties),
  /// counting `extra` more on `extra_worker` (places the caller took and
  /// has not applied yet).
  std::size_t least_loaded(std::size_t extra_worker = 0,
                           std::int64_t extra = 0) const noexcept;

  /// The next worker in turn.
  std::size_t next() noexcept;

  std::int64_t in_flight() const noexcept {
    return total_.load(std::memory_order_relaxed);
  }

  std::int64_t in_flight(std::size_t worker) const noexcept {
    return size_ > 1 ? per_worker_[worker].load(std::memory_order_relaxed)
                     : in_flight();
  }

  std::size_t workers() const noexcept {
    return size_;
  }

private:
  std::unique_ptr<std::atomic<std::int64_t>[]> per_worker_;
  std::size_t size_;
  std::int64_t max_queue_;
  std::atomic<std::int64_t> total_{0};
  std::atomic<std::uint64_t> next_{0};
};

/// A route as the router serves it: its spec, its handler actors and the
/// middleware and error handlers that apply to it. Immutable; a change
/// (a restart, a new registration) makes a new binding and a new table.
struct route_binding {
  /// The full name, prefixes joined ("api.chat.say").
  std::string name;
  std::shared_ptr<const route_spec> spec;
  /// The handler actors; empty when the route is down (see down_reason).
  std::vector<caf::actor> workers;
  std::string down_reason;
  std::shared_ptr<pool_load> load;
  /// Outermost (node) first.
  std::vector<std::shared_ptr<const middleware>> middlewares;
  /// Innermost blueprint first, the node's last.
  std::vector<std::shared_ptr<const error_handler>> error_handlers;
  /// The workers answer request_batch too.
  bool batches = false;
  /// by_key on a protobuf field: its number (0: by a metadata key).
  int key_field = 0;

  bool keyed() const noexcept {
    return spec->options.dispatch == dispatch_policy::by_key;
  }
};

/// Every route of a node at one moment. The router makes a new table for
/// each change and sends it to the edges; readers never see it change.
struct route_table {
  absl::flat_hash_map<std::string, std::shared_ptr<const route_binding>>
    routes;
  /// Grows with every change.
  std::uint64_t version = 0;
  /// Every request and reply type of these routes (and the types they
  /// reference): JSON <-> protobuf for every edge.
  std::shared_ptr<const schema_registry> schemas;
};

} // namespace weft
