#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "runtime/logger.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

/// The node actor: root of a node's actors. It keeps the drain participants
/// (listeners, connections, pools), coordinates a graceful drain, and on exit
/// takes every participant down with it.
using node_actor = caf::typed_actor<
  /// Adds a participant; it must answer (drain_atom, timespan) with ok_atom.
  caf::reacts_to<join_drain_atom, caf::actor>,
  /// Adds an actor that is taken down with the node but not drained.
  caf::reacts_to<own_atom, caf::actor>,
  /// Drains every participant within the budget; answers how it went.
  caf::replies_to<drain_atom, caf::timespan>::with<drain_report>>;

/// Spawns the node actor in `sys`. Callable from any thread.
node_actor spawn_node_actor(caf::actor_system& sys, logger log);

} // namespace weft
