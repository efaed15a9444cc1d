#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <caf/actor.hpp>

#include "runtime/request.hpp"
#include "runtime/route_table.hpp"

namespace weft {

class route_dispatcher;

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

  /// finish() of a successful result would only give the pool place back
  /// (no after-hook to run, no JSON to convert): then the ticket's end
  /// does the same, and the caller need not wrap the response for it.
  bool plain_success() const noexcept {
    return !kept_ && !json_reply_;
  }

  /// Gives the pool place back now (finish() does it too).
  void release() noexcept;

private:
  friend class route_dispatcher;

  /// Takes `binding` from the current table of `owner`, which keeps that
  /// table until this ticket is destroyed (or given another).
  void bind(route_dispatcher* owner, const route_binding* binding) noexcept;
  /// Gives back the pool place (release()) and then the table; a ticket
  /// holds a place only while bound.
  void unpin() noexcept;

  /// Non-owning: the route, alive as long as its table (owner_ keeps it).
  const route_binding* binding_ = nullptr;
  /// Non-owning: the dispatcher that counts this ticket as a user of the
  /// table of version table_version_.
  route_dispatcher* owner_ = nullptr;
  std::uint64_t table_version_ = 0;
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

  /// Applies the counts not settled yet.
  ~route_dispatcher();

  // Tickets point at their dispatcher: it stays where it was made.
  route_dispatcher(const route_dispatcher&) = delete;
  route_dispatcher& operator=(const route_dispatcher&) = delete;

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
  absl::Status prepare(request& req, dispatch_ticket& ticket);

  /// Completes a request prepared before: runs the after-hooks (innermost
  /// first) and, for a failure, the error handlers; converts a protobuf
  /// reply to JSON when the request came as JSON; gives the pool place
  /// back. `result` becomes what the client gets.
  void finish(dispatch_ticket& ticket,
              absl::StatusOr<response>& result) const;

  /// Counts pool places here and applies them to the pools at settle(),
  /// which the owner calls at the end of each step: one atomic update per
  /// pool and step instead of one per request and one per answer, on cache
  /// lines that every edge on every core writes. Meanwhile each dispatcher
  /// that has not settled may let a pool admit up to one step's requests
  /// above its max_queue. Off by default.
  void count_in_batches(bool on) noexcept;

  /// The index of the I/O thread the edge runs on (a connection's
  /// reactor, io::channel::home_index): same_core routes send to the pool
  /// worker of that index, modulo the pool's size. 0 unless set.
  void set_home(std::size_t home) noexcept {
    home_ = static_cast<std::uint16_t>(home % 65536);
  }

  /// Applies the pool counts taken and given back since the last settle().
  void settle() noexcept;

private:
  friend class dispatch_ticket;

  /// A ticket of the table of `version` is gone.
  void unpin(std::uint64_t version) noexcept;

  /// Notes `n` places taken (or given back) on a pool's `worker`.
  void count(pool_load* load, std::size_t worker, std::int32_t n);
  /// Places taken from `load` and not settled yet (net).
  std::int64_t unsettled(const pool_load* load) const noexcept;

  /// An older table that tickets still use, with how many do.
  struct retired_table {
    std::shared_ptr<const route_table> table;
    std::size_t tickets = 0;
  };

  std::shared_ptr<const route_table> table_;
  /// Tickets of table_ alive. Counted by one actor only, so tickets pay no
  /// atomic reference count (a cache line that every connection on every
  /// core would write per request).
  std::uint32_t tickets_ = 0;
  bool batched_ = false;
  /// The edge's I/O thread (set_home), for same_core routes.
  std::uint16_t home_ = 0;
  /// Older tables still in use; rare, so out of line (a connection actor's
  /// state is sized to a malloc class).
  std::unique_ptr<std::vector<retired_table>> retired_;
  /// The pool count not applied yet: one pool and worker at a time (the
  /// usual step uses one route), so it needs no allocation; a step that
  /// moves to another pool applies the previous one's count first. Its
  /// pool lives in a table this dispatcher holds: settle() runs before any
  /// table is let go.
  pool_load* pending_load_ = nullptr;
  std::uint32_t pending_worker_ = 0;
  std::int32_t pending_ = 0;
};

/// Finds the value of protobuf field `field` (top level) in `bytes`, the
/// binary encoding of a message, as text: strings and bytes as they are,
/// integers in decimal; "" when absent. For keyed dispatch.
std::string key_of(absl::string_view bytes, int field);

} // namespace weft
