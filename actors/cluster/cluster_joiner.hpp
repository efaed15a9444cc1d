#pragma once

#include <cstdint>
#include <string>

#include <absl/time/time.h>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/logger.hpp"

namespace weft::cluster {

/// What a worker's joiner is made with.
struct cluster_joiner_options {
  /// The gateway's node port (a DNS name is resolved on each attempt).
  std::string host;
  std::uint16_t port = 0;
  /// This node's --name, its worker endpoint and its router (the routes
  /// announced are read from the router's table at each attempt).
  std::string node_name;
  caf::actor endpoint;
  caf::actor router;
  /// Retries wait 100 ms, 200 ms, ... up to this, each jittered to
  /// between half and all of it.
  absl::Duration backoff_max = absl::Seconds(5);
  /// Join through CAF's OpenSSL module (the node's config went through
  /// apply_node_tls) instead of plain BASP, after connect_node's own TLS
  /// handshake (runtime/node_tls.hpp).
  bool tls = false;
  logger log;
};

/// Spawns the actor that keeps one worker node joined to one gateway:
/// connects through CAF's middleman actor (asynchronously: the scheduler
/// never blocks on a connect or a DNS lookup), sends `(join_atom,
/// cluster_announcement, endpoint)` to the gateway's hub, tells the
/// endpoint, and monitors the hub. It follows the router's tables and
/// announces the routes again when they change while joined. A failed
/// attempt logs
/// `cluster.join_failed` with the error and the next retry; a lost gateway
/// (`cluster.gateway_lost`: it died, or the connection timed out, e.g.
/// after this process was frozen) starts joining again. Spawned by the
/// node, one per --join.
caf::actor spawn_cluster_joiner(caf::actor_system& sys,
                                cluster_joiner_options opts);

} // namespace weft::cluster
