#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <absl/status/statusor.h>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/io/channel.hpp"
#include "runtime/io/channel_options.hpp"
#include "runtime/io/framer.hpp"
#include "runtime/io/reactor_pool.hpp"
#include "runtime/route_table.hpp"

namespace weft {

/// What a gateway's listener needs to know about its protocol: where to
/// bind, how to cut bytes, and how to make a connection actor.
struct gateway_listener_spec {
  std::string host;
  std::uint16_t port = 0;
  io::channel_options channel;
  /// Runs on reactor threads (io::reactor_pool::listen).
  io::framer_factory make_framer;
  /// Spawns the actor of an accepted channel, given the router's current
  /// table; the listener then monitors it and starts the channel with it.
  /// Runs in the listener actor.
  std::function<caf::actor(caf::actor_system&, std::shared_ptr<io::channel>,
                           std::shared_ptr<const route_table>)>
    spawn_connection;
  /// The gateway's counter of accepted connections (an aliasing pointer
  /// into its stats); may be empty.
  std::shared_ptr<std::atomic<std::uint64_t>> accepted;
  /// Set when the node drains; shared with whoever reads it (HTTP's
  /// /ready). Made by start_gateway_listener when empty.
  std::shared_ptr<std::atomic<bool>> draining;
};

/// A gateway_listener_spec::spawn_connection from a connection context
/// (copied per connection, with the current `routes`) and the gateway's
/// spawn function `(actor_system&, shared_ptr<channel>, Context)`.
template <class Context, class Spawn>
auto spawn_with_routes(Context ctx, Spawn spawn) {
  return [ctx = std::move(ctx), spawn](caf::actor_system& sys,
                                       std::shared_ptr<io::channel> channel,
                                       std::shared_ptr<const route_table> routes) {
    auto c = ctx;
    c.routes = std::move(routes);
    return spawn(sys, std::move(channel), std::move(c));
  };
}

/// Starts a gateway's listener actor on `pool`: it subscribes to `router`'s
/// route tables (passing each on to its connections as
/// (routes_atom, route_table_ref)), binds, spawns one connection per
/// accepted socket, answers (drain_atom, timespan) -> ok_atom by closing
/// the listening socket and draining every connection (ok once all did or
/// the budget passed), and takes its connections down when it exits.
/// Blocks the calling thread (not an actor) until listening; sets `port`.
/// `pool` must outlive the listener.
absl::StatusOr<caf::actor> start_gateway_listener(caf::actor_system& sys,
                                                  io::reactor_pool& pool,
                                                  const caf::actor& router,
                                                  gateway_listener_spec spec,
                                                  std::uint16_t& port);

} // namespace weft
