#pragma once

#include <functional>
#include <string>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include "runtime/request.hpp"

namespace weft {

/// Code that runs around every handler of a node or a blueprint. Both hooks
/// run in the edge's actor (the connection that received the request), so
/// they must be quick and must not block; they see requests from any edge.
struct middleware {
  /// For logs and `weft schemas`.
  std::string name;
  /// Runs before the handler, outermost (node) first. It may change the
  /// request (metadata, client_id, values for the handler). A non-OK status
  /// answers the request with that error: the handler and inner middleware
  /// do not run.
  std::function<absl::Status(request&)> before;
  /// Runs after the handler, innermost first, for every middleware whose
  /// `before` ran (or that has none). It may change the reply or the error.
  /// `req` is the request as the handler received it, without its body.
  std::function<void(const request& req, absl::StatusOr<response>& result)>
    after;
};

/// Turns a failed request of a blueprint into a reply (return a response)
/// or into another error (return a status). Runs in the edge's actor,
/// innermost blueprint first, after the after-hooks; the first handler
/// that returns a response ends the chain.
using error_handler = std::function<absl::StatusOr<response>(
  const request& req, const absl::Status& failure)>;

} // namespace weft
