#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "runtime/event.hpp"
#include "runtime/event_subscription.hpp"
#include "runtime/logger.hpp"
#include "runtime/shared_bytes.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

/// The names of the node's lifecycle events and the attributes each one
/// carries (all values are strings; the payload is empty). The node emits
/// them; anyone may subscribe.
namespace lifecycle {

/// The node is serving: its listeners are bound. Attributes: `node` (the
/// node's name), `version` (weft's version).
inline constexpr absl::string_view node_started = "node.started";
/// The node began a graceful drain or shutdown. Attributes: `node`,
/// `reason` ("signal", "drain", "stop").
inline constexpr absl::string_view node_stopping = "node.stopping";
/// A client connected. Attributes: `connection` (the connection's id),
/// `peer` ("address:port"), `protocol` ("binary", "http", ...), and
/// `client` (its client id) once one is known.
inline constexpr absl::string_view connection_opened = "connection.opened";
/// A client connection ended. Attributes: `connection`, `peer`,
/// `protocol`, `reason` (a weft errc name, or "" for a clean close).
inline constexpr absl::string_view connection_closed = "connection.closed";
/// A route is served. Attributes: `route` (its full name), `pool` (its
/// pool's name), `workers` (how many actors serve it).
inline constexpr absl::string_view route_registered = "route.registered";
/// Cluster (docs/architecture.md, "Distribution"). A worker joined a
/// gateway. Attributes: `gateway` ("host:port").
inline constexpr absl::string_view cluster_joined = "cluster.joined";
/// A worker's attempt to join failed. Attributes: `gateway`, `error`,
/// `retry_in` (the pause before the next attempt).
inline constexpr absl::string_view cluster_join_failed = "cluster.join_failed";
/// A worker lost the gateway it had joined (it will join again).
/// Attributes: `gateway`, `reason`.
inline constexpr absl::string_view cluster_gateway_lost
  = "cluster.gateway_lost";
/// On a gateway: a worker node joined. Attributes: `node` (name@node id).
inline constexpr absl::string_view cluster_node_up = "cluster.node_up";
/// On a gateway: a joined worker announced changed routes. Attributes:
/// `node`, `routes` (how many it serves now).
inline constexpr absl::string_view cluster_node_routes = "cluster.node_routes";
/// On a gateway: a joined worker is down (its requests in flight were
/// answered `unavailable`). Attributes: `node`, `reason`.
inline constexpr absl::string_view cluster_node_down = "cluster.node_down";

} // namespace lifecycle

/// The event bus actor's typed handle. Use the `event_bus` facade; these
/// are its messages (runtime/type_ids.hpp). It also monitors its actor
/// subscribers and drops them when they die.
using event_bus_actor
  = caf::typed_actor<caf::reacts_to<bus_on_atom, event_subscription>,
                     caf::reacts_to<bus_off_atom, subscription_id>,
                     caf::reacts_to<bus_emit_atom, event>>;

/// Limits of an event bus.
struct event_bus_options {
  /// Events handed to one function subscriber and not yet run by it; past
  /// this the subscriber misses events (counted as `dropped`, logged) so a
  /// slow subscriber costs bounded memory. Actor subscribers are not bounded
  /// here: their mailbox is theirs.
  std::uint32_t max_pending_per_function = 1024;
};

/// A snapshot of an event bus's counters.
struct event_bus_stats {
  /// Events the bus received.
  std::uint64_t emitted = 0;
  /// Deliveries handed to subscribers (one per subscriber per event).
  std::uint64_t delivered = 0;
  /// Function subscribers that threw.
  std::uint64_t failed = 0;
  /// Deliveries skipped because a function subscriber was too far behind.
  std::uint64_t dropped = 0;
  /// Actor subscriptions removed because their actor died.
  std::uint64_t dead_subscribers = 0;
  /// Subscriptions the bus holds now.
  std::uint64_t subscriptions = 0;
};

/// Shared by an event bus's facades and its actor: ids, counters, and
/// whether the actor is gone. Defined in event_bus.cpp.
struct event_bus_shared;

/// The C++ facade of an event bus: a small handle, cheap to copy. Every
/// call is asynchronous and never blocks, so it may be made from any thread
/// and from inside any actor. Calls made from one thread (or one actor)
/// take effect in the order they were made: `on` then `emit` delivers that
/// event to the new subscriber.
class event_bus {
public:
  /// An invalid bus (false in a boolean context); every call fails.
  event_bus() = default;

  /// Makes a facade for `actor` (see spawn_event_bus).
  event_bus(event_bus_actor actor, std::shared_ptr<event_bus_shared> shared);

  /// Subscribes `fn` to every event named `name` until `off`. `fn` runs on
  /// a CAF scheduler thread, one event at a time, in the order the bus
  /// received them. Errors: invalid_argument (empty name or function),
  /// unavailable (the bus is stopped).
  absl::StatusOr<subscription_id> on(absl::string_view name,
                                     event_function fn) const;

  /// Subscribes `subscriber`, which receives `(event_atom, event)`, until
  /// `off` or until it dies. Errors as for the function form.
  absl::StatusOr<subscription_id> on(absl::string_view name,
                                     caf::actor subscriber) const;

  /// Like `on`, but for the next event named `name` only.
  absl::StatusOr<subscription_id> once(absl::string_view name,
                                       event_function fn) const;

  /// Like `on`, but for the next event named `name` only.
  absl::StatusOr<subscription_id> once(absl::string_view name,
                                       caf::actor subscriber) const;

  /// Ends a subscription: events the bus receives after this call are not
  /// delivered to it (ones it received before may still run). Unknown or
  /// finished ids are ignored. Errors: unavailable (the bus is stopped).
  absl::Status off(subscription_id id) const;

  /// Delivers `ev` to every subscriber of `ev.name`, asynchronously.
  /// Errors: invalid_argument (empty name), unavailable (bus stopped).
  absl::Status emit(event ev) const;

  /// Delivers an event made of `name`, `payload` and `attributes`.
  absl::Status emit(absl::string_view name, shared_bytes payload = {},
                    event_attributes attributes = {}) const;

  /// Reads the counters (atomics: no message to the bus).
  event_bus_stats stats() const;

  /// The bus actor, e.g. for the node to own it (it stops with the node).
  const event_bus_actor& actor() const noexcept {
    return actor_;
  }

  /// True for a facade made by spawn_event_bus.
  explicit operator bool() const noexcept {
    return static_cast<bool>(actor_);
  }

private:
  absl::StatusOr<subscription_id> subscribe(absl::string_view name, bool once,
                                            caf::actor subscriber,
                                            event_function fn) const;

  event_bus_actor actor_;
  /// shared_ptr: shared by every copy of the facade and by the actor, which
  /// may outlive each other.
  std::shared_ptr<event_bus_shared> shared_;
};

/// Spawns an event bus. Function subscribers run in one small runner actor
/// each (linked to the bus, so they stop with it), which keeps each
/// subscriber's events in order and lets a slow or failing subscriber
/// delay only itself. Stop the bus by sending its actor an exit message
/// (or let the node own it); a stopped bus answers `unavailable`.
event_bus spawn_event_bus(caf::actor_system& sys, logger log,
                          event_bus_options opts = {});

} // namespace weft
