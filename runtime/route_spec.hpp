#pragma once

#include <functional>
#include <memory>
#include <string>

#include <absl/status/statusor.h>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <google/protobuf/message.h>

#include "runtime/context.hpp"
#include "runtime/payload.hpp"
#include "runtime/reply_to.hpp"
#include "runtime/request.hpp"
#include "runtime/route_options.hpp"

namespace weft {

/// How a route's handler is written (see blueprint for each form).
enum class handler_form {
  /// A function returning the reply or an error.
  function,
  /// A function that answers later through a responder.
  async,
  /// A CAF actor answering (request_atom, request) -> response.
  actor,
};

/// The name `weft schemas` prints for a form.
const char* to_string(handler_form form);

/// A synchronous handler, type-erased: decodes `body`, runs the user's
/// function and encodes its result. Called on a handler actor.
using sync_handler
  = std::function<absl::StatusOr<response>(payload& body, context& ctx)>;

/// An asynchronous handler, type-erased: answers through `out`.
using async_handler
  = std::function<void(payload& body, context& ctx, responder out)>;

/// Makes one handler actor of an actor route (called again to restart it).
using actor_factory = std::function<caf::actor(caf::actor_system&)>;

/// One route as a blueprint declares it, before the router serves it.
/// Immutable once declared; shared by the router and every edge.
struct route_spec {
  /// The name within its blueprint; the router prefixes it.
  std::string name;
  handler_form form = handler_form::function;
  /// Full protobuf type names, or "bytes" / "json".
  std::string request_type = "bytes";
  std::string reply_type = "bytes";
  /// Protobuf routes: the default instances of the request and reply types
  /// (owned by protobuf's generated pool, alive for the whole process).
  const google::protobuf::Message* request_prototype = nullptr;
  const google::protobuf::Message* reply_prototype = nullptr;
  sync_handler sync;
  async_handler async;
  /// Actor routes: a fixed actor (never restarted) or a factory.
  caf::actor actor;
  actor_factory factory;
  route_options options;
  /// Actor routes: the name of a pool declared by blueprint::actor_pool
  /// that serves this route together with others ("" = a pool of its own).
  std::string pool;
  /// HTTP routes (blueprint::http): the method ("GET", ...) and the path
  /// pattern (runtime/http_path_pattern.hpp); empty for other routes.
  std::string http_method;
  std::string http_path;
};

} // namespace weft
