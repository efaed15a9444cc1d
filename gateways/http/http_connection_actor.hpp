#pragma once

#include <atomic>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "gateways/http/http_gateway_options.hpp"
#include "gateways/http/http_stats.hpp"
#include "gateways/http/route_index_cache.hpp"
#include "runtime/io/channel.hpp"
#include "runtime/logger.hpp"
#include "runtime/route_table.hpp"

namespace weft::http {

/// Everything an HTTP connection shares with its gateway. shared_ptr
/// members: one gateway's connections read the same options and route
/// indexes and update the same counters and flags.
struct http_connection_context {
  /// The router's table when the connection opened; later tables arrive as
  /// (routes_atom, route_table_ref).
  std::shared_ptr<const route_table> routes;
  std::shared_ptr<const http_gateway_options> options;
  std::shared_ptr<http_stats> stats;
  std::shared_ptr<route_index_cache> indexes;
  /// Set by the listener when the node drains: GET /ready answers 503.
  std::shared_ptr<std::atomic<bool>> draining;
  /// Starts the request ids this gateway makes: random per gateway, so ids
  /// of different nodes and restarts do not collide.
  std::string id_prefix;
  /// The node's client registry (actors/client_registry.hpp): an event
  /// stream (GET /events) registers its client id there and receives the
  /// pushes and topic publications sent to it.
  caf::actor registry;
  logger log;
};

/// Spawns the actor of one accepted HTTP connection: it reads requests
/// (request_reader), answers the built-in endpoints, dispatches the rest
/// through route_dispatcher to the same handler actors as the binary
/// protocol, and writes the responses in request order; GET /events turns
/// the connection into a Server-Sent Events stream of its pushes. Handles
/// io_read / io_sent / io_eof / io_closed from the channel, tick_atom (its
/// timers), (routes_atom, route_table_ref), (push_atom, push_message) and
/// (drain_atom, timespan) -> ok_atom.
/// The caller then starts the channel with the returned actor.
caf::actor spawn_http_connection(caf::actor_system& sys,
                                 std::shared_ptr<io::channel> channel,
                                 http_connection_context ctx);

} // namespace weft::http
