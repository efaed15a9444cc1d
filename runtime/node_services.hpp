#pragma once

#include <functional>
#include <memory>
#include <string>

#include <absl/status/status.h>
#include <absl/strings/string_view.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "runtime/event.hpp"
#include "runtime/push_message.hpp"

namespace weft {

/// What a node offers the code running in it (handlers, middleware,
/// gateways): pushes, events, background work. The node implements it with
/// its service actors (actors/); plain code and the application API reach
/// it through their actor system (services_of), never through a global.
/// Every method is callable from any thread or actor and never blocks.
class node_services {
public:
  virtual ~node_services() = default;

  /// Pushes `msg` to client `client_id`; an unknown client is ignored.
  virtual void push(const std::string& client_id, push_message msg) = 0;

  /// Pushes `msg` to every subscriber of `topic`.
  virtual void publish(const std::string& topic, push_message msg) = 0;

  /// Subscribes client `client_id` to `topic` (unknown clients: ignored).
  virtual void subscribe(const std::string& client_id,
                         const std::string& topic) = 0;

  /// Pushes `msg` to every connected client.
  virtual void broadcast(push_message msg) = 0;

  /// Emits `ev` on the node's event bus.
  virtual void emit(event ev) = 0;

  /// Runs `task` on the node's bounded background pool, off the caller's
  /// path. Errors: overloaded (pool full), unavailable (node stopping).
  virtual absl::Status background(std::function<void()> task) = 0;
};

/// The CAF configuration of a node's actor system: CAF's own settings plus
/// the node's services, so that anything running in the system finds them.
class node_system_config : public caf::actor_system_config {
public:
  /// Set by the node once its services run; empty before.
  std::shared_ptr<node_services> services;
};

/// The services of the node that owns `sys`, or nullptr (a system that is
/// not a node's, e.g. a client's or a test's).
inline node_services* services_of(caf::actor_system& sys) {
  auto* cfg = dynamic_cast<const node_system_config*>(&sys.config());
  return cfg ? cfg->services.get() : nullptr;
}

} // namespace weft
