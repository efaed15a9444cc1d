#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/task_scheduler.hpp"
#include "runtime/blueprint.hpp"

namespace weft {

/// The demo app's `echo` route: the reply body is the request body (a large
/// file-backed body is answered by streaming the same file back).
/// Handles `(request_atom, request) -> response` and request batches.
caf::actor spawn_echo_route(caf::actor_system& sys);

/// The demo app's `sink` route: the reply is `{"size":N,"crc64":"<hex>"}`
/// (application/json), the size and CRC-64 checksum (docs/protocol.md §4.3) of the request body.
/// Handles `(request_atom, request) -> response` and request batches.
caf::actor spawn_sink_route(caf::actor_system& sys);

/// The embedded demo app of weftd: `echo` and `sink` (the actors above,
/// taking batches), `echo.fn`, the same echo as a function route (the
/// application API's path, compared with `echo` in tests/bench), and
/// `hello.greet` (weft.examples.hello.Greet -> Greeting, docs/guide.md),
/// and the HTTP routes of demo_http_routes.hpp; `scheduler` (the node's,
/// node::scheduler()) serves `GET /hello`'s delayed push.
blueprint demo_app(task_scheduler_actor scheduler = {});

} // namespace weft
