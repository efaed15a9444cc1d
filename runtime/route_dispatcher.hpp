#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <caf/actor.hpp>

#include "runtime/request.hpp"
#include "runtime/route_table.hpp"

namespace weft {

/// A route table that a dispatcher's tickets may still use, with how many
/// do: route_dispatcher keeps it until none does. Counted by one actor
/// only, so tickets pay no atomic reference count (a cache line every
/// connection on every core would write per request).
struct route_table_pin {
  std::shared_ptr<const route_table> table;
  std::size_t tickets = 0;
};

/// One request on its way through route_dispatcher: where it goes and what
/// finishing it needs. Move-only; gives its place in the route's pool back
/// when finished or destroyed (so a connection that goes away with
/// requests in flight leaves no count behind). It must not outlive the
/// dispatcher that prepared it (keep both in one actor's state, the
/// dispatcher declared first).
class dispatch_ticket {
public:
  dispatch_ticket() = default;
  dispatch_ticket(dispatch_ticket&& other) noexcept;
  dispatch_ticket& operator=(dispatch_ticket&& other) noexcept;
  dispatch_ticket(const dispatch_ticket&) = delete;
  dispatch_ticket& operator=(const dispatch_ticket&) = delete;
  ~dispatch_ticket();

  /// The route; null if prepare() did not find one.
  const route_binding* binding() const noexcept {
    return binding_;
  }

  /// The handler actor to send the request to (after a successful prepare).
  const caf::actor& worker() const noexcept {
    return binding_->workers[worker_];
  }

  /// The request may travel in a request_batch with others for worker().
  bool batches() const noexcept {
    return binding_ && binding_->batches;
  }

  /// The edge runs the route's function handler itself
  /// (route_options::run_on_edge; see run_function_handler).
  bool runs_on_edge() const noexcept {
    return binding_ && binding_->spec->options.run_on_edge
           && binding_->spec->form == handler_form::function
           && binding_->spec->sync;
  }

  /// The route keeps per-key order: never let a later request overtake.
  bool keyed() const noexcept {
    return binding_ && binding_->keyed();
  }

  /// Gives the pool place back now (finish() does it too).
  void release() noexcept;

private:
  friend class route_dispatcher;

  /// Takes `binding`, from the table of `pin`, which it keeps until
  /// destroyed (or given another).
  void bind(route_table_pin* pin, const route_binding* binding) noexcept;
  void unpin() noexcept;

  /// Non-owning: the route, alive as long as pin_'s table.
  const route_binding* binding_ = nullptr;
  /// Non-owning: the dispatcher's pin of binding_'s table, counting us.
  route_table_pin* pin_ = nullptr;
  std::size_t worker_ = 0;
  bool holds_place_ = false;
  /// Middleware whose `before` ran; their `after` hooks run at finish.
  std::size_t ran_ = 0;
  /// The client sent JSON to a protobuf route: answer in JSON.
  bool json_reply_ = false;
  /// The schemas of the table the request was prepared with (JSON only).
  std::shared_ptr<const schema_registry> schemas_;
  /// The request without its body, for after-hooks and error handlers
  /// (kept only when the route has any).
  std::unique_ptr<request> kept_;
};

/// Routes requests for one edge actor (a connection), from the router's
/// latest table: finds the route, runs middleware, converts JSON for
/// protobuf routes, picks the handler actor by the route's policy and
/// bounds the pool's queue. Owned by one actor and used only from it.
class route_dispatcher {
public:
  explicit route_dispatcher(std::shared_ptr<const route_table> table = {});

  route_dispatcher(route_dispatcher&&) = default;
  route_dispatcher& operator=(route_dispatcher&&) = default;

  /// Switches to a newer table (older ones are ignored). Tickets of
  /// requests in flight keep their own binding: an older table stays
  /// until no ticket uses it.
  void update(std::shared_ptr<const route_table> table);

  const std::shared_ptr<const route_table>& table() const noexcept {
    return table_;
  }

  /// Readies `req` for its handler: on OK, send it to ticket.worker();
  /// otherwise answer it with the status, after finish(). Errors:
  /// not_found (no route), unavailable (route down), overloaded (pool
  /// queue full), invalid_argument (bad JSON), or a middleware's status.
  absl::Status prepare(request& req, dispatch_ticket& ticket) const;

  /// Completes a request prepared before: runs the after-hooks (innermost
  /// first) and, for a failure, the error handlers; converts a protobuf
  /// reply to JSON when the request came as JSON; gives the pool place
  /// back. `result` becomes what the client gets.
  void finish(dispatch_ticket& ticket,
              absl::StatusOr<response>& result) const;

private:
  std::shared_ptr<const route_table> table_;
  /// Tables of tickets still alive, and the current one (last); heap
  /// pins, so that tickets' pointers survive moves of this vector.
  std::vector<std::unique_ptr<route_table_pin>> pins_;
};

/// Finds the value of protobuf field `field` (top level) in `bytes`, the
/// binary encoding of a message, as text: strings and bytes as they are,
/// integers in decimal; "" when absent. For keyed dispatch.
std::string key_of(absl::string_view bytes, int field);

} // namespace weft
