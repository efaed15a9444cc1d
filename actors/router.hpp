#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/logger.hpp"

namespace weft {

/// The name of the built-in route that lists a node's routes: its reply is
/// a weft.wire.RouteListing (schemas/weft/routes.proto).
inline constexpr const char* routes_route = "weft.routes";

/// Spawns a node's router: the one owner of its routes. It answers
///   (register_atom, blueprint_ref) -> ok_atom: validates the blueprint's
///     routes, spawns their handler actors and serves them (errors:
///     already_exists, invalid_argument; nothing is served on error);
///   (use_atom, blueprint_ref) -> ok_atom: node-level middleware and error
///     handlers, applied to every route;
///   (subscribe_atom, actor) -> route_table_ref: the current table; each
///     later table goes to the actor as (routes_atom, route_table_ref);
///   (routes_atom) -> route_table_ref: the current table;
///   (request_atom, request) -> response for the route weft.routes.
/// It supervises the handler actors: a worker that dies is restarted
/// within its route's restart_policy, else the route goes down. Edges
/// dispatch from the tables (route_dispatcher), so no request passes
/// through the router itself. Its handler actors go down with it.
caf::actor spawn_router(caf::actor_system& sys, logger log);

} // namespace weft
