#pragma once

#include <string>

#include <absl/time/time.h>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/logger.hpp"

namespace weft::cluster {

/// What a worker node's endpoint is made with.
struct worker_endpoint_options {
  /// The node's --name (the gateway keys the node as name@CAF node id).
  std::string node_name;
  /// The node's router: the endpoint subscribes to its route tables.
  caf::actor router;
  /// Bound of a request without a deadline (--handler-timeout).
  absl::Duration handler_timeout = absl::Seconds(60);
  logger log;
};

/// Spawns a worker node's endpoint: the actor gateways send requests to.
/// `(request_atom, request) -> response` goes through the worker's own
/// route_dispatcher (its middleware, pool bounds and keyed dispatch apply)
/// to a local handler actor. `(join_atom, actor hub)` from a joiner: a
/// gateway this node joined. `(drain_atom, timespan) -> ok_atom`: tells
/// every joined gateway to send nothing more (go-away), then answers once
/// the requests in flight are answered. One per node; a drain participant.
caf::actor spawn_worker_endpoint(caf::actor_system& sys,
                                 worker_endpoint_options opts);

} // namespace weft::cluster
