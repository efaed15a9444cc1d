#pragma once

#include <cstdint>
#include <string>

#include <absl/time/time.h>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/logger.hpp"

namespace weft::cluster {

/// What a gateway's node proxy is made with.
struct node_proxy_options {
  /// The worker node's key (name@CAF node id) and its worker endpoint
  /// (a CAF proxy of the remote actor).
  std::string key;
  caf::actor endpoint;
  /// The gateway's router: told to drop the node's routes.
  caf::actor router;
  /// Bound of a request without a deadline (the node's --handler-timeout).
  absl::Duration handler_timeout = absl::Seconds(60);
  /// A file-backed body is read into memory before it crosses nodes; larger
  /// ones are refused with limit_exceeded.
  std::uint64_t max_body_bytes = 64ull << 20;
  logger log;
};

/// Spawns the local stand-in of one joined worker node on a gateway: a
/// route worker answering `(request_atom, request) -> response` by
/// forwarding to the node's endpoint. It tracks every request in flight;
/// when the endpoint goes down (the connection died, or CAF's connection
/// timeout fired) it answers them all `unavailable` at once, has the router
/// drop the node's routes, emits `cluster.node_down` and exits. Also:
/// `(leave_atom)` (go-away: drop the routes, finish what is in flight,
/// exit) and `(drain_atom, timespan) -> ok_atom`. Called by the cluster
/// hub.
caf::actor spawn_node_proxy(caf::actor_system& sys, node_proxy_options opts);

} // namespace weft::cluster
