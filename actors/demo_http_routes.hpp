#pragma once

#include "runtime/blueprint.hpp"

namespace weft {

/// The demo app's HTTP routes (docs/guide.md, "HTTP routes"): the two
/// TechEmpower endpoints `GET /plaintext` and `GET /json`, and small routes
/// showing path and query parameters, forms and JSON bodies, and
/// `GET /notify?client_id=ID&text=T`, which pushes T to a binary-protocol
/// client (route `demo.notify`).
void add_demo_http_routes(blueprint& app);

} // namespace weft
