#pragma once

#include <cstdint>

#include <caf/meta/type_name.hpp>

namespace weft {

/// The task scheduler's counters, answered to `(task_stats_atom)`. Counts
/// are totals since the scheduler was spawned; `pending` and `running` are
/// the current numbers.
struct task_scheduler_stats {
  /// Tasks accepted by (schedule_atom, scheduled_task).
  std::uint64_t scheduled = 0;
  /// Runs started (every run of a periodic task counts).
  std::uint64_t fired = 0;
  /// Runs that threw.
  std::uint64_t failed = 0;
  /// Tasks removed by (cancel_atom, id).
  std::uint64_t cancelled = 0;
  /// Runs of fixed-rate tasks left out because they fell behind.
  std::uint64_t skipped = 0;
  /// Tasks known to the scheduler (waiting, due or running); bounded by
  /// task_scheduler_options::max_pending.
  std::uint64_t pending = 0;
  /// Runs in progress on runner actors.
  std::uint64_t running = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_scheduler_stats& x) {
  return f(caf::meta::type_name("task_scheduler_stats"), x.scheduled, x.fired,
           x.failed, x.cancelled, x.skipped, x.pending, x.running);
}

} // namespace weft
