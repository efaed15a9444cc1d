#pragma once

#include "actors/task_scheduler.hpp"
#include "runtime/blueprint.hpp"

namespace weft {

/// The demo app's HTTP routes (docs/guide.md, "HTTP routes"): the two
/// TechEmpower endpoints `GET /plaintext` and `GET /json`, and small routes
/// showing path and query parameters, forms and JSON bodies, and
/// `GET /notify?client_id=ID&text=T`, which pushes T to a binary-protocol
/// client (route `demo.notify`); PyLiteFlux's chat example
/// `GET /hello?client_id=ID[&delay_ms=D]`, which pushes "Hello, ID!" (route
/// `demo.hello`) D ms later (default 1000, at most 60000) through
/// `scheduler`, the node's task scheduler (503 without one); and two
/// streamed responses: `GET /stream?chunks=N&size=B` (N chunks of B bytes,
/// written as the client takes them) and `GET /countdown?from=N` (Server-
/// Sent Events N..1 with ids, resumed after a Last-Event-ID).
void add_demo_http_routes(blueprint& app, task_scheduler_actor scheduler = {});

} // namespace weft
