#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <string>

#include "actors/task_scheduler.hpp"
#include "runtime/blueprint.hpp"

namespace weft {

/// The demo app's `echo` route: the reply body is the request body (a large
/// file-backed body is answered by streaming the same file back).
/// Handles `(request_atom, request) -> response` and request batches.
caf::actor spawn_echo_route(caf::actor_system& sys);

/// The demo app's `sink` route: the reply is `{"size":N,"crc64":"<hex>"}`
/// (application/json), the size and CRC-64 checksum (docs/protocol.md §4.3) of the request body.
/// Each request gets a consumer that checksums its body as it arrives
/// (runtime/body_stream.hpp).
body_consumer_factory sink_consumers();

/// A handler actor of `sink` (spawn_body_stream_handler with
/// sink_consumers()): takes streamed bodies, requests and batches.
caf::actor spawn_sink_route(caf::actor_system& sys);

/// The embedded demo app of weftd: `echo` (and its alias `echo.actor`)
/// and `sink` (the actors above, taking batches; `sink` streams bodies,
/// `sink.whole` takes them assembled), `echo.edge` (the echo
/// function answered on the connection, route_options::run_on_edge),
/// `echo.fn` (the echo function on a handler actor), and
/// `hello.greet` (weft.examples.hello.Greet -> Greeting, docs/guide.md),
/// and the HTTP routes of demo_http_routes.hpp; `scheduler` (the node's,
/// node::scheduler()) serves `GET /hello`'s delayed push.
///
/// For clusters (docs/guide.md, "Running a cluster"), routes that say which
/// node answered, `node_name` (the node's --name): `node.whoami` (reply:
/// the name), `node.whoami.keyed` (the same, dispatched by the metadata
/// entry `key`) and `node.slow` (the name, after as many milliseconds as
/// the body says, at most 60,000; no thread waits meanwhile) and
/// `node.work` (the name, after burning as many microseconds of CPU as the
/// body says, default 50; a pool of one actor per core).
blueprint demo_app(task_scheduler_actor scheduler = {},
                   std::string node_name = "weft");

/// The actor of `node.slow` (see demo_app) on a node named `node_name`.
caf::actor spawn_slow_route(caf::actor_system& sys, std::string node_name);

} // namespace weft
