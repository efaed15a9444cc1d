#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <absl/container/flat_hash_map.h>
#include <absl/status/statusor.h>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>

#include "runtime/blueprint.hpp"
#include "runtime/body_codec.hpp"
#include "runtime/context.hpp"
#include "runtime/route_spec.hpp"

namespace weft {

/// Builds the behavior of a user-written route actor that answers one or
/// several routes with typed functions running inside the actor, so they
/// can use its state (e.g. a chat room). Requests for a route it does not
/// know are answered not_found; a function that throws answers
/// handler_failed and the actor keeps running.
///
///     caf::behavior room(caf::stateful_actor<room_state>* self) {
///       return weft::route_handlers{self}
///         .on<Say, Said>("say", [self](const Say& m, weft::context&) {...})
///         .behavior();
///     }
class route_handlers {
public:
  /// `self` is the actor whose behavior this becomes.
  explicit route_handlers(caf::event_based_actor* self) : self_(self) {
  }

  /// Answers the route named `name` (its full name, or the last
  /// dot-separated part of it) with `fn(const Req&, context&)` returning
  /// Reply or absl::StatusOr<Reply>.
  template <class Req, class Reply, class F>
  route_handlers&& on(std::string name, F fn) && {
    handlers_->emplace(
      std::move(name),
      [fn = std::move(fn)](payload& body,
                           context& ctx) mutable -> absl::StatusOr<response> {
        auto req = body_codec<Req>::decode(body);
        if (!req.ok())
          return req.status();
        auto result = fn(std::as_const(*req), ctx);
        if constexpr (std::is_same_v<decltype(result), absl::StatusOr<Reply>>) {
          if (!result.ok())
            return result.status();
          return body_codec<Reply>::encode(std::move(*result));
        } else {
          return body_codec<Reply>::encode(std::move(result));
        }
      });
    return std::move(*this);
  }

  /// The behavior: (request_atom, request) -> response and
  /// (request_atom, request_batch) -> reply_batch.
  caf::behavior behavior() &&;

private:
  using table = absl::flat_hash_map<std::string, sync_handler>;

  caf::event_based_actor* self_; // the actor being built; outlives this
  // shared_ptr: the behavior's two message handlers share one table.
  std::shared_ptr<table> handlers_ = std::make_shared<table>();
};

} // namespace weft
