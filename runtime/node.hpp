#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/background_pool.hpp"
#include "actors/cache.hpp"
#include "actors/task_scheduler.hpp"
#include "actors/event_bus.hpp"
#include "gateways/binary/binary_gateway.hpp"
#include "gateways/http/http_gateway.hpp"
#include "runtime/blueprint.hpp"
#include "runtime/push_message.hpp"
#include "runtime/io/reactor_pool.hpp"
#include "runtime/logger.hpp"
#include "runtime/node_actor.hpp"
#include "runtime/node_config.hpp"

namespace weft {

/// A running weft node: owns the CAF actor system (no globals anywhere) and
/// the node actor at the root of every other actor. Created and driven by
/// one thread (main, or a test); its methods are not for actors to call.
class node {
public:
  /// Starts the actor system with `cfg` and spawns the node actor.
  static absl::StatusOr<std::unique_ptr<node>> start(node_config cfg,
                                                     logger log);

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Stops the node (see stop) and waits for every actor to terminate.
  ~node();

  /// The actor system; lives as long as this node.
  caf::actor_system& system() noexcept;

  const node_config& config() const noexcept {
    return config_;
  }

  const logger& log() const noexcept {
    return log_;
  }

  /// The socket reactors; they live until stop().
  io::reactor_pool& reactors() noexcept {
    return *reactors_;
  }

  /// The root actor; see node_actor.hpp for its messages.
  node_actor root() const noexcept {
    return root_;
  }

  /// The router: owner of the node's routes (actors/router.hpp).
  const caf::actor& router() const noexcept {
    return router_;
  }

  /// The node's event bus: lifecycle events and the application's own.
  const event_bus& events() const noexcept {
    return bus_;
  }

  /// The node's task scheduler (actors/task_scheduler.hpp): delayed and
  /// periodic tasks on the scheduler's threads. From plain code use
  /// schedule() and cancel_task().
  const task_scheduler_actor& scheduler() const noexcept {
    return scheduler_;
  }

  /// Schedules `task` (run_once, run_at_fixed_rate, run_with_fixed_delay
  /// in runtime/scheduled_task.hpp); returns its id. Blocks for the answer.
  absl::StatusOr<std::uint64_t> schedule(scheduled_task task);

  /// Cancels task `id`; true if it was still pending.
  absl::StatusOr<bool> cancel_task(std::uint64_t id);

  /// The node's sharded TTL cache (actors/cache.hpp); it lives as long as
  /// the node's actors.
  const weft::cache& cache() const noexcept {
    return *cache_;
  }

  /// The bounded pool that runs background tasks (drained with the node).
  const background_pool& background() const noexcept {
    return background_;
  }

  /// The client registry: client ids, pushes, topics
  /// (actors/client_registry.hpp).
  const caf::actor& registry() const noexcept {
    return registry_;
  }

  /// Pushes `msg` to client `client_id` over whichever edge it is on.
  /// Blocks until the registry took it; not_found for an unknown client.
  absl::Status push(const std::string& client_id, push_message msg);

  /// Pushes `msg` to every connected client; returns how many.
  absl::StatusOr<std::uint64_t> broadcast(push_message msg);

  /// Pushes `msg` to the subscribers of `topic`; returns how many.
  absl::StatusOr<std::uint64_t> publish(const std::string& topic,
                                        push_message msg);

  /// Subscribes client `client_id` to `topic` (clients can also do it
  /// themselves through weft.subscribe); returns the subscriber count.
  absl::StatusOr<std::uint32_t> subscribe(const std::string& client_id,
                                          const std::string& topic);

  /// The reverse of subscribe().
  absl::StatusOr<std::uint32_t> unsubscribe(const std::string& client_id,
                                            const std::string& topic);

  /// Serves `app`'s routes on every edge of this node, now and later.
  /// Blocks until the router has them (errors: already_exists when a name
  /// is taken, invalid_argument for a bad route; then none is served).
  absl::Status serve(blueprint app);

  /// Adds node-level middleware: it runs around every route, before the
  /// middleware of blueprints.
  absl::Status use(middleware mw);

  /// Adds a node-level error handler, run after the blueprints' own.
  absl::Status on_error(error_handler handler);

  /// Starts the edges config() names: the binary protocol on tcp_listen
  /// and HTTP/1.1 on http_listen (each none if empty; none at all for role
  /// worker), then the cluster: the node port on node_listen and a joiner
  /// per join entry. Blocks until listening; errors name the address.
  absl::Status listen();

  /// The binary gateway's port after listen() (0 if it has none).
  std::uint16_t binary_port() const noexcept {
    return binary_ ? binary_->port : 0;
  }

  /// The HTTP gateway's port after listen() (0 if it has none).
  std::uint16_t http_port() const noexcept {
    return http_ ? http_->port : 0;
  }

  /// The node port (CAF middleman) after listen() (0 if it has none).
  std::uint16_t cluster_port() const noexcept {
    return cluster_port_;
  }

  /// Makes `participant` part of graceful drains and of shutdown: it must
  /// answer (drain_atom, timespan) with ok_atom once its work is done.
  void add_drain_participant(const caf::actor& participant);

  /// Makes `actor` go down with the node (route handlers, services) without
  /// taking part in drains.
  void own(const caf::actor& actor);

  /// Graceful drain: asks every participant to finish in-flight work within
  /// config().drain_timeout. Returns OK when all did, else deadline_exceeded
  /// saying how many did not. Idempotent; blocks the calling thread.
  absl::Status drain();

  /// Takes every actor of the node down (after drain, or instead of it) and
  /// shuts the actor system down. Idempotent; blocks until all actors ended.
  void stop();

  /// Only start() can make the key, so only start() constructs nodes.
  class passkey {
    friend class node;
    passkey() = default;
  };

  node(passkey, node_config cfg, logger log);

private:
  absl::Status listen_binary();
  absl::Status listen_http();
  absl::Status listen_cluster();

  struct system_holder;

  node_config config_;
  logger log_;
  std::unique_ptr<system_holder> system_;
  std::unique_ptr<io::reactor_pool> reactors_;
  node_actor root_;
  caf::actor router_;
  caf::actor registry_;
  event_bus bus_;
  task_scheduler_actor scheduler_;
  std::optional<weft::cache> cache_;
  background_pool background_;
  std::optional<binary::binary_gateway> binary_;
  std::optional<http::http_gateway> http_;
  /// Gateways: the actor published on the node port. Workers: the actor
  /// gateways send requests to.
  caf::actor hub_;
  caf::actor endpoint_;
  std::uint16_t cluster_port_ = 0;
  /// listen() ran once (node.started was emitted).
  bool listened_ = false;
  bool drained_ = false;
};

} // namespace weft
