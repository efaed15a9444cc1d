#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>

namespace weft {

/// The work of a scheduled task. It runs on one of the task scheduler's
/// runner actors (a CAF worker thread), never inside the scheduler actor; it
/// may throw (the failure is logged and counted) but should not block for
/// long, since it holds a CAF worker thread while it runs.
using task_function = std::function<void()>;

/// How a scheduled task repeats (actors/task_scheduler.hpp).
enum class task_repeat : std::uint8_t {
  /// Runs once, `delay` after it was scheduled.
  once,
  /// Starts at first + k * period (first = schedule time + delay): an
  /// absolute schedule that never drifts. Runs that would start late because
  /// the task is still running or its runner was busy are skipped and
  /// counted, never run in a burst.
  fixed_rate,
  /// Starts `period` after the end of the previous run.
  fixed_delay,
};

/// A task for the task scheduler: `(schedule_atom, scheduled_task)`.
/// Process-local (it carries a function): not serializable. Build one with
/// run_once, run_at_fixed_rate or run_with_fixed_delay.
struct scheduled_task {
  /// Shows in log lines about this task; may be empty.
  std::string name;
  /// shared_ptr: every run hands the same function to a runner actor
  /// without copying its captures; the scheduler and the runner share it.
  std::shared_ptr<const task_function> fn;
  task_repeat repeat = task_repeat::once;
  /// Before the first run (negative counts as zero).
  caf::timespan delay{0};
  /// fixed_rate: between starts; fixed_delay: from one end to the next
  /// start. Must be positive for periodic tasks; ignored by once.
  caf::timespan period{0};
  /// Among tasks due at the same time, higher priorities start first.
  std::int32_t priority = 0;
};

/// A task that runs `fn` once after `delay`. Callable from any thread.
inline scheduled_task run_once(caf::timespan delay, task_function fn,
                               std::int32_t priority = 0) {
  scheduled_task t;
  t.fn = std::make_shared<const task_function>(std::move(fn));
  t.delay = delay;
  t.priority = priority;
  return t;
}

/// A task that runs `fn` at first = now + delay, then every `period` on an
/// absolute schedule (first + k * period). Callable from any thread.
inline scheduled_task run_at_fixed_rate(caf::timespan delay,
                                        caf::timespan period, task_function fn,
                                        std::int32_t priority = 0) {
  auto t = run_once(delay, std::move(fn), priority);
  t.repeat = task_repeat::fixed_rate;
  t.period = period;
  return t;
}

/// A task that runs `fn` after `delay`, then `period` after each run ended.
/// Callable from any thread.
inline scheduled_task run_with_fixed_delay(caf::timespan delay,
                                           caf::timespan period,
                                           task_function fn,
                                           std::int32_t priority = 0) {
  auto t = run_once(delay, std::move(fn), priority);
  t.repeat = task_repeat::fixed_delay;
  t.period = period;
  return t;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scheduled_task&) {
  return f(caf::meta::type_name("scheduled_task"));
}

} // namespace weft

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(weft::scheduled_task)
