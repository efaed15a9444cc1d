#pragma once

#include <cstdint>
#include <memory>

#include <absl/status/statusor.h>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "gateways/binary/binary_gateway_options.hpp"
#include "gateways/binary/gateway_stats.hpp"
#include "runtime/io/reactor_pool.hpp"
#include "runtime/logger.hpp"

namespace weft::binary {

/// A running binary-protocol gateway.
struct binary_gateway {
  /// The listener actor: spawns one connection actor per accepted socket,
  /// answers (drain_atom, timespan) -> ok_atom by closing the listening
  /// socket and draining every connection, and takes its connections down
  /// when it exits. Register it as a drain participant of the node.
  caf::actor listener;
  /// The bound port (useful with port 0).
  std::uint16_t port = 0;
  std::shared_ptr<gateway_stats> stats;
};

/// Binds opts.host:opts.port on `pool` and serves the routes of `router`
/// (actors/router.hpp), following its changes; connections register with
/// `registry` (actors/client_registry.hpp) for pushes, if given. Blocks
/// the calling thread (not an actor) until listening. `pool` must outlive
/// the gateway's actors.
absl::StatusOr<binary_gateway>
start_binary_gateway(caf::actor_system& sys, io::reactor_pool& pool,
                     const caf::actor& router, binary_gateway_options opts,
                     logger log, caf::actor registry = {});

} // namespace weft::binary
