#pragma once

#include <string>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <caf/fwd.hpp>

#include "runtime/reply_then_run.hpp"
#include "runtime/request.hpp"
#include "runtime/route_spec.hpp"

namespace weft {

/// The deadline_exceeded status of a request whose deadline passed before
/// its handler ran, or OK while it has time (or no deadline).
absl::Status check_not_expired(const request& req);

/// The handler_failed status for the exception being handled; call only
/// inside a catch block.
absl::Status status_of_thrown(const std::string& route);

/// Runs the function handler of `spec` (form function) for `req` on actor
/// `self`: a handler actor, or the edge's own connection actor for routes
/// with route_options::run_on_edge. A request whose deadline passed is
/// answered deadline_exceeded without running the handler; a handler that
/// throws answers handler_failed. Background tasks the handler asks for go
/// to `later`, to be submitted once the reply is on its way. Takes the
/// request's body and fields.
absl::StatusOr<response> run_function_handler(caf::event_based_actor* self,
                                              const route_spec& spec,
                                              request& req,
                                              background_tasks& later);

} // namespace weft
