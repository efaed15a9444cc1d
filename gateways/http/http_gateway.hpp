#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <absl/status/statusor.h>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "gateways/http/http_gateway_options.hpp"
#include "gateways/http/http_stats.hpp"
#include "runtime/io/reactor_pool.hpp"
#include "runtime/logger.hpp"

namespace weft::http {

/// A running HTTP/1.1 gateway.
struct http_gateway {
  /// The listener actor: spawns one connection actor per accepted socket,
  /// answers (drain_atom, timespan) -> ok_atom by turning /ready to 503,
  /// closing the listening socket and letting every connection finish the
  /// requests it read; takes its connections down when it exits. Register
  /// it as a drain participant of the node.
  caf::actor listener;
  /// The bound port (useful with port 0).
  std::uint16_t port = 0;
  std::shared_ptr<http_stats> stats;
};

/// Binds opts.host:opts.port on `pool` and serves the routes of `router`
/// (actors/router.hpp) over HTTP/1.1, following its changes; event streams
/// register with `registry` (actors/client_registry.hpp) for pushes, if
/// given. Blocks the calling thread (not an actor) until listening. `pool`
/// must outlive the gateway's actors.
absl::StatusOr<http_gateway>
start_http_gateway(caf::actor_system& sys, io::reactor_pool& pool,
                   const caf::actor& router, http_gateway_options opts,
                   logger log, caf::actor registry = {});

} // namespace weft::http
