#pragma once

#include <cstdint>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "actors/task_scheduler_options.hpp"
#include "runtime/logger.hpp"
#include "runtime/type_ids.hpp"

namespace weft {

/// The task scheduler: runs delayed, fixed-rate and fixed-delay tasks
/// (runtime/scheduled_task.hpp) on a bounded pool of runner actors, so a
/// task runs on a CAF worker thread and never inside the scheduler actor.
/// Time is CAF's actor clock, so CAF's test_coordinator drives it in tests.
/// See docs/services.md.
using task_scheduler_actor = caf::typed_actor<
  /// Accepts a task and answers its id (ids start at 1 and never repeat).
  /// Errors: overloaded when max_pending tasks are held; invalid_argument
  /// for a task without a function or a periodic task without a positive
  /// period.
  caf::replies_to<schedule_atom, scheduled_task>::with<std::uint64_t>,
  /// Cancels a task by id; answers whether it was still pending. A run in
  /// progress finishes, but a periodic task does not run again.
  caf::replies_to<cancel_atom, std::uint64_t>::with<bool>,
  /// Answers the counters.
  caf::replies_to<task_stats_atom>::with<task_scheduler_stats>,
  /// Internal: the scheduler's own timer (argument: the time it was set
  /// for, since the clock's epoch). Sent by the scheduler to itself only.
  caf::reacts_to<tick_atom, caf::timespan>>;

/// Spawns a task scheduler with its runner actors in `sys`; the runners go
/// down with it. Callable from any thread. `opts.max_pending` must be
/// positive (0 is taken as 1).
task_scheduler_actor spawn_task_scheduler(caf::actor_system& sys,
                                          task_scheduler_options opts,
                                          logger log);

} // namespace weft
