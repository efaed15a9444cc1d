#pragma once

#include <caf/actor.hpp>
#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

namespace weft {

/// Names under which a node puts its service actors in its actor system's
/// registry (caf::actor_system::registry(), one per system, not global),
/// so that handlers reach them from their context without wiring.
namespace service_names {

/// The client registry (actors/client_registry.hpp): pushes and topics.
inline constexpr caf::atom_value client_registry = caf::atom("clients");

} // namespace service_names

/// The service actor named `name` in `sys`, or an invalid handle.
inline caf::actor find_service(caf::actor_system& sys, caf::atom_value name) {
  return sys.registry().get<caf::actor>(name);
}

} // namespace weft
