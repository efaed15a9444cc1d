#pragma once

#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "gateways/binary/binary_gateway_options.hpp"
#include "gateways/binary/gateway_stats.hpp"
#include "runtime/io/channel.hpp"
#include "runtime/logger.hpp"
#include "runtime/route_table.hpp"

namespace weft::binary {

/// Everything a connection actor shares with its gateway. shared_ptr
/// members: one gateway's connections all read the same immutable routes
/// and options and update the same counters.
struct connection_context {
  /// The router's table when the connection opened; later tables arrive as
  /// (routes_atom, route_table_ref).
  std::shared_ptr<const route_table> routes;
  std::shared_ptr<const binary_gateway_options> options;
  std::shared_ptr<gateway_stats> stats;
  logger log;
  /// The node's client registry (actors/client_registry.hpp): each
  /// connection registers its client id there and receives pushes from it.
  caf::actor registry;
};

/// Spawns the actor of one accepted connection: it owns the protocol
/// session, dispatches whole requests to route handlers, and hands frames
/// back to the reactor by priority. Handles io_read / io_sent / io_closed
/// from the channel, tick_atom (its timers) and (drain_atom, timespan) ->
/// ok_atom, (routes_atom, route_table_ref) with the router's newer
/// tables, (push_atom, push_message) to send a push and (client_atom,
/// std::string) when its client claimed another id. The caller then starts the channel with the returned actor.
caf::actor spawn_connection_actor(caf::actor_system& sys,
                                  std::shared_ptr<io::channel> channel,
                                  connection_context ctx);

} // namespace weft::binary
