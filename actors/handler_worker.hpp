#pragma once

#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/route_spec.hpp"

namespace weft {

/// Spawns one handler actor of a function or async route. It answers
/// (request_atom, request) -> response by running the route's handler
/// (function routes also answer request_batch -> reply_batch). A handler
/// that throws or fails costs only that request: the client gets
/// handler_failed (or the handler's error) and the actor keeps serving.
/// Requests whose deadline passed before they were picked up are answered
/// deadline_exceeded without running the handler.
caf::actor spawn_handler_worker(caf::actor_system& sys,
                                std::shared_ptr<const route_spec> spec);

} // namespace weft
