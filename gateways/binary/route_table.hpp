#pragma once

#include <string>

#include <absl/container/flat_hash_map.h>
#include <caf/actor.hpp>

namespace weft::binary {

/// One route's handler: it answers `(request_atom, request) -> response`
/// and, when `batches` is set, `(request_atom, request_batch) ->
/// reply_batch` too.
struct route_entry {
  caf::actor handler;
  bool batches = false;
};

/// Route name -> handler, fixed when the gateway starts. A stand-in for the
/// router actor of the application API.
using route_table = absl::flat_hash_map<std::string, route_entry>;

} // namespace weft::binary
