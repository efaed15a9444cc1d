#pragma once

#include <cstdint>

#include <absl/time/time.h>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/logger.hpp"

namespace weft::cluster {

/// What a gateway's cluster hub is made with.
struct cluster_hub_options {
  /// The node's router: merges each joined node's routes.
  caf::actor router;
  /// Passed to each node proxy (see node_proxy_options).
  absl::Duration handler_timeout = absl::Seconds(60);
  std::uint64_t max_body_bytes = 64ull << 20;
  logger log;
};

/// Spawns a gateway's cluster hub: the one actor published on the node
/// port. It answers `(join_atom, cluster_announcement, actor endpoint) ->
/// ok_atom` from joining workers: spawns a node proxy for the endpoint and
/// has the router merge the node's routes (a conflicting route definition
/// refuses the join, logged as `cluster.join_rejected`); the same endpoint
/// joining again updates its routes and keeps its proxy
/// (`cluster.node_routes`). `(leave_atom,
/// std::string node_key)`: go-away from a draining worker. `(drain_atom,
/// timespan) -> ok_atom` once every proxy finished its requests in flight.
/// Its proxies go down with it. Spawned by the node; a drain participant.
caf::actor spawn_cluster_hub(caf::actor_system& sys, cluster_hub_options opts);

} // namespace weft::cluster
