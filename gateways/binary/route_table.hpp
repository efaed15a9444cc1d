#pragma once

#include <string>

#include <absl/container/flat_hash_map.h>
#include <caf/actor.hpp>

namespace weft::binary {

/// Route name -> handler actor, fixed when the gateway starts. A stand-in
/// for the router actor of the application API; each handler answers
/// `(request_atom, request) -> response`.
using route_table = absl::flat_hash_map<std::string, caf::actor>;

} // namespace weft::binary
